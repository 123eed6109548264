package bot

import (
	"errors"
	"fmt"
)

// Error codes. Adapters turn them into chat text; only Message is ever shown.
const (
	EINVALID     = "invalid"      // bad input: the message says what was wrong and how to write it
	EFORBIDDEN   = "forbidden"    // policy refuses this person this action
	ENOTFOUND    = "not_found"    // no such request or account
	ECONFLICT    = "conflict"     // the request is no longer in a state that allows the action
	EDUPLICATE   = "duplicate"    // an open request for the same requester and account exists
	ERATELIMIT   = "rate_limited" // the requester asked too often
	EUNAVAILABLE = "unavailable"  // a dependency (Redis, a chat API, a cloud API) is down; try again
	EPROVIDER    = "provider"     // the cloud API refused the reset; the message says why
	EUNKNOWN     = "unknown"      // the cloud call's outcome is unknown
	EINTERNAL    = "internal"     // a bug or an unexpected fault; details are in the log only
)

// ErrUnconfirmed is in the chain of a store error that says the store took
// a change but not as many replicas as it asks for confirmed it in time
// (a Sentinel setup's redis.sentinel.min_replicas): the change may stand
// or may be lost in a failover. Its code is EUNAVAILABLE.
var ErrUnconfirmed = errors.New("the store took the change, but its replicas did not confirm it in time")

// Error is the one error type whose message is safe to show to people. Other
// errors are internal: logged, never shown.
type Error struct {
	Code    string
	Message string
	// ID names the request the error is about, if any (a duplicate's first
	// request, for example).
	ID string
	// Retryable tells the executor the same call may be sent again.
	Retryable bool
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf makes an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, or EINTERNAL.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, or a
// generic text that says where to look.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	if err == nil {
		return ""
	}
	return "internal error: the bot's log has the details"
}
