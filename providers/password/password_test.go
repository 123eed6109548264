package password_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"strings"
	"testing"

	"resetbot/bot"
	"resetbot/providers/alibaba"
	"resetbot/providers/password"
	"resetbot/providers/tencent"
)

// The rules are the providers' own: this package applies them.
var providers = []bot.ProviderKey{tencent.CIAM, tencent.TDSQL, tencent.TCR, tencent.CAM, alibaba.EHPC}

func mustRule(tb testing.TB, provider bot.ProviderKey) password.Rule {
	tb.Helper()
	if provider == alibaba.EHPC {
		return alibaba.Rule()
	}
	r, ok := tencent.Rule(provider)
	if !ok {
		tb.Fatalf("no rule for %s", provider)
	}
	return r
}

func TestEveryProviderRuleIsConsistent(t *testing.T) {
	for _, p := range providers {
		r := mustRule(t, p)
		if r.Min < 8 || r.Max < r.Default || r.Default < r.Min {
			t.Errorf("%s: bounds min %d default %d max %d are inconsistent", p, r.Min, r.Default, r.Max)
		}
		if r.Provider != p {
			t.Errorf("rule of %s names %s", p, r.Provider)
		}
	}
	if _, ok := tencent.Rule("tencent.cvm"); ok {
		t.Errorf("got a rule for an unknown provider")
	}
}

// The table of design.md, written out independently of the package's rules.
func TestGenerateMeetsDocumentedRules(t *testing.T) {
	isUpper := func(c rune) bool { return c >= 'A' && c <= 'Z' }
	isLower := func(c rune) bool { return c >= 'a' && c <= 'z' }
	isDigit := func(c rune) bool { return c >= '0' && c <= '9' }
	isSymbol := func(c rune) bool { return strings.ContainsRune(password.Symbols, c) }
	has := func(pw string, f func(rune) bool) int {
		if strings.IndexFunc(pw, f) >= 0 {
			return 1
		}
		return 0
	}
	tests := []struct {
		provider bot.ProviderKey
		min, max int
		ok       func(pw string) bool
	}{
		{tencent.CIAM, 16, 32, func(pw string) bool {
			return has(pw, isUpper)+has(pw, isLower)+has(pw, isDigit)+has(pw, isSymbol) == 4
		}},
		{tencent.TDSQL, 8, 32, func(pw string) bool {
			letters := has(pw, func(c rune) bool { return isUpper(c) || isLower(c) })
			return letters+has(pw, isDigit)+has(pw, isSymbol) >= 2 && pw[0] != '/'
		}},
		{tencent.TCR, 8, 20, func(pw string) bool {
			return has(pw, isUpper)+has(pw, isLower)+has(pw, isDigit) == 3 && has(pw, isSymbol) == 0
		}},
		{tencent.CAM, 8, 32, func(pw string) bool {
			return has(pw, isUpper)+has(pw, isLower)+has(pw, isDigit)+has(pw, isSymbol) == 4
		}},
		{alibaba.EHPC, 8, 30, func(pw string) bool {
			return has(pw, isUpper)+has(pw, isLower)+has(pw, isDigit)+has(pw, isSymbol) >= 3
		}},
	}
	const perLength = 2000
	for _, tt := range tests {
		t.Run(string(tt.provider), func(t *testing.T) {
			rule := mustRule(t, tt.provider)
			for _, length := range []int{0, tt.min, tt.max} {
				want := length
				if want == 0 {
					want = rule.Default
				}
				for range perLength {
					s, err := password.Generate(rand.Reader, rule, length)
					if err != nil {
						t.Fatalf("Generate(length %d): %v", length, err)
					}
					pw := s.Value()
					if len(pw) != want {
						t.Fatalf("got a password of %d characters, want %d", len(pw), want)
					}
					if !tt.ok(pw) {
						t.Fatalf("a password of %d characters breaks the documented rule", want)
					}
					for _, c := range pw {
						if !isUpper(c) && !isLower(c) && !isDigit(c) && !isSymbol(c) {
							t.Fatalf("a password has a character outside letters, digits and %q", password.Symbols)
						}
					}
					if err := password.Check(rule, pw); err != nil {
						t.Fatalf("Check refused a generated password: %v", err)
					}
				}
			}
		})
	}
}

// symbolsAcceptedByEveryAPI are the symbol lists the seed documents give
// (TDSQL, E-HPC); CAM and CIAM accept any special character, TCR none.
func TestSymbolsAreInEveryDocumentedList(t *testing.T) {
	documented := map[string]string{
		"tdsql": "()~!@#$%^&*-+=|{}[]:<>,.?/",
		"ehpc":  "()~!@#$%^&*-_+=|{}[]:;'/<>,.?/",
	}
	for api, list := range documented {
		for _, c := range password.Symbols {
			if !strings.ContainsRune(list, c) {
				t.Errorf("symbol %q is not in %s's documented list", c, api)
			}
		}
	}
	for _, bad := range "'\"\\`$!&*_~/;" {
		if strings.ContainsRune(password.Symbols, bad) {
			t.Errorf("symbol %q is in the set; it breaks shells, URLs or chat markdown", bad)
		}
	}
}

// chiSquare returns the statistic of counts against a uniform spread and its
// degrees of freedom.
func chiSquare(counts []int) (stat float64, dof int) {
	total := 0
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return 0, 0
	}
	want := float64(total) / float64(len(counts))
	for _, c := range counts {
		d := float64(c) - want
		stat += d * d / want
	}
	return stat, len(counts) - 1
}

// critical is the chi-square quantile for dof at the normal quantile z
// (Wilson-Hilferty); z = 4.5 is a false alarm about once in 300 000.
func critical(dof int, z float64) float64 {
	k := float64(dof)
	h := 2 / (9 * k)
	return k * math.Pow(1-h+z*math.Sqrt(h), 3)
}

// uniformity sums, over every position and class, the chi-square of the
// class's characters at that position. Given which class sits where, each of
// its characters is equally likely, so this holds exactly even though whole
// passwords are rejected for missing a class; modulo bias breaks it.
func uniformity(rule password.Rule, pws []string) (stat float64, dof int) {
	length := len(pws[0])
	for _, class := range rule.Classes {
		for pos := range length {
			counts := make([]int, len(class))
			for _, pw := range pws {
				if i := strings.IndexByte(class, pw[pos]); i >= 0 {
					counts[i]++
				}
			}
			s, d := chiSquare(counts)
			stat += s
			dof += d
		}
	}
	return stat, dof
}

func TestGenerateIsNotBiased(t *testing.T) {
	const n = 20000
	for _, p := range providers {
		t.Run(string(p), func(t *testing.T) {
			rule := mustRule(t, p)
			// A fixed seed keeps the test deterministic; the property holds for
			// any source, crypto/rand included.
			src := mrand.NewChaCha8([32]byte{1, 2, 3})
			pws := make([]string, n)
			for i := range pws {
				s, err := password.Generate(src, rule, 0)
				if err != nil {
					t.Fatal(err)
				}
				pws[i] = s.Value()
			}
			stat, dof := uniformity(rule, pws)
			t.Logf("chi-square %.0f over %d degrees of freedom", stat, dof)
			if limit := critical(dof, 4.5); stat > limit {
				t.Errorf("chi-square %.0f over %d degrees of freedom, want at most %.0f", stat, dof, limit)
			}
		})
	}
}

// The uniformity measure above must catch the bias of the naive byte % n.
func TestUniformityCatchesModuloBias(t *testing.T) {
	rule := mustRule(t, tencent.CAM)
	alphabet := rule.Alphabet()
	src := mrand.NewChaCha8([32]byte{9})
	var buf [20]byte
	var pws []string
	for len(pws) < 20000 {
		_, _ = src.Read(buf[:])
		pw := make([]byte, len(buf))
		for i, b := range buf {
			pw[i] = alphabet[int(b)%len(alphabet)]
		}
		if password.Check(rule, string(pw)) == nil {
			pws = append(pws, string(pw))
		}
	}
	stat, dof := uniformity(rule, pws)
	t.Logf("biased: chi-square %.0f over %d degrees of freedom", stat, dof)
	if limit := critical(dof, 4.5); stat <= limit {
		t.Errorf("chi-square %.0f over %d degrees of freedom did not exceed %.0f for a biased generator", stat, dof, limit)
	}
}

func TestCheckRefuses(t *testing.T) {
	cam := mustRule(t, tencent.CAM)
	tdsql := mustRule(t, tencent.TDSQL)
	tcr := mustRule(t, tencent.TCR)
	tests := []struct {
		name string
		rule password.Rule
		pw   string
	}{
		{"TooShort", cam, "Ab1#"},
		{"TooLong", tcr, "Abcdefghij1234567890X"},
		{"MissingSymbol", cam, "Abcdefgh1234"},
		{"MissingDigit", tcr, "Abcdefghijkl"},
		{"OneKindOnly", tdsql, "abcdefghij"},
		{"CharacterOutsideAlphabet", cam, "Abcdef1#'x"},
		{"SymbolForTCR", tcr, "Abcdef12#x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := password.Check(tt.rule, tt.pw)
			if err == nil {
				t.Fatalf("Check accepted a password it should refuse")
			}
			if strings.Contains(err.Error(), tt.pw) {
				t.Errorf("the error quotes the password: %v", err)
			}
		})
	}
	if err := password.Check(tdsql, "abcdefgh12"); err != nil {
		t.Errorf("Check refused letters+digits for tdsql: %v", err)
	}
}

func TestGenerateRefusesLengthOutsideRule(t *testing.T) {
	rule := mustRule(t, tencent.TCR)
	for _, length := range []int{7, 21, -1} {
		_, err := password.Generate(rand.Reader, rule, length)
		if got := bot.ErrorCode(err); got != bot.EINVALID {
			t.Errorf("length %d: got code %q, want %q", length, got, bot.EINVALID)
		}
	}
}

func TestGenerateFailsOnBrokenSource(t *testing.T) {
	rule := mustRule(t, tencent.CAM)
	tests := []struct {
		name string
		r    io.Reader
	}{
		{"AlwaysRejectedByte", bytes.NewReader(bytes.Repeat([]byte{0xff}, 1<<20))},
		{"Constant", zeros{}},
		{"Empty", bytes.NewReader(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := password.Generate(tt.r, rule, 0); err == nil {
				t.Errorf("Generate succeeded on a broken source")
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestStrongerRequiresEveryClassAndMoreLength(t *testing.T) {
	tests := []struct {
		provider   bot.ProviderKey
		length     int
		wantLength int
	}{
		{tencent.TDSQL, 0, 28},
		{tencent.TDSQL, 30, 32},
		{alibaba.EHPC, 10, 18},
		{tencent.TCR, 16, 20},
	}
	for _, tt := range tests {
		t.Run(string(tt.provider), func(t *testing.T) {
			rule := mustRule(t, tt.provider)
			strong, length := rule.Stronger(tt.length)
			if length != tt.wantLength {
				t.Errorf("got length %d, want %d", length, tt.wantLength)
			}
			if strong.Need != len(rule.Classes) {
				t.Errorf("got Need %d, want %d", strong.Need, len(rule.Classes))
			}
			s, err := password.Generate(rand.Reader, strong, length)
			if err != nil {
				t.Fatal(err)
			}
			if err := password.Check(strong, s.Value()); err != nil {
				t.Error(err)
			}
		})
	}
}

func ExampleGenerate() {
	rule, _ := tencent.Rule(tencent.CAM)
	pw, err := password.Generate(rand.Reader, rule, 0)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(pw.Value()), pw) // a Secret prints redacted
	// Output: 20 [redacted]
}
