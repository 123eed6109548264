package config_test

import (
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"resetbot/bot"
	"resetbot/config"
)

// rulesBase is baseYAML with dave, the one person of group sec.
var rulesBase = strings.Replace(baseYAML, "accounts:", "  - {name: dave, slack: U0DAVE, discord: \"1004\", groups: [sec]}\naccounts:", 1)

// withAccount appends accounts[1] to base, one key a line.
func withAccount(base string, keys ...string) string {
	var b strings.Builder
	b.WriteString(base)
	for i, k := range keys {
		if i == 0 {
			b.WriteString("  - " + k + "\n")
		} else {
			b.WriteString("    " + k + "\n")
		}
	}
	return b.String()
}

// ruled is accounts[1], a tencent.cam account for eng, with the keys given.
func ruled(keys ...string) string {
	return withAccount(rulesBase, append([]string{"name: two", "provider: tencent.cam", "user: u", "requesters: [eng]"}, keys...)...)
}

func TestLoadApprovalRules(t *testing.T) {
	data := ruled("approval_rules:", "  - {from: [dba], count: 1}", "  - {from: [sec, alice], count: 1}", "reveal_within: 10m")
	cfg := mustLoad(t, data, getenvFrom(testEnv))
	got := cfg.Accounts()[1]
	want := []bot.Rule{{From: []string{"dba"}, Count: 1}, {From: []string{"sec", "alice"}, Count: 1}}
	if !reflect.DeepEqual(got.Rules, want) {
		t.Errorf("Rules: got %+v, want %+v", got.Rules, want)
	}
	if !reflect.DeepEqual(got.ApprovalRules(), want) {
		t.Errorf("ApprovalRules: got %+v, want %+v", got.ApprovalRules(), want)
	}
	// The shorthand's fields stay empty: the bot reads the rules.
	if got.Approvers != nil || got.Approvals != 2 {
		t.Errorf("Approvers, Approvals: got %v, %d; want nil and 2 (the people needed in all)", got.Approvers, got.Approvals)
	}
	if got.RevealWithin.String() != "10m0s" {
		t.Errorf("RevealWithin: got %v, want the account's other keys read as before", got.RevealWithin)
	}
	// The shorthand is still one rule, and no Rules.
	short := cfg.Accounts()[0]
	if short.Rules != nil || !reflect.DeepEqual(short.ApprovalRules(), []bot.Rule{{From: []string{"dba"}, Count: 1}}) {
		t.Errorf("shorthand account: got Rules %v, ApprovalRules %v; want none and [{[dba] 1}]", short.Rules, short.ApprovalRules())
	}
}

func TestLoadReportsRuleProblem(t *testing.T) {
	tests := []struct {
		name   string
		yaml   string
		path   string
		msg    string // the whole message
		marker string // the problem's line contains it
	}{
		{"UnknownGroupInFrom", ruled("approval_rules:", "  - {from: [dba, ops], count: 1}"),
			"accounts[1].approval_rules[0].from[1]", `"ops" is neither a person nor a group of people`, "[dba, ops]"},
		{"UnknownPersonInFrom", ruled("approval_rules:", "  - {from: [dba], count: 1}", "  - {from: [zed], count: 1}"),
			"accounts[1].approval_rules[1].from[0]", `"zed" is neither a person nor a group of people`, "[zed]"},
		{"CountMissing", ruled("approval_rules:", "  - {from: [dba]}"),
			"accounts[1].approval_rules[0].count", "missing: how many of these people must approve (at least 1)", "{from: [dba]}"},
		{"CountZero", ruled("approval_rules:", "  - {from: [dba], count: 0}"),
			"accounts[1].approval_rules[0].count", "0: must be at least 1", "count: 0"},
		{"CountNegative", ruled("approval_rules:", "  - {from: [dba], count: -2}"),
			"accounts[1].approval_rules[0].count", "-2: must be at least 1", "count: -2"},
		{"CountLargerThanGroup", ruled("approval_rules:", "  - {from: [dba], count: 3}"),
			"accounts[1].approval_rules[0].count", "3 approvals needed but only 2 people may approve under this rule", "count: 3"},
		{"CountLargerThanPerson", ruled("approval_rules:", "  - from: [carol]", "    count: 2"),
			"accounts[1].approval_rules[0].count", "2 approvals needed but only 1 person may approve under this rule", "count: 2"},
		{"CountNotANumber", ruled("approval_rules:", "  - {from: [dba], count: one}"),
			"accounts[1].approval_rules[0].count", `want a whole number, not "one"`, "count: one"},
		{"FromEmpty", ruled("approval_rules:", "  - {from: [], count: 1}"),
			"accounts[1].approval_rules[0].from", "missing: the people or groups who may approve under this rule", "from: []"},
		{"FromMissing", ruled("approval_rules:", "  - {from: [dba], count: 1}", "  - {count: 1}"),
			"accounts[1].approval_rules[1].from", "missing: the people or groups who may approve under this rule", "{count: 1}"},
		{"FromNotAList", ruled("approval_rules:", "  - {from: dba, count: 1}"),
			"accounts[1].approval_rules[0].from", "want a list, like [a, b]", "from: dba"},
		{"UnknownRuleKey", ruled("approval_rules:", "  - {from: [dba], cuont: 1}"),
			"accounts[1].approval_rules[0].cuont", `unknown key "cuont" (did you mean "count"?)`, "cuont"},
		{"RulesEmpty", ruled("approval_rules: []"),
			"accounts[1].approval_rules", "empty: list at least one rule, like {from: [db-approvers], count: 1}", "approval_rules: []"},
		{"RulesNull", ruled("approval_rules:", "ttl: 1h"),
			"accounts[1].approval_rules", "empty: list at least one rule, like {from: [db-approvers], count: 1}", "approval_rules:"},
		{"RulesNotAList", ruled("approval_rules: {from: [dba], count: 1}"),
			"accounts[1].approval_rules", "want a list, like [a, b]", "approval_rules:"},

		// One form or the other.
		{"RulesAndApprovers", ruled("approvers: [dba]", "approval_rules:", "  - {from: [sec], count: 1}"),
			"accounts[1].approval_rules", "", "approval_rules:"},
		{"RulesAndApprovals", ruled("approval_rules:", "  - {from: [sec], count: 1}", "approvals: 1"),
			"accounts[1].approval_rules", "", "approval_rules:"},

		// The roles feed the shorthand's one rule only (bot.RequestRules).
		{"RulesAndApproverRoles", discordYAML + ruled("approval_rules:", "  - {from: [dba], count: 1}", "approver_roles: [\"42\"]"),
			"accounts[1].approval_rules", "", "approval_rules:"},

		// Channels.
		{"SlackChannelName", ruled("approvers: [dba]", "channels: {slack: general}"),
			"accounts[1].channels.slack", `"general" is not a Slack channel ID (like C012AB3CD)`, "general"},
		{"SlackChannelLowerCase", ruled("approvers: [dba]", "channels: {slack: c0dbteam}"),
			"accounts[1].channels.slack", `"c0dbteam" is not a Slack channel ID (like C012AB3CD)`, "c0dbteam"},
		{"SlackUserIDAsChannel", ruled("approvers: [dba]", "channels: {slack: U0ALICE}"),
			"accounts[1].channels.slack", `"U0ALICE" is not a Slack channel ID (like C012AB3CD)`, "channels:"},
		{"SlackChannelWithHash", ruled("approvers: [dba]", "channels:", "  slack: \"#db\""),
			"accounts[1].channels.slack", `"#db" is not a Slack channel ID (like C012AB3CD)`, "#db"},
		{"DiscordChannelNotSnowflake", ruled("approvers: [dba]", "channels: {discord: \"#db-team\"}"),
			"accounts[1].channels.discord", `"#db-team" is not a Discord channel ID (digits only)`, "#db-team"},
		{"DiscordChannelTooLong", ruled("approvers: [dba]", "channels: {discord: \"123456789012345678901\"}"),
			"accounts[1].channels.discord", `"123456789012345678901" is not a Discord channel ID (digits only)`, "channels:"},
		{"ChannelUnknownPlatform", ruled("approvers: [dba]", "channels: {teams: C0DB}"),
			"accounts[1].channels.teams", `unknown key "teams"`, "teams"},
		{"ChannelsNotAMapping", ruled("approvers: [dba]", "channels: C0DBTEAM"),
			"accounts[1].channels", "want a mapping of keys", "channels: C0DBTEAM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ce := problemsOf(t, tt.yaml, getenvFrom(testEnv))
			line := lineOf(t, tt.yaml, tt.marker)
			msg := tt.msg
			if msg == "" {
				// The message names the other form's line.
				key := "approvers"
				if strings.Contains(tt.name, "Approvals") {
					key = "approvals"
				}
				msg = fmt.Sprintf("set approval_rules or the approvers/approvals shorthand, not both (%s is at line %d)", key, lineOf(t, tt.yaml, key+":"))
				if strings.Contains(tt.name, "ApproverRoles") {
					msg = fmt.Sprintf("approver_roles admit approvers under the approvers/approvals shorthand's one rule only: use one form, approval_rules or the shorthand with approver_roles (approver_roles is at line %d)", lineOf(t, tt.yaml, "approver_roles:"))
				}
			}
			var found bool
			for _, p := range ce.Problems {
				if p.Path == tt.path && p.Message == msg {
					found = true
					if p.Line != line {
						t.Errorf("line of %v: got %d, want %d", p, p.Line, line)
					}
				}
			}
			if !found {
				t.Errorf("got problems:\n%v\nwant one at %s: %s", ce, tt.path, msg)
			}
		})
	}
}

func TestCheckRulesSatisfiable(t *testing.T) {
	type problem struct{ path, msg, marker string }
	tests := []struct {
		name string
		yaml string
		want []problem // none: it loads
		warn []problem // when it loads, its warnings about accounts[1]
	}{{
		// bob is in both rules' groups: asking, he leaves sec empty. alice
		// is approved by carol (dba) and bob (sec).
		name: "RequesterInBothGroups",
		yaml: strings.Replace(ruled("approval_rules:", "  - {from: [dba], count: 1}", "  - {from: [security], count: 1}"),
			"groups: [eng, dba]}", "groups: [eng, dba, security]}", 1),
		want: []problem{{"accounts[1].approval_rules[1]",
			"account two: requests by bob could never be approved: rule security needs 1, and nobody besides the requester may approve under it",
			"[security], count: 1"}},
	}, {
		// Three approvals from dba's two people: nobody could ever be
		// approved, whoever asks.
		name: "TwoRulesOverOneGroup",
		yaml: ruled("approval_rules:", "  - {from: [dba], count: 2}", "  - {from: [dba], count: 1}"),
		want: []problem{
			{"accounts[1].approval_rules[0]",
				"account two: requests by bob could never be approved: rule dba needs 2, and only 1 person besides the requester may approve under it",
				"[dba], count: 2"},
			{"accounts[1].approval_rules[1]",
				"account two: requests by alice could never be approved: rule dba needs 1, but its people besides the requester (bob, carol) are needed for approval_rules[0] (dba) too; one person's approval counts toward one rule only",
				"[dba], count: 1"},
		},
	}, {
		// Requesters with the same reason are named together.
		name: "SameReasonOneProblem",
		yaml: strings.Replace(ruled("approval_rules:", "  - {from: [dba], count: 2}", "  - {from: [carol], count: 1}"), "requesters: [eng]\n    approval_rules", "requesters: [alice, dave]\n    approval_rules", 1),
		want: []problem{{"accounts[1].approval_rules[1]",
			"account two: requests by alice, dave could never be approved: rule carol needs 1, but its people besides the requester (carol) are needed for approval_rules[0] (dba) too; one person's approval counts toward one rule only",
			"[carol], count: 1"}},
	}, {
		name: "RequesterNamedByName",
		yaml: strings.Replace(ruled("approval_rules:", "  - {from: [sec], count: 1}"), "requesters: [eng]\n    approval_rules", "requesters: [eng, dave]\n    approval_rules", 1),
		want: []problem{{"accounts[1].approval_rules[0]",
			"account two: requests by dave could never be approved: rule sec needs 1, and nobody besides the requester may approve under it",
			"[sec], count: 1"}},
	}, {
		// carol is in both groups and comes first: she is first taken for
		// dba, then moved to security so that bob can fill dba. (Were bob a
		// requester, carol alone could not fill both.)
		name: "OnePersonInBothGroups",
		yaml: strings.Replace(strings.Replace(strings.Replace(ruled("approval_rules:", "  - {from: [dba], count: 1}", "  - {from: [security], count: 1}"),
			"  - {name: carol, slack: U0CAROL, discord: \"1003\", groups: [dba]}\n", "", 1),
			"  - {name: alice,", "  - {name: carol, slack: U0CAROL, discord: \"1003\", groups: [dba, security]}\n  - {name: alice,", 1),
			"requesters: [eng]\n    approval_rules", "requesters: [alice]\n    approval_rules", 1),
	}, {
		// dave alone is sec: his own requests wait for alice, whom
		// escalation lets fill any rule.
		name: "OnlyAfterEscalation",
		yaml: strings.Replace(ruled("approval_rules:", "  - {from: [dba], count: 1}", "  - {from: [sec], count: 1}", "escalate_after: 20m", "escalate_to: [alice]"),
			"requesters: [eng]\n    approval_rules", "requesters: [eng, dave]\n    approval_rules", 1),
		warn: []problem{{"accounts[1].approval_rules[1]",
			"account two: requests by dave can be approved only after escalate_after (20m), when escalate_to may approve: rule sec needs 1, and nobody besides the requester may approve under it",
			"[sec], count: 1"}},
	}, {
		// Escalation to a group: its people besides the requester count.
		name: "OnlyAfterEscalationToAGroup",
		yaml: strings.Replace(ruled("approval_rules:", "  - {from: [sec], count: 1}", "escalate_after: 5m", "escalate_to: [sec, eng]"),
			"requesters: [eng]\n    approval_rules", "requesters: [dave]\n    approval_rules", 1),
		warn: []problem{{"accounts[1].approval_rules[0]",
			"account two: requests by dave can be approved only after escalate_after (5m), when escalate_to may approve: rule sec needs 1, and nobody besides the requester may approve under it",
			"[sec], count: 1"}},
	}, {
		// Escalation that nobody needs says nothing.
		name: "EscalationNotNeeded",
		yaml: ruled("approval_rules:", "  - {from: [dba], count: 1}", "  - {from: [sec], count: 1}", "escalate_after: 20m", "escalate_to: [alice]"),
	}, {
		// dave escalates to himself: never the requester, so nobody fills sec.
		name: "RequesterInEscalateToExcluded",
		yaml: strings.Replace(ruled("approval_rules:", "  - {from: [dba], count: 1}", "  - {from: [sec], count: 1}", "escalate_after: 20m", "escalate_to: [sec]"),
			"requesters: [eng]\n    approval_rules", "requesters: [dave]\n    approval_rules", 1),
		want: []problem{{"accounts[1].approval_rules[1]",
			"account two: requests by dave could never be approved, even after escalate_after (20m): rule sec needs 1, and nobody besides the requester may approve under it, escalate_to included",
			"[sec], count: 1"}},
	}, {
		// Escalated people count toward any rule, but toward one only: bob
		// cannot be dba's second and sec's one.
		name: "NeverEvenWithEscalation",
		yaml: strings.Replace(ruled("approval_rules:", "  - {from: [dba], count: 2}", "  - {from: [sec], count: 1}", "escalate_after: 20m", "escalate_to: [bob]"),
			"requesters: [eng]\n    approval_rules", "requesters: [dave]\n    approval_rules", 1),
		want: []problem{{"accounts[1].approval_rules[1]",
			"account two: requests by dave could never be approved, even after escalate_after (20m): rule sec needs 1, but its people besides the requester (bob) are needed for approval_rules[0] (dba) too; one person's approval counts toward one rule only",
			"[sec], count: 1"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.want) == 0 {
				cfg := mustLoad(t, tt.yaml, getenvFrom(testEnv))
				var mine, want []string
				for _, w := range cfg.Warnings() {
					if strings.HasPrefix(w.Path, "accounts[1]") {
						mine = append(mine, w.String())
					}
				}
				for _, w := range tt.warn {
					want = append(want, fmt.Sprintf("line %d: %s: %s", lineOf(t, tt.yaml, w.marker), w.path, w.msg))
				}
				if !reflect.DeepEqual(mine, want) {
					t.Errorf("warnings of accounts[1]:\ngot  %q\nwant %q", mine, want)
				}
				return
			}
			ce := problemsOf(t, tt.yaml, getenvFrom(testEnv))
			var mine []string
			for _, p := range ce.Problems {
				if strings.HasPrefix(p.Path, "accounts[1]") {
					mine = append(mine, p.String())
				}
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, fmt.Sprintf("line %d: %s: %s", lineOf(t, tt.yaml, w.marker), w.path, w.msg))
			}
			if !reflect.DeepEqual(mine, want) {
				t.Errorf("problems of accounts[1]:\ngot  %q\nwant %q", mine, want)
			}
		})
	}
	t.Run("ShorthandStaysAWarning", func(t *testing.T) {
		cfg := mustLoad(t, edit("approvers: [dba]", "approvers: [bob]"), getenvFrom(testEnv))
		want := "1 approvals needed: requests by bob could never be approved (only 0 other people may approve)"
		if _, ok := findProblem(cfg.Warnings(), "accounts[0].approvals", want); !ok {
			t.Errorf("warnings: got %v, want %q", cfg.Warnings(), want)
		}
	})
	t.Run("ShorthandOnlyAfterEscalation", func(t *testing.T) {
		data := edit("approvers: [dba]", "approvers: [bob]\n    escalate_after: 10m\n    escalate_to: [carol]")
		cfg := mustLoad(t, data, getenvFrom(testEnv))
		// approvals is not written: the account's line.
		want := config.Problem{Path: "accounts[0].approvals", Line: lineOf(t, data, "name: prod-db"),
			Message: "account prod-db: requests by bob can be approved only after escalate_after (10m), when escalate_to may approve: rule bob needs 1, and nobody besides the requester may approve under it before"}
		if !slices.Contains(cfg.Warnings(), want) {
			t.Errorf("warnings: got %v, want %v", cfg.Warnings(), want)
		}
		if _, ok := findProblem(cfg.Warnings(), "accounts[0].approvals", "could never be approved"); ok {
			t.Errorf("warnings: got %v, want none saying bob could never be approved", cfg.Warnings())
		}
	})
	t.Run("ShorthandNeverEvenWithEscalation", func(t *testing.T) {
		// bob escalates to himself: never the requester.
		cfg := mustLoad(t, edit("approvers: [dba]", "approvers: [bob]\n    escalate_after: 10m\n    escalate_to: [bob]"), getenvFrom(testEnv))
		want := "1 approvals needed: requests by bob could never be approved (only 0 other people may approve, escalate_to included)"
		if _, ok := findProblem(cfg.Warnings(), "accounts[0].approvals", want); !ok {
			t.Errorf("warnings: got %v, want %q", cfg.Warnings(), want)
		}
	})
}

func TestChannels(t *testing.T) {
	both := discordYAML + ruled("approvers: [dba]", "channels: {slack: G0DBTEAM, discord: \"790\"}")
	cfg := mustLoad(t, both, getenvFrom(testEnv))
	for _, a := range cfg.Accounts() {
		if want := cfg.Channels(a.Name); !maps.Equal(a.Channels, want) {
			t.Errorf("Accounts: %s routes its cards to %v, want %v", a.Name, a.Channels, want)
		}
	}
	for _, tt := range []struct {
		account string
		want    map[bot.Platform]string
	}{
		{"two", map[bot.Platform]string{bot.PlatformSlack: "G0DBTEAM", bot.PlatformDiscord: "790"}},
		{"prod-db", map[bot.Platform]string{bot.PlatformSlack: "C0APPROVALS", bot.PlatformDiscord: "789"}},
		{"nosuch", nil},
	} {
		if got := cfg.Channels(tt.account); !maps.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("Channels(%q): got %v, want %v", tt.account, got, tt.want)
		}
	}

	t.Run("OneOfThem", func(t *testing.T) {
		cfg := mustLoad(t, discordYAML+ruled("approvers: [dba]", "channels: {discord: \"790\"}"), getenvFrom(testEnv))
		want := map[bot.Platform]string{bot.PlatformSlack: "C0APPROVALS", bot.PlatformDiscord: "790"}
		if got := cfg.Channels("two"); !maps.Equal(got, want) {
			t.Errorf("Channels: got %v, want %v", got, want)
		}
	})
	t.Run("PlatformNotConfigured", func(t *testing.T) {
		data := ruled("approvers: [dba]", "channels: {slack: C0DBTEAM, discord: \"790\"}")
		cfg := mustLoad(t, data, getenvFrom(testEnv))
		p, ok := findProblem(cfg.Warnings(), "accounts[1].channels.discord", "a Discord channel is set but discord is not configured: it is ignored")
		if !ok {
			t.Fatalf("warnings: got %v, want one about the Discord channel", cfg.Warnings())
		}
		if got, want := p.Line, lineOf(t, data, "channels:"); got != want {
			t.Errorf("line of %v: got %d, want %d", p, got, want)
		}
		want := map[bot.Platform]string{bot.PlatformSlack: "C0DBTEAM"}
		if got := cfg.Channels("two"); !maps.Equal(got, want) {
			t.Errorf("Channels: got %v, want %v (no Discord)", got, want)
		}
	})
}

func TestExampleConfigHasTwoRules(t *testing.T) {
	data, err := os.ReadFile("../deploy/config.example.yaml")
	if err != nil {
		t.Fatalf("read the example: %v", err)
	}
	cfg := mustLoad(t, string(data), getenvFrom(testEnv))
	for _, a := range cfg.Accounts() {
		if len(a.Rules) < 2 {
			continue
		}
		if got := cfg.Channels(a.Name); got[bot.PlatformSlack] == cfg.Slack.ApprovalsChannel || got[bot.PlatformDiscord] == cfg.Discord.ApprovalsChannel {
			t.Errorf("Channels(%s): got %v, want its own on both platforms", a.Name, got)
		}
		return
	}
	t.Errorf("no account of the example has two approval rules")
}
