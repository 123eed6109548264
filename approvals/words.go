package approvals

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"resetbot/bot"
)

// The scripts write states, audit event kinds and error codes that Go reads
// back. Those words are owned by package bot's constants; the scripts get
// them from the tables below, made into Lua once, when the package loads.
// The keys are the names Lua uses (S.Offered for bot.StateOffered); a key
// the tables lack is an error when the script runs, and a test checks every
// name the scripts use against these tables.
var (
	luaStates = map[string]bot.State{
		"Pending":   bot.StatePending,
		"Approved":  bot.StateApproved,
		"Offered":   bot.StateOffered,
		"Executing": bot.StateExecuting,
		"Succeeded": bot.StateSucceeded,
		"Failed":    bot.StateFailed,
		"Denied":    bot.StateDenied,
		"Expired":   bot.StateExpired,
		"Cancelled": bot.StateCancelled,
	}
	luaEvents = map[string]bot.EventKind{
		"Requested": bot.EventRequested,
		"Voted":     bot.EventVoted,
		"Refused":   bot.EventRefused,
		"Approved":  bot.EventApproved,
		"Denied":    bot.EventDenied,
		"Cancelled": bot.EventCancelled,
		"Expired":   bot.EventExpired,
		"Executing": bot.EventExecuting,
		"Offered":   bot.EventOffered,
		"Reminded":  bot.EventReminded,
		"Escalated": bot.EventEscalated,
		// the review of a request that skipped the vote
		"BreakGlass":     bot.EventBreakGlass,
		"Confirmed":      bot.EventConfirmed,
		"Rejected":       bot.EventRejected,
		"Overdue":        bot.EventOverdue,
		"Rotated":        bot.EventRotated,
		"RotationFailed": bot.EventRotationFailed,
	}
	luaReview = map[string]bot.ReviewState{
		"Open":      bot.ReviewOpen,
		"Confirmed": bot.ReviewConfirmed,
		"Rejected":  bot.ReviewRejected,
		"Overdue":   bot.ReviewOverdue,
	}
	luaRotation = map[string]bot.RotationState{
		"None":    bot.RotationNone,
		"Pending": bot.RotationPending,
		"Done":    bot.RotationDone,
	}
	luaCodes = map[string]string{
		"NotFound":    bot.ENOTFOUND,
		"Conflict":    bot.ECONFLICT,
		"Forbidden":   bot.EFORBIDDEN,
		"Duplicate":   bot.EDUPLICATE,
		"RateLimited": bot.ERATELIMIT,
	}
)

// refField starts the request hash's field of each reference (SetRef):
// "ref:card.slack".
const refField = "ref:"

// What the claim field of an executing request says took it: the queue
// (Next: the executor offers it; nothing is reset) or a Reveal click
// (ClaimReveal: the reset runs). A lost claim is resumed in the first case
// and stale in the second.
const (
	claimQueue  = "queue"
	claimReveal = "reveal"
)

// words is the part of the scripts' prelude that binds those names: S, E
// and C (which fail loudly on a name they lack), TERMINAL (the terminal
// states, as bot.State.Terminal says), RV and ROT (review and rotation
// states), REF, CLAIM_QUEUE and CLAIM_REVEAL,
// RULE_PERSON, RULE_ROLE and VOTE_RULES (the rules field's marks and the
// prefix of an approval's rules: codec.go), and upgrade.
var words = luaTable("S", luaStates) + luaTable("E", luaEvents) + luaTable("C", luaCodes) +
	luaTable("RV", luaReview) + luaTable("ROT", luaRotation) +
	terminalTable() + "local REF = " + luaString(refField) + "\n" +
	"local CLAIM_QUEUE, CLAIM_REVEAL = " + luaString(claimQueue) + ", " + luaString(claimReveal) + "\n" +
	"local RULE_PERSON, RULE_ROLE, VOTE_RULES = " + luaString(rulePerson) + ", " + luaString(ruleRole) + ", " + luaString(voteRulesField) + "\n" +
	upgradeLua

// upgradeLua reads a request offered by an earlier version of the bot, which
// wrote an offer as state approved with the reveal field set, as offered:
// scripts that act on offered requests call it first, so that such a
// request still expires, can be revealed or cancelled, and finishes.
const upgradeLua = `
-- upgrade: an offer as an earlier version wrote it is an offered request.
local function upgrade(rk)
  if R('HGET', rk, 'state') == S.Approved and R('HEXISTS', rk, 'reveal') == 1 then
    R('HSET', rk, 'state', S.Offered)
  end
end
`

func luaTable[V ~string](name string, m map[string]V) string {
	var b strings.Builder
	fmt.Fprintf(&b, "local %s = setmetatable({\n", name)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "  %s = %s,\n", k, luaString(string(m[k])))
	}
	fmt.Fprintf(&b, "}, {__index = function(_, k) error('no %s.' .. tostring(k)) end})\n", name)
	return b.String()
}

func terminalTable() string {
	var b strings.Builder
	b.WriteString("local TERMINAL = {")
	for _, k := range slices.Sorted(maps.Keys(luaStates)) {
		if st := luaStates[k]; st.Terminal() {
			fmt.Fprintf(&b, "[%s] = true, ", luaString(string(st)))
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// luaString quotes s for Lua. The words are plain ASCII, for which Go's
// quoting is Lua's.
func luaString(s string) string {
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			panic(fmt.Sprintf("approvals: word %q is not plain ASCII", s))
		}
	}
	return strconv.Quote(s)
}
