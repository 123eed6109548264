package config_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"resetbot/config"
)

func TestLoadReportsProblem(t *testing.T) {
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
		{"SlackCommandWithoutSlash", edit("approvals_channel: C0APPROVALS", "approvals_channel: C0APPROVALS\n  command: reset-password"), nil, "slack.command", `"reset-password" is not a slash command: write "/" then lower-case letters, digits, - and _, at most 32 characters in all (default /reset-password)`, "command:"},
		{"SlackCommandUpperCase", edit("approvals_channel: C0APPROVALS", "approvals_channel: C0APPROVALS\n  command: /Reset"), nil, "slack.command", `"/Reset" is not a slash command`, "command:"},
		{"SlackCommandWithSpace", edit("approvals_channel: C0APPROVALS", "approvals_channel: C0APPROVALS\n  command: \"/reset password\""), nil, "slack.command", "is not a slash command", "command:"},
		{"SlackCommandTooLong", edit("approvals_channel: C0APPROVALS", "approvals_channel: C0APPROVALS\n  command: /"+strings.Repeat("a", 32)), nil, "slack.command", "at most 32 characters", "command:"},
		{"SlackCommandOnlySlash", edit("approvals_channel: C0APPROVALS", "approvals_channel: C0APPROVALS\n  command: /"), nil, "slack.command", "is not a slash command", "command:"},
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
		{"AccountNameRevealReserved", account("name: Reveal", "provider: tencent.cam", "user: u", "requesters: [eng]", "approvers: [dba]"), nil, "accounts[1].name", "command word", "name: Reveal"},
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
		{"RevealWithinZero", cam("user: u", "reveal_within: 0s"), nil, "accounts[1].reveal_within", "more than 0", "reveal_within: 0s"},
		{"RevealWithinNegative", cam("user: u", "reveal_within: -5m"), nil, "accounts[1].reveal_within", "-5m: must be more than 0", "reveal_within: -5m"},
		{"RevealWithinTooLong", cam("user: u", "reveal_within: 25h"), nil, "accounts[1].reveal_within", "25h: must be more than 0 and at most 24h", "reveal_within: 25h"},
		{"RevealWithinNotDuration", cam("user: u", "reveal_within: 30"), nil, "accounts[1].reveal_within", "want a duration", "reveal_within: 30"},
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
		{"CIAMPasswordTooShort", ciam("user_store_id: s", "user_id: x", "password_length: 15"), nil, "accounts[1].password_length", "15: tencent.ciam takes 16 to 32", "password_length"},
		{"CIAMPasswordTooLong", ciam("user_store_id: s", "user_id: x", "password_length: 33"), nil, "accounts[1].password_length", "33: tencent.ciam takes 16 to 32", "password_length"},
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

func TestLoadReportsMissingVariableOnce(t *testing.T) {
	// The decoder reports the unset variable; Check's "missing" for the same
	// key would say the same thing twice.
	ce := problemsOf(t, baseYAML, envWith(map[string]string{"SLACK_BOT_TOKEN": ""}))
	var at []config.Problem
	for _, p := range ce.Problems {
		if p.Path == "slack.bot_token" {
			at = append(at, p)
		}
	}
	if len(at) != 1 {
		t.Errorf("problems at slack.bot_token: got %v, want exactly one", at)
	}
}

func TestLoadListsEveryProblem(t *testing.T) {
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
	if !slices.IsSortedFunc(ce.Problems, func(a, b config.Problem) int { return a.Line - b.Line }) {
		t.Errorf("problems are not in line order:\n%v", ce)
	}
}

func TestCheckWithoutFile(t *testing.T) {
	problems := (&config.Config{}).Check()
	for _, want := range []struct{ path, msg string }{{"", "no chat platform"}, {"people", "no people"}} {
		p, ok := findProblem(problems, want.path, want.msg)
		if !ok {
			t.Errorf("got %v, want a problem at %q saying %q", problems, want.path, want.msg)
		} else if p.Line != 0 {
			t.Errorf("line of %v: got %d, want 0 (no file)", p, p.Line)
		}
	}
}

func TestLoadWarns(t *testing.T) {
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
			t.Errorf("Error.Warnings: got %v, want the embedded store's", ce.Warnings)
		}
	})
}
