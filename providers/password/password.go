package password

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"resetbot/bot"
)

// Character classes.
const (
	Upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	Lower  = "abcdefghijklmnopqrstuvwxyz"
	Digits = "0123456789"
	// Symbols is accepted by every seed API that takes symbols (see doc.go).
	Symbols = "#%()+-.:=?@^"
)

// Rule is one API's password rule. Each provider package owns the rules of
// its APIs; this package only applies them.
type Rule struct {
	Provider bot.ProviderKey // for messages
	Min, Max int             // length bounds, inclusive
	Default  int             // length when an account sets none
	// Classes are the character classes a password draws from (their union is
	// the alphabet); Need is how many distinct classes must appear.
	Classes []string
	Need    int
}

// Alphabet is every character the rule draws from.
func (r Rule) Alphabet() string { return strings.Join(r.Classes, "") }

// Stronger is what to try after the API refused a password made with r at
// length: every class required and 8 more characters, within the rule's
// bounds. The API's own policy (a CAM password policy, say) may be stricter
// than its documented rule; this is the one retry that rules allow.
func (r Rule) Stronger(length int) (Rule, int) {
	s := r
	s.Need = len(r.Classes)
	if length == 0 {
		length = r.Default
	}
	return s, min(r.Max, length+8)
}

// CheckLength reports whether length (0: the default) is allowed by r, as an
// *bot.Error that config checks can show.
func (r Rule) CheckLength(length int) error {
	if length == 0 {
		return nil
	}
	if length < r.Min || length > r.Max {
		return bot.Errorf(bot.EINVALID, "password_length %d is outside %d-%d, the range %s accepts", length, r.Min, r.Max, r.Provider)
	}
	return nil
}

// maxDraws bounds the whole-password rejection loop: with the rules above
// more than one draw in two is accepted, so only a broken reader gets here.
const maxDraws = 1000

// Generate draws a password of length characters (0: the rule's default)
// that satisfies rule, from rnd (crypto/rand.Reader in production).
func Generate(rnd io.Reader, rule Rule, length int) (bot.Secret, error) {
	if length == 0 {
		length = rule.Default
	}
	if err := rule.CheckLength(length); err != nil {
		return bot.Secret{}, err
	}
	alphabet := rule.Alphabet()
	if len(alphabet) == 0 || len(alphabet) > 256 || rule.Need > len(rule.Classes) {
		return bot.Secret{}, fmt.Errorf("password rule of %s is malformed", rule.Provider)
	}
	s := sampler{r: rnd}
	buf := make([]byte, length)
	for range maxDraws {
		for i := range buf {
			k, err := s.intn(len(alphabet))
			if err != nil {
				return bot.Secret{}, fmt.Errorf("draw a password for %s: %w", rule.Provider, err)
			}
			buf[i] = alphabet[k]
		}
		if classes(rule, buf) >= rule.Need {
			return bot.NewSecret(string(buf)), nil
		}
	}
	return bot.Secret{}, fmt.Errorf("draw a password for %s: no password met the rule in %d draws: the random source is broken", rule.Provider, maxDraws)
}

// Check reports whether pw satisfies rule. Its error never quotes pw.
func Check(rule Rule, pw string) error {
	n := len(pw)
	if n < rule.Min || n > rule.Max {
		return fmt.Errorf("%s: the password has %d characters, not %d-%d", rule.Provider, n, rule.Min, rule.Max)
	}
	alphabet := rule.Alphabet()
	for i := 0; i < len(pw); i++ {
		if strings.IndexByte(alphabet, pw[i]) < 0 {
			return fmt.Errorf("%s: the password has a character outside the rule's alphabet at position %d", rule.Provider, i)
		}
	}
	if got := classes(rule, []byte(pw)); got < rule.Need {
		return fmt.Errorf("%s: the password mixes %d kinds of characters, not %d", rule.Provider, got, rule.Need)
	}
	return nil
}

// classes counts the rule's classes that appear in pw.
func classes(rule Rule, pw []byte) int {
	n := 0
	for _, c := range rule.Classes {
		for _, b := range pw {
			if strings.IndexByte(c, b) >= 0 {
				n++
				break
			}
		}
	}
	return n
}

// errBrokenSource is returned when the reader keeps giving bytes that are
// always rejected, or nothing at all.
var errBrokenSource = errors.New("the random source gives no usable bytes")

// sampler draws uniform integers from a byte stream by rejection: a byte at
// or above the largest multiple of n that fits in 256 is dropped, so every
// residue is equally likely.
type sampler struct {
	r        io.Reader
	buf      [64]byte
	pos, end int
	rejected int
}

func (s *sampler) intn(n int) (int, error) {
	limit := 256 - 256%n
	for {
		if s.pos == s.end {
			m, err := io.ReadFull(s.r, s.buf[:])
			if m == 0 {
				if err == nil {
					err = errBrokenSource
				}
				return 0, err
			}
			s.pos, s.end = 0, m
		}
		b := int(s.buf[s.pos])
		s.pos++
		if b < limit {
			return b % n, nil
		}
		s.rejected++
		if s.rejected > 1<<16 {
			return 0, errBrokenSource
		}
	}
}
