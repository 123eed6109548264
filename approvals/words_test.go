package approvals_test

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"resetbot/approvals"
	"resetbot/bot"
)

// TestScriptsTakeWordsFromGo: the scripts name states, audit event kinds and
// error codes only through the tables made from package bot's constants,
// and every name they use is in those tables.
func TestScriptsTakeWordsFromGo(t *testing.T) {
	names := approvals.LuaNames()
	words := []string{
		string(bot.StatePending), string(bot.StateApproved), string(bot.StateOffered), string(bot.StateExecuting),
		string(bot.StateSucceeded), string(bot.StateFailed), string(bot.StateDenied), string(bot.StateExpired),
		string(bot.StateCancelled),
		bot.ENOTFOUND, bot.ECONFLICT, bot.EFORBIDDEN, bot.EDUPLICATE, bot.ERATELIMIT, bot.EINVALID,
		"ref:",
		string(bot.ReviewOpen), string(bot.ReviewConfirmed), string(bot.ReviewRejected), string(bot.ReviewOverdue),
		string(bot.RotationPending), // not "done", the name of a field too, nor "none", a claim's answer
	}
	for _, k := range bot.EventKinds {
		words = append(words, string(k))
	}
	used := regexp.MustCompile(`\b(S|E|C|RV|ROT)\.(\w+)`)
	for name, src := range approvals.ScriptSources() {
		// the prelude's tables, before upgrade, are where the words are bound
		body := src[strings.Index(src, "local function upgrade"):]
		for _, w := range words {
			for _, q := range []string{"'" + w + "'", `"` + w + `"`} {
				if strings.Contains(body, q) {
					t.Errorf("script %s writes %s itself, not through the Go constant", name, q)
				}
			}
		}
		for _, m := range used.FindAllStringSubmatch(src, -1) {
			if _, ok := names[m[1]][m[2]]; !ok {
				t.Errorf("script %s uses %s.%s, which no Go constant backs", name, m[1], m[2])
			}
		}
	}
	if got := len(names["S"]); got != 9 {
		t.Errorf("S: %d names, want 9, one per bot.State", got)
	}
	for _, k := range slices.Sorted(maps.Keys(names["E"])) {
		if !slices.Contains(bot.EventKinds, bot.EventKind(names["E"][k])) {
			t.Errorf("E.%s = %q is not in bot.EventKinds", k, names["E"][k])
		}
	}
}
