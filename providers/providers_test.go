package providers_test

import (
	"fmt"
	"reflect"
	"testing"

	"resetbot/bot"
	"resetbot/providers"
	"resetbot/providers/alibaba"
	"resetbot/providers/tencent"
)

func kind(t *testing.T, key bot.ProviderKey) bot.AccountKind {
	t.Helper()
	k, ok := providers.Kind(key)
	if !ok {
		t.Fatalf("providers.Kind(%q): no kind", key)
	}
	return k
}

func TestKindsAnswers(t *testing.T) {
	type answers struct {
		cloud    string
		region   bool
		settings []bot.Setting
		userKeys []string
		maxUsers int
		min, max int
	}
	tests := []struct {
		key  bot.ProviderKey
		want answers
	}{
		{tencent.CIAM, answers{"tencentcloud", true, []bot.Setting{{Key: "user_store_id"}, {Key: "user_id"}}, []string{"user_id", "user"}, 0, 16, 32}},
		{tencent.TDSQL, answers{"tencentcloud", true, []bot.Setting{{Key: "instance_id"}, {Key: "host"}, {Key: "action"}}, []string{"user"}, 0, 8, 32}},
		{tencent.TCR, answers{"tencentcloud", true, []bot.Setting{{Key: "registry_id"}, {Key: "service_account"}, {Key: "random", Bool: true}}, []string{"service_account", "user"}, 0, 8, 20}},
		{tencent.CAM, answers{"tencentcloud", false, []bot.Setting{{Key: "need_reset_password", Bool: true}}, []string{"user"}, 0, 8, 32}},
		{alibaba.EHPC, answers{"alibabacloud", true, []bot.Setting{{Key: "cluster_id"}, {Key: "async", Bool: true}}, []string{"user"}, 100, 8, 30}},
	}
	if got := len(providers.Kinds()); got != len(tests) {
		t.Errorf("len(Kinds()) = %d, want %d", got, len(tests))
	}
	for _, tt := range tests {
		t.Run(string(tt.key), func(t *testing.T) {
			k := kind(t, tt.key)
			min, max := k.PasswordLength()
			got := answers{k.Cloud(), k.NeedsRegion(), k.Settings(), k.UserKeys(), k.MaxUsers(), min, max}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	if _, ok := providers.Kind("tencent.cvm"); ok {
		t.Error(`Kind("tencent.cvm") found a kind`)
	}
}

func TestParseAppliesDefaults(t *testing.T) {
	tests := []struct {
		key    bot.ProviderKey
		values map[string]string
		want   bot.AccountSettings
	}{
		{tencent.TDSQL, map[string]string{"instance_id": "tdsql-1"},
			tencent.TDSQLSettings{InstanceID: "tdsql-1", Host: "%", Action: "ResetUserPassword"}},
		{tencent.TDSQL, map[string]string{"instance_id": "tdsql-1", "host": "10.0.0.%", "action": "ResetUsersPassword"},
			tencent.TDSQLSettings{InstanceID: "tdsql-1", Host: "10.0.0.%", Action: "ResetUsersPassword"}},
		{tencent.CIAM, map[string]string{"user_store_id": "store-1", "user_id": "u-1"}, tencent.CIAMSettings{UserStoreID: "store-1"}},
		{tencent.TCR, map[string]string{"registry_id": "tcr-1", "service_account": "ci"}, tencent.TCRSettings{RegistryID: "tcr-1"}},
		{tencent.TCR, map[string]string{"registry_id": "tcr-1", "random": "true"}, tencent.TCRSettings{RegistryID: "tcr-1", Random: true}},
		{tencent.CAM, map[string]string{}, tencent.CAMSettings{NeedResetPassword: true}},
		{tencent.CAM, map[string]string{"need_reset_password": "false"}, tencent.CAMSettings{NeedResetPassword: false}},
		{alibaba.EHPC, map[string]string{"cluster_id": "ehpc-1"}, alibaba.EHPCSettings{ClusterID: "ehpc-1"}},
		{alibaba.EHPC, map[string]string{"cluster_id": "ehpc-1", "async": "true"}, alibaba.EHPCSettings{ClusterID: "ehpc-1", Async: true}},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(tt.key, i), func(t *testing.T) {
			got, problems := kind(t, tt.key).Parse(tt.values, 0)
			if len(problems) > 0 {
				t.Fatalf("Parse(%v) problems: %+v", tt.values, problems)
			}
			if got != tt.want {
				t.Errorf("Parse(%v) = %#v, want %#v", tt.values, got, tt.want)
			}
		})
	}
}

func TestParseProblems(t *testing.T) {
	tests := []struct {
		name   string
		key    bot.ProviderKey
		values map[string]string
		length int
		want   []bot.SettingProblem
	}{
		{"RequiredKeyMissing", tencent.TDSQL, map[string]string{}, 0,
			[]bot.SettingProblem{{Key: "instance_id", Message: "missing: tencent.tdsql needs it"}}},
		{"CIAMStoreMissing", tencent.CIAM, map[string]string{"user_id": "u"}, 0,
			[]bot.SettingProblem{{Key: "user_store_id", Message: "missing: tencent.ciam needs it"}}},
		{"TCRRegistryMissing", tencent.TCR, map[string]string{}, 0,
			[]bot.SettingProblem{{Key: "registry_id", Message: "missing: tencent.tcr needs it"}}},
		{"EHPCClusterMissing", alibaba.EHPC, map[string]string{}, 0,
			[]bot.SettingProblem{{Key: "cluster_id", Message: "missing: alibaba.ehpc needs it"}}},
		{"BadAction", tencent.TDSQL, map[string]string{"instance_id": "i", "action": "Reset"}, 0,
			[]bot.SettingProblem{{Key: "action", Message: "must be ResetUserPassword (the default) or ResetUsersPassword", Quoted: true}}},
		{"LengthWithRandom", tencent.TCR, map[string]string{"registry_id": "r", "random": "true"}, 12,
			[]bot.SettingProblem{{Key: "password_length", Message: "has no effect with random: true (the API makes the password)"}}},
		{"CIAMLengthOverRule", tencent.CIAM, map[string]string{"user_store_id": "s"}, 48,
			[]bot.SettingProblem{{Key: "password_length", Message: "tencent.ciam takes 16 to 32", Quoted: true}}},
		{"CIAMLengthUnderRule", tencent.CIAM, map[string]string{"user_store_id": "s"}, 15,
			[]bot.SettingProblem{{Key: "password_length", Message: "tencent.ciam takes 16 to 32", Quoted: true}}},
		{"TCRLengthOverRule", tencent.TCR, map[string]string{"registry_id": "r"}, 21,
			[]bot.SettingProblem{{Key: "password_length", Message: "tencent.tcr takes 8 to 20", Quoted: true}}},
		{"EHPCLengthOverRule", alibaba.EHPC, map[string]string{"cluster_id": "c"}, 31,
			[]bot.SettingProblem{{Key: "password_length", Message: "alibaba.ehpc takes 8 to 30", Quoted: true}}},
		{"BadBool", tencent.CAM, map[string]string{"need_reset_password": "yes"}, 0,
			[]bot.SettingProblem{{Key: "need_reset_password", Message: "want true or false", Quoted: true}}},
		{"EveryProblemAtOnce", tencent.TDSQL, map[string]string{"action": "x"}, 64,
			[]bot.SettingProblem{
				{Key: "instance_id", Message: "missing: tencent.tdsql needs it"},
				{Key: "action", Message: "must be ResetUserPassword (the default) or ResetUsersPassword", Quoted: true},
				{Key: "password_length", Message: "tencent.tdsql takes 8 to 32", Quoted: true},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, got := kind(t, tt.key).Parse(tt.values, tt.length)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%v, %d) problems:\n got %+v\nwant %+v", tt.values, tt.length, got, tt.want)
			}
			if s != nil {
				t.Errorf("Parse with problems returned settings %#v", s)
			}
		})
	}
}

func TestPasswordLengthBoundsAccepted(t *testing.T) {
	for _, k := range providers.Kinds() {
		min, max := k.PasswordLength()
		values := map[string]string{"instance_id": "i", "user_store_id": "s", "registry_id": "r", "cluster_id": "c"}
		own := map[string]string{}
		for _, s := range k.Settings() {
			if v, ok := values[s.Key]; ok {
				own[s.Key] = v
			}
		}
		for _, n := range []int{0, min, max} {
			if _, problems := k.Parse(own, n); len(problems) > 0 {
				t.Errorf("%s: Parse(%v, %d) problems: %+v", k.Provider(), own, n, problems)
			}
		}
	}
}

func TestResource(t *testing.T) {
	tests := []struct {
		s    bot.AccountSettings
		want string
	}{
		{tencent.TDSQLSettings{InstanceID: "tdsql-1", Host: "%"}, "instance_id=tdsql-1"},
		{tencent.CIAMSettings{UserStoreID: "store-1"}, "user_store_id=store-1"},
		{tencent.TCRSettings{RegistryID: "tcr-1"}, "registry_id=tcr-1"},
		{tencent.CAMSettings{NeedResetPassword: true}, ""},
		{alibaba.EHPCSettings{ClusterID: "ehpc-1"}, "cluster_id=ehpc-1"},
	}
	for _, tt := range tests {
		if got := tt.s.Resource(); got != tt.want {
			t.Errorf("%#v.Resource() = %q, want %q", tt.s, got, tt.want)
		}
	}
}
