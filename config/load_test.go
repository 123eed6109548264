package config_test

import (
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"resetbot/bot"
	"resetbot/config"
	"resetbot/providers"
)

func TestLoadFullConfig(t *testing.T) {
	cfg := mustLoad(t, fullYAML, getenvFrom(testEnv))

	t.Run("TopLevel", func(t *testing.T) {
		if got, want := cfg.Listen, ":8080"; got != want {
			t.Errorf("Listen: got %q, want %q", got, want)
		}
		if got, want := cfg.Level(), slog.LevelDebug; got != want {
			t.Errorf("Level: got %v, want %v", got, want)
		}
		if got, want := cfg.Limit(), (bot.Limit{N: 5, Window: 30 * time.Minute}); got != want {
			t.Errorf("Limit: got %+v, want %+v", got, want)
		}
		if got, want := cfg.Redis.URL.Value(), "redis://127.0.0.1:6379/0"; got != want {
			t.Errorf("Redis.URL: got %q, want %q", got, want)
		}
		if got, want := cfg.Slack.BotToken.Value(), testEnv["SLACK_BOT_TOKEN"]; got != want {
			t.Errorf("Slack.BotToken: got %q, want %q", got, want)
		}
		if got, want := cfg.Discord.PublicKey, testPublicKey; got != want {
			t.Errorf("Discord.PublicKey: got %q, want %q", got, want)
		}
		if got, want := cfg.AlibabaCloud.AccessKeySecret.Value(), testEnv["ALIBABA_CLOUD_ACCESS_KEY_SECRET"]; got != want {
			t.Errorf("AlibabaCloud.AccessKeySecret: got %q, want %q", got, want)
		}
		if got, want := cfg.PagerDuty.Token.Value(), testEnv["PAGERDUTY_TOKEN"]; got != want || cfg.PagerDuty.APIURL != "" {
			t.Errorf("PagerDuty: got token %q, api_url %q; want %q and none", got, cfg.PagerDuty.APIURL, want)
		}
	})

	t.Run("People", func(t *testing.T) {
		want := []bot.Person{
			{Name: "alice", Slack: "U0ALICE", Discord: "1001", PagerDuty: "PALICE1", Groups: []string{"eng"}},
			{Name: "bob", Slack: "U0BOB", Discord: "1002", Groups: []string{"eng", "db-approvers"}},
			{Name: "carol", Slack: "U0CAROL", Discord: "1003", Groups: []string{"db-approvers", "hpc-admins"}},
		}
		if got := cfg.People(); !reflect.DeepEqual(got, want) {
			t.Errorf("People:\ngot  %+v\nwant %+v", got, want)
		}
	})

	t.Run("Accounts", func(t *testing.T) {
		// Settings are what each provider's kind parses from the keys the
		// account wrote: config hands them over as written.
		want := []bot.Account{{
			Name: "prod-db", Provider: "tencent.tdsql", Region: "ap-guangzhou",
			Users:      []string{"app_user"},
			Settings:   parse(t, "tencent.tdsql", map[string]string{"instance_id": "tdsql3-d8fffc3c", "host": "%"}, 0),
			Scheme:     "https",
			Requesters: []string{"eng"}, Approvers: []string{"db-approvers"},
			Approvals: 1, TTL: 30 * time.Minute, RevealWithin: 30 * time.Minute,
			BreakGlass: &bot.BreakGlass{Who: []string{"eng"}, ReviewWithin: 4 * time.Hour, PerPerson: bot.Limit{N: 2, Window: 24 * time.Hour}},
			OnCall:     &bot.OnCallPolicy{EscalationPolicy: "PPOLICY1", Levels: []int{1}, IncidentOn: []string{"PSERVICE1"}},
		}, {
			Name: "prod-db-batch", Provider: "tencent.tdsql", Region: "ap-shanghai",
			Users: []string{"report", "etl"}, Selectable: true,
			Settings:       parse(t, "tencent.tdsql", map[string]string{"instance_id": "tdsql3-aaaa", "host": "10.0.0.%", "action": "ResetUsersPassword"}, 24),
			PasswordLength: 24, Scheme: "https",
			Requesters: []string{"eng"}, Approvers: []string{"db-approvers"},
			Approvals: 1, TTL: 30 * time.Minute, RevealWithin: 30 * time.Minute,
		}, {
			Name: "shop-login", Provider: "tencent.ciam", Region: "ap-guangzhou",
			Users:      []string{"user-1"},
			Settings:   parse(t, "tencent.ciam", map[string]string{"user_store_id": "store-1", "user_id": "user-1"}, 0),
			Scheme:     "https",
			Requesters: []string{"alice"}, Approvers: []string{"bob", "carol"},
			Approvals: 2, TTL: time.Hour, RevealWithin: 10 * time.Minute,
		}, {
			Name: "registry-ci", Provider: "tencent.tcr", Region: "ap-guangzhou",
			Users:      []string{"ci-robot"},
			Settings:   parse(t, "tencent.tcr", map[string]string{"registry_id": "tcr-abc", "service_account": "ci-robot", "random": "true"}, 0),
			Scheme:     "https",
			Requesters: []string{"eng"}, Approvers: []string{"db-approvers"}, ApproverRoles: []string{"555"},
			Approvals: 1, TTL: 30 * time.Minute, RevealWithin: 30 * time.Minute,
		}, {
			Name: "console-ops", Provider: "tencent.cam",
			Users:          []string{"ops-admin"},
			Settings:       parse(t, "tencent.cam", map[string]string{"need_reset_password": "false"}, 16),
			PasswordLength: 16, Endpoint: "cam.internal:8443", Scheme: "http",
			Requesters: []string{"eng"}, Approvers: []string{"carol"},
			Approvals: 1, TTL: 30 * time.Minute, RevealWithin: 30 * time.Minute,
		}, {
			Name: "hpc", Provider: "alibaba.ehpc", Region: "cn-hangzhou",
			Users: []string{"hpc1", "hpc2"}, Selectable: true,
			Settings: parse(t, "alibaba.ehpc", map[string]string{"cluster_id": "ehpc-hz-1", "async": "true"}, 0),
			Endpoint: "ehpc.emulator:9443", Scheme: "https",
			Requesters: []string{"eng"}, Approvers: []string{"hpc-admins"},
			Approvals: 1, TTL: 2 * time.Hour, RevealWithin: 30 * time.Minute,
		}}
		got := cfg.Accounts()
		if len(got) != len(want) {
			t.Fatalf("Accounts: got %d, want %d", len(got), len(want))
		}
		// No account names its own channels: each routes to the platforms'
		// approvals channels. None sets remind_backoff: each has its default.
		for i := range want {
			want[i].Channels = map[bot.Platform]string{bot.PlatformSlack: "C0APPROVALS", bot.PlatformDiscord: "789"}
			want[i].RemindBackoff = 1
		}
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("Accounts[%d]:\ngot  %+v\nwant %+v", i, got[i], want[i])
			}
		}
	})

	t.Run("OnlyWarningIsHTTPScheme", func(t *testing.T) {
		warns := cfg.Warnings()
		if len(warns) != 1 || warns[0].Path != "accounts[4].scheme" {
			t.Errorf("Warnings: got %v, want one about accounts[4].scheme", warns)
		}
	})
}

func TestLoadDefaults(t *testing.T) {
	cfg := mustLoad(t, baseYAML, getenvFrom(testEnv))
	if got, want := cfg.Listen, ":8080"; got != want {
		t.Errorf("Listen: got %q, want %q", got, want)
	}
	if got, want := cfg.Slack.Command, "/reset-password"; got != want {
		t.Errorf("Slack.Command: got %q, want %q", got, want)
	}
	if got := mustLoad(t, strings.Replace(baseYAML, "approvals_channel: C0APPROVALS", "approvals_channel: C0APPROVALS\n  command: /pw_reset-2", 1), getenvFrom(testEnv)); got.Slack.Command != "/pw_reset-2" {
		t.Errorf("Slack.Command: got %q, want /pw_reset-2", got.Slack.Command)
	}
	if got, want := cfg.Redis.Prefix, "resetbot:"; got != want {
		t.Errorf("Redis.Prefix: got %q, want %q", got, want)
	}
	if got, want := cfg.Limit(), (bot.Limit{N: 10, Window: time.Hour}); got != want {
		t.Errorf("Limit: got %+v, want %+v", got, want)
	}
	if got, want := cfg.Level(), slog.LevelInfo; got != want {
		t.Errorf("Level: got %v, want %v", got, want)
	}
	a := cfg.Accounts()[0]
	if a.Approvals != 1 || a.TTL != 30*time.Minute || a.RevealWithin != 30*time.Minute || a.Scheme != "https" || a.Selectable {
		t.Errorf("account defaults: got %+v, want approvals 1, ttl 30m, reveal_within 30m, https, not selectable", a)
	}
	// The provider's defaults (TDSQL's host and action) are its kind's: the
	// account gets what the kind makes of the keys it wrote.
	if got, want := a.Settings, parse(t, "tencent.tdsql", map[string]string{"instance_id": "tdsql-1"}, 0); !reflect.DeepEqual(got, want) {
		t.Errorf("Settings: got %+v, want %+v", got, want)
	}
}

func TestLoadExpandsVariables(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		get  func(*config.Config) any
		want any
	}{
		{
			name: "ValueWithYAMLMetacharactersStaysAString",
			yaml: edit("C0APPROVALS", "${CHANNEL}"),
			env:  map[string]string{"CHANNEL": ": {x: 1}"},
			get:  func(c *config.Config) any { return c.Slack.ApprovalsChannel },
			want: ": {x: 1}",
		},
		{
			name: "NewlineCannotAddKeys",
			yaml: edit("C0APPROVALS", "${CHANNEL}"),
			env:  map[string]string{"CHANNEL": "C1\nlisten: \":9\"\nslack: {}"},
			get:  func(c *config.Config) any { return []string{c.Slack.ApprovalsChannel, c.Listen} },
			want: []string{"C1\nlisten: \":9\"\nslack: {}", ":8080"},
		},
		{
			name: "InsideAQuotedValue",
			yaml: "redis: {url: \"redis://:${REDIS_PASSWORD}@cache:6379/0\"}\n" + baseYAML,
			env:  map[string]string{"REDIS_PASSWORD": "s3cret"},
			get:  func(c *config.Config) any { return c.Redis.URL.Value() },
			want: "redis://:s3cret@cache:6379/0",
		},
		{
			name: "TypedValue",
			yaml: edit("approvers: [dba]", "approvers: [dba]\n    approvals: ${APPROVALS}\n    ttl: ${TTL}\n    reveal_within: ${REVEAL}"),
			env:  map[string]string{"APPROVALS": "2", "TTL": "45m", "REVEAL": "2h"},
			get:  func(c *config.Config) any { a := c.Accounts()[0]; return []any{a.Approvals, a.TTL, a.RevealWithin} },
			want: []any{2, 45 * time.Minute, 2 * time.Hour},
		},
		{
			name: "DoubleDollarIsLiteral",
			yaml: edit("C0APPROVALS", "C$${X}"),
			get:  func(c *config.Config) any { return c.Slack.ApprovalsChannel },
			want: "C${X}",
		},
		{
			name: "ValuesAreNotExpandedTwice",
			yaml: edit("C0APPROVALS", "${CHANNEL}"),
			env:  map[string]string{"CHANNEL": "${SLACK_BOT_TOKEN}"},
			get:  func(c *config.Config) any { return c.Slack.ApprovalsChannel },
			want: "${SLACK_BOT_TOKEN}",
		},
		{
			name: "CommentsAreNotExpanded",
			yaml: "# ${NOT_SET}\n" + edit("C0APPROVALS", "C0APPROVALS # ${NOT_SET_EITHER}"),
			get:  func(c *config.Config) any { return c.Slack.ApprovalsChannel },
			want: "C0APPROVALS",
		},
		{
			name: "DollarAloneIsLiteral",
			yaml: edit("C0APPROVALS", "C$X$"),
			get:  func(c *config.Config) any { return c.Slack.ApprovalsChannel },
			want: "C$X$",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range testEnv {
				env[k] = v
			}
			for k, v := range tt.env {
				env[k] = v
			}
			cfg := mustLoad(t, tt.yaml, getenvFrom(env))
			if got := tt.get(cfg); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestLoadMergesAnchors(t *testing.T) {
	data := strings.Replace(baseYAML, "  - name: prod-db\n", "  - &db\n    name: prod-db\n", 1) +
		"  - <<: *db\n    name: prod-db-2\n    user: other\n"
	accts := mustLoad(t, data, getenvFrom(testEnv)).Accounts()
	if len(accts) != 2 {
		t.Fatalf("got %d accounts, want 2", len(accts))
	}
	got := accts[1]
	if got.Name != "prod-db-2" || !slices.Equal(got.Users, []string{"other"}) || !strings.Contains(got.Resource(), "tdsql-1") || !slices.Equal(got.Approvers, []string{"dba"}) {
		t.Errorf("merged account: got %+v, want prod-db's keys with name prod-db-2 and user other", got)
	}
}

func TestExampleConfigLoads(t *testing.T) {
	data, err := os.ReadFile("../deploy/config.example.yaml")
	if err != nil {
		t.Fatalf("read the example: %v", err)
	}
	cfg := mustLoad(t, string(data), getenvFrom(testEnv))
	if w := cfg.Warnings(); len(w) != 0 {
		t.Errorf("Warnings: got %v, want none", w)
	}
	var got, want []bot.ProviderKey
	for _, a := range cfg.Accounts() {
		got = append(got, a.Provider)
	}
	for _, k := range providers.Kinds() {
		want = append(want, k.Provider())
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("providers: got %v, want one account of each: %v", got, want)
	}
	if cfg.Slack == nil || cfg.Discord == nil || cfg.TencentCloud == nil || cfg.AlibabaCloud == nil {
		t.Errorf("got a section missing: %+v", cfg)
	}

	t.Run("WithoutTheEnvironment", func(t *testing.T) {
		ce := problemsOf(t, string(data), getenvFrom(nil))
		for _, v := range []string{"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_BOT_TOKEN", "TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "PAGERDUTY_TOKEN"} {
			if !strings.Contains(ce.Error(), v+" is not set") {
				t.Errorf("problems do not name %s:\n%v", v, ce)
			}
		}
	})
}

// TestLoadRevealWithinBounds: the longest Reveal window is accepted, as
// ttl's is; one nanosecond more is refused.
func TestLoadRevealWithinBounds(t *testing.T) {
	cfg := mustLoad(t, edit("approvers: [dba]", "approvers: [dba]\n    reveal_within: 24h"), getenvFrom(testEnv))
	if got, want := cfg.Accounts()[0].RevealWithin, 24*time.Hour; got != want {
		t.Errorf("RevealWithin: got %v, want %v", got, want)
	}
	if _, err := config.Load([]byte(edit("approvers: [dba]", "approvers: [dba]\n    reveal_within: 24h0m0.000000001s")), getenvFrom(testEnv), providers.Kinds()); err == nil {
		t.Errorf("reveal_within just over 24h: loaded, want a problem")
	}
}
