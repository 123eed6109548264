package bot

import (
	"fmt"
	"log/slog"
)

// Secret holds a password or a credential. Every way of printing or
// encoding it prints "[redacted]" ("" when it is empty, so that an unset
// credential does not look set); only Value gives the value, and only the
// code that must send it (the show function given to Service.Reveal, a
// client) should call it.
// The value sits behind a pointer: where fmt cannot call the methods (a
// Secret in an unexported field) it prints an address, not the password.
type Secret struct{ v *string }

// NewSecret wraps a password.
func NewSecret(v string) Secret { return Secret{v: &v} }

// Value returns the password.
func (s Secret) Value() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// IsZero reports whether no password is held.
func (s Secret) IsZero() bool { return s.Value() == "" }

const redacted = "[redacted]"

func (s Secret) shown() string {
	if s.IsZero() {
		return ""
	}
	return redacted
}

func (s Secret) String() string                { return s.shown() }
func (s Secret) GoString() string              { return s.shown() }
func (s Secret) MarshalText() ([]byte, error)  { return []byte(s.shown()), nil }
func (s Secret) MarshalJSON() ([]byte, error)  { return []byte(`"` + s.shown() + `"`), nil }
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(s.shown())) }
func (s Secret) LogValue() slog.Value          { return slog.StringValue(s.shown()) }
