package tencent

import (
	"cmp"
	"strings"

	"resetbot/bot"
	"resetbot/providers/internal/accountkind"
	"resetbot/providers/password"
)

// The provider keys of the four APIs, as accounts write them in `provider:`.
const (
	CIAM  bot.ProviderKey = "tencent.ciam"
	TDSQL bot.ProviderKey = "tencent.tdsql"
	TCR   bot.ProviderKey = "tencent.tcr"
	CAM   bot.ProviderKey = "tencent.cam"
)

// Cloud is the config section holding the credential of every account here.
const Cloud = "tencentcloud"

// The TDSQL actions an account may choose with `action:`.
const (
	ActionResetUserPassword  = "ResetUserPassword"  // the documented one, one user a call
	ActionResetUsersPassword = "ResetUsersPassword" // the newer batch
)

// DefaultHost is the MySQL host of a TDSQL user named without one.
const DefaultHost = "%"

// CIAMSettings are a tencent.ciam account's settings.
type CIAMSettings struct {
	UserStoreID string
}

// Resource is the user store, for approval cards.
func (s CIAMSettings) Resource() string { return "user_store_id=" + s.UserStoreID }

// TDSQLSettings are a tencent.tdsql account's settings.
type TDSQLSettings struct {
	InstanceID string
	Host       string // of users named without "@host"; "" is DefaultHost
	Action     string // ActionResetUserPassword ("") or ActionResetUsersPassword
}

// Resource is the instance, for approval cards.
func (s TDSQLSettings) Resource() string { return "instance_id=" + s.InstanceID }

// UserHost splits a user as accounts name them, "name" or "name@host", into
// the MySQL user name and host: a bare name takes the account's host.
func (s TDSQLSettings) UserHost(user string) (name, host string) {
	if i := strings.LastIndexByte(user, '@'); i > 0 {
		return user[:i], user[i+1:]
	}
	return user, cmp.Or(s.Host, DefaultHost)
}

// TCRSettings are a tencent.tcr account's settings.
type TCRSettings struct {
	RegistryID string
	Random     bool // the API makes the password and returns it
}

// Resource is the registry, for approval cards.
func (s TCRSettings) Resource() string { return "registry_id=" + s.RegistryID }

// CAMSettings are a tencent.cam account's settings.
type CAMSettings struct {
	NeedResetPassword bool // the sub-user must change the password at next login
}

// Resource is empty: a CAM sub-user belongs to no resource but the cloud
// account.
func (s CAMSettings) Resource() string { return "" }

// The password rules of the four APIs (design.md's table). Their symbols are
// password.Symbols, which every API here accepts; TCR documents none.
var (
	// CIAM states no rule: 16 or more, all four classes.
	ciamRule = password.Rule{Provider: CIAM, Min: 16, Max: 32, Default: 20,
		Classes: []string{password.Upper, password.Lower, password.Digits, password.Symbols}, Need: 4}
	// TDSQL: 8-32, at least two of letters, digits and symbols.
	tdsqlRule = password.Rule{Provider: TDSQL, Min: 8, Max: 32, Default: 20,
		Classes: []string{password.Upper + password.Lower, password.Digits, password.Symbols}, Need: 2}
	// TCR: 8-20, upper, lower and digit.
	tcrRule = password.Rule{Provider: TCR, Min: 8, Max: 20, Default: 16,
		Classes: []string{password.Upper, password.Lower, password.Digits}, Need: 3}
	// CAM: at least 8, upper, lower, digit and special.
	camRule = password.Rule{Provider: CAM, Min: 8, Max: 32, Default: 20,
		Classes: []string{password.Upper, password.Lower, password.Digits, password.Symbols}, Need: 4}
)

// Rule returns the password rule of one of this package's provider keys,
// and whether the key is one.
func Rule(key bot.ProviderKey) (password.Rule, bool) {
	switch key {
	case CIAM:
		return ciamRule, true
	case TDSQL:
		return tdsqlRule, true
	case TCR:
		return tcrRule, true
	case CAM:
		return camRule, true
	}
	return password.Rule{}, false
}

// Kinds are the four kinds of account this package resets: what config,
// the playground and tools ask about them.
func Kinds() []bot.AccountKind {
	return []bot.AccountKind{ciamKind, tdsqlKind, tcrKind, camKind}
}

var (
	ciamKind = accountkind.Kind{
		Key: CIAM, CloudKey: Cloud, Region: true, Rule: ciamRule,
		Keys:  []bot.Setting{{Key: "user_store_id"}, {Key: "user_id"}},
		Users: []string{"user_id", "user"},
		ParseFunc: func(v *accountkind.Values) bot.AccountSettings {
			return CIAMSettings{UserStoreID: v.Required("user_store_id")}
		},
	}
	tdsqlKind = accountkind.Kind{
		Key: TDSQL, CloudKey: Cloud, Region: true, Rule: tdsqlRule,
		Keys:  []bot.Setting{{Key: "instance_id"}, {Key: "host"}, {Key: "action"}},
		Users: []string{"user"},
		ParseFunc: func(v *accountkind.Values) bot.AccountSettings {
			s := TDSQLSettings{
				InstanceID: v.Required("instance_id"),
				Host:       v.Optional("host", DefaultHost),
				Action:     v.Optional("action", ActionResetUserPassword),
			}
			if s.Action != ActionResetUserPassword && s.Action != ActionResetUsersPassword {
				v.Problem(bot.SettingProblem{Key: "action", Quoted: true,
					Message: "must be " + ActionResetUserPassword + " (the default) or " + ActionResetUsersPassword})
			}
			return s
		},
	}
	tcrKind = accountkind.Kind{
		Key: TCR, CloudKey: Cloud, Region: true, Rule: tcrRule,
		Keys:  []bot.Setting{{Key: "registry_id"}, {Key: "service_account"}, {Key: "random", Bool: true}},
		Users: []string{"service_account", "user"},
		ParseFunc: func(v *accountkind.Values) bot.AccountSettings {
			s := TCRSettings{RegistryID: v.Required("registry_id"), Random: v.Bool("random", false)}
			if s.Random && v.PasswordLength != 0 {
				v.Problem(bot.SettingProblem{Key: "password_length",
					Message: "has no effect with random: true (the API makes the password)"})
			}
			return s
		},
	}
	camKind = accountkind.Kind{
		// CAM is a global service: its API takes no region.
		Key: CAM, CloudKey: Cloud, Region: false, Rule: camRule,
		Keys:  []bot.Setting{{Key: "need_reset_password", Bool: true}},
		Users: []string{"user"},
		ParseFunc: func(v *accountkind.Values) bot.AccountSettings {
			return CAMSettings{NeedResetPassword: v.Bool("need_reset_password", true)}
		},
	}
)
