package emulator

import (
	"crypto/rand"
	"math/big"
	"strconv"
	"strings"

	"resetbot/bot"
	"resetbot/providers/alibaba"
	"resetbot/providers/tencent"
)

// rule is one API's password rule.
type rule struct {
	min, max int    // max 0: no upper bound
	symbols  string // accepted symbols; "" accepts every printable ASCII symbol
	// need is how many character classes must appear; classes lists which
	// count (the classes not listed are allowed but do not count).
	need    int
	classes []class
	// all requires every class in classes (need is ignored).
	all bool
	// noLeading refuses a password starting with one of these characters.
	noLeading string
}

type class int

const (
	upper class = iota
	lower
	digit
	letter // upper or lower
	symbol
)

// ruleFor returns a provider's password rule, from design.md's table and the
// API documents (doc.go).
func ruleFor(provider bot.ProviderKey) rule {
	switch provider {
	case tencent.CIAM: // not stated by the API: design.md's choice, 16+ and four classes
		return rule{min: 16, all: true, classes: []class{upper, lower, digit, symbol}}
	case tencent.TDSQL: // 8-32, at least two of letters, digits and symbols
		return rule{min: 8, max: 32, need: 2, classes: []class{letter, digit, symbol},
			symbols: "()~!@#$%^&*-+=|{}[]:<>,.?/_", noLeading: "/"}
	case tencent.TCR: // 8-20, at least one upper, one lower and one digit
		return rule{min: 8, max: 20, all: true, classes: []class{upper, lower, digit}}
	case tencent.CAM: // at least 8, upper, lower, digit and special
		return rule{min: 8, all: true, classes: []class{upper, lower, digit, symbol}}
	case alibaba.EHPC: // 8-30, three of the four classes, symbols from the documented set
		return rule{min: 8, max: 30, need: 3, classes: []class{upper, lower, digit, symbol},
			symbols: "()~!@#$%^&*-_+=|{}[]:;'/<>,.?"}
	}
	return rule{min: 1}
}

// check reports whether p satisfies the rule, and if not, why (never
// quoting the password).
func (r rule) check(p string) (bool, string) {
	n := len([]rune(p))
	if n < r.min || (r.max > 0 && n > r.max) {
		if r.max > 0 {
			return false, "the password must be " + strconv.Itoa(r.min) + " to " + strconv.Itoa(r.max) + " characters long"
		}
		return false, "the password must be at least " + strconv.Itoa(r.min) + " characters long"
	}
	if r.noLeading != "" && strings.ContainsAny(p[:1], r.noLeading) {
		return false, "the password must not start with " + r.noLeading
	}
	var has [symbol + 1]bool
	for _, c := range p {
		switch {
		case c >= 'A' && c <= 'Z':
			has[upper], has[letter] = true, true
		case c >= 'a' && c <= 'z':
			has[lower], has[letter] = true, true
		case c >= '0' && c <= '9':
			has[digit] = true
		case c > ' ' && c < 0x7f && (r.symbols == "" || strings.ContainsRune(r.symbols, c)):
			has[symbol] = true
		default:
			return false, "the password contains a character that is not accepted"
		}
	}
	got := 0
	for _, c := range r.classes {
		if has[c] {
			got++
		}
	}
	if r.all && got < len(r.classes) || !r.all && got < r.need {
		return false, "the password does not mix enough kinds of characters"
	}
	return true, ""
}

// generate makes a random password of n characters from the alphabets,
// with at least one character of each.
func generate(n int, alphabets ...string) string {
	all := strings.Join(alphabets, "")
	out := make([]byte, n)
	for i := range out {
		src := all
		if i < len(alphabets) {
			src = alphabets[i]
		}
		out[i] = src[randInt(len(src))]
	}
	for i := n - 1; i > 0; i-- { // shuffle so the guaranteed ones are not up front
		j := randInt(i + 1)
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

func randInt(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		panic("emulator: crypto/rand failed: " + err.Error())
	}
	return int(v.Int64())
}

const (
	uppers  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	lowers  = "abcdefghijklmnopqrstuvwxyz"
	digits  = "0123456789"
	symbols = "!@#$%^&*"
)
