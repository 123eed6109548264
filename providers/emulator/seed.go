package emulator

import (
	"fmt"

	"resetbot/bot"
	"resetbot/providers/alibaba"
	"resetbot/providers/tencent"
)

// AddAccount declares every user of acct (acct.Users), under the resource
// its settings name: the account as config builds it, with the settings its
// provider's kind parsed. It is how the playground and tests seed the
// emulator without knowing each API's resource and user naming. An account
// whose settings are not its provider's is an error.
func (e *Emulator) AddAccount(acct bot.Account) error {
	for _, u := range acct.Users {
		resource, user, err := accountUser(acct, u)
		if err != nil {
			return err
		}
		e.AddUser(acct.Provider, resource, user)
	}
	return nil
}

// accountUser is the resource and user name under which the emulator keeps
// user u of acct (AddUser).
func accountUser(acct bot.Account, u string) (resource, user string, err error) {
	switch s := acct.Settings.(type) {
	case tencent.CIAMSettings:
		if acct.Provider == tencent.CIAM {
			return s.UserStoreID, u, nil
		}
	case tencent.TDSQLSettings:
		if acct.Provider == tencent.TDSQL {
			name, host := s.UserHost(u)
			return s.InstanceID, name + "@" + host, nil
		}
	case tencent.TCRSettings:
		if acct.Provider == tencent.TCR {
			return s.RegistryID, u, nil
		}
	case tencent.CAMSettings:
		if acct.Provider == tencent.CAM {
			return "", u, nil
		}
	case alibaba.EHPCSettings:
		if acct.Provider == alibaba.EHPC {
			return s.ClusterID, u, nil
		}
	}
	return "", "", fmt.Errorf("emulator: account %s: provider %q with settings %T is not emulated", acct.Name, acct.Provider, acct.Settings)
}

// AccountUser returns what the emulator knows of user u of acct (named as
// the account names it: a bare TDSQL user takes the account's host), and
// whether it exists.
func (e *Emulator) AccountUser(acct bot.Account, u string) (UserState, bool) {
	resource, user, err := accountUser(acct, u)
	if err != nil {
		return UserState{}, false
	}
	return e.User(acct.Provider, resource, user)
}

// FreezeAccountUser makes user u of acct exist in a frozen state (Freeze).
func (e *Emulator) FreezeAccountUser(acct bot.Account, u string) error {
	resource, user, err := accountUser(acct, u)
	if err != nil {
		return err
	}
	e.Freeze(acct.Provider, resource, user)
	return nil
}
