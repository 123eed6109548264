package emulator_test

import (
	"testing"

	"resetbot/bot"
	"resetbot/internal/testkit"
	"resetbot/providers/alibaba"
	"resetbot/providers/emulator"
	"resetbot/providers/tencent"
)

func TestAddAccountSeedsUsersWhereTheAPINamesThem(t *testing.T) {
	tests := []struct {
		acct               bot.Account
		resource, user     string
		accountUser, other string // named as the account names it; another user
	}{
		{bot.Account{Name: "db", Provider: tencent.TDSQL, Users: []string{"app_user", "report@10.0.%"},
			Settings: tencent.TDSQLSettings{InstanceID: "tdsql-1", Host: "%"}}, "tdsql-1", "report@10.0.%", "app_user", "ghost"},
		{bot.Account{Name: "db-default-host", Provider: tencent.TDSQL, Users: []string{"app_user"},
			Settings: tencent.TDSQLSettings{InstanceID: "tdsql-2"}}, "tdsql-2", "app_user@%", "app_user", "ghost"},
		{bot.Account{Name: "login", Provider: tencent.CIAM, Users: []string{"u-1"},
			Settings: tencent.CIAMSettings{UserStoreID: "store-1"}}, "store-1", "u-1", "u-1", "u-2"},
		{bot.Account{Name: "registry", Provider: tencent.TCR, Users: []string{"robot"},
			Settings: tencent.TCRSettings{RegistryID: "tcr-1"}}, "tcr-1", "robot", "robot", "robot2"},
		{bot.Account{Name: "console", Provider: tencent.CAM, Users: []string{"alice"},
			Settings: tencent.CAMSettings{}}, "", "alice", "alice", "bob"},
		{bot.Account{Name: "hpc", Provider: alibaba.EHPC, Users: []string{"user1"},
			Settings: alibaba.EHPCSettings{ClusterID: "ehpc-1"}}, "ehpc-1", "user1", "user1", "user2"},
	}
	for _, tt := range tests {
		t.Run(tt.acct.Name, func(t *testing.T) {
			e := emulator.New(emulator.Options{})
			if err := e.AddAccount(tt.acct); err != nil {
				t.Fatal(err)
			}
			if _, ok := e.User(tt.acct.Provider, tt.resource, tt.user); !ok {
				t.Errorf("User(%s, %q, %q): not there", tt.acct.Provider, tt.resource, tt.user)
			}
			if _, ok := e.AccountUser(tt.acct, tt.accountUser); !ok {
				t.Errorf("AccountUser(%q): not there", tt.accountUser)
			}
			if _, ok := e.AccountUser(tt.acct, tt.other); ok {
				t.Errorf("AccountUser(%q): there, but the account does not list it", tt.other)
			}
			if err := e.FreezeAccountUser(tt.acct, tt.accountUser); err != nil {
				t.Fatal(err)
			}
			if st, _ := e.AccountUser(tt.acct, tt.accountUser); !st.Frozen {
				t.Errorf("FreezeAccountUser(%q) left it unfrozen", tt.accountUser)
			}
		})
	}
}

func TestAddAccountRefusesSettingsNotOfItsProvider(t *testing.T) {
	e := emulator.New(emulator.Options{})
	for _, acct := range []bot.Account{
		{Name: "mixed", Provider: tencent.CAM, Users: []string{"a"}, Settings: tencent.TDSQLSettings{InstanceID: "i"}},
		{Name: "fake", Provider: tencent.CAM, Users: []string{"a"}, Settings: testkit.Resource("x")},
		{Name: "none", Provider: alibaba.EHPC, Users: []string{"a"}},
	} {
		if err := e.AddAccount(acct); err == nil {
			t.Errorf("AddAccount(%s) succeeded", acct.Name)
		}
	}
}
