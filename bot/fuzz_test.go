package bot_test

import (
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"resetbot/bot"
)

// validName is the name rule written out independently of the parser.
var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@%-]{0,63}$`)

// FuzzParse checks that Parse never panics, that what it accepts obeys the
// limits, that what it refuses is explained, and that a parsed command
// written back out parses to itself.
func FuzzParse(f *testing.F) {
	// Inputs are kept under maxInput bytes, which still reaches every limit
	// (65-byte names, 501-rune reasons, 101 users). Longer ones add nothing
	// but cost the fuzzer its minute: it minimizes each new long input
	// byte by byte, in time quadratic in its length.
	const maxInput = 600
	for _, tc := range goodInputs() {
		for _, seed := range []string{tc.text, "/reset-password " + tc.text} {
			if len(seed) <= maxInput {
				f.Add(seed)
			}
		}
	}
	for _, tc := range badInputs() {
		if len(tc.text) <= maxInput {
			f.Add(tc.text)
		}
	}
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > maxInput {
			return
		}
		cmd, err := bot.Parse(text)
		if err != nil {
			checkRefusal(t, text, cmd, err)
			return
		}
		checkCommand(t, text, cmd)
		for _, again := range []string{render(cmd), "/reset-password " + render(cmd)} {
			got, err := bot.Parse(again)
			if err != nil {
				t.Fatalf("Parse(%q) = %+v; its rendering %q is refused: %v", text, cmd, again, err)
			}
			if !reflect.DeepEqual(got, cmd) {
				t.Fatalf("Parse(%q) = %+v; its rendering %q parses to %+v", text, cmd, again, got)
			}
		}
	})
}

func checkRefusal(t *testing.T, text string, cmd bot.Command, err error) {
	t.Helper()
	var e *bot.Error
	if !errors.As(err, &e) || e.Code != bot.EINVALID {
		t.Fatalf("Parse(%q): got error %v (%T), want a *bot.Error %s", text, err, err, bot.EINVALID)
	}
	if !reflect.DeepEqual(cmd, bot.Command{}) {
		t.Fatalf("Parse(%q) returned %+v with its error, want the zero Command", text, cmd)
	}
	if !strings.Contains(e.Message, ". Write: ") {
		t.Fatalf("Parse(%q): message %q does not say how to write it", text, e.Message)
	}
	// The message quotes input cut short: it stays readable whatever came in.
	if !utf8.ValidString(e.Message) || len(e.Message) > 512 {
		t.Fatalf("Parse(%q): message of %d bytes (valid UTF-8: %v), want valid and at most 512",
			text, len(e.Message), utf8.ValidString(e.Message))
	}
}

func checkCommand(t *testing.T, text string, cmd bot.Command) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("Parse(%q) = %+v: "+format, append([]any{text, cmd}, args...)...)
	}
	checkID := func(required bool) {
		t.Helper()
		if cmd.ID == "" && !required {
			return
		}
		if id, err := bot.ParseID(cmd.ID); err != nil || id != cmd.ID || len(cmd.ID) != 8 {
			fail("ID %q is not a canonical request ID", cmd.ID)
		}
	}
	noneOf := func(account, users, reason, id bool) {
		t.Helper()
		if account && cmd.Account != "" || users && cmd.Users != nil || reason && cmd.Reason != "" || id && cmd.ID != "" {
			fail("a %s command carries fields it does not take", cmd.Kind)
		}
	}
	switch cmd.Kind {
	case bot.KindEmpty, bot.KindHelp, bot.KindList:
		noneOf(true, true, true, true)
	case bot.KindStatus:
		noneOf(true, true, true, false)
		checkID(false)
	case bot.KindCancel, bot.KindApprove, bot.KindReveal:
		noneOf(true, true, true, false)
		checkID(true)
	case bot.KindDeny:
		noneOf(true, true, false, false)
		checkID(true)
		checkReason(t, fail, cmd.Reason, false)
	case bot.KindAsk:
		noneOf(false, false, false, true)
		if !validName.MatchString(cmd.Account) {
			fail("account %q is not a valid name", cmd.Account)
		}
		if len(cmd.Users) > bot.MaxUsers {
			fail("%d users, want at most %d", len(cmd.Users), bot.MaxUsers)
		}
		if cmd.Users != nil && len(cmd.Users) == 0 {
			fail("an empty, non-nil user list")
		}
		seen := map[string]bool{}
		for _, u := range cmd.Users {
			if !validName.MatchString(u) {
				fail("user %q is not a valid name", u)
			}
			if seen[u] {
				fail("user %q twice", u)
			}
			seen[u] = true
		}
		checkReason(t, fail, cmd.Reason, true)
	default:
		fail("unknown kind %q", cmd.Kind)
	}
}

func checkReason(t *testing.T, fail func(string, ...any), reason string, required bool) {
	t.Helper()
	if required && reason == "" {
		fail("an ask without a reason")
	}
	if n := utf8.RuneCountInString(reason); n > bot.MaxReason {
		fail("a reason of %d runes, want at most %d", n, bot.MaxReason)
	}
	if reason != strings.Join(bot.Fields(reason), " ") {
		fail("reason %q is not words joined by single spaces", reason)
	}
	marks := 0
	for _, r := range reason {
		// Format characters (bidi overrides, zero-width spaces) and blanks
		// that are not white space (Hangul fillers, the braille blank) are
		// as invisible in a card as control characters.
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || strings.ContainsRune("\u115F\u1160\u3164\uFFA0\u2800", r) {
			fail("reason %q has an invisible character %U", reason, r)
		}
		if unicode.Is(unicode.M, r) {
			if marks++; marks > 4 {
				fail("reason %q has more than 4 combining marks in a row", reason)
			}
		} else {
			marks = 0
		}
	}
}

// render writes cmd the way a person would type it.
func render(cmd bot.Command) string {
	var words []string
	switch cmd.Kind {
	case bot.KindEmpty:
	case bot.KindAsk:
		target := cmd.Account
		if len(cmd.Users) > 0 {
			target += ":" + strings.Join(cmd.Users, ",")
		}
		words = append(words, target, cmd.Reason)
	default:
		words = append(words, string(cmd.Kind), cmd.ID, cmd.Reason)
	}
	return strings.Join(bot.Fields(strings.Join(words, " ")), " ")
}
