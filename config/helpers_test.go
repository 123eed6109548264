package config_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"resetbot/bot"
	"resetbot/config"
	"resetbot/providers"
)

// The tests load configs with the real providers' account kinds: the
// messages about provider keys are theirs.

// Secret values used by the tests: distinctive, so a leak is found.
var testEnv = map[string]string{
	"SLACK_BOT_TOKEN":                 "xoxb-SECRET-slack-bot",
	"SLACK_SIGNING_SECRET":            "SECRET-slack-signing",
	"DISCORD_BOT_TOKEN":               "SECRET-discord-bot",
	"TENCENTCLOUD_SECRET_ID":          "SECRET-tencent-id",
	"TENCENTCLOUD_SECRET_KEY":         "SECRET-tencent-key",
	"ALIBABA_CLOUD_ACCESS_KEY_ID":     "SECRET-alibaba-id",
	"ALIBABA_CLOUD_ACCESS_KEY_SECRET": "SECRET-alibaba-secret",
	"PAGERDUTY_TOKEN":                 "SECRET-pagerduty-token",
}

func getenvFrom(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// envWith is testEnv with changes; an empty value unsets the variable.
func envWith(changes map[string]string) func(string) string {
	env := map[string]string{}
	for k, v := range testEnv {
		env[k] = v
	}
	for k, v := range changes {
		if v == "" {
			delete(env, k)
		} else {
			env[k] = v
		}
	}
	return getenvFrom(env)
}

const testPublicKey = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// fullYAML is the design's example with one account of each provider.
const fullYAML = `
listen: ":8080"
log_level: debug
rate_limit: {requests: 5, per: 30m}
redis:
  url: "redis://127.0.0.1:6379/0"
  prefix: "resetbot:"
slack:
  bot_token: "${SLACK_BOT_TOKEN}"
  signing_secret: "${SLACK_SIGNING_SECRET}"
  app_token: ""
  api_url: ""
  approvals_channel: "C0APPROVALS"
discord:
  bot_token: "${DISCORD_BOT_TOKEN}"
  application_id: "123"
  public_key: "` + testPublicKey + `"
  guild_id: "456"
  api_url: ""
  approvals_channel: "789"
  gateway: false
tencentcloud:
  secret_id: "${TENCENTCLOUD_SECRET_ID}"
  secret_key: "${TENCENTCLOUD_SECRET_KEY}"
  endpoint: ""
  scheme: "https"
alibabacloud:
  access_key_id: "${ALIBABA_CLOUD_ACCESS_KEY_ID}"
  access_key_secret: "${ALIBABA_CLOUD_ACCESS_KEY_SECRET}"
  endpoint: "ehpc.emulator:9443"
  scheme: "https"
pagerduty:
  token: "${PAGERDUTY_TOKEN}"
  api_url: ""
people:
  - {name: alice, slack: U0ALICE, discord: "1001", pagerduty: PALICE1, groups: [eng]}
  - {name: bob,   slack: U0BOB,   discord: "1002", groups: [eng, db-approvers]}
  - {name: carol, slack: U0CAROL, discord: "1003", groups: [db-approvers, hpc-admins]}
accounts:
  - name: prod-db
    provider: tencent.tdsql
    region: ap-guangzhou
    instance_id: tdsql3-d8fffc3c
    user: app_user
    host: "%"
    requesters: [eng]
    approvers: [db-approvers]
    approvals: 1
    ttl: 30m
    break_glass:
      who: [eng]
      review_within: 4h
      per_person: 2/24h
    on_call:
      escalation_policy: PPOLICY1
      levels: [1]
      incident_on: [PSERVICE1]
  - name: prod-db-batch
    provider: tencent.tdsql
    region: ap-shanghai
    instance_id: tdsql3-aaaa
    users: [report, etl]
    host: "10.0.0.%"
    action: ResetUsersPassword
    password_length: 24
    requesters: [eng]
    approvers: [db-approvers]
  - name: shop-login
    provider: tencent.ciam
    region: ap-guangzhou
    user_store_id: store-1
    user_id: user-1
    requesters: [alice]
    approvers: [bob, carol]
    approvals: 2
    ttl: 1h
    reveal_within: 10m
  - name: registry-ci
    provider: tencent.tcr
    region: ap-guangzhou
    registry_id: tcr-abc
    service_account: ci-robot
    random: true
    requesters: [eng]
    approvers: [db-approvers]
    approver_roles: ["555"]
  - name: console-ops
    provider: tencent.cam
    user: ops-admin
    need_reset_password: false
    password_length: 16
    endpoint: "cam.internal:8443"
    scheme: http
    requesters: [eng]
    approvers: [carol]
  - name: hpc
    provider: alibaba.ehpc
    region: cn-hangzhou
    cluster_id: ehpc-hz-1
    users: [hpc1, hpc2]
    async: true
    requesters: [eng]
    approvers: [hpc-admins]
    ttl: 2h
`

func mustLoad(t *testing.T, data string, getenv func(string) string) *config.Config {
	t.Helper()
	cfg, err := config.Load([]byte(data), getenv, providers.Kinds())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg
}

// baseYAML is a small valid config that the problem cases change. Its
// accounts list comes last, so that account() can append to it.
const baseYAML = `slack:
  bot_token: ${SLACK_BOT_TOKEN}
  signing_secret: ${SLACK_SIGNING_SECRET}
  approvals_channel: C0APPROVALS
tencentcloud:
  secret_id: ${TENCENTCLOUD_SECRET_ID}
  secret_key: ${TENCENTCLOUD_SECRET_KEY}
people:
  - {name: alice, slack: U0ALICE, discord: "1001", groups: [eng]}
  - {name: bob, slack: U0BOB, discord: "1002", groups: [eng, dba]}
  - {name: carol, slack: U0CAROL, discord: "1003", groups: [dba]}
accounts:
  - name: prod-db
    provider: tencent.tdsql
    region: ap-guangzhou
    instance_id: tdsql-1
    user: app
    requesters: [eng]
    approvers: [dba]
`

const discordYAML = `discord:
  bot_token: ${DISCORD_BOT_TOKEN}
  application_id: "123"
  public_key: ` + testPublicKey + `
  approvals_channel: "789"
`

// account appends accounts[1] to baseYAML, one key a line.
func account(keys ...string) string {
	var b strings.Builder
	b.WriteString(baseYAML)
	for i, k := range keys {
		if i == 0 {
			b.WriteString("  - " + k + "\n")
		} else {
			b.WriteString("    " + k + "\n")
		}
	}
	return b.String()
}

// edit replaces old by new in baseYAML, once; old must be there.
func edit(old, new string) string {
	if !strings.Contains(baseYAML, old) {
		panic(fmt.Sprintf("edit: %q is not in baseYAML", old))
	}
	return strings.Replace(baseYAML, old, new, 1)
}

// lineOf is the 1-based number of the last line of data containing
// marker (at its start if marker starts with ^): the last, because cases
// append accounts[1] after accounts[0].
func lineOf(t *testing.T, data, marker string) int {
	t.Helper()
	lines := strings.Split(data, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if m, ok := strings.CutPrefix(marker, "^"); ok && strings.HasPrefix(lines[i], m) || !ok && strings.Contains(lines[i], marker) {
			return i + 1
		}
	}
	t.Fatalf("marker %q not in the config", marker)
	return 0
}

func problemsOf(t *testing.T, data string, getenv func(string) string) *config.Error {
	t.Helper()
	cfg, err := config.Load([]byte(data), getenv, providers.Kinds())
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("Load: got (%v, %v), want a *config.Error", cfg, err)
	}
	if cfg != nil {
		t.Errorf("Load: got a config along with problems")
	}
	return ce
}

func findProblem(ps []config.Problem, path, msg string) (config.Problem, bool) {
	for _, p := range ps {
		if p.Path == path && strings.Contains(p.Message, msg) {
			return p, true
		}
	}
	return config.Problem{}, false
}

// kind is the real kind of provider p.
func kind(t *testing.T, p bot.ProviderKey) bot.AccountKind {
	t.Helper()
	for _, k := range providers.Kinds() {
		if k.Provider() == p {
			return k
		}
	}
	t.Fatalf("no account kind for %s", p)
	return nil
}

// parse is what provider p's kind makes of values (those of its settings):
// what Accounts must give for an account that wrote them.
func parse(t *testing.T, p bot.ProviderKey, values map[string]string, passwordLength int) bot.AccountSettings {
	t.Helper()
	k := kind(t, p)
	settings := map[string]string{}
	for _, s := range k.Settings() {
		if v, ok := values[s.Key]; ok {
			settings[s.Key] = v
		}
	}
	s, problems := k.Parse(settings, passwordLength)
	if len(problems) > 0 {
		t.Fatalf("%s refuses %v: %v", p, values, problems)
	}
	return s
}
