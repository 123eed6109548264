package config_test

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"resetbot/bot"
	"resetbot/config"
)

// pagedBase is rulesBase with a pagerduty section, and PagerDuty IDs for
// alice (eng) and bob (eng, dba).
var pagedBase = strings.NewReplacer(
	"people:\n", "pagerduty:\n  token: ${PAGERDUTY_TOKEN}\npeople:\n",
	`discord: "1001", groups`, `discord: "1001", pagerduty: PALICE1, groups`,
	`discord: "1002", groups`, `discord: "1002", pagerduty: P1BOB02, groups`,
).Replace(rulesBase)

// paged is accounts[1] of pagedBase, a tencent.cam account for eng, with
// the keys given.
func paged(keys ...string) string {
	return withAccount(pagedBase, append([]string{"name: two", "provider: tencent.cam", "user: u", "requesters: [eng]"}, keys...)...)
}

// incident is paged with approvers [dba]: bob and carol.
func incident(keys ...string) string {
	return paged(append([]string{"approvers: [dba]"}, keys...)...)
}

// withoutPagerDuty is s without pagedBase's pagerduty section.
func withoutPagerDuty(s string) string {
	return strings.Replace(s, "pagerduty:\n  token: ${PAGERDUTY_TOKEN}\n", "", 1)
}

func TestLoadBreakGlass(t *testing.T) {
	tests := []struct {
		name string
		keys []string
		env  map[string]string
		want *bot.BreakGlass
	}{
		{"Absent", nil, nil, nil},
		{"Full", []string{"break_glass: {who: [eng], review_within: 4h, per_person: 2/24h}"}, nil,
			&bot.BreakGlass{Who: []string{"eng"}, ReviewWithin: 4 * time.Hour, PerPerson: bot.Limit{N: 2, Window: 24 * time.Hour}}},
		{"BlockStyle", []string{"break_glass:", "  who: [alice, dba]", "  review_within: 30m", `  per_person: "10/1h30m"`}, nil,
			&bot.BreakGlass{Who: []string{"alice", "dba"}, ReviewWithin: 30 * time.Minute, PerPerson: bot.Limit{N: 10, Window: 90 * time.Minute}}},
		{"NoLimit", []string{"break_glass: {who: [eng], review_within: 4h}"}, nil,
			&bot.BreakGlass{Who: []string{"eng"}, ReviewWithin: 4 * time.Hour}},
		{"LongestReview", []string{"break_glass: {who: [eng], review_within: 168h, per_person: 1/168h}"}, nil,
			&bot.BreakGlass{Who: []string{"eng"}, ReviewWithin: 7 * 24 * time.Hour, PerPerson: bot.Limit{N: 1, Window: 7 * 24 * time.Hour}}},
		{"FromTheEnvironment", []string{"break_glass: {who: [eng], review_within: \"${REVIEW}\", per_person: \"${PER}\"}"},
			map[string]string{"REVIEW": "2h", "PER": "3/12h"},
			&bot.BreakGlass{Who: []string{"eng"}, ReviewWithin: 2 * time.Hour, PerPerson: bot.Limit{N: 3, Window: 12 * time.Hour}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, incident(tt.keys...), envWith(tt.env))
			got := cfg.Accounts()[1]
			if !reflect.DeepEqual(got.BreakGlass, tt.want) {
				t.Errorf("BreakGlass: got %+v, want %+v", got.BreakGlass, tt.want)
			}
			if got.OnCall != nil {
				t.Errorf("OnCall: got %+v, want nil", got.OnCall)
			}
			if first := cfg.Accounts()[0]; first.BreakGlass != nil || first.OnCall != nil {
				t.Errorf("accounts[0]: got break-glass %+v, on-call %+v; want neither", first.BreakGlass, first.OnCall)
			}
		})
	}
}

func TestLoadOnCall(t *testing.T) {
	tests := []struct {
		name string
		keys []string
		want *bot.OnCallPolicy
	}{
		{"Full", []string{"on_call: {escalation_policy: PPOLICY1, levels: [1, 2], incident_on: [PSERVICE1, P2SVC]}"},
			&bot.OnCallPolicy{EscalationPolicy: "PPOLICY1", Levels: []int{1, 2}, IncidentOn: []string{"PSERVICE1", "P2SVC"}}},
		{"BlockStyle", []string{"on_call:", "  escalation_policy: PXPGF42", "  levels:", "    - 2"},
			&bot.OnCallPolicy{EscalationPolicy: "PXPGF42", Levels: []int{2}}},
		{"NoIncidentNeeded", []string{"on_call: {escalation_policy: PPOLICY1, levels: [1]}"},
			&bot.OnCallPolicy{EscalationPolicy: "PPOLICY1", Levels: []int{1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustLoad(t, incident(tt.keys...), getenvFrom(testEnv)).Accounts()[1]
			if !reflect.DeepEqual(got.OnCall, tt.want) {
				t.Errorf("OnCall: got %+v, want %+v", got.OnCall, tt.want)
			}
			if got.BreakGlass != nil {
				t.Errorf("BreakGlass: got %+v, want nil", got.BreakGlass)
			}
		})
	}

	t.Run("AlongWithBreakGlass", func(t *testing.T) {
		got := mustLoad(t, incident("break_glass: {who: [eng], review_within: 4h}", "on_call: {escalation_policy: PPOLICY1, levels: [1]}"), getenvFrom(testEnv)).Accounts()[1]
		if got.BreakGlass == nil || got.OnCall == nil {
			t.Errorf("got break-glass %+v, on-call %+v; want both", got.BreakGlass, got.OnCall)
		}
	})
}

func TestLoadPagerDuty(t *testing.T) {
	data := strings.Replace(incident("on_call: {escalation_policy: PPOLICY1, levels: [1]}"),
		"token: ${PAGERDUTY_TOKEN}", "token: ${PAGERDUTY_TOKEN}\n  api_url: http://127.0.0.1:9090/", 1)
	cfg := mustLoad(t, data, getenvFrom(testEnv))
	if cfg.PagerDuty == nil {
		t.Fatalf("PagerDuty: got nil")
	}
	if got, want := cfg.PagerDuty.Token.Value(), testEnv["PAGERDUTY_TOKEN"]; got != want {
		t.Errorf("PagerDuty.Token: got %q, want %q", got, want)
	}
	if got, want := cfg.PagerDuty.APIURL, "http://127.0.0.1:9090/"; got != want {
		t.Errorf("PagerDuty.APIURL: got %q, want %q", got, want)
	}
	var ids []string
	for _, p := range cfg.People() {
		ids = append(ids, p.Name+"="+p.PagerDuty)
	}
	if want := []string{"alice=PALICE1", "bob=P1BOB02", "carol=", "dave="}; !slices.Equal(ids, want) {
		t.Errorf("People' PagerDuty IDs: got %v, want %v", ids, want)
	}
	if w := cfg.Warnings(); len(w) != 1 || w[0].Path != "redis.url" {
		t.Errorf("Warnings: got %v, want the embedded store's only", w)
	}
	if cfg := mustLoad(t, baseYAML, getenvFrom(testEnv)); cfg.PagerDuty != nil {
		t.Errorf("without a pagerduty section: got %+v, want nil", cfg.PagerDuty)
	}
}

func TestLoadReportsIncidentProblem(t *testing.T) {
	bg := func(keys ...string) string { return incident(append([]string{"break_glass:"}, keys...)...) }
	oc := func(keys ...string) string { return incident(append([]string{"on_call:"}, keys...)...) }
	ok := "  review_within: 4h"
	policy := "  escalation_policy: PPOLICY1"
	tests := []struct {
		name   string
		yaml   string
		env    map[string]string // changes to testEnv
		path   string
		msg    string // the whole message
		marker string // the problem's line contains it
	}{
		// people[].pagerduty
		{"PersonIDLowerCase", strings.Replace(incident(), "PALICE1", "palice1", 1), nil,
			"people[0].pagerduty", `"palice1" is not a PagerDuty user ID (like PALICE1: P, then upper-case letters and digits, 2 to 20 characters)`, "palice1"},
		{"PersonIDNotP", strings.Replace(incident(), "PALICE1", "XALICE1", 1), nil,
			"people[0].pagerduty", `"XALICE1" is not a PagerDuty user ID (like PALICE1: P, then upper-case letters and digits, 2 to 20 characters)`, "XALICE1"},
		{"PersonIDTooShort", strings.Replace(incident(), "PALICE1", "P", 1), nil,
			"people[0].pagerduty", `"P" is not a PagerDuty user ID (like PALICE1: P, then upper-case letters and digits, 2 to 20 characters)`, "name: alice"},
		{"PersonIDTooLong", strings.Replace(incident(), "PALICE1", "PABCDEFGHIJKLMNOPQRST", 1), nil,
			"people[0].pagerduty", `"PABCDEFGHIJKLMNOPQRST" is not a PagerDuty user ID (like PALICE1: P, then upper-case letters and digits, 2 to 20 characters)`, "PABCDEFGHIJKLMNOPQRST"},
		{"PersonIDEmail", strings.Replace(incident(), "PALICE1", "alice@example.com", 1), nil,
			"people[0].pagerduty", `"alice@example.com" is not a PagerDuty user ID (like PALICE1: P, then upper-case letters and digits, 2 to 20 characters)`, "alice@"},
		{"PersonIDTwice", strings.Replace(incident(), "P1BOB02", "PALICE1", 1), nil,
			"people[1].pagerduty", "PALICE1 is already people[0]'s PagerDuty ID", "name: bob"},
		{"PersonIDNotAValue", strings.Replace(incident(), "pagerduty: PALICE1", "pagerduty: [PALICE1]", 1), nil,
			"people[0].pagerduty", "want a single value, not a list or mapping", "name: alice"},

		// pagerduty:
		{"APIURLNotHTTP", strings.Replace(incident(), "token: ${PAGERDUTY_TOKEN}", "token: ${PAGERDUTY_TOKEN}\n  api_url: ftp://pd.example", 1), nil,
			"pagerduty.api_url", `"ftp://pd.example" is not an http(s) URL`, "api_url"},
		{"APIURLNoHost", strings.Replace(incident(), "token: ${PAGERDUTY_TOKEN}", "token: ${PAGERDUTY_TOKEN}\n  api_url: https://", 1), nil,
			"pagerduty.api_url", `"https://" is not an http(s) URL`, "api_url"},
		{"TokenVariableUnset", incident("on_call: {escalation_policy: PPOLICY1, levels: [1]}"), map[string]string{"PAGERDUTY_TOKEN": ""},
			"pagerduty.token", "environment variable PAGERDUTY_TOKEN is not set (or empty)", "token:"},
		{"PagerDutyKeyMistyped", strings.Replace(incident(), "\n  token:", "\n  tokn:", 1), nil,
			"pagerduty.tokn", `unknown key "tokn" (did you mean "token"?)`, "tokn"},
		{"PagerDutyNotAMapping", strings.Replace(incident(), "pagerduty:\n  token: ${PAGERDUTY_TOKEN}", "pagerduty: PDTOKEN", 1), nil,
			"pagerduty", "want a mapping of keys", "pagerduty: PDTOKEN"},

		// break_glass:
		{"BreakGlassMistyped", incident("break_glas: {who: [eng], review_within: 4h}"), nil,
			"accounts[1].break_glas", `unknown key "break_glas" (did you mean "break_glass"?)`, "break_glas:"},
		{"BreakGlassEmpty", incident("break_glass:"), nil,
			"accounts[1].break_glass", "empty: set who and review_within, or leave break_glass out", "break_glass:"},
		{"BreakGlassNotAMapping", incident("break_glass: [eng]"), nil,
			"accounts[1].break_glass", "want a mapping of keys", "break_glass:"},
		{"BreakGlassKeyMistyped", bg("  who: [eng]", ok, "  review_whithin: 4h"), nil,
			"accounts[1].break_glass.review_whithin", `unknown key "review_whithin" (did you mean "review_within"?)`, "review_whithin"},
		{"WhoMissing", bg(ok), nil,
			"accounts[1].break_glass.who", "missing: the people or groups who may reset without a prior vote", "break_glass:"},
		{"WhoEmpty", bg("  who: []", ok), nil,
			"accounts[1].break_glass.who", "missing: the people or groups who may reset without a prior vote", "who: []"},
		{"WhoNotAList", bg("  who: eng", ok), nil,
			"accounts[1].break_glass.who", "want a list, like [a, b]", "who: eng"},
		{"WhoUnknownGroup", bg("  who: [alice, engg]", ok), nil,
			"accounts[1].break_glass.who[1]", `"engg" is neither a person nor a group of people (did you mean "eng"?)`, "who:"},
		{"WhoUnknownFarOff", bg("  who: [oncall-primary]", ok), nil,
			"accounts[1].break_glass.who[0]", `"oncall-primary" is neither a person nor a group of people`, "who:"},
		{"ReviewWithinMissing", bg("  who: [eng]"), nil,
			"accounts[1].break_glass.review_within", "missing: how long approvers have to confirm a break-glass reset (like 4h, at most 168h)", "break_glass:"},
		{"ReviewWithinZero", bg("  who: [eng]", "  review_within: 0s"), nil,
			"accounts[1].break_glass.review_within", "0s: must be more than 0 and at most 168h (7 days): a later review is no review", "review_within"},
		{"ReviewWithinNegative", bg("  who: [eng]", "  review_within: -1h"), nil,
			"accounts[1].break_glass.review_within", "-1h: must be more than 0 and at most 168h (7 days): a later review is no review", "review_within"},
		{"ReviewWithinOverAWeek", bg("  who: [eng]", "  review_within: 169h"), nil,
			"accounts[1].break_glass.review_within", "169h: must be more than 0 and at most 168h (7 days): a later review is no review", "review_within"},
		{"ReviewWithinJustOverAWeek", bg("  who: [eng]", "  review_within: 168h0m0.000000001s"), nil,
			"accounts[1].break_glass.review_within", "168h0m0.000000001s: must be more than 0 and at most 168h (7 days): a later review is no review", "review_within"},
		{"ReviewWithinNotADuration", bg("  who: [eng]", "  review_within: 4"), nil,
			"accounts[1].break_glass.review_within", `want a duration like 30m or 1h, not "4"`, "review_within"},
		{"PerPersonNumberOnly", bg("  who: [eng]", ok, "  per_person: 2"), nil,
			"accounts[1].break_glass.per_person", `"2": is not N/duration, like 2/24h (at most 2 break-glass resets per person within 24h)`, "per_person"},
		{"PerPersonWordy", bg("  who: [eng]", ok, "  per_person: two/24h"), nil,
			"accounts[1].break_glass.per_person", `"two/24h": is not N/duration, like 2/24h (at most 2 break-glass resets per person within 24h)`, "per_person"},
		{"PerPersonNegative", bg("  who: [eng]", ok, "  per_person: -1/24h"), nil,
			"accounts[1].break_glass.per_person", `"-1/24h": is not N/duration, like 2/24h (at most 2 break-glass resets per person within 24h)`, "per_person"},
		{"PerPersonZero", bg("  who: [eng]", ok, "  per_person: 0/24h"), nil,
			"accounts[1].break_glass.per_person", `"0/24h": N must be at least 1 (leave per_person out for no limit)`, "per_person"},
		{"PerPersonDay", bg("  who: [eng]", ok, "  per_person: 2/day"), nil,
			"accounts[1].break_glass.per_person", `"2/day": the duration after / is not a duration like 24h or 90m`, "per_person"},
		{"PerPersonTwoSlashes", bg("  who: [eng]", ok, "  per_person: 2/24h/1"), nil,
			"accounts[1].break_glass.per_person", `"2/24h/1": the duration after / is not a duration like 24h or 90m`, "per_person"},
		{"PerPersonNoWindow", bg("  who: [eng]", ok, "  per_person: 2/0s"), nil,
			"accounts[1].break_glass.per_person", `"2/0s": the duration after / must be more than 0`, "per_person"},
		{"PerPersonNegativeWindow", bg("  who: [eng]", ok, "  per_person: 2/-1h"), nil,
			"accounts[1].break_glass.per_person", `"2/-1h": the duration after / must be more than 0`, "per_person"},

		// Who may review.
		{"OnlyApproverIsBreakGlass", paged("approvers: [carol]", "break_glass:", "  who: [carol]", ok), nil,
			"accounts[1].break_glass.who", "nobody but carol could review carol's break-glass reset of two: reviewers are the approvers of the account's rules, never the requester", "who: [carol]"},
		{"OnlyApproverInGroup", paged("approvers: [carol]", "break_glass:", "  who: [dba]", ok), nil,
			"accounts[1].break_glass.who", "nobody but carol could review carol's break-glass reset of two: reviewers are the approvers of the account's rules, never the requester", "who: [dba]"},
		{"OnlyRulePersonIsBreakGlass", paged("approval_rules: [{from: [sec], count: 1}]", "break_glass:", "  who: [dave]", ok), nil,
			"accounts[1].break_glass.who", "nobody but dave could review dave's break-glass reset of two: reviewers are the approvers of the account's rules, never the requester", "who: [dave]"},
		{"OnCallRequesterOnlyApprover", paged("approvers: [bob]", "on_call: {escalation_policy: PPOLICY1, levels: [1]}"), nil,
			"accounts[1].on_call", "nobody but bob could review bob's on-call reset of two: reviewers are the approvers of the account's rules, never the requester", "on_call:"},

		// on_call:
		{"OnCallMistyped", incident("on_cal: {escalation_policy: PPOLICY1, levels: [1]}"), nil,
			"accounts[1].on_cal", `unknown key "on_cal" (did you mean "on_call"?)`, "on_cal:"},
		{"OnCallEmpty", incident("on_call:"), nil,
			"accounts[1].on_call", "empty: set escalation_policy and levels, or leave on_call out", "on_call:"},
		{"OnCallWithoutPagerDuty", withoutPagerDuty(incident("on_call: {escalation_policy: PPOLICY1, levels: [1]}")), nil,
			"accounts[1].on_call", `on_call needs pagerduty.token: set pagerduty: {token: "${PAGERDUTY_TOKEN}"}`, "on_call:"},
		{"OnCallWithoutToken", strings.Replace(incident("on_call: {escalation_policy: PPOLICY1, levels: [1]}"), "token: ${PAGERDUTY_TOKEN}", `token: ""`, 1), nil,
			"accounts[1].on_call", `on_call needs pagerduty.token: set pagerduty: {token: "${PAGERDUTY_TOKEN}"}`, "on_call:"},
		{"OnCallKeyMistyped", oc(policy, "  levels: [1]", "  incidents_on: [PSERVICE1]"), nil,
			"accounts[1].on_call.incidents_on", `unknown key "incidents_on" (did you mean "incident_on"?)`, "incidents_on"},
		{"PolicyMissing", oc("  levels: [1]"), nil,
			"accounts[1].on_call.escalation_policy", "missing: the ID of the PagerDuty escalation policy whose on-call people are approved (like PPOLICY1)", "on_call:"},
		{"PolicyNotAnID", oc("  escalation_policy: ppolicy1", "  levels: [1]"), nil,
			"accounts[1].on_call.escalation_policy", `"ppolicy1" is not a PagerDuty ID (like PPOLICY1: P, then upper-case letters and digits, 2 to 20 characters)`, "escalation_policy"},
		{"PolicyName", oc("  escalation_policy: Database on call", "  levels: [1]"), nil,
			"accounts[1].on_call.escalation_policy", `"Database on call" is not a PagerDuty ID (like PPOLICY1: P, then upper-case letters and digits, 2 to 20 characters)`, "escalation_policy"},
		{"LevelsMissing", oc(policy), nil,
			"accounts[1].on_call.levels", "missing: the escalation levels whose on-call people are approved, like [1] (1 is the first)", "on_call:"},
		{"LevelsEmpty", oc(policy, "  levels: []"), nil,
			"accounts[1].on_call.levels", "missing: the escalation levels whose on-call people are approved, like [1] (1 is the first)", "levels"},
		{"LevelsNotAList", oc(policy, "  levels: 1"), nil,
			"accounts[1].on_call.levels", "want a list, like [a, b]", "levels"},
		{"LevelZero", oc(policy, "  levels: [1, 0]"), nil,
			"accounts[1].on_call.levels[1]", "0: a level is 1 or more (1 is the first)", "levels"},
		{"LevelNegative", oc(policy, "  levels:", "    - 1", "    - -2"), nil,
			"accounts[1].on_call.levels[1]", "-2: a level is 1 or more (1 is the first)", "- -2"},
		{"LevelTwice", oc(policy, "  levels: [1, 2, 1]"), nil,
			"accounts[1].on_call.levels[2]", "1 is listed twice", "levels"},
		{"LevelNotANumber", oc(policy, "  levels: [first]"), nil,
			"accounts[1].on_call.levels[0]", `want a whole number, not "first"`, "levels"},
		{"IncidentOnNotAnID", oc(policy, "  levels: [1]", "  incident_on: [PSERVICE1, checkout]"), nil,
			"accounts[1].on_call.incident_on[1]", `"checkout" is not a PagerDuty service ID (like PSERVICE1: P, then upper-case letters and digits, 2 to 20 characters)`, "incident_on"},
		{"IncidentOnTwice", oc(policy, "  levels: [1]", "  incident_on: [PSERVICE1, PSERVICE1]"), nil,
			"accounts[1].on_call.incident_on[1]", `"PSERVICE1" is listed twice`, "incident_on"},
		{"IncidentOnNotAList", oc(policy, "  levels: [1]", "  incident_on: PSERVICE1"), nil,
			"accounts[1].on_call.incident_on", "want a list, like [a, b]", "incident_on"},

		// Command words: an account so named could not be asked for.
		{"AccountNamedConfirm", withAccount(pagedBase, "name: confirm", "provider: tencent.cam", "user: u", "requesters: [eng]", "approvers: [dba]"), nil,
			"accounts[1].name", `"confirm" is a command word: /reset-password confirm would not ask for it`, "name: confirm"},
		{"AccountNamedReject", withAccount(pagedBase, "name: Reject", "provider: tencent.cam", "user: u", "requesters: [eng]", "approvers: [dba]"), nil,
			"accounts[1].name", `"Reject" is a command word: /reset-password Reject would not ask for it`, "name: Reject"},
		// escalate_to does not review: it approves only after escalate_after
		{"OnlyEscalateToCouldReview", paged("approvers: [carol]", "escalate_after: 20m", "escalate_to: [dave]", "break_glass: {who: [carol], review_within: 4h}"), nil,
			"accounts[1].break_glass.who", "nobody but carol could review carol's break-glass reset of two: reviewers are the approvers of the account's rules, never the requester", "break_glass:"},
		{"AccountNamedBreakGlass", withAccount(pagedBase, "name: break-glass", "provider: tencent.cam", "user: u", "requesters: [eng]", "approvers: [dba]"), nil,
			"accounts[1].name", `"break-glass" is a command word: /reset-password break-glass would not ask for it`, "name: break-glass"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ce := problemsOf(t, tt.yaml, envWith(tt.env))
			want := config.Problem{Path: tt.path, Line: lineOf(t, tt.yaml, tt.marker), Message: tt.msg}
			// The one thing wrong is the one problem: the checks do not
			// pile other problems on it.
			if len(ce.Problems) != 1 || ce.Problems[0] != want {
				t.Errorf("got problems:\n%v\nwant only %v", ce, want)
			}
		})
	}
}

// TestLoadReviewersAnywhere: a break-glass person who is an account's only
// approver is reviewable when someone else may review: another rule's
// people, or anyone in config when Discord roles admit approvers.
func TestLoadReviewersAnywhere(t *testing.T) {
	tests := []struct {
		name string
		yaml string
	}{
		{"AnotherRule", paged("approval_rules: [{from: [sec], count: 1}, {from: [carol], count: 1}]", "break_glass: {who: [dave], review_within: 4h}")},
		{"ApproverRoles", discordYAML + paged("approvers: [carol]", `approver_roles: ["42"]`, "break_glass: {who: [carol], review_within: 4h}")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if a := mustLoad(t, tt.yaml, getenvFrom(testEnv)).Accounts()[1]; a.BreakGlass == nil {
				t.Errorf("BreakGlass: got nil")
			}
		})
	}
}

func TestLoadWarnsOfIncidents(t *testing.T) {
	onCall := "on_call: {escalation_policy: PPOLICY1, levels: [1]}"
	tests := []struct {
		name   string
		yaml   string
		path   string
		msg    string // the whole message
		marker string // the warning's line contains it
	}{
		{"PagerDutyUnused", incident(),
			"pagerduty", "no account has on_call: it is unused", "^pagerduty:"},
		{"TokenWrittenInFile", strings.Replace(incident(onCall), "${PAGERDUTY_TOKEN}", "pd-token-in-file", 1),
			"pagerduty.token", `written in the file: prefer "${PAGERDUTY_TOKEN}"`, "token:"},
		{"NoPersonHasAnID", withAccount("pagerduty: {token: \"${PAGERDUTY_TOKEN}\"}\n"+rulesBase, "name: two", "provider: tencent.cam", "user: u", "requesters: [eng]", "approvers: [dba]", onCall),
			"accounts[1].on_call", "no person has a pagerduty ID (people[].pagerduty): nobody can be found on call, so no request is auto-approved", "on_call:"},
		// alice and bob have PagerDuty IDs; carol and dave do not.
		{"NoRequesterHasAnID", withAccount(pagedBase, "name: two", "provider: tencent.cam", "user: u", "requesters: [carol, dave]", "approvers: [dba, sec]", onCall),
			"accounts[1].on_call", "none of the account's requesters has a pagerduty ID (people[].pagerduty): no request is auto-approved", "on_call:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, tt.yaml, getenvFrom(testEnv))
			want := config.Problem{Path: tt.path, Line: lineOf(t, tt.yaml, tt.marker), Message: tt.msg}
			if !slices.Contains(cfg.Warnings(), want) {
				t.Errorf("got warnings %v, want %v", cfg.Warnings(), want)
			}
		})
	}
	t.Run("NoneWhenAllIsSet", func(t *testing.T) {
		cfg := mustLoad(t, incident(onCall, "break_glass: {who: [eng], review_within: 4h}"), getenvFrom(testEnv))
		if w := cfg.Warnings(); len(w) != 1 || w[0].Path != "redis.url" {
			t.Errorf("Warnings: got %v, want the embedded store's only", w)
		}
	})
}

func TestExampleConfigHasIncidents(t *testing.T) {
	data, err := os.ReadFile("../deploy/config.example.yaml")
	if err != nil {
		t.Fatalf("read the example: %v", err)
	}
	cfg := mustLoad(t, string(data), getenvFrom(testEnv))
	if cfg.PagerDuty == nil || cfg.PagerDuty.Token.Value() != testEnv["PAGERDUTY_TOKEN"] {
		t.Errorf("PagerDuty: got %+v, want the token from ${PAGERDUTY_TOKEN}", cfg.PagerDuty)
	}
	var breakGlass, onCall bool
	for _, a := range cfg.Accounts() {
		breakGlass = breakGlass || a.BreakGlass != nil && a.BreakGlass.PerPerson.N > 0
		onCall = onCall || a.OnCall != nil && len(a.OnCall.IncidentOn) > 0
	}
	if !breakGlass || !onCall {
		t.Errorf("got break_glass with per_person %v, on_call with incident_on %v; want an account with each", breakGlass, onCall)
	}
	if !slices.ContainsFunc(cfg.People(), func(p bot.Person) bool { return p.PagerDuty != "" }) {
		t.Errorf("no person of the example has a PagerDuty ID")
	}
}

// TestCheckIncidentsWithoutFile: a Config made in Go, not read from a file,
// is checked the same way, its problems without lines.
func TestCheckIncidentsWithoutFile(t *testing.T) {
	review := 4 * time.Hour
	c := &config.Config{
		PersonConfigs: []config.Person{{Name: "alice", Slack: "U0ALICE", PagerDuty: "PALICE1"}, {Name: "bob", Slack: "U0BOB"}},
		AccountConfigs: []config.Account{{
			Name: "prod-db", Requesters: []string{"alice"}, Approvers: []string{"alice"},
			BreakGlass: &config.BreakGlass{Who: []string{"alice"}, ReviewWithin: &review},
			OnCall:     &config.OnCall{EscalationPolicy: "PPOLICY1", Levels: []int{1}},
		}},
	}
	problems := c.Check()
	for _, want := range []config.Problem{
		{Path: "accounts[0].break_glass.who", Message: "nobody but alice could review alice's break-glass reset of prod-db: reviewers are the approvers of the account's rules, never the requester"},
		{Path: "accounts[0].on_call", Message: `on_call needs pagerduty.token: set pagerduty: {token: "${PAGERDUTY_TOKEN}"}`},
	} {
		if !slices.Contains(problems, want) {
			t.Errorf("got problems %v, want %v", problems, want)
		}
	}
	c.PagerDuty = &config.PagerDuty{Token: bot.NewSecret("pd-token")}
	c.AccountConfigs[0].Approvers = []string{"bob"}
	c.AccountConfigs[0].BreakGlass.Who = []string{"alice", "bob"}
	// bob may review alice's, but nobody bob's.
	var about []config.Problem
	for _, p := range c.Check() {
		if strings.Contains(p.Path, "break_glass") || strings.Contains(p.Path, "on_call") {
			about = append(about, p)
		}
	}
	want := config.Problem{Path: "accounts[0].break_glass.who", Message: "nobody but bob could review bob's break-glass reset of prod-db: reviewers are the approvers of the account's rules, never the requester"}
	if len(about) != 1 || about[0] != want {
		t.Errorf("got problems %v, want only %v", about, want)
	}
}

// TestLoadReservedPersonNames: nobody may be called system or pagerduty,
// the audit log's actors for the bot itself and for PagerDuty's
// auto-approvals.
func TestLoadReservedPersonNames(t *testing.T) {
	for _, name := range []string{"system", "pagerduty"} {
		t.Run(name, func(t *testing.T) {
			yaml := strings.Replace(rulesBase, "accounts:", "  - {name: "+name+", slack: U0SYS, groups: [sec]}\naccounts:", 1)
			ce := problemsOf(t, yaml, getenvFrom(testEnv))
			want := config.Problem{Path: "people[4].name", Line: lineOf(t, yaml, "{name: "+name), Message: `"` + name + `" is reserved: the audit log names the bot itself and PagerDuty's approvals so; pick another name`}
			if len(ce.Problems) != 1 || ce.Problems[0] != want {
				t.Errorf("got problems:\n%v\nwant only %v", ce, want)
			}
		})
	}
}
