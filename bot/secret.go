package bot

import (
	"fmt"
	"log/slog"
)

// Secret holds a password. Every way of printing or encoding it prints
// "[redacted]"; only Value gives the value, and only Deliver should call it.
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

func (Secret) String() string                { return redacted }
func (Secret) GoString() string              { return redacted }
func (Secret) MarshalText() ([]byte, error)  { return []byte(redacted), nil }
func (Secret) MarshalJSON() ([]byte, error)  { return []byte(`"` + redacted + `"`), nil }
func (Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(redacted)) }
func (Secret) LogValue() slog.Value          { return slog.StringValue(redacted) }
