// Package accountkind is the shared shape of the providers' bot.AccountKind
// implementations: what every kind answers from a few fields, the checks
// every kind makes the same way (a required key, a bool, password_length
// against the password rule), with the words config shows, and the typed
// settings a provider reads back from an account.
package accountkind

import (
	"fmt"
	"strconv"

	"resetbot/bot"
	"resetbot/providers/password"
)

// Kind is a bot.AccountKind made of its answers and a parse function.
type Kind struct {
	Key      bot.ProviderKey
	CloudKey string // the config section of the credential
	Region   bool
	Keys     []bot.Setting
	Users    []string // user keys, preferred first
	Max      int      // users per account; 0: no limit
	Rule     password.Rule
	// ParseFunc reads the kind's own values and builds its settings, noting
	// problems in v; password_length is checked by Parse after it, unless
	// ParseFunc noted a problem about it.
	ParseFunc func(v *Values) bot.AccountSettings
}

var _ bot.AccountKind = Kind{}

func (k Kind) Provider() bot.ProviderKey  { return k.Key }
func (k Kind) Cloud() string              { return k.CloudKey }
func (k Kind) NeedsRegion() bool          { return k.Region }
func (k Kind) Settings() []bot.Setting    { return append([]bot.Setting(nil), k.Keys...) }
func (k Kind) UserKeys() []string         { return append([]string(nil), k.Users...) }
func (k Kind) MaxUsers() int              { return k.Max }
func (k Kind) PasswordLength() (int, int) { return k.Rule.Min, k.Rule.Max }

// Parse runs ParseFunc, then checks passwordLength against the rule. A
// problem is returned with nil settings.
func (k Kind) Parse(values map[string]string, passwordLength int) (bot.AccountSettings, []bot.SettingProblem) {
	v := &Values{kind: k.Key, values: values, PasswordLength: passwordLength}
	s := k.ParseFunc(v)
	problems := v.Problems
	lengthChecked := false
	for _, p := range problems {
		lengthChecked = lengthChecked || p.Key == "password_length"
	}
	if !lengthChecked && passwordLength != 0 && (passwordLength < k.Rule.Min || passwordLength > k.Rule.Max) {
		problems = append(problems, bot.SettingProblem{Key: "password_length",
			Message: fmt.Sprintf("%s takes %d to %d", k.Key, k.Rule.Min, k.Rule.Max), Quoted: true})
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return s, nil
}

// Values are the values one account set for its kind's keys, and the
// problems found reading them.
type Values struct {
	kind           bot.ProviderKey
	values         map[string]string
	PasswordLength int
	Problems       []bot.SettingProblem
}

// Required returns the value of key, noting a problem when it is not set.
func (v *Values) Required(key string) string {
	s := v.values[key]
	if s == "" {
		v.Problems = append(v.Problems, bot.SettingProblem{Key: key, Message: fmt.Sprintf("missing: %s needs it", v.kind)})
	}
	return s
}

// Optional returns the value of key, or def when it is not set.
func (v *Values) Optional(key, def string) string {
	if s := v.values[key]; s != "" {
		return s
	}
	return def
}

// Bool returns the bool value of key, or def when it is not set.
func (v *Values) Bool(key string, def bool) bool {
	s, ok := v.values[key]
	if !ok || s == "" {
		return def
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		v.Problems = append(v.Problems, bot.SettingProblem{Key: key, Message: "want true or false", Quoted: true})
		return def
	}
	return b
}

// Problem notes a problem.
func (v *Values) Problem(p bot.SettingProblem) { v.Problems = append(v.Problems, p) }

// SettingsOf returns acct's settings as a T: what its provider's kind
// parsed. Anything else is an EINVALID *bot.Error: the account was not
// built from its kind.
func SettingsOf[T bot.AccountSettings](acct bot.Account) (T, error) {
	if s, ok := acct.Settings.(T); ok {
		return s, nil
	}
	var zero T
	return zero, bot.Errorf(bot.EINVALID, "account %s: its settings are %T, not the %T of %s accounts", acct.Name, acct.Settings, zero, acct.Provider)
}
