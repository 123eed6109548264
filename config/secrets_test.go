package config_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"resetbot/bot"
	"resetbot/config"
	"resetbot/providers"
)

func TestSecretsNeverShown(t *testing.T) {
	secrets := func(extra ...string) []string {
		var s []string
		for _, v := range testEnv {
			s = append(s, v)
		}
		return append(s, extra...)
	}
	leaks := func(t *testing.T, what, text string, secrets []string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s shows secret %q:\n%s", what, s, text)
			}
		}
	}

	t.Run("PrintingTheConfig", func(t *testing.T) {
		data := strings.Replace(fullYAML, `"redis://127.0.0.1:6379/0"`, `"redis://:SECRET-redis-pw@cache:6379/0"`, 1)
		cfg := mustLoad(t, data, getenvFrom(testEnv))
		if cfg.Slack.BotToken.Value() != testEnv["SLACK_BOT_TOKEN"] || !strings.Contains(cfg.Redis.URL.Value(), "SECRET-redis-pw") {
			t.Fatalf("the secrets were not loaded, so this test would prove nothing")
		}
		var out strings.Builder
		// fmt skips methods on unexported fields, and on everything inside a
		// pointer printed with a verb pointers do not take (%s, %q).
		hidden := struct {
			cfg   *config.Config
			slack config.Slack
			token bot.Secret
			redis bot.Secret
		}{cfg, *cfg.Slack, cfg.Slack.BotToken, cfg.Redis.URL}
		if cfg.PagerDuty.Token.Value() != testEnv["PAGERDUTY_TOKEN"] {
			t.Fatalf("the PagerDuty token was not loaded, so this test would prove nothing")
		}
		for _, v := range []any{cfg, *cfg, cfg.Redis, cfg.Slack, *cfg.Slack, *cfg.Discord, *cfg.TencentCloud, *cfg.AlibabaCloud, cfg.PagerDuty, *cfg.PagerDuty, hidden, &hidden} {
			fmt.Fprintf(&out, "%v %+v %#v %s %q %x\n", v, v, v, v, v, v)
		}
		for _, enc := range []func(any) ([]byte, error){json.Marshal, yaml.Marshal} {
			b, err := enc(cfg)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			out.Write(b)
		}
		var logged bytes.Buffer
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "cfg", cfg, "slack", cfg.Slack, "token", cfg.Slack.BotToken)
		out.Write(logged.Bytes())
		// The Redis URL is a secret like the others; its form for logs
		// keeps the host and hides the password.
		redacted := cfg.Redis.RedactedURL()
		out.WriteString(redacted)
		leaks(t, "printing", out.String(), secrets("SECRET-redis-pw"))
		if !strings.Contains(out.String(), "[redacted]") || !strings.Contains(redacted, "cache:6379") {
			t.Errorf("printing: got no [redacted] or no Redis host; output:\n%s", out.String())
		}
	})

	t.Run("EmptySecretPrintsEmpty", func(t *testing.T) {
		cfg := mustLoad(t, fullYAML, getenvFrom(testEnv)) // app_token: ""
		if got := fmt.Sprintf("%v|%s|%v|%s", cfg.Slack.AppToken, bot.Secret{}, bot.NewSecret(""), config.Redis{}.RedactedURL()); got != "|||" {
			t.Errorf("got %q, want %q", got, "|||")
		}
	})

	t.Run("RedisURLThatDoesNotParse", func(t *testing.T) {
		r := config.Redis{URL: bot.NewSecret("redis://:SECRET-redis-pw@[::1")}
		if got, want := r.RedactedURL(), "[redacted]"; got != want {
			t.Errorf("RedactedURL: got %q, want %q", got, want)
		}
	})

	t.Run("Problems", func(t *testing.T) {
		env := envWith(map[string]string{"SLACK_APP_TOKEN": "SECRET-app-token"})
		data := "redis: {url: \"redis://:SECRET-redis-pw@cache:6379/SECRET-redis-pw\"}\n" +
			edit("approvals_channel: C0APPROVALS", "approvals_channel: C0APPROVALS\n  app_token: ${SLACK_APP_TOKEN}") +
			"  - {name: x, provider: tencent.cam, user: u, requesters: [eng], approvers: [dba], approvals: \"${SLACK_SIGNING_SECRET}\", ttl: \"${TENCENTCLOUD_SECRET_KEY}\", random: \"${DISCORD_BOT_TOKEN}\"}\n"
		ce := problemsOf(t, data, env)
		for _, w := range []string{"redis.url", "slack.app_token", "accounts[1].approvals", "accounts[1].ttl", "accounts[1].random"} {
			if _, ok := findProblem(ce.Problems, w, ""); !ok {
				t.Errorf("no problem at %s, so this test would prove nothing:\n%v", w, ce)
			}
		}
		var text strings.Builder
		text.WriteString(ce.Error())
		for _, w := range ce.Warnings {
			text.WriteString("\n" + w.String())
		}
		leaks(t, "problems", text.String(), secrets("SECRET-redis-pw", "SECRET-app-token"))
	})
}

// TestProblemsNeverShowValuesFromEnvironment puts a variable in every key
// whose problems repeat its value, with a value that key refuses: a swapped
// variable (application_id: "${DISCORD_BOT_TOKEN}") must not print the token
// in the problems and warnings that check-config and serve print.
func TestProblemsNeverShowValuesFromEnvironment(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string // added to testEnv
		want map[string]string // key path of a problem or warning -> the variable it names
	}{{
		name: "EveryKey",
		yaml: `listen: ${LISTEN}
log_level: ${LOG_LEVEL}
redis: {url: "${REDIS_URL}"}
slack:
  bot_token: ${SLACK_BOT_TOKEN}
  signing_secret: ${SLACK_SIGNING_SECRET}
  api_url: ${SLACK_BOT_TOKEN}
  approvals_channel: C0APPROVALS
discord:
  bot_token: ${DISCORD_BOT_TOKEN}
  application_id: "${DISCORD_BOT_TOKEN}"
  public_key: ` + testPublicKey + `
  guild_id: ${SLACK_SIGNING_SECRET}
  api_url: ${TENCENTCLOUD_SECRET_KEY}
  approvals_channel: ${ALIBABA_CLOUD_ACCESS_KEY_SECRET}
tencentcloud:
  secret_id: ${TENCENTCLOUD_SECRET_ID}
  secret_key: ${TENCENTCLOUD_SECRET_KEY}
  endpoint: ${TENCENT_ENDPOINT}
  scheme: ${TENCENT_SCHEME}
alibabacloud:
  endpoint: "${ALIBABA_ENDPOINT}"
  scheme: ${ALIBABA_SCHEME}
people:
  - {name: alice, slack: U0ALICE, discord: "1001", groups: [eng]}
  - {name: "${BOB}", slack: U0BOB, discord: "1002", groups: [eng, dba]}
  - {name: carol, slack: U0CAROL, discord: "1003", groups: [dba]}
  - {name: "${PERSON}", slack: "${SLACK_ID}", discord: "${DISCORD_ID}", groups: ["${GROUP}"]}
accounts:
  - name: prod-db
    provider: tencent.tdsql
    region: ap-guangzhou
    instance_id: tdsql-1
    user: app
    requesters: [eng]
    approvers: [dba]
    approvals: 2
  - name: "${ACCOUNT}"
    provider: tencent.tdsql
    region: ${REGION}
    instance_id: tdsql-2
    action: ${ACTION}
    user: ${USER}
    password_length: ${PASSWORD_LENGTH}
    endpoint: ${ENDPOINT}
    scheme: ${SCHEME}
    requesters: [eng, "${REQUESTER}"]
    approvers: [dba, "${APPROVER}"]
    approver_roles: ["${ROLE}"]
    approvals: ${APPROVALS}
    ttl: ${TTL}
    reveal_within: ${REVEAL_WITHIN}
  - {name: vm, provider: "${PROVIDER}", user: root, requesters: [eng], approvers: [dba]}
  - {name: reg, provider: tencent.tcr, region: ap-guangzhou, registry_id: r, service_account: "${SERVICE_ACCOUNT}", requesters: [eng], approvers: [dba]}
  - {name: hpc, provider: tencent.cam, users: ["${USERS}", "${USERS}"], requesters: [eng], approvers: [dba]}
`,
		env: map[string]string{
			"LISTEN":           "SECRET-listen:not/a-port",
			"LOG_LEVEL":        "SECRET-log-level",
			"REDIS_URL":        "Secret-Redis-Scheme:opaque",
			"TENCENT_ENDPOINT": "SECRET-tencent-endpoint/path",
			"TENCENT_SCHEME":   "SECRET-tencent-scheme",
			"ALIBABA_ENDPOINT": "SECRET-alibaba-endpoint:99999",
			"ALIBABA_SCHEME":   "SECRET-alibaba-scheme",
			"BOB":              "SECRET-bob",
			"PERSON":           "SECRET person",
			"SLACK_ID":         "SECRET-slack-id",
			"DISCORD_ID":       "SECRET-discord-id",
			"GROUP":            "SECRET group",
			"ACCOUNT":          "SECRET:account",
			"REGION":           "SECRET-Region",
			"ACTION":           "SECRET-action",
			"USER":             "SECRET user",
			"PASSWORD_LENGTH":  "987654",
			"ENDPOINT":         "https://SECRET-endpoint",
			"SCHEME":           "SECRET-scheme",
			"REQUESTER":        "SECRET-requester",
			"APPROVER":         "SECRET-approver",
			"ROLE":             "SECRET-role",
			"APPROVALS":        "987653",
			"TTL":              "987652h",
			"REVEAL_WITHIN":    "987651h",
			"PROVIDER":         "SECRET-provider",
			"SERVICE_ACCOUNT":  "SECRET:service-account",
			"USERS":            "SECRET,user",
		},
		want: map[string]string{
			"listen":                        "LISTEN",
			"log_level":                     "LOG_LEVEL",
			"redis.url":                     "REDIS_URL",
			"slack.api_url":                 "SLACK_BOT_TOKEN",
			"discord.application_id":        "DISCORD_BOT_TOKEN",
			"discord.guild_id":              "SLACK_SIGNING_SECRET",
			"discord.api_url":               "TENCENTCLOUD_SECRET_KEY",
			"discord.approvals_channel":     "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
			"tencentcloud.endpoint":         "TENCENT_ENDPOINT",
			"tencentcloud.scheme":           "TENCENT_SCHEME",
			"alibabacloud.endpoint":         "ALIBABA_ENDPOINT",
			"alibabacloud.scheme":           "ALIBABA_SCHEME",
			"people[3].name":                "PERSON",
			"people[3].slack":               "SLACK_ID",
			"people[3].discord":             "DISCORD_ID",
			"people[3].groups[0]":           "GROUP",
			"accounts[0].approvals":         "BOB", // a warning: requests by bob could never be approved
			"accounts[1].name":              "ACCOUNT",
			"accounts[1].region":            "REGION",
			"accounts[1].action":            "ACTION",
			"accounts[1].user":              "USER",
			"accounts[1].password_length":   "PASSWORD_LENGTH",
			"accounts[1].endpoint":          "ENDPOINT",
			"accounts[1].scheme":            "SCHEME",
			"accounts[1].requesters[1]":     "REQUESTER",
			"accounts[1].approvers[1]":      "APPROVER",
			"accounts[1].approver_roles[0]": "ROLE",
			"accounts[1].approvals":         "APPROVALS",
			"accounts[1].ttl":               "TTL",
			"accounts[1].reveal_within":     "REVEAL_WITHIN",
			"accounts[2].provider":          "PROVIDER",
			"accounts[3].service_account":   "SERVICE_ACCOUNT",
			"accounts[4].users[0]":          "USERS",
			"accounts[4].users[1]":          "USERS",
		},
	}, {
		name: "RedisURLDoesNotParse",
		yaml: "redis: {url: \"${REDIS_URL}\"}\n" + baseYAML,
		env:  map[string]string{"REDIS_URL": "redis://cache:6379/SECRET-database"},
		want: map[string]string{"redis.url": "REDIS_URL"},
	}, {
		name: "NamesInOtherKeysMessages",
		yaml: strings.NewReplacer(
			"tencentcloud:\n  secret_id: ${TENCENTCLOUD_SECRET_ID}\n  secret_key: ${TENCENTCLOUD_SECRET_KEY}\n", "",
			"accounts:\n", "  - {name: \"${NO_IDS}\"}\naccounts:\n",
			"name: prod-db", "name: ${ACCOUNT}",
		).Replace(baseYAML) +
			"  - {name: \"${RESERVED}\", provider: tencent.cam, user: u, requesters: [eng], approvers: [dba]}\n",
		env: map[string]string{"ACCOUNT": "SECRET-account", "NO_IDS": "SECRET-nobody", "RESERVED": "LiSt"},
		want: map[string]string{
			"tencentcloud":     "ACCOUNT", // missing: accounts ... use Tencent Cloud
			"people[3]":        "NO_IDS",  // neither a slack nor a discord ID: ... could never be recognised
			"accounts[1].name": "RESERVED",
		},
	}, {
		name: "ApprovalRulesAndChannels",
		yaml: strings.Replace(baseYAML, "accounts:", "  - {name: \"${PERSON}\", slack: U0DAVE, groups: [eng, SECRET-sec]}\naccounts:", 1) + `  - name: rules
    provider: tencent.cam
    user: u
    requesters: [eng]
    approval_rules:
      - {from: [dba, "${FROM}"], count: "${COUNT}"}
      - {from: [dba], count: "${ZERO}"}
  - name: "${ACCOUNT}"
    provider: tencent.cam
    user: u
    requesters: [eng]
    approval_rules:
      - {from: ["${GROUP}"], count: 1}
  - name: routed
    provider: tencent.cam
    user: u
    requesters: [eng]
    approvers: [dba]
    channels: {slack: "${SLACK_CHANNEL}", discord: "${DISCORD_CHANNEL}"}
`,
		env: map[string]string{
			"PERSON":          "SECRET-person",
			"FROM":            "SECRET-from",
			"COUNT":           "987649",
			"ZERO":            "-987648",
			"ACCOUNT":         "SECRET-account",
			"GROUP":           "SECRET-sec",
			"SLACK_CHANNEL":   "SECRET-channel",
			"DISCORD_CHANNEL": "SECRET-discord-channel",
		},
		want: map[string]string{
			"accounts[1].approval_rules[0].from[1]": "FROM",
			"accounts[1].approval_rules[0].count":   "COUNT",
			"accounts[1].approval_rules[1].count":   "ZERO",
			// account ${ACCOUNT}: requests by ${PERSON} could never be
			// approved: rule ${GROUP} needs 1...
			"accounts[2].approval_rules[0]": "PERSON",
			"accounts[3].channels.slack":    "SLACK_CHANNEL",
			"accounts[3].channels.discord":  "DISCORD_CHANNEL",
		},
	}, {
		name: "BreakGlassAndOnCall",
		yaml: strings.NewReplacer(
			"people:\n", "pagerduty:\n  token: ${PAGERDUTY_TOKEN}\n  api_url: ${PD_URL}\npeople:\n",
			`discord: "1001", groups`, `discord: "1001", pagerduty: "${PD_ALICE}", groups`,
			`discord: "1002", groups`, `discord: "1002", pagerduty: P1BOB02, groups`,
			`discord: "1003", groups`, `discord: "1003", pagerduty: "${PD_CAROL}", groups`,
			"accounts:", "  - {name: \"${PERSON}\", slack: U0DAVE, groups: [sec]}\naccounts:",
		).Replace(baseYAML) + `  - name: "${ACCOUNT}"
    provider: tencent.cam
    user: u
    requesters: [eng]
    approval_rules: [{from: [sec], count: 1}]
    break_glass:
      who: ["${PERSON}", "${WHO}"]
      review_within: ${REVIEW}
      per_person: ${PER}
    on_call:
      escalation_policy: ${POLICY}
      levels: [1, "${LEVEL}"]
      incident_on: ["${SERVICE}"]
`,
		env: map[string]string{
			"PD_URL":   "SECRET-pd-url",
			"PD_ALICE": "SECRET-pd-alice",
			"PD_CAROL": "P1BOB02",
			"PERSON":   "SECRET-person",
			"ACCOUNT":  "SECRET-account",
			"WHO":      "SECRET-who",
			"REVIEW":   "987647h",
			"PER":      "SECRET-per",
			"POLICY":   "SECRET-policy",
			"LEVEL":    "-987646",
			"SERVICE":  "SECRET-service",
		},
		want: map[string]string{
			"pagerduty.api_url":   "PD_URL",
			"people[0].pagerduty": "PD_ALICE",
			"people[2].pagerduty": "PD_CAROL",
			// nobody but ${PERSON} could review ${PERSON}'s break-glass
			// reset of ${ACCOUNT}
			"accounts[1].break_glass.who":           "PERSON",
			"accounts[1].break_glass.who[1]":        "WHO",
			"accounts[1].break_glass.review_within": "REVIEW",
			"accounts[1].break_glass.per_person":    "PER",
			"accounts[1].on_call.escalation_policy": "POLICY",
			"accounts[1].on_call.levels[1]":         "LEVEL",
			"accounts[1].on_call.incident_on[0]":    "SERVICE",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range testEnv {
				env[k] = v
			}
			for k, v := range tt.env {
				env[k] = v
			}
			// What check-config and serve print when they refuse a config:
			// the problems, then the warnings.
			cfg, err := config.Load([]byte(tt.yaml), getenvFrom(env), providers.Kinds())
			ce, ok := err.(*config.Error)
			if !ok {
				t.Fatalf("Load: got (%v, %v), want a *config.Error, or this test would prove nothing", cfg, err)
			}
			var out strings.Builder
			out.WriteString(ce.Error() + "\n")
			for _, w := range ce.Warnings {
				fmt.Fprintf(&out, "  warning: %s\n", w)
			}
			text := out.String()
			for _, v := range env {
				// Lower case too: url.Parse lowers a scheme.
				if strings.Contains(text, v) || strings.Contains(strings.ToLower(v), "secret") && strings.Contains(strings.ToLower(text), strings.ToLower(v)) {
					t.Errorf("the output shows %q:\n%s", v, text)
				}
			}
			for key, variable := range tt.want {
				if !slices.ContainsFunc(strings.Split(text, "\n"), func(line string) bool {
					return strings.Contains(line, " "+key+": ") && strings.Contains(line, "${"+variable+"}") && strings.Contains(line, "not shown")
				}) {
					t.Errorf("no problem or warning at %s names ${%s} as not shown:\n%s", key, variable, text)
				}
			}
		})
	}
}
