package config_test

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"resetbot/config"
)

// reminded is accounts[1], a tencent.cam account for eng approved by dba,
// with the keys given.
func reminded(keys ...string) string {
	return ruled(append([]string{"approvers: [dba]"}, keys...)...)
}

func TestLoadReminders(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		a := mustLoad(t, reminded(), getenvFrom(testEnv)).Accounts()[1]
		if a.RemindAfter != 0 || a.RemindBackoff != 1 || a.EscalateAfter != 0 || a.EscalateTo != nil {
			t.Errorf("got remind_after %v, remind_backoff %v, escalate_after %v, escalate_to %v; want 0, 1, 0 and none",
				a.RemindAfter, a.RemindBackoff, a.EscalateAfter, a.EscalateTo)
		}
	})
	t.Run("Set", func(t *testing.T) {
		data := reminded("remind_after: 10m", "remind_backoff: 2", "escalate_after: 20m", "escalate_to: [sec, alice]")
		a := mustLoad(t, data, getenvFrom(testEnv)).Accounts()[1]
		if a.RemindAfter != 10*time.Minute || a.RemindBackoff != 2 || a.EscalateAfter != 20*time.Minute || !slices.Equal(a.EscalateTo, []string{"sec", "alice"}) {
			t.Errorf("got remind_after %v, remind_backoff %v, escalate_after %v, escalate_to %v; want 10m, 2, 20m and [sec alice]",
				a.RemindAfter, a.RemindBackoff, a.EscalateAfter, a.EscalateTo)
		}
	})
	t.Run("FloatBackoff", func(t *testing.T) {
		a := mustLoad(t, reminded("remind_after: 5m", "remind_backoff: 1.5"), getenvFrom(testEnv)).Accounts()[1]
		if a.RemindBackoff != 1.5 {
			t.Errorf("RemindBackoff: got %v, want 1.5", a.RemindBackoff)
		}
	})
	t.Run("Bounds", func(t *testing.T) {
		for _, b := range []float64{1, 4.99, 5} {
			data := reminded("remind_after: 5m", fmt.Sprintf("remind_backoff: %v", b))
			if got := mustLoad(t, data, getenvFrom(testEnv)).Accounts()[1].RemindBackoff; got != b {
				t.Errorf("RemindBackoff: got %v, want %v", got, b)
			}
		}
	})
	t.Run("ZeroIsNever", func(t *testing.T) {
		a := mustLoad(t, reminded("remind_after: 0", "escalate_after: 0s"), getenvFrom(testEnv)).Accounts()[1]
		if a.RemindAfter != 0 || a.EscalateAfter != 0 {
			t.Errorf("got remind_after %v, escalate_after %v; want 0 and 0", a.RemindAfter, a.EscalateAfter)
		}
	})
	t.Run("FromTheEnvironment", func(t *testing.T) {
		data := reminded("remind_after: ${REMIND}", "remind_backoff: ${BACKOFF}")
		a := mustLoad(t, data, envWith(map[string]string{"REMIND": "3m", "BACKOFF": "2.5"})).Accounts()[1]
		if a.RemindAfter != 3*time.Minute || a.RemindBackoff != 2.5 {
			t.Errorf("got remind_after %v, remind_backoff %v; want 3m and 2.5", a.RemindAfter, a.RemindBackoff)
		}
	})
}

func TestLoadReportsReminderProblem(t *testing.T) {
	tests := []struct {
		name   string
		yaml   string
		path   string
		msg    string // the whole message
		marker string // the problem's line contains it
	}{
		{"RemindAfterNegative", reminded("remind_after: -5m"),
			"accounts[1].remind_after", "-5m: must not be negative (0 or absent: no reminders)", "remind_after"},
		{"RemindAfterAtTTL", reminded("ttl: 1h", "remind_after: 1h"),
			"accounts[1].remind_after", "1h: must be less than the account's ttl (1h): the request would expire before the first reminder", "remind_after"},
		{"RemindAfterOverDefaultTTL", reminded("remind_after: 45m"),
			"accounts[1].remind_after", "45m: must be less than the account's ttl (30m): the request would expire before the first reminder", "remind_after"},
		{"RemindAfterNotADuration", reminded("remind_after: 10"),
			"accounts[1].remind_after", `want a duration like 30m or 1h, not "10"`, "remind_after"},
		{"RemindBackoffBelowOne", reminded("remind_after: 5m", "remind_backoff: 0.5"),
			"accounts[1].remind_backoff", "0.5: must be from 1 to 5 (each later reminder waits this many times longer)", "remind_backoff"},
		{"RemindBackoffZero", reminded("remind_after: 5m", "remind_backoff: 0"),
			"accounts[1].remind_backoff", "0: must be from 1 to 5 (each later reminder waits this many times longer)", "remind_backoff"},
		{"RemindBackoffAboveMax", reminded("remind_after: 5m", "remind_backoff: 5.5"),
			"accounts[1].remind_backoff", "5.5: must be from 1 to 5 (each later reminder waits this many times longer)", "remind_backoff"},
		{"RemindBackoffNotANumber", reminded("remind_after: 5m", "remind_backoff: twice"),
			"accounts[1].remind_backoff", `want a number like 2 or 1.5, not "twice"`, "remind_backoff"},
		{"RemindBackoffNaN", reminded("remind_after: 5m", "remind_backoff: NaN"),
			"accounts[1].remind_backoff", `want a number like 2 or 1.5, not "NaN"`, "remind_backoff"},
		{"RemindBackoffInfinite", reminded("remind_after: 5m", "remind_backoff: +Inf"),
			"accounts[1].remind_backoff", `want a number like 2 or 1.5, not "+Inf"`, "remind_backoff"},
		{"RemindMistyped", reminded("remind_afer: 5m"),
			"accounts[1].remind_afer", `unknown key "remind_afer" (did you mean "remind_after"?)`, "remind_afer"},

		{"EscalateAfterNegative", reminded("escalate_after: -1m", "escalate_to: [sec]"),
			"accounts[1].escalate_after", "-1m: must not be negative (0 or absent: never escalated)", "escalate_after"},
		{"EscalateAfterAtTTL", reminded("escalate_after: 30m", "escalate_to: [sec]"),
			"accounts[1].escalate_after", "30m: must be less than the account's ttl (30m): the request would expire before it is escalated", "escalate_after"},
		{"EscalateAfterWithoutTo", reminded("escalate_after: 20m"),
			"accounts[1].escalate_after", "20m: set escalate_to too: the people or groups who may approve once the request is escalated", "escalate_after"},
		{"EscalateToWithoutAfter", reminded("escalate_to: [sec]"),
			"accounts[1].escalate_to", "set escalate_after too: how long a request waits before escalate_to may approve it", "escalate_to"},
		{"EscalateToWithAfterZero", reminded("escalate_after: 0s", "escalate_to: [sec]"),
			"accounts[1].escalate_to", "set escalate_after too: how long a request waits before escalate_to may approve it", "escalate_to"},
		{"EscalateToUnknownGroup", reminded("escalate_after: 20m", "escalate_to: [alice, sek]"),
			"accounts[1].escalate_to[1]", `"sek" is neither a person nor a group of people (did you mean "sec"?)`, "escalate_to"},
		{"EscalateToUnknownFarOff", reminded("escalate_after: 20m", "escalate_to: [eng-managers]"),
			"accounts[1].escalate_to[0]", `"eng-managers" is neither a person nor a group of people`, "escalate_to"},
		{"EscalateToEmpty", reminded("escalate_after: 20m", "escalate_to: []"),
			"accounts[1].escalate_to", "empty: list the people or groups who may approve once the request is escalated", "escalate_to"},
		{"EscalateToNull", reminded("escalate_after: 20m", "escalate_to:", "ttl: 1h"),
			"accounts[1].escalate_to", "empty: list the people or groups who may approve once the request is escalated", "escalate_to"},
		{"EscalateToNotAList", reminded("escalate_after: 20m", "escalate_to: sec"),
			"accounts[1].escalate_to", "want a list, like [a, b]", "escalate_to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ce := problemsOf(t, tt.yaml, getenvFrom(testEnv))
			line := lineOf(t, tt.yaml, tt.marker)
			var found bool
			for _, p := range ce.Problems {
				if p.Path == tt.path && p.Message == tt.msg {
					found = true
					if p.Line != line {
						t.Errorf("line of %v: got %d, want %d", p, p.Line, line)
					}
				}
			}
			if !found {
				t.Errorf("got problems:\n%v\nwant one at %s: %s", ce, tt.path, tt.msg)
			}
		})
	}

	t.Run("ValueFromTheEnvironmentNotShown", func(t *testing.T) {
		data := reminded("remind_after: ${REMIND}")
		ce := problemsOf(t, data, envWith(map[string]string{"REMIND": "2h"}))
		want := config.Problem{Path: "accounts[1].remind_after", Line: lineOf(t, data, "remind_after"),
			Message: "${REMIND} (from the environment, not shown): must be less than the account's ttl (30m): the request would expire before the first reminder"}
		if !slices.Contains(ce.Problems, want) {
			t.Errorf("got problems:\n%v\nwant %v", ce, want)
		}
	})
}

func TestLoadWarnsOfBackoffWithoutReminders(t *testing.T) {
	for _, keys := range [][]string{{"remind_backoff: 2"}, {"remind_after: 0s", "remind_backoff: 2"}} {
		data := reminded(keys...)
		cfg := mustLoad(t, data, getenvFrom(testEnv))
		want := config.Problem{Path: "accounts[1].remind_backoff", Line: lineOf(t, data, "remind_backoff"),
			Message: "set without remind_after: no reminder is sent, so it changes nothing"}
		if !slices.Contains(cfg.Warnings(), want) {
			t.Errorf("%v: got warnings %v, want %v", keys, cfg.Warnings(), want)
		}
	}
	if w := mustLoad(t, reminded("remind_after: 5m", "remind_backoff: 2"), getenvFrom(testEnv)).Warnings(); len(w) != 1 {
		t.Errorf("with remind_after: got warnings %v, want the embedded store's only", w)
	}
}

func TestExampleConfigRemindsAndEscalates(t *testing.T) {
	data, err := os.ReadFile("../deploy/config.example.yaml")
	if err != nil {
		t.Fatalf("read the example: %v", err)
	}
	for _, a := range mustLoad(t, string(data), getenvFrom(testEnv)).Accounts() {
		if a.RemindAfter > 0 && a.EscalateAfter > 0 && len(a.EscalateTo) > 0 {
			return
		}
	}
	t.Errorf("no account of the example sends reminders and escalates")
}
