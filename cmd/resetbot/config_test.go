package main

// Internal tests: package main cannot be imported by an external test
// package.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"resetbot/bot"
)

// Secret values used by the tests: distinctive, so a leak is found.
var testEnv = map[string]string{
	"SLACK_BOT_TOKEN":                 "xoxb-SECRET-slack-bot",
	"SLACK_SIGNING_SECRET":            "SECRET-slack-signing",
	"DISCORD_BOT_TOKEN":               "SECRET-discord-bot",
	"TENCENTCLOUD_SECRET_ID":          "SECRET-tencent-id",
	"TENCENTCLOUD_SECRET_KEY":         "SECRET-tencent-key",
	"ALIBABA_CLOUD_ACCESS_KEY_ID":     "SECRET-alibaba-id",
	"ALIBABA_CLOUD_ACCESS_KEY_SECRET": "SECRET-alibaba-secret",
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
people:
  - {name: alice, slack: U0ALICE, discord: "1001", groups: [eng]}
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

func mustLoad(t *testing.T, data string, getenv func(string) string) *Config {
	t.Helper()
	cfg, err := LoadConfig([]byte(data), getenv)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	return cfg
}

func TestLoadConfigFullConfig(t *testing.T) {
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
	})

	t.Run("People", func(t *testing.T) {
		want := []bot.Person{
			{Name: "alice", Slack: "U0ALICE", Discord: "1001", Groups: []string{"eng"}},
			{Name: "bob", Slack: "U0BOB", Discord: "1002", Groups: []string{"eng", "db-approvers"}},
			{Name: "carol", Slack: "U0CAROL", Discord: "1003", Groups: []string{"db-approvers", "hpc-admins"}},
		}
		if got := cfg.People(); !reflect.DeepEqual(got, want) {
			t.Errorf("People:\ngot  %+v\nwant %+v", got, want)
		}
	})

	t.Run("Accounts", func(t *testing.T) {
		want := []bot.Account{{
			Name: "prod-db", Provider: "tencent.tdsql", Region: "ap-guangzhou",
			Users:             []string{"app_user"},
			Settings:          map[string]string{"instance_id": "tdsql3-d8fffc3c", "host": "%", "action": "ResetUserPassword"},
			NeedResetPassword: true, Scheme: "https",
			Requesters: []string{"eng"}, Approvers: []string{"db-approvers"},
			Approvals: 1, TTL: 30 * time.Minute,
		}, {
			Name: "prod-db-batch", Provider: "tencent.tdsql", Region: "ap-shanghai",
			Users: []string{"report", "etl"}, Selectable: true,
			Settings:          map[string]string{"instance_id": "tdsql3-aaaa", "host": "10.0.0.%", "action": "ResetUsersPassword"},
			NeedResetPassword: true, PasswordLength: 24, Scheme: "https",
			Requesters: []string{"eng"}, Approvers: []string{"db-approvers"},
			Approvals: 1, TTL: 30 * time.Minute,
		}, {
			Name: "shop-login", Provider: "tencent.ciam", Region: "ap-guangzhou",
			Users:             []string{"user-1"},
			Settings:          map[string]string{"user_store_id": "store-1"},
			NeedResetPassword: true, Scheme: "https",
			Requesters: []string{"alice"}, Approvers: []string{"bob", "carol"},
			Approvals: 2, TTL: time.Hour,
		}, {
			Name: "registry-ci", Provider: "tencent.tcr", Region: "ap-guangzhou",
			Users:    []string{"ci-robot"},
			Settings: map[string]string{"registry_id": "tcr-abc"},
			Random:   true, NeedResetPassword: true, Scheme: "https",
			Requesters: []string{"eng"}, Approvers: []string{"db-approvers"}, ApproverRoles: []string{"555"},
			Approvals: 1, TTL: 30 * time.Minute,
		}, {
			Name: "console-ops", Provider: "tencent.cam",
			Users:             []string{"ops-admin"},
			Settings:          map[string]string{},
			NeedResetPassword: false, PasswordLength: 16, Endpoint: "cam.internal:8443", Scheme: "http",
			Requesters: []string{"eng"}, Approvers: []string{"carol"},
			Approvals: 1, TTL: 30 * time.Minute,
		}, {
			Name: "hpc", Provider: "alibaba.ehpc", Region: "cn-hangzhou",
			Users: []string{"hpc1", "hpc2"}, Selectable: true,
			Settings:          map[string]string{"cluster_id": "ehpc-hz-1", "async": "true"},
			NeedResetPassword: true, Endpoint: "ehpc.emulator:9443", Scheme: "https",
			Requesters: []string{"eng"}, Approvers: []string{"hpc-admins"},
			Approvals: 1, TTL: 2 * time.Hour,
		}}
		got := cfg.Accounts()
		if len(got) != len(want) {
			t.Fatalf("Accounts: got %d, want %d", len(got), len(want))
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

func TestLoadConfigDefaults(t *testing.T) {
	cfg := mustLoad(t, baseYAML, getenvFrom(testEnv))
	if got, want := cfg.Listen, ":8080"; got != want {
		t.Errorf("Listen: got %q, want %q", got, want)
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
	if a.Approvals != 1 || a.TTL != 30*time.Minute || !a.NeedResetPassword || a.Scheme != "https" ||
		a.Settings["host"] != "%" || a.Settings["action"] != "ResetUserPassword" || a.Selectable {
		t.Errorf("account defaults: got %+v, want approvals 1, ttl 30m, need_reset_password, https, host %%, ResetUserPassword, not selectable", a)
	}
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

func problemsOf(t *testing.T, data string, getenv func(string) string) *ConfigError {
	t.Helper()
	cfg, err := LoadConfig([]byte(data), getenv)
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("LoadConfig: got (%v, %v), want a *ConfigError", cfg, err)
	}
	if cfg != nil {
		t.Errorf("LoadConfig: got a config along with problems")
	}
	return ce
}

func findProblem(ps []Problem, path, msg string) (Problem, bool) {
	for _, p := range ps {
		if p.Path == path && strings.Contains(p.Message, msg) {
			return p, true
		}
	}
	return Problem{}, false
}

func TestLoadConfigReportsProblem(t *testing.T) {
	tcr := func(keys ...string) string {
		return account(append([]string{"name: reg", "provider: tencent.tcr", "region: ap-guangzhou", "requesters: [eng]", "approvers: [dba]"}, keys...)...)
	}
	cam := func(keys ...string) string {
		return account(append([]string{"name: cam", "provider: tencent.cam", "requesters: [eng]", "approvers: [dba]"}, keys...)...)
	}
	ciam := func(keys ...string) string {
		return account(append([]string{"name: login", "provider: tencent.ciam", "region: ap-guangzhou", "requesters: [eng]", "approvers: [dba]"}, keys...)...)
	}
	tdsql := func(keys ...string) string {
		return account(append([]string{"name: db2", "provider: tencent.tdsql", "region: ap-guangzhou", "requesters: [eng]", "approvers: [dba]"}, keys...)...)
	}
	ehpc := func(keys ...string) string {
		return edit("people:", "alibabacloud:\n  access_key_id: ${ALIBABA_CLOUD_ACCESS_KEY_ID}\n  access_key_secret: ${ALIBABA_CLOUD_ACCESS_KEY_SECRET}\npeople:") +
			strings.TrimPrefix(account(append([]string{"name: hpc", "provider: alibaba.ehpc", "region: cn-hangzhou", "requesters: [eng]", "approvers: [dba]"}, keys...)...), baseYAML)
	}
	manyUsers := make([]string, 101)
	for i := range manyUsers {
		manyUsers[i] = fmt.Sprintf("u%d", i)
	}

	tests := []struct {
		name   string
		yaml   string
		getenv func(string) string // nil: testEnv
		path   string
		msg    string
		marker string // the problem's line contains it; "" to skip
	}{
		// The file.
		{"EmptyFile", "", nil, "", "empty", ""},
		{"SyntaxError", "slack: [\n", nil, "", "line", ""},
		{"NotAMapping", "- a\n- b\n", nil, "", "mapping", ""},
		{"UnknownTopLevelKey", "lissten: \":8080\"\n" + baseYAML, nil, "lissten", `unknown key "lissten" (did you mean "listen"?)`, "lissten"},
		{"UnknownSectionKey", edit("approvals_channel: C0APPROVALS", "approvals_channel: C0APPROVALS\n  channel: C1"), nil, "slack.channel", `unknown key "channel"`, "channel: C1"},
		{"UnknownAccountKey", cam("user: u", "approver: [dba]"), nil, "accounts[1].approver", `did you mean "approvers"?`, "approver: [dba]"},
		{"RepeatedKey", tcr("name: robot", "registry_id: r"), nil, "accounts[1].name", "service_account", "name: robot"},
		{"WrongType", edit("approvers: [dba]", "approvers: [dba]\n    approvals: many"), nil, "accounts[0].approvals", `want a whole number, not "many"`, "approvals: many"},
		{"NotAList", edit("groups: [eng]}", "groups: eng}"), nil, "people[0].groups", "want a list", "name: alice"},
		{"NotAScalar", edit("region: ap-guangzhou", "region: [ap-guangzhou]"), nil, "accounts[0].region", "want a single value", "region: [ap"},

		// Variables.
		{"MissingVariable", baseYAML, envWith(map[string]string{"SLACK_BOT_TOKEN": ""}), "slack.bot_token", "SLACK_BOT_TOKEN is not set", "bot_token"},
		{"UnterminatedVariable", edit("C0APPROVALS", "${CHANNEL"), nil, "slack.approvals_channel", "unterminated", "${CHANNEL"},
		{"BadVariableName", edit("C0APPROVALS", "${1X}"), nil, "slack.approvals_channel", "${1X}", "${1X}"},

		// Server.
		{"ListenNotHostPort", "listen: \"8080\"\n" + baseYAML, nil, "listen", "host:port", "listen"},
		{"ListenBadPort", "listen: \":http-alt\"\n" + baseYAML, nil, "listen", "port", "listen"},
		{"LogLevel", "log_level: loud\n" + baseYAML, nil, "log_level", "debug, info, warn, error", "log_level"},
		{"RedisScheme", "redis: {url: \"http://cache:6379\"}\n" + baseYAML, nil, "redis.url", "redis:// or rediss://", "url"},
		{"RedisNotAURL", "redis: {url: \"redis://[::1\"}\n" + baseYAML, nil, "redis.url", "not a URL", "url"},
		{"RedisBadDatabase", "redis: {url: \"redis://cache:6379/x\"}\n" + baseYAML, nil, "redis.url", "database", "url"},
		{"RateLimitRequests", "rate_limit: {requests: 0, per: 1h}\n" + baseYAML, nil, "rate_limit.requests", "at least 1", "rate_limit"},
		{"RateLimitPer", "rate_limit: {requests: 3, per: 0s}\n" + baseYAML, nil, "rate_limit.per", "positive", "rate_limit"},

		// Platforms and their secrets.
		{"NoChatPlatform", edit("slack:\n  bot_token: ${SLACK_BOT_TOKEN}\n  signing_secret: ${SLACK_SIGNING_SECRET}\n  approvals_channel: C0APPROVALS\n", ""), nil, "", "no chat platform", ""},
		{"SlackBotTokenMissing", edit("  bot_token: ${SLACK_BOT_TOKEN}\n", ""), nil, "slack.bot_token", "missing", "^slack:"},
		{"SlackSigningSecretMissing", edit("  signing_secret: ${SLACK_SIGNING_SECRET}\n", ""), nil, "slack.signing_secret", "missing", "^slack:"},
		{"SlackApprovalsChannelMissing", edit("  approvals_channel: C0APPROVALS\n", ""), nil, "slack.approvals_channel", "missing", "^slack:"},
		{"SlackAppTokenNotAppLevel", edit("approvals_channel: C0APPROVALS", "approvals_channel: C0APPROVALS\n  app_token: xoxb-1"), nil, "slack.app_token", "xapp-", "app_token"},
		{"SlackAPIURL", edit("approvals_channel: C0APPROVALS", "approvals_channel: C0APPROVALS\n  api_url: slack.test/api"), nil, "slack.api_url", "http(s) URL", "api_url"},
		{"DiscordBotTokenMissing", strings.Replace(discordYAML, "  bot_token: ${DISCORD_BOT_TOKEN}\n", "", 1) + baseYAML, nil, "discord.bot_token", "missing", "^discord:"},
		{"DiscordApplicationIDMissing", strings.Replace(discordYAML, "  application_id: \"123\"\n", "", 1) + baseYAML, nil, "discord.application_id", "missing", "^discord:"},
		{"DiscordApplicationIDNotDigits", strings.Replace(discordYAML, `"123"`, "app", 1) + baseYAML, nil, "discord.application_id", "digits", "application_id"},
		{"DiscordPublicKeyMissing", strings.Replace(discordYAML, "  public_key: "+testPublicKey+"\n", "", 1) + baseYAML, nil, "discord.public_key", "missing", "^discord:"},
		{"DiscordPublicKeyNotHex", strings.Replace(discordYAML, testPublicKey, "hex ed25519 key", 1) + baseYAML, nil, "discord.public_key", "64 hex digits", "public_key"},
		{"DiscordPublicKeyShort", strings.Replace(discordYAML, testPublicKey, "abcd", 1) + baseYAML, nil, "discord.public_key", "64 hex digits", "public_key"},
		{"DiscordApprovalsChannelMissing", strings.Replace(discordYAML, "  approvals_channel: \"789\"\n", "", 1) + baseYAML, nil, "discord.approvals_channel", "missing", "^discord:"},
		{"TencentCloudMissing", edit("tencentcloud:\n  secret_id: ${TENCENTCLOUD_SECRET_ID}\n  secret_key: ${TENCENTCLOUD_SECRET_KEY}\n", ""), nil, "tencentcloud", "prod-db", ""},
		{"TencentSecretKeyMissing", edit("  secret_key: ${TENCENTCLOUD_SECRET_KEY}\n", ""), nil, "tencentcloud.secret_key", "missing", "^tencentcloud:"},
		{"TencentScheme", edit("tencentcloud:", "tencentcloud:\n  scheme: ftp"), nil, "tencentcloud.scheme", "https or http", "scheme: ftp"},
		{"AlibabaCloudMissing", account("name: hpc", "provider: alibaba.ehpc", "region: cn-hangzhou", "cluster_id: c", "users: [a]", "requesters: [eng]", "approvers: [dba]"), nil, "alibabacloud", "hpc", ""},
		{"AlibabaSecretMissing", edit("people:", "alibabacloud:\n  access_key_id: ${ALIBABA_CLOUD_ACCESS_KEY_ID}\npeople:") + "  - {name: hpc, provider: alibaba.ehpc, region: cn-hangzhou, cluster_id: c, users: [a], requesters: [eng], approvers: [dba]}\n", nil, "alibabacloud.access_key_secret", "missing", "^alibabacloud:"},

		// People.
		{"NoPeople", edit(baseYAML[strings.Index(baseYAML, "people:"):strings.Index(baseYAML, "accounts:")], "people: []\n"), nil, "people", "no people", "people"},
		{"DuplicatePerson", edit("accounts:", "  - {name: alice, slack: U0ALICE2}\naccounts:"), nil, "people[3].name", `"alice" is already people[0]`, "U0ALICE2"},
		{"DuplicateSlackID", edit("accounts:", "  - {name: dave, slack: U0BOB}\naccounts:"), nil, "people[3].slack", "people[1]", "dave"},
		{"DuplicateDiscordID", edit("accounts:", "  - {name: dave, discord: \"1003\"}\naccounts:"), nil, "people[3].discord", "people[2]", "dave"},
		{"PersonWithoutIDs", edit("accounts:", "  - {name: dave, groups: [eng]}\naccounts:"), nil, "people[3]", "never be recognised", "dave"},
		{"BadSlackID", edit("accounts:", "  - {name: dave, slack: dave}\naccounts:"), nil, "people[3].slack", "not a Slack user ID", "dave"},
		{"BadDiscordID", edit("accounts:", "  - {name: dave, discord: dave#1}\naccounts:"), nil, "people[3].discord", "not a Discord user ID", "dave"},
		{"PersonNameWithSpace", edit("accounts:", "  - {name: dave smith, slack: U0DAVE}\naccounts:"), nil, "people[3].name", "no spaces", "dave"},
		// Approvers: [dba] would let mallory approve, whatever her groups.
		{"PersonNamedLikeGroup", edit("accounts:", "  - {name: dba, slack: U0MALLORY, groups: [eng]}\naccounts:"), nil, "people[3].name", `"dba" is also a group name (people[1].groups[1]): rename the person or the group`, "U0MALLORY"},
		{"PersonNamedLikeOwnGroup", edit("accounts:", "  - {name: ops, slack: U0OPS, groups: [ops]}\naccounts:"), nil, "people[3].name", `"ops" is also a group name (people[3].groups[0])`, "U0OPS"},

		// Accounts, whatever the provider.
		{"UnknownProvider", account("name: vm", "provider: tencent.cvm", "user: root", "requesters: [eng]", "approvers: [dba]"), nil, "accounts[1].provider", `unknown provider "tencent.cvm"`, "tencent.cvm"},
		{"ProviderMissing", account("name: vm", "user: root", "requesters: [eng]", "approvers: [dba]"), nil, "accounts[1].provider", "missing", "name: vm"},
		{"DuplicateAccount", account("name: prod-db", "provider: tencent.cam", "user: u", "requesters: [eng]", "approvers: [dba]"), nil, "accounts[1].name", `"prod-db" is already accounts[0]`, "name: prod-db"},
		{"AccountNameReserved", account("name: list", "provider: tencent.cam", "user: u", "requesters: [eng]", "approvers: [dba]"), nil, "accounts[1].name", "command word", "name: list"},
		{"AccountNameWithColon", account("name: \"a:b\"", "provider: tencent.cam", "user: u", "requesters: [eng]", "approvers: [dba]"), nil, "accounts[1].name", "typed in commands", "a:b"},
		{"UnknownRequesterGroup", account("name: cam", "provider: tencent.cam", "user: u", "requesters: [ops]", "approvers: [dba]"), nil, "accounts[1].requesters[0]", `"ops" is neither a person nor a group`, "[ops]"},
		{"UnknownApprover", account("name: cam", "provider: tencent.cam", "user: u", "requesters: [eng]", "approvers: [dba, zed]"), nil, "accounts[1].approvers[1]", `"zed" is neither a person nor a group`, "zed"},
		{"NoRequesters", account("name: cam", "provider: tencent.cam", "user: u", "approvers: [dba]"), nil, "accounts[1].requesters", "nobody could ask", "name: cam"},
		{"NoApprovers", account("name: cam", "provider: tencent.cam", "user: u", "requesters: [eng]"), nil, "accounts[1].approvers", "nobody could approve", "name: cam"},
		{"ApproverRoleNotDigits", cam("user: u", "approver_roles: [admins]"), nil, "accounts[1].approver_roles[0]", "role ID", "admins"},
		{"UserAndUsers", cam("user: u", "users: [v, w]"), nil, "accounts[1].users", "set only one of user, users", "users: [v, w]"},
		{"NoUser", cam(), nil, "accounts[1]", "no user to reset: set user (one) or users", "name: cam"},
		{"UserWithComma", cam("users: [\"a,b\"]"), nil, "accounts[1].users[0]", "commas", "a,b"},
		{"UserListedTwice", cam("users: [a, a]"), nil, "accounts[1].users[1]", "listed twice", "users: [a, a]"},
		{"ApprovalsZero", cam("user: u", "approvals: 0"), nil, "accounts[1].approvals", "at least 1", "approvals: 0"},
		{"ApprovalsMoreThanApprovers", cam("user: u", "approvals: 3"), nil, "accounts[1].approvals", "only 2 people may approve", "approvals: 3"},
		{"TTLZero", cam("user: u", "ttl: 0s"), nil, "accounts[1].ttl", "more than 0", "ttl: 0s"},
		{"TTLTooLong", cam("user: u", "ttl: 25h"), nil, "accounts[1].ttl", "25h: must be more than 0 and at most 24h", "ttl: 25h"},
		{"TTLNotDuration", cam("user: u", "ttl: 30"), nil, "accounts[1].ttl", "want a duration", "ttl: 30"},
		{"SchemeInvalid", cam("user: u", "scheme: ftp"), nil, "accounts[1].scheme", "https or http", "scheme: ftp"},
		{"EndpointWithScheme", cam("user: u", "endpoint: https://cam.test"), nil, "accounts[1].endpoint", "host[:port] only", "endpoint"},
		{"EndpointBadPort", cam("user: u", "endpoint: cam.test:x"), nil, "accounts[1].endpoint", "not host[:port]", "endpoint"},
		{"KeyOfAnotherProvider", tdsql("instance_id: i", "user: u", "cluster_id: c"), nil, "accounts[1].cluster_id", "belongs to alibaba.ehpc", "cluster_id"},
		{"RegionMissing", account("name: reg", "provider: tencent.tcr", "registry_id: r", "service_account: s", "requesters: [eng]", "approvers: [dba]"), nil, "accounts[1].region", "needs a region", "name: reg"},
		{"RegionMalformed", edit("ap-guangzhou", "Guangzhou"), nil, "accounts[0].region", "not a region ID", "Guangzhou"},

		// Provider keys.
		{"TDSQLInstanceMissing", tdsql("user: u"), nil, "accounts[1].instance_id", "missing", "name: db2"},
		{"TDSQLAction", tdsql("instance_id: i", "user: u", "action: ResetPassword"), nil, "accounts[1].action", "ResetUserPassword (the default) or ResetUsersPassword", "action"},
		{"TDSQLPasswordTooLong", tdsql("instance_id: i", "user: u", "password_length: 33"), nil, "accounts[1].password_length", "8 to 32", "password_length"},
		{"TDSQLPasswordTooShort", tdsql("instance_id: i", "user: u", "password_length: 7"), nil, "accounts[1].password_length", "8 to 32", "password_length"},
		{"CIAMUserStoreMissing", ciam("user_id: x"), nil, "accounts[1].user_store_id", "missing", "name: login"},
		{"CIAMUserMissing", ciam("user_store_id: s"), nil, "accounts[1]", "set user_id or user (one) or users", "name: login"},
		{"CIAMPasswordTooShort", ciam("user_store_id: s", "user_id: x", "password_length: 15"), nil, "accounts[1].password_length", "16 to 64", "password_length"},
		{"CIAMPasswordTooLong", ciam("user_store_id: s", "user_id: x", "password_length: 65"), nil, "accounts[1].password_length", "16 to 64", "password_length"},
		{"TCRRegistryMissing", tcr("service_account: s"), nil, "accounts[1].registry_id", "missing", "name: reg"},
		{"TCRServiceAccountMissing", tcr("registry_id: r"), nil, "accounts[1]", "set service_account or user (one) or users", "name: reg"},
		{"TCRServiceAccountAndUser", tcr("registry_id: r", "service_account: s", "user: u"), nil, "accounts[1].user", "set only one of service_account, user", "user: u"},
		{"TCRPasswordTooLong", tcr("registry_id: r", "service_account: s", "password_length: 21"), nil, "accounts[1].password_length", "8 to 20", "password_length"},
		{"TCRRandomWithLength", tcr("registry_id: r", "service_account: s", "random: true", "password_length: 12"), nil, "accounts[1].password_length", "random: true", "password_length"},
		{"CAMPasswordTooShort", cam("user: u", "password_length: 7"), nil, "accounts[1].password_length", "8 to 32", "password_length"},
		{"CAMPasswordTooLong", cam("user: u", "password_length: 33"), nil, "accounts[1].password_length", "8 to 32", "password_length"},
		{"EHPCClusterMissing", ehpc("users: [a]"), nil, "accounts[1].cluster_id", "missing", "name: hpc"},
		{"EHPCTooManyUsers", ehpc("cluster_id: c", "users: ["+strings.Join(manyUsers, ", ")+"]"), nil, "accounts[1].users", "101 users: alibaba.ehpc takes at most 100", "users:"},
		{"EHPCPasswordTooLong", ehpc("cluster_id: c", "users: [a]", "password_length: 31"), nil, "accounts[1].password_length", "8 to 30", "password_length"},
		{"EHPCAsyncNotBool", ehpc("cluster_id: c", "users: [a]", "async: sometimes"), nil, "accounts[1].async", "want true or false", "async"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := tt.getenv
			if getenv == nil {
				getenv = getenvFrom(testEnv)
			}
			ce := problemsOf(t, tt.yaml, getenv)
			p, ok := findProblem(ce.Problems, tt.path, tt.msg)
			if !ok {
				t.Fatalf("got problems:\n%v\nwant one at %q saying %q", ce, tt.path, tt.msg)
			}
			if tt.marker != "" {
				if got, want := p.Line, lineOf(t, tt.yaml, tt.marker); got != want {
					t.Errorf("line of %v: got %d, want %d", p, got, want)
				}
			}
		})
	}
}

func TestLoadConfigReportsMissingVariableOnce(t *testing.T) {
	// The decoder reports the unset variable; Check's "missing" for the same
	// key would say the same thing twice.
	ce := problemsOf(t, baseYAML, envWith(map[string]string{"SLACK_BOT_TOKEN": ""}))
	var at []Problem
	for _, p := range ce.Problems {
		if p.Path == "slack.bot_token" {
			at = append(at, p)
		}
	}
	if len(at) != 1 {
		t.Errorf("problems at slack.bot_token: got %v, want exactly one", at)
	}
}

func TestLoadConfigListsEveryProblem(t *testing.T) {
	data := "lissten: \":8080\"\nlog_level: loud\n" +
		edit("  signing_secret: ${SLACK_SIGNING_SECRET}\n", "") +
		"  - {name: prod-db, provider: tencent.cvm, user: u, requesters: [ops], approvers: [dba], ttl: 48h}\n"
	ce := problemsOf(t, data, getenvFrom(testEnv))
	want := []struct{ path, msg string }{
		{"lissten", "unknown key"},
		{"log_level", "loud"},
		{"slack.signing_secret", "missing"},
		{"accounts[1].name", "already accounts[0]"},
		{"accounts[1].provider", "unknown provider"},
		{"accounts[1].requesters[0]", `"ops"`},
		{"accounts[1].ttl", "at most 24h"},
	}
	for _, w := range want {
		if _, ok := findProblem(ce.Problems, w.path, w.msg); !ok {
			t.Errorf("missing problem at %q saying %q", w.path, w.msg)
		}
	}
	if got, want := len(ce.Problems), len(want); got != want {
		t.Errorf("got %d problems, want %d:\n%v", got, want, ce)
	}
	text := ce.Error()
	if !strings.HasPrefix(text, fmt.Sprintf("config: %d problems:", len(ce.Problems))) {
		t.Errorf("Error(): got %q, want it to start with the count", text)
	}
	for _, p := range ce.Problems {
		if !strings.Contains(text, p.String()) {
			t.Errorf("Error() does not list %v", p)
		}
	}
	if !slices.IsSortedFunc(ce.Problems, func(a, b Problem) int { return a.Line - b.Line }) {
		t.Errorf("problems are not in line order:\n%v", ce)
	}
}

func TestCheckWithoutFile(t *testing.T) {
	problems := (&Config{}).Check()
	for _, want := range []struct{ path, msg string }{{"", "no chat platform"}, {"people", "no people"}} {
		p, ok := findProblem(problems, want.path, want.msg)
		if !ok {
			t.Errorf("got %v, want a problem at %q saying %q", problems, want.path, want.msg)
		} else if p.Line != 0 {
			t.Errorf("line of %v: got %d, want 0 (no file)", p, p.Line)
		}
	}
}

func TestLoadConfigWarns(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		path string
		msg  string
	}{
		{"EmbeddedStore", baseYAML, "redis.url", "in memory"},
		{"SecretWrittenInFile", edit("${SLACK_SIGNING_SECRET}", "abc123"), "slack.signing_secret", "${SLACK_SIGNING_SECRET}"},
		{"SlackBotTokenNotBot", edit("${SLACK_BOT_TOKEN}", "xoxp-${SLACK_BOT_TOKEN}"), "slack.bot_token", "xoxb-"},
		{"RequesterNeverApproved", edit("approvers: [dba]", "approvers: [bob]"), "accounts[0].approvals", "requests by bob could never be approved"},
		{"UnusedCloud", edit("people:", "alibabacloud: {access_key_id: x}\npeople:"), "alibabacloud", "no alibaba.* account"},
		{"HTTPScheme", edit("approvers: [dba]", "approvers: [dba]\n    scheme: http"), "accounts[0].scheme", "clear text"},
		{"RolesWithoutDiscord", edit("approvers: [dba]", "approvers: [dba]\n    approver_roles: [\"42\"]"), "accounts[0].approver_roles", "discord is not configured"},
		{"NoAccounts", strings.Split(baseYAML, "accounts:")[0], "accounts", "nothing can be reset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, tt.yaml, getenvFrom(testEnv))
			if _, ok := findProblem(cfg.Warnings(), tt.path, tt.msg); !ok {
				t.Errorf("got warnings %v, want one at %q saying %q", cfg.Warnings(), tt.path, tt.msg)
			}
		})
	}
	t.Run("AlongWithProblems", func(t *testing.T) {
		ce := problemsOf(t, "log_level: loud\n"+baseYAML, getenvFrom(testEnv))
		if _, ok := findProblem(ce.Warnings, "redis.url", "in memory"); !ok {
			t.Errorf("ConfigError.Warnings: got %v, want the embedded store's", ce.Warnings)
		}
	})
}

func TestLoadConfigExpandsVariables(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		get  func(*Config) any
		want any
	}{
		{
			name: "ValueWithYAMLMetacharactersStaysAString",
			yaml: edit("C0APPROVALS", "${CHANNEL}"),
			env:  map[string]string{"CHANNEL": ": {x: 1}"},
			get:  func(c *Config) any { return c.Slack.ApprovalsChannel },
			want: ": {x: 1}",
		},
		{
			name: "NewlineCannotAddKeys",
			yaml: edit("C0APPROVALS", "${CHANNEL}"),
			env:  map[string]string{"CHANNEL": "C1\nlisten: \":9\"\nslack: {}"},
			get:  func(c *Config) any { return []string{c.Slack.ApprovalsChannel, c.Listen} },
			want: []string{"C1\nlisten: \":9\"\nslack: {}", ":8080"},
		},
		{
			name: "InsideAQuotedValue",
			yaml: "redis: {url: \"redis://:${REDIS_PASSWORD}@cache:6379/0\"}\n" + baseYAML,
			env:  map[string]string{"REDIS_PASSWORD": "s3cret"},
			get:  func(c *Config) any { return c.Redis.URL.Value() },
			want: "redis://:s3cret@cache:6379/0",
		},
		{
			name: "TypedValue",
			yaml: edit("approvers: [dba]", "approvers: [dba]\n    approvals: ${APPROVALS}\n    ttl: ${TTL}"),
			env:  map[string]string{"APPROVALS": "2", "TTL": "45m"},
			get:  func(c *Config) any { a := c.Accounts()[0]; return []any{a.Approvals, a.TTL} },
			want: []any{2, 45 * time.Minute},
		},
		{
			name: "DoubleDollarIsLiteral",
			yaml: edit("C0APPROVALS", "C$${X}"),
			get:  func(c *Config) any { return c.Slack.ApprovalsChannel },
			want: "C${X}",
		},
		{
			name: "ValuesAreNotExpandedTwice",
			yaml: edit("C0APPROVALS", "${CHANNEL}"),
			env:  map[string]string{"CHANNEL": "${SLACK_BOT_TOKEN}"},
			get:  func(c *Config) any { return c.Slack.ApprovalsChannel },
			want: "${SLACK_BOT_TOKEN}",
		},
		{
			name: "CommentsAreNotExpanded",
			yaml: "# ${NOT_SET}\n" + edit("C0APPROVALS", "C0APPROVALS # ${NOT_SET_EITHER}"),
			get:  func(c *Config) any { return c.Slack.ApprovalsChannel },
			want: "C0APPROVALS",
		},
		{
			name: "DollarAloneIsLiteral",
			yaml: edit("C0APPROVALS", "C$X$"),
			get:  func(c *Config) any { return c.Slack.ApprovalsChannel },
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

func TestLoadConfigMergesAnchors(t *testing.T) {
	data := strings.Replace(baseYAML, "  - name: prod-db\n", "  - &db\n    name: prod-db\n", 1) +
		"  - <<: *db\n    name: prod-db-2\n    user: other\n"
	accts := mustLoad(t, data, getenvFrom(testEnv)).Accounts()
	if len(accts) != 2 {
		t.Fatalf("got %d accounts, want 2", len(accts))
	}
	got := accts[1]
	if got.Name != "prod-db-2" || !slices.Equal(got.Users, []string{"other"}) || got.Settings["instance_id"] != "tdsql-1" || !slices.Equal(got.Approvers, []string{"dba"}) {
		t.Errorf("merged account: got %+v, want prod-db's keys with name prod-db-2 and user other", got)
	}
}

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
			cfg   *Config
			slack SlackConfig
			token Secret
			redis RedisURL
		}{cfg, *cfg.Slack, cfg.Slack.BotToken, cfg.Redis.URL}
		for _, v := range []any{cfg, *cfg, cfg.Redis, cfg.Slack, *cfg.Slack, *cfg.Discord, *cfg.TencentCloud, *cfg.AlibabaCloud, hidden, &hidden} {
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
		leaks(t, "printing", out.String(), secrets("SECRET-redis-pw"))
		if !strings.Contains(out.String(), "[redacted]") || !strings.Contains(out.String(), "cache:6379") {
			t.Errorf("printing: got no [redacted] or no Redis host; output:\n%s", out.String())
		}
	})

	t.Run("EmptySecretPrintsEmpty", func(t *testing.T) {
		if got := fmt.Sprintf("%v|%s|%v|%s", Secret{}, RedisURL{}, NewSecret(""), NewRedisURL("")); got != "|||" {
			t.Errorf("got %q, want %q", got, "|||")
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
// through check-config, nor through serve's refusal to start.
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
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // serve must refuse before it starts anything
			var out strings.Builder
			for _, cmd := range []string{"check-config", "serve"} {
				var stdout, stderr strings.Builder
				if err := run(ctx, []string{"resetbot", cmd, "--config", path}, getenvFrom(env), strings.NewReader(""), &stdout, &stderr); err == nil {
					t.Fatalf("%s accepted the config, so this test would prove nothing:\n%s%s", cmd, stdout.String(), stderr.String())
				}
				out.WriteString(stdout.String() + stderr.String())
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

func TestExampleConfigLoads(t *testing.T) {
	data, err := os.ReadFile("../../deploy/config.example.yaml")
	if err != nil {
		t.Fatalf("read the example: %v", err)
	}
	cfg := mustLoad(t, string(data), getenvFrom(testEnv))
	if w := cfg.Warnings(); len(w) != 0 {
		t.Errorf("Warnings: got %v, want none", w)
	}
	var providers []string
	for _, a := range cfg.Accounts() {
		providers = append(providers, a.Provider)
	}
	slices.Sort(providers)
	want := []string{"alibaba.ehpc", "tencent.cam", "tencent.ciam", "tencent.tcr", "tencent.tdsql"}
	if !slices.Equal(providers, want) {
		t.Errorf("providers: got %v, want one account of each: %v", providers, want)
	}
	if cfg.Slack == nil || cfg.Discord == nil || cfg.TencentCloud == nil || cfg.AlibabaCloud == nil {
		t.Errorf("got a section missing: %+v", cfg)
	}

	t.Run("WithoutTheEnvironment", func(t *testing.T) {
		ce := problemsOf(t, string(data), getenvFrom(nil))
		for _, v := range []string{"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_BOT_TOKEN", "TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"} {
			if !strings.Contains(ce.Error(), v+" is not set") {
				t.Errorf("problems do not name %s:\n%v", v, ce)
			}
		}
	})
}
