package bot_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"resetbot/bot"
)

const (
	id1 = "R-7F3K9Q"
	id2 = "R-22ZZ9A"

	// What every refused ask says about how to write it.
	howAsk = "Write: /reset-password <account>[:<user>[,<user>…]] <reason>"
	// What every refused request ID says about how to write one.
	howID = "R-7F3K9Q"
)

type goodCase struct {
	name string
	text string
	want bot.Command
}

// goodInputs is shared with FuzzParse as its seed corpus.
func goodInputs() []goodCase {
	users100 := make([]string, bot.MaxUsers)
	for i := range users100 {
		users100[i] = fmt.Sprintf("u%d", i)
	}
	reason500 := strings.Repeat("é", bot.MaxReason) // runes, not bytes, are counted
	name64 := "a" + strings.Repeat("b", 63)
	return []goodCase{
		{"AskWithReason", "prod-db locked out", bot.Command{Kind: bot.KindAsk, Account: "prod-db", Reason: "locked out"}},
		{"AskWithLeadingCommand", "/reset-password prod-db locked out", bot.Command{Kind: bot.KindAsk, Account: "prod-db", Reason: "locked out"}},
		{"AskLeadingCommandAnyCase", "/Reset-PASSWORD prod-db locked out", bot.Command{Kind: bot.KindAsk, Account: "prod-db", Reason: "locked out"}},
		{"AskOneUser", "hpc:u1 need to log in", bot.Command{Kind: bot.KindAsk, Account: "hpc", Users: []string{"u1"}, Reason: "need to log in"}},
		{"AskSeveralUsers", "/reset-password hpc:u1,u2 batch job", bot.Command{Kind: bot.KindAsk, Account: "hpc", Users: []string{"u1", "u2"}, Reason: "batch job"}},
		{"AskUsersKeepOrder", "hpc:zed,amy,bo x", bot.Command{Kind: bot.KindAsk, Account: "hpc", Users: []string{"zed", "amy", "bo"}, Reason: "x"}},
		{"AskNamesAreCaseSensitive", "Prod-DB:App_User fix", bot.Command{Kind: bot.KindAsk, Account: "Prod-DB", Users: []string{"App_User"}, Reason: "fix"}},
		{"AskNameSymbolsAfterFirst", "db.1_x-y@z%w:u.1_-@% r", bot.Command{Kind: bot.KindAsk, Account: "db.1_x-y@z%w", Users: []string{"u.1_-@%"}, Reason: "r"}},
		{"AskKeywordWithColonIsAnAccount", "status:u1 r", bot.Command{Kind: bot.KindAsk, Account: "status", Users: []string{"u1"}, Reason: "r"}},
		{"AskSpacesCollapse", "  prod-db \t locked   out  \n", bot.Command{Kind: bot.KindAsk, Account: "prod-db", Reason: "locked out"}},
		{"AskNewlineInReasonIsASpace", "prod-db line one\nline two", bot.Command{Kind: bot.KindAsk, Account: "prod-db", Reason: "line one line two"}},
		{"AskUnicodeReason", "prod-db 数据库 锁定 🔒", bot.Command{Kind: bot.KindAsk, Account: "prod-db", Reason: "数据库 锁定 🔒"}},
		{"AskReasonOf500Runes", "prod-db " + reason500, bot.Command{Kind: bot.KindAsk, Account: "prod-db", Reason: reason500}},
		{"AskNamesOf64Chars", name64 + ":" + name64 + " r", bot.Command{Kind: bot.KindAsk, Account: name64, Users: []string{name64}, Reason: "r"}},
		{"Ask100Users", "hpc:" + strings.Join(users100, ",") + " all of them", bot.Command{Kind: bot.KindAsk, Account: "hpc", Users: users100, Reason: "all of them"}},
		{"AskReasonMayLookLikeACommand", "prod-db approve R-7F3K9Q", bot.Command{Kind: bot.KindAsk, Account: "prod-db", Reason: "approve R-7F3K9Q"}},
		{"List", "list", bot.Command{Kind: bot.KindList}},
		{"ListAnyCase", "/reset-password LIST", bot.Command{Kind: bot.KindList}},
		{"Help", "help", bot.Command{Kind: bot.KindHelp}},
		{"HelpAnyCase", "/reset-password HeLp", bot.Command{Kind: bot.KindHelp}},
		{"HelpIgnoresWordsAfter", "help me please", bot.Command{Kind: bot.KindHelp}},
		{"StatusMine", "status", bot.Command{Kind: bot.KindStatus}},
		{"StatusOne", "/reset-password status " + id1, bot.Command{Kind: bot.KindStatus, ID: id1}},
		{"StatusIDAnyCase", "STATUS r-7f3k9q", bot.Command{Kind: bot.KindStatus, ID: id1}},
		{"Cancel", "cancel " + id1, bot.Command{Kind: bot.KindCancel, ID: id1}},
		{"CancelAnyCase", "Cancel r-22zz9a", bot.Command{Kind: bot.KindCancel, ID: id2}},
		{"Approve", "/reset-password approve " + id1, bot.Command{Kind: bot.KindApprove, ID: id1}},
		{"ApproveAnyCase", "APPROVE r-7F3k9q", bot.Command{Kind: bot.KindApprove, ID: id1}},
		{"Reveal", "/reset-password reveal " + id1, bot.Command{Kind: bot.KindReveal, ID: id1}},
		{"RevealAnyCase", "ReVeAl r-22zz9a", bot.Command{Kind: bot.KindReveal, ID: id2}},
		{"AskAccountLikeRevealWithColon", "reveal:u1 r", bot.Command{Kind: bot.KindAsk, Account: "reveal", Users: []string{"u1"}, Reason: "r"}},
		{"DenyWithoutReason", "deny " + id1, bot.Command{Kind: bot.KindDeny, ID: id1}},
		{"DenyWithReason", "deny " + id2 + " not during the freeze", bot.Command{Kind: bot.KindDeny, ID: id2, Reason: "not during the freeze"}},
		{"DenyAnyCase", "DeNy r-7f3k9q  wrong   account", bot.Command{Kind: bot.KindDeny, ID: id1, Reason: "wrong account"}},
		{"Empty", "", bot.Command{Kind: bot.KindEmpty}},
		{"OnlySpaces", " \t\n ", bot.Command{Kind: bot.KindEmpty}},
		{"OnlyTheCommand", "/reset-password", bot.Command{Kind: bot.KindEmpty}},
		{"OnlyTheCommandAndSpaces", "  /RESET-PASSWORD  ", bot.Command{Kind: bot.KindEmpty}},
	}
}

func TestParseGood(t *testing.T) {
	for _, tc := range goodInputs() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := bot.Parse(tc.text)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.text, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tc.text, got, tc.want)
			}
		})
	}
}

type badCase struct {
	name string
	text string
	what string // what was wrong
	how  string // how to write it
}

// badInputs is shared with FuzzParse as seeds.
func badInputs() []badCase {
	users101 := make([]string, bot.MaxUsers+1)
	for i := range users101 {
		users101[i] = fmt.Sprintf("u%d", i)
	}
	return []badCase{
		{"AskWithoutReason", "prod-db", "a reason is required", howAsk},
		{"AskWithoutReasonAfterCommand", "/reset-password prod-db   ", "a reason is required", howAsk},
		{"AskUsersWithoutReason", "hpc:u1,u2", "a reason is required", howAsk},
		{"AccountWithSlash", "prod/db locked out", "account “prod/db” has a character that is not allowed", howAsk},
		{"AccountStartsWithSymbol", "-prod locked out", "account “-prod” has a character that is not allowed", howAsk},
		{"AccountNotASCII", "prød locked out", "account “prød” has a character that is not allowed", howAsk},
		{"AccountWithControlCharacter", "prod\x00db locked out", "has a character that is not allowed", howAsk},
		{"AccountTooLong", strings.Repeat("a", 65) + " r", "account name is longer than 64 characters", howAsk},
		{"NoAccountBeforeColon", ":u1 locked out", "no account named", howAsk},
		{"UserWithBadCharacter", "hpc:u1,u$2 r", "user “u$2” has a character that is not allowed", howAsk},
		{"UserStartsWithSymbol", "hpc:.u1 r", "user “.u1” has a character that is not allowed", howAsk},
		{"UserTooLong", "hpc:" + strings.Repeat("u", 65) + " r", "user name is longer than 64 characters", howAsk},
		{"NoUserAfterColon", "hpc: locked out", "no user named after the colon in “hpc:”", howAsk},
		{"EmptyUserAfterComma", "hpc:u1, r", "no user named", howAsk},
		{"EmptyUserBeforeComma", "hpc:,u1 r", "no user named", howAsk},
		{"EmptyUserBetweenCommas", "hpc:u1,,u2 r", "no user named", howAsk},
		{"DuplicateUser", "hpc:u1,u2,u1 r", "user “u1” is named twice", howAsk},
		{"TooManyUsers", "hpc:" + strings.Join(users101, ",") + " r", "at most 100 users", howAsk},
		{"ReasonTooLong", "prod-db " + strings.Repeat("é", bot.MaxReason+1), "the reason is longer than 500 characters", howAsk},
		{"ReasonTooLongInWords", "prod-db " + strings.Repeat("ab ", 168), "the reason is longer than 500 characters", howAsk},
		{"ReasonWithNUL", "prod-db locked\x00out", "the reason contains a control character", howAsk},
		{"ReasonWithEscape", "prod-db \x1b[31mred", "the reason contains a control character", howAsk},
		{"ReasonWithDEL", "prod-db locked\x7fout", "the reason contains a control character", howAsk},
		{"ReasonWithC1Control", "prod-db locked\u009bout", "the reason contains a control character", howAsk},
		// Format characters are invisible in a card: a bidi override can make
		// the reason read differently from what it says, and a zero-width
		// space makes a reason that shows as nothing.
		{"ReasonWithBidiOverride", "prod-db fix \u202egnp.exe", "the reason contains a control character", howAsk},
		{"ReasonOnlyZeroWidth", "prod-db \u200b", "the reason contains a control character", howAsk},
		// Blanks that are not white space show as nothing, and 120 of them
		// push forged text onto what looks like a line of its own.
		{"ReasonWithHangulFiller", "prod-db fix\u3164\u3164\u3164*PRE-APPROVED*", "the reason contains a control character", howAsk},
		{"ReasonWithHangulChoseongFiller", "prod-db a\u115Fb", "the reason contains a control character", howAsk},
		{"ReasonWithHangulJungseongFiller", "prod-db a\u1160b", "the reason contains a control character", howAsk},
		{"ReasonWithHalfwidthHangulFiller", "prod-db a\uFFA0b", "the reason contains a control character", howAsk},
		{"ReasonWithBrailleBlank", "prod-db \u2800", "the reason contains a control character", howAsk},
		{"ReasonWithLongMarkRun", "prod-db e\u0301\u0301\u0301\u0301\u0301 out", "the reason has more than 4 combining marks in a row", howAsk},
		{"DenyReasonWithHangulFiller", "deny " + id1 + " no\u3164pe", "the reason contains a control character", "Write:"},
		{"InvalidUTF8", "prod-db locked \xff out", "the command is not valid text", howAsk},
		{"InvalidUTF8InCommand", "/reset-password \xc3", "the command is not valid text", howAsk},
		{"ListWithArgument", "list all", "list takes no arguments", "Write: /reset-password list"},
		{"StatusTwoIDs", "status " + id1 + " " + id2, "status takes at most one request ID", "Write: /reset-password status [R-…]"},
		{"StatusBadID", "status R-7F3K9", "“R-7F3K9” is not a request ID", howID},
		{"StatusIDWithO", "status R-7F3K9O", "“R-7F3K9O” is not a request ID", howID},
		{"StatusIDTooLong", "status R-7F3K9QQ", "“R-7F3K9QQ” is not a request ID", howID},
		{"StatusIDWithoutPrefix", "status 7F3K9Q", "“7F3K9Q” is not a request ID", howID},
		{"StatusIDNotASCII", "status r-ſſſſſſ", "is not a request ID", howID},
		{"CancelWithoutID", "cancel", "cancel takes exactly one request ID", "Write: /reset-password cancel R-…"},
		{"CancelTwoIDs", "cancel " + id1 + " " + id2, "cancel takes exactly one request ID", "Write: /reset-password cancel R-…"},
		{"CancelBadID", "cancel R-1234", "“R-1234” is not a request ID", howID},
		{"ApproveWithoutID", "approve", "approve takes exactly one request ID", "Write: /reset-password approve R-…"},
		{"ApproveWithExtraWords", "APPROVE " + id1 + " looks fine", "approve takes exactly one request ID", "Write: /reset-password approve R-…"},
		{"ApproveBadID", "approve R-ILOU01", "“R-ILOU01” is not a request ID", howID},
		{"RevealWithoutID", "reveal", "reveal takes exactly one request ID", "Write: /reset-password reveal R-…"},
		{"RevealTwoIDs", "reveal " + id1 + " " + id2, "reveal takes exactly one request ID", "Write: /reset-password reveal R-…"},
		{"RevealWithExtraWords", "/reset-password reveal " + id1 + " now please", "reveal takes exactly one request ID", "Write: /reset-password reveal R-…"},
		{"RevealBadID", "reveal R-7F3K9O", "“R-7F3K9O” is not a request ID", howID},
		{"DenyWithoutID", "deny", "deny needs a request ID", "Write: /reset-password deny R-… [reason]"},
		{"DenyBadID", "deny no-way because", "“no-way” is not a request ID", howID},
		{"DenyReasonTooLong", "deny " + id1 + " " + strings.Repeat("x", bot.MaxReason+1), "the reason is longer than 500 characters", "Write:"},
		{"DenyReasonWithControl", "deny " + id1 + " no\x07pe", "the reason contains a control character", "Write:"},
	}
}

func TestParseBad(t *testing.T) {
	for _, tc := range badInputs() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := bot.Parse(tc.text)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error saying %q", tc.text, got, tc.what)
			}
			checkInvalid(t, err, tc.what, tc.how)
			if !reflect.DeepEqual(got, bot.Command{}) {
				t.Errorf("Parse(%q) returned %+v with its error, want the zero Command", tc.text, got)
			}
		})
	}
}

// checkInvalid asserts err is an EINVALID *bot.Error that says what was wrong
// and how to write it.
func checkInvalid(t *testing.T, err error, what, how string) {
	t.Helper()
	var e *bot.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *bot.Error", err, err)
	}
	if e.Code != bot.EINVALID {
		t.Errorf("code: got %q, want %q", e.Code, bot.EINVALID)
	}
	if !strings.Contains(e.Message, what) {
		t.Errorf("message %q does not say what was wrong: want %q", e.Message, what)
	}
	if !strings.Contains(e.Message, "Write:") || !strings.Contains(e.Message, how) {
		t.Errorf("message %q does not say how to write it: want %q after \"Write:\"", e.Message, how)
	}
	if i, j := strings.Index(e.Message, what), strings.Index(e.Message, "Write:"); i > j {
		t.Errorf("message %q: the problem should come before how to write it", e.Message)
	}
}

func TestParseQuotesLongInputShort(t *testing.T) {
	long := "a" + strings.Repeat("b", 50) + "!"
	_, err := bot.Parse(long + " reason")
	var e *bot.Error
	if !errors.As(err, &e) {
		t.Fatalf("Parse: got %v, want a *bot.Error", err)
	}
	if strings.Contains(e.Message, long) {
		t.Errorf("message %q repeats the whole %d-character input", e.Message, len(long))
	}
	if want := "“a" + strings.Repeat("b", 39) + "…”"; !strings.Contains(e.Message, want) {
		t.Errorf("message %q: want the input cut to 40 characters: %q", e.Message, want)
	}
}

func TestParseID(t *testing.T) {
	good := []struct{ in, want string }{
		{"R-7F3K9Q", "R-7F3K9Q"},
		{"r-7f3k9q", "R-7F3K9Q"},
		{"R-22222Z", "R-22222Z"},
		{"r-" + strings.ToLower(bot.IDAlphabet[:6]), "R-" + bot.IDAlphabet[:6]},
	}
	for _, tc := range good {
		t.Run("Accepts/"+tc.in, func(t *testing.T) {
			got, err := bot.ParseID(tc.in)
			if err != nil || got != tc.want {
				t.Errorf("ParseID(%q) = %q, %v; want %q, nil", tc.in, got, err, tc.want)
			}
		})
	}
	bad := []struct{ name, in string }{
		{"Empty", ""},
		{"PrefixOnly", "R-"},
		{"TooShort", "R-7F3K9"},
		{"TooLong", "R-7F3K9QA"},
		{"NoPrefix", "7F3K9Q"},
		{"OtherPrefix", "Q-7F3K9Q"},
		{"NoDash", "R7F3K9QA"},
		{"ZeroAndO", "R-0O0O0O"},
		{"OneIAndL", "R-1IL1IL"},
		{"U", "R-UUUUUU"},
		{"Space", "R-7F3 9Q"},
		{"Punctuation", "R-7F3K9!"},
		// Non-ASCII letters whose upper case is an ASCII letter of the
		// alphabet (ſ -> S, ı -> I) are not IDs either.
		{"LongS", "r-ſſſſſſ"},
		{"LongSMixed", "R-7F3K9ſ"},
		{"FullWidth", "R-７F3K9Q"},
		{"InvalidUTF8", "R-7F3K9\xff"},
	}
	for _, tc := range bad {
		t.Run("Refuses/"+tc.name, func(t *testing.T) {
			got, err := bot.ParseID(tc.in)
			if err == nil {
				t.Fatalf("ParseID(%q) = %q, want an error", tc.in, got)
			}
			checkInvalid(t, err, "is not a request ID", howID)
		})
	}
}

func TestNewIDFormat(t *testing.T) {
	for i := 0; i < 1000; i++ {
		id, err := bot.NewID(rand.Reader)
		if err != nil {
			t.Fatalf("NewID: %v", err)
		}
		if len(id) != 8 || !strings.HasPrefix(id, "R-") {
			t.Fatalf("NewID = %q, want R- and 6 characters", id)
		}
		for _, r := range id[2:] {
			if !strings.ContainsRune(bot.IDAlphabet, r) {
				t.Fatalf("NewID = %q: %q is not in %q", id, r, bot.IDAlphabet)
			}
		}
		if got, err := bot.ParseID(id); err != nil || got != id {
			t.Fatalf("ParseID(NewID() = %q) = %q, %v; want the same ID", id, got, err)
		}
	}
}

func TestIDAlphabetIsReadable(t *testing.T) {
	if got, want := len(bot.IDAlphabet), 30; got != want {
		t.Errorf("len(IDAlphabet): got %d, want %d", got, want)
	}
	seen := map[rune]bool{}
	for _, r := range bot.IDAlphabet {
		if seen[r] {
			t.Errorf("IDAlphabet repeats %q", r)
		}
		seen[r] = true
		if strings.ContainsRune("0O1IL U", r) {
			t.Errorf("IDAlphabet has %q, which reads like another character", r)
		}
		if !(r >= '2' && r <= '9' || r >= 'A' && r <= 'Z') {
			t.Errorf("IDAlphabet has %q, not an upper-case letter or digit", r)
		}
	}
}

// TestNewIDMapsBytesExactly checks every byte value: bytes below 240 (the
// largest multiple of 30 that fits in a byte) pick IDAlphabet[b%30], the 16
// above are skipped so that no letter is favoured.
func TestNewIDMapsBytesExactly(t *testing.T) {
	n := len(bot.IDAlphabet)
	limit := 256 - 256%n
	for b := 0; b < 256; b++ {
		in := append(bytes.Repeat([]byte{byte(b)}, 16), make([]byte, 16)...)
		got, err := bot.NewID(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("byte %d: NewID: %v", b, err)
		}
		want := "R-" + strings.Repeat(string(bot.IDAlphabet[0]), 6)
		if b < limit {
			want = "R-" + strings.Repeat(string(bot.IDAlphabet[b%n]), 6)
		}
		if got != want {
			t.Errorf("byte %d: got %q, want %q", b, got, want)
		}
	}
}

func TestNewIDSkipsBiasedBytesInOrder(t *testing.T) {
	in := []byte{240, 29, 255, 30, 59, 250, 239, 60, 89, 0, 0, 0, 0, 0, 0, 0}
	got, err := bot.NewID(bytes.NewReader(in))
	if err != nil {
		t.Fatalf("NewID: %v", err)
	}
	if want := "R-Z2ZZ2Z"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestNewIDReaderFails(t *testing.T) {
	tests := []struct {
		name string
		r    io.Reader
	}{
		{"Empty", bytes.NewReader(nil)},
		{"OnlyBiasedBytes", bytes.NewReader(bytes.Repeat([]byte{250}, 40))},
		{"Broken", iotestErrReader{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := bot.NewID(tc.r)
			if err == nil {
				t.Errorf("NewID = %q, want an error", id)
			}
		})
	}
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

// TestNewIDUniform is a chi-square test of the letters of IDs from
// crypto/rand. A plain b%30 would favour the first 16 letters by 9/8 and give
// a statistic near 400 here; fair letters give about 29 (the degrees of
// freedom). 80 is passed by fair letters with probability 1 - 1e-6.
func TestNewIDUniform(t *testing.T) {
	const ids = 20000
	counts := make(map[byte]int)
	for i := 0; i < ids; i++ {
		id, err := bot.NewID(rand.Reader)
		if err != nil {
			t.Fatalf("NewID: %v", err)
		}
		for j := 2; j < len(id); j++ {
			counts[id[j]]++
		}
	}
	n := len(bot.IDAlphabet)
	expected := float64(ids*6) / float64(n)
	var chi2 float64
	for i := 0; i < n; i++ {
		d := float64(counts[bot.IDAlphabet[i]]) - expected
		chi2 += d * d / expected
	}
	if chi2 > 80 {
		t.Errorf("chi-square of letter counts: got %.1f over %d degrees of freedom, want <= 80: %v", chi2, n-1, counts)
	}
}

func ExampleParse() {
	cmd, err := bot.Parse("/reset-password hpc:alice,bob locked out after the upgrade")
	fmt.Println(cmd.Kind, cmd.Account, cmd.Users, cmd.Reason, err)

	_, err = bot.Parse("/reset-password hpc")
	fmt.Println(bot.ErrorMessage(err))
	// Output:
	// ask hpc [alice bob] locked out after the upgrade <nil>
	// a reason is required. Write: /reset-password <account>[:<user>[,<user>…]] <reason>
}

// TestVersionOrder: the states a request passes through, oldest first, as
// cards must show them.
func TestVersionOrder(t *testing.T) {
	at := time.Date(2030, 1, 2, 9, 30, 0, 0, time.UTC)
	pending := bot.Request{State: bot.StatePending, UpdatedAt: at}
	voted := bot.Request{State: bot.StatePending, UpdatedAt: at, Votes: []bot.Vote{{Person: "bob", Approve: true}}}
	approved := bot.Request{State: bot.StateApproved, UpdatedAt: at.Add(time.Second)}
	// A claim, then the offer: the offer's update comes later but the
	// claim (executing) never shows; the offer outranks a queued approval
	// whatever the clocks say.
	offered := bot.Request{State: bot.StateOffered, UpdatedAt: at, RevealBy: at.Add(time.Hour)}
	executing := bot.Request{State: bot.StateExecuting, UpdatedAt: at}
	done := bot.Request{State: bot.StateSucceeded, UpdatedAt: at}
	order := []bot.Request{pending, voted, approved, offered, executing, done}
	for i := range order {
		for j := range order {
			if got := order[i].Version().Before(order[j].Version()); got != (i < j) {
				t.Errorf("%s (%d votes) before %s (%d votes): got %v, want %v",
					order[i].State, len(order[i].Votes), order[j].State, len(order[j].Votes), got, i < j)
			}
		}
	}
	// With the store's Rev, the order of transitions decides, even against
	// the states' usual order: the claim (executing, rev 4) that an offer
	// (offered, rev 5) then undid.
	claim := bot.Request{State: bot.StateExecuting, UpdatedAt: at, Rev: 4}
	offer := bot.Request{State: bot.StateOffered, UpdatedAt: at, RevealBy: at.Add(time.Hour), Rev: 5}
	if !claim.Version().Before(offer.Version()) || offer.Version().Before(claim.Version()) {
		t.Errorf("rev 4 executing before rev 5 offered: got %v, want true (and not the other way)", claim.Version().Before(offer.Version()))
	}
	if !done.Version().Final() || offered.Version().Final() {
		t.Errorf("Final: succeeded %v, offered %v; want true, false", done.Version().Final(), offered.Version().Final())
	}
}

// TestHelpNamesEveryCommand: help, the answer to a bare or unknown command,
// names every command word the parser takes, the Reveal fallback included.
func TestHelpNamesEveryCommand(t *testing.T) {
	e := newEnv(t)
	r := e.mustDo(as("alice", bot.PlatformSlack), "help")
	for _, w := range []string{"list", "status [R-…]", "cancel R-…", "reveal R-…", "approve R-…", "deny R-… [reason]", "help"} {
		if !strings.Contains(r.Text, "/reset-password "+w) {
			t.Errorf("help: %q does not name /reset-password %s", r.Text, w)
		}
	}
	if !strings.Contains(r.Text, "reveal R-…           reset and show the password of your approved request") {
		t.Errorf("help: %q does not say what reveal does", r.Text)
	}
}

// CheckText is the one check of person-typed text, on every platform.
func TestCheckText(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"Plain", "locked out after the incident", ""},
		{"Accents", "réinitialiser le mot de passe, Ñandú, e\u0301\u0302", ""},
		{"FourMarks", "e\u0301\u0302\u0303\u0304", ""},
		{"FiveMarks", "e\u0301\u0302\u0303\u0304\u0305", "the deny reason has more than 4 combining marks in a row: write it in plain text"},
		{"HangulFiller", "ok\u3164", "the deny reason has an invisible or formatting character: write it in plain text"},
		{"HangulChoseongFiller", "\u115F", "the deny reason has an invisible or formatting character: write it in plain text"},
		{"HangulJungseongFiller", "\u1160", "the deny reason has an invisible or formatting character: write it in plain text"},
		{"HalfwidthHangulFiller", "\uFFA0", "the deny reason has an invisible or formatting character: write it in plain text"},
		{"BrailleBlank", "\u2800", "the deny reason has an invisible or formatting character: write it in plain text"},
		{"ZeroWidthSpace", "a\u200bb", "the deny reason has an invisible or formatting character: write it in plain text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := bot.CheckText("deny reason", tc.text)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("CheckText(%q): got %v, want nil", tc.text, err)
				}
				return
			}
			if bot.ErrorCode(err) != bot.EINVALID || bot.ErrorMessage(err) != tc.want {
				t.Fatalf("CheckText(%q):\n got %v\nwant %s: %s", tc.text, err, bot.EINVALID, tc.want)
			}
		})
	}
	// Hangul syllables and ordinary space are not blanks to refuse.
	if err := bot.CheckText("reason", "한국어 이유"); err != nil {
		t.Errorf("Korean text: got %v, want nil", err)
	}
}
