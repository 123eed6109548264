package call

import (
	"errors"
	"strings"

	"resetbot/bot"
)

// Kind is what an API error code means to the person who asked for a reset.
type Kind int

const (
	KindFailed           Kind = iota // the API could not do it and says no more
	KindCredentials                  // the bot's secret is wrong, unknown or disabled
	KindClock                        // the signature's time is off
	KindPermission                   // the credentials may not call the API
	KindThrottled                    // over the API's rate
	KindInternal                     // the API's own fault; transient
	KindUserNotFound                 // no such user
	KindResourceNotFound             // no such instance, store, registry, cluster
	KindUserFrozen                   // the user is frozen or locked
	KindPasswordRejected             // the password broke the API's rule
	KindBadRequest                   // the request was malformed for the API
	KindBusy                         // the resource is not in a state to do it now
	KindNotAllowed                   // the API never allows this reset
	KindAccount                      // the cloud account is not enabled, in debt, out of quota
	KindUnsupported                  // the API or region does not offer this
	KindUserLookup                   // the API could not look the user up: it may not exist
)

var kindNames = [...]string{"failed", "credentials", "clock", "permission", "throttled", "internal",
	"user-not-found", "resource-not-found", "user-frozen", "password-rejected", "bad-request", "busy",
	"not-allowed", "account", "unsupported", "user-lookup"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(?)"
}

// Retryable reports whether Policy.Do should try a call again after an
// answer of kind k.
func (k Kind) Retryable() bool { return k == KindThrottled || k == KindInternal }

// Target is what a call was about, for messages.
type Target struct {
	Account  string // the config account name
	Cloud    string // "Tencent Cloud"
	Service  string // "CAM"
	Resource string // "instance tdsql3-d8fffc3c"; "" when the API has none
	Region   string
	Users    []string
	// Credentials names the config keys of the secret, for the operators.
	Credentials string
}

func (t Target) users() string {
	switch len(t.Users) {
	case 0:
		return "the user"
	case 1:
		return "user " + t.Users[0]
	}
	return "users " + strings.Join(t.Users, ", ")
}

func (t Target) resource() string {
	if t.Resource == "" {
		return t.Service
	}
	return t.Resource
}

func (t Target) where() string {
	if t.Region == "" {
		return t.Service
	}
	return t.Service + " (region " + t.Region + ")"
}

// Error is the *bot.Error for an answer with code of kind k about t. Its
// message names the account and what to do; it holds the code, never the
// API's text.
func (k Kind) Error(t Target, code string) *bot.Error {
	e := &bot.Error{Code: bot.EPROVIDER}
	var msg string
	switch k {
	case KindCredentials:
		msg = "the bot's cloud credentials were rejected by " + t.Cloud + " while resetting " + t.Account +
			": tell the bot's operators to check " + t.Credentials
	case KindClock:
		msg = t.Cloud + " refused the bot's request for " + t.Account + " as expired, nothing was changed: " +
			"the bot's clock is off, tell the bot's operators"
	case KindPermission:
		msg = "the bot's cloud credentials may not reset passwords in " + t.Service + " for " + t.Account +
			": ask the bot's operators to grant that permission"
	case KindThrottled:
		e.Code, e.Retryable = bot.EUNAVAILABLE, true
		msg = t.Service + " is limiting the bot's calls, nothing was changed for " + t.Account + ": try again in a minute"
	case KindInternal:
		e.Code, e.Retryable = bot.EUNAVAILABLE, true
		msg = t.Service + " failed with an internal error and did not reset " + t.Account + ": try again later"
	case KindUserNotFound:
		msg = t.users() + " does not exist in " + t.where() + " for account " + t.Account +
			": ask the bot's operators to fix the account's users in the config"
	case KindResourceNotFound:
		msg = t.resource() + " of account " + t.Account + " was not found in " + t.where() +
			": ask the bot's operators to check the account in the config"
	case KindUserFrozen:
		msg = t.users() + " is frozen or locked in " + t.Service + " (account " + t.Account +
			"), so the password cannot be set: unlock the user first, then ask again"
	case KindPasswordRejected:
		msg = t.Service + " refused the new password for " + t.Account + ", a longer one too: " +
			"ask the bot's operators to match the account's password_length to its password policy"
	case KindBadRequest:
		msg = t.Service + " refused the bot's request for " + t.Account + " as invalid: " +
			"ask the bot's operators to check the account in the config"
	case KindBusy:
		e.Retryable = true
		msg = t.resource() + " of account " + t.Account + " is busy or not running, nothing was changed: try again later"
	case KindNotAllowed:
		msg = t.Service + " does not allow the bot to reset the password of " + t.users() + " (account " + t.Account +
			"): reset it by hand, or ask the bot's operators"
	case KindAccount:
		msg = "the cloud account behind " + t.Account + " cannot use " + t.Service +
			" now (service not enabled, overdue payment or quota reached): tell the bot's operators"
	case KindUserLookup:
		msg = t.Service + " could not look up " + t.users() + " in " + t.resource() + " for account " + t.Account +
			": check that the user exists there (with its host, where the API has one), then ask again"
	case KindUnsupported:
		msg = t.where() + " does not offer this call for " + t.Account +
			": ask the bot's operators to check the account's region and endpoint"
	default:
		msg = t.Service + " could not reset the password of " + t.Account +
			": try again later, and tell the bot's operators if it fails again"
	}
	if code != "" {
		msg += " [" + code + "]"
	}
	e.Message = msg
	return e
}

// Classifier sorts an API's error codes into kinds: the codes the API
// documents, then its families (the part before the first dot), then Kind
// fallback.
type Classifier struct {
	Codes    map[string]Kind
	Families map[string]Kind
	Fallback Kind
}

// Kind returns the kind of code.
func (c Classifier) Kind(code string) Kind {
	if k, ok := c.Codes[code]; ok {
		return k
	}
	family, _, _ := strings.Cut(code, ".")
	if k, ok := c.Families[family]; ok {
		return k
	}
	if strings.HasPrefix(code, "HTTP 5") {
		return KindInternal
	}
	return c.Fallback
}

// Refusal is an API's refusal as people see it: the *bot.Error to show and
// the *APIError behind it, for the log. errors.As finds both.
type Refusal struct {
	Kind  Kind
	Shown *bot.Error
	Cause *APIError
}

// Refuse maps an API refusal about t to a *Refusal.
func Refuse(k Kind, t Target, cause *APIError) *Refusal {
	return &Refusal{Kind: k, Shown: k.Error(t, cause.Code), Cause: cause}
}

func (r *Refusal) Error() string   { return r.Shown.Error() + " (" + r.Cause.Error() + ")" }
func (r *Refusal) Unwrap() []error { return []error{r.Shown, r.Cause} }

// UserLevel reports whether err concerns one user only (no such user, frozen,
// not allowed, password refused), so that the other users of a request can
// still be reset.
func UserLevel(err error) bool {
	var r *Refusal
	if !errors.As(err, &r) {
		return false
	}
	switch r.Kind {
	case KindUserNotFound, KindUserFrozen, KindNotAllowed, KindPasswordRejected:
		return true
	}
	return false
}

// Skipped is the error of a user not tried because an earlier call of the
// same request failed with cause, which would fail this one too.
func Skipped(account, user string, cause error) *bot.Error {
	code := bot.ErrorCode(cause)
	if code == bot.EUNKNOWN || code == bot.EINTERNAL {
		code = bot.EUNAVAILABLE
	}
	return &bot.Error{Code: code, Message: "user " + user + " of " + account + " was not reset, as an earlier call failed: " +
		bot.ErrorMessage(cause)}
}
