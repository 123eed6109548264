package bot

import "context"

// UserResult is the outcome of one user's reset.
type UserResult struct {
	User     string
	Password Secret // zero when Err is set
	Err      error  // an *Error with a message for the requester
}

// Provider resets passwords through one cloud API.
type Provider interface {
	// Reset sets new passwords for users of acct and returns one result per
	// user. An error for the whole call wraps an *Error: EPROVIDER (the API
	// refused; the message tells the requester what to do), EUNAVAILABLE
	// (nothing was changed; asking again is safe), EUNKNOWN (the call was
	// sent and no answer came: the account may or may not have changed).
	Reset(ctx context.Context, acct Account, users []string) ([]UserResult, error)
}

// AccountSettings are one account's provider-specific settings, as its
// provider's AccountKind parsed them from config. Only that provider looks
// inside; everyone else sees Resource.
type AccountSettings interface {
	// Resource describes what the account resets, for approval cards:
	// "instance_id=tdsql-1", "cluster_id=ehpc-hz-1".
	Resource() string
}

// Setting is one key a provider's accounts may set in config, besides the
// keys every account has (name, provider, region, user, users, endpoint,
// scheme, password_length and the policy).
type Setting struct {
	Key  string
	Bool bool // the value is true or false; otherwise a string
}

// SettingProblem is one thing wrong with an account's provider settings.
type SettingProblem struct {
	Key string // the key at fault ("instance_id", "password_length")
	// Message says what is wrong, never quoting the value: config shows the
	// value as written before it when Quoted is true, and hides it when it
	// came from the environment.
	Message string
	Quoted  bool
}

// AccountKind is what one provider knows about the accounts it resets:
// which keys they set, what those keys must hold, how users are named, how
// many one call takes, and how long a password may be. Config checking, the
// playground and tools ask it; nobody else keeps a copy. Each provider
// package exports its kinds.
type AccountKind interface {
	// Provider is the key accounts write in `provider:`.
	Provider() ProviderKey
	// Cloud is the config section that holds the credential of these
	// accounts ("tencentcloud", "alibabacloud").
	Cloud() string
	// NeedsRegion reports whether the API takes a region.
	NeedsRegion() bool
	// Settings are the provider's own keys. A key of another kind's set on
	// an account of this one is a mistake that config names.
	Settings() []Setting
	// UserKeys are the keys that name the one user to reset, preferred
	// first ("user", or the API's own word such as "service_account"):
	// some of them may be among Settings. `users:` always works too.
	UserKeys() []string
	// MaxUsers is how many users one account may list; 0: no limit.
	MaxUsers() int
	// PasswordLength is the range password_length may take.
	PasswordLength() (min, max int)
	// Parse checks the account's own keys (values holds those set, as
	// written; a Bool setting as "true" or "false") and its password_length
	// (0: the default), and returns its settings, with defaults applied, or
	// every problem found.
	Parse(values map[string]string, passwordLength int) (AccountSettings, []SettingProblem)
}
