package config_test

import (
	"reflect"
	"strings"
	"testing"

	"resetbot/bot"
	"resetbot/config"
	"resetbot/providers"
)

// The fix the redesign was for: config allowed a CIAM password of 16 to 64,
// the password rule 16 to 32, so a reset failed only after a human approved
// it. The range is now the provider's, and check-config says so at once.
func TestLoadRefusesPasswordLengthTheProviderRefuses(t *testing.T) {
	data := account("name: login", "provider: tencent.ciam", "region: ap-guangzhou",
		"user_store_id: s", "user_id: x", "password_length: 48", "requesters: [eng]", "approvers: [dba]")
	ce := problemsOf(t, data, getenvFrom(testEnv))
	p, ok := findProblem(ce.Problems, "accounts[1].password_length", "48: tencent.ciam takes 16 to 32")
	if !ok {
		t.Fatalf("got problems:\n%v\nwant one at accounts[1].password_length naming 48 and the range 16 to 32", ce)
	}
	if got, want := p.Line, lineOf(t, data, "password_length: 48"); got != want {
		t.Errorf("line: got %d, want %d", got, want)
	}
	if got, want := p.String(), "accounts[1].password_length: 48: tencent.ciam takes 16 to 32"; !strings.HasSuffix(got, want) {
		t.Errorf("printed: got %q, want it to end with %q", got, want)
	}
}

func TestLoadDelegatesProviderKeys(t *testing.T) {
	tdsql := func(keys ...string) string {
		return account(append([]string{"name: db2", "provider: tencent.tdsql", "region: ap-guangzhou", "requesters: [eng]", "approvers: [dba]"}, keys...)...)
	}
	tests := []struct {
		name, yaml, path, msg, marker string
	}{
		// Another kind's key is named as such, as before the kinds owned them.
		{"KeyOfCIAMOnTDSQL", tdsql("instance_id: i", "user: u", "user_store_id: s"), "accounts[1].user_store_id", "not a tencent.tdsql key (it belongs to tencent.ciam)", "user_store_id"},
		{"UserKeyOfTCROnTDSQL", tdsql("instance_id: i", "service_account: s"), "accounts[1].service_account", "not a tencent.tdsql key (it belongs to tencent.tcr)", "service_account"},
		// An unknown key is matched against the common keys and every kind's.
		{"UnknownKeyNearAProviderKey", tdsql("instanceid: i", "user: u"), "accounts[1].instanceid", `unknown key "instanceid" (did you mean "instance_id"?)`, "instanceid"},
		{"UnknownKeyNearACommonKey", tdsql("instance_id: i", "user: u", "regoin: x"), "accounts[1].regoin", `(did you mean "region"?)`, "regoin"},
		// The kind's problems are located and show the value as written.
		{"KindsProblemQuotesTheValue", tdsql("instance_id: i", "user: u", "action: Reset"), "accounts[1].action", `"Reset": must be ResetUserPassword (the default) or ResetUsersPassword`, "action: Reset"},
		{"KindsMissingKey", tdsql("user: u"), "accounts[1].instance_id", "missing: tencent.tdsql needs it", "name: db2"},
		{"ProviderBoolNotBool", account("name: reg", "provider: tencent.tcr", "region: ap-guangzhou", "registry_id: r", "service_account: s", "random: maybe", "requesters: [eng]", "approvers: [dba]"), "accounts[1].random", `want true or false, not "maybe"`, "random: maybe"},
		{"ProviderKeyNotAScalar", tdsql("instance_id: [a, b]", "user: u"), "accounts[1].instance_id", "want a single value", "instance_id"},
		{"RepeatedNameSaysWhereUsersGo", tdsql("instance_id: i", "user: u", "name: app"), "accounts[1].name", "service_account (tencent.tcr)", "name: app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ce := problemsOf(t, tt.yaml, getenvFrom(testEnv))
			p, ok := findProblem(ce.Problems, tt.path, tt.msg)
			if !ok {
				t.Fatalf("got problems:\n%v\nwant one at %q saying %q", ce, tt.path, tt.msg)
			}
			if got, want := p.Line, lineOf(t, tt.yaml, tt.marker); got != want {
				t.Errorf("line of %v: got %d, want %d", p, got, want)
			}
		})
	}

	t.Run("BoolsReachTheKindNormalised", func(t *testing.T) {
		cfg := mustLoad(t, account("name: reg", "provider: tencent.tcr", "region: ap-guangzhou", "registry_id: r",
			"service_account: s", "random: TRUE", "requesters: [eng]", "approvers: [dba]"), getenvFrom(testEnv))
		got := cfg.Accounts()[1].Settings
		want := parse(t, "tencent.tcr", map[string]string{"registry_id": "r", "service_account": "s", "random": "true"}, 0)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Settings: got %+v, want %+v", got, want)
		}
	})

	t.Run("ProviderKeysFromTheEnvironment", func(t *testing.T) {
		cfg := mustLoad(t, account("name: db2", "provider: tencent.tdsql", "region: ap-guangzhou", "instance_id: ${INSTANCE}",
			"user: u", "requesters: [eng]", "approvers: [dba]"), envWith(map[string]string{"INSTANCE": "tdsql-env"}))
		if got := cfg.Accounts()[1].Resource(); !strings.Contains(got, "tdsql-env") {
			t.Errorf("Resource: got %q, want the instance from the environment", got)
		}
	})
}

// countingKind counts Parse calls of a real kind.
type countingKind struct {
	bot.AccountKind
	parses *int
}

func (k countingKind) Parse(values map[string]string, n int) (bot.AccountSettings, []bot.SettingProblem) {
	*k.parses++
	return k.AccountKind.Parse(values, n)
}

func TestLoadParsesEachAccountOnce(t *testing.T) {
	parses := 0
	var kinds []bot.AccountKind
	for _, k := range providers.Kinds() {
		kinds = append(kinds, countingKind{k, &parses})
	}
	cfg, err := config.Load([]byte(fullYAML), getenvFrom(testEnv), kinds)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	cfg.Accounts()
	cfg.Accounts()
	cfg.Warnings()
	cfg.Check()
	if got, want := parses, len(cfg.AccountConfigs); got != want {
		t.Errorf("Parse calls: got %d, want %d (one an account, at load)", got, want)
	}
}

func TestLoadRefusesTwoKindsForOneProvider(t *testing.T) {
	kinds := providers.Kinds()
	_, err := config.Load([]byte(baseYAML), getenvFrom(testEnv), append(kinds, kinds[0]))
	if err == nil || !strings.Contains(err.Error(), string(kinds[0].Provider())) {
		t.Errorf("Load: got %v, want an error naming %s", err, kinds[0].Provider())
	}
}
