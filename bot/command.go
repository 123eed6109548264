package bot

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind is what a command asks for.
type Kind string

const (
	KindEmpty   Kind = "empty" // no arguments: Slack opens a form, others show help
	KindHelp    Kind = "help"
	KindList    Kind = "list"
	KindStatus  Kind = "status"
	KindCancel  Kind = "cancel"
	KindApprove Kind = "approve"
	KindDeny    Kind = "deny"
	// KindReveal is the text fallback of the Reveal button. Its answer shows
	// a password, so adapters answer it through Service.Reveal, not Handle.
	KindReveal Kind = "reveal"
	KindAsk    Kind = "ask"
	// KindBreakGlass asks for a reset that skips the vote and is reviewed
	// afterwards.
	KindBreakGlass Kind = "break-glass"
	// KindConfirm and KindReject review a request that skipped the vote.
	KindConfirm Kind = "confirm"
	KindReject  Kind = "reject"
)

// Command is one parsed command, whichever platform it came from.
type Command struct {
	Kind    Kind
	ID      string   // status (optional), cancel, approve, deny, reveal
	Account string   // ask
	Users   []string // ask: the users named after the colon; empty means the account's default
	Reason  string   // ask and break-glass (required), deny and reject (optional)
	// Incident is break-glass's incident reference (INC-123: 1-64
	// printable characters, no spaces).
	Incident string
}

// Limits on what a command may carry; longer input is refused, not cut.
const (
	MaxReason       = 500
	maxUsers        = 100
	maxName         = 64
	commandName     = "/reset-password"
	idPrefix        = "R-"
	idLength        = 6
	idAlphabet      = "23456789ABCDEFGHJKMNPQRSTVWXYZ" // no 0/O, 1/I/L, U: easy to read aloud
	usageAsk        = "/reset-password <account>[:<user>[,<user>…]] <reason>"
	usageBreakGlass = "/reset-password break-glass <account>[:<user>[,<user>…]] <incident> <reason>"
	usageHelpers    = "/reset-password list | status [R-…] | cancel R-… | reveal R-… | approve R-… | deny R-… [reason] | confirm R-… | reject R-… [reason] | help"
	// MaxIncident is the longest incident reference.
	MaxIncident = 64
)

// usage is the help text: the answer to help, and to an unknown command.
const usage = "Usage:\n" +
	"  " + usageAsk + "   ask for a password reset (the reason is required)\n" +
	"  /reset-password list                 the accounts you may ask for\n" +
	"  /reset-password status [R-…]         your open requests, or one request\n" +
	"  /reset-password cancel R-…           withdraw your pending request\n" +
	"  /reset-password reveal R-…           reset and show the password of your approved request\n" +
	"  /reset-password approve R-…          approve a request (approvers)\n" +
	"  /reset-password deny R-… [reason]    deny a request (approvers)\n" +
	"  " + usageBreakGlass + "\n" +
	"                                       reset now, without a vote, during an incident; approvers review it afterwards\n" +
	"  /reset-password confirm R-…          confirm a break-glass or on-call reset (approvers)\n" +
	"  /reset-password reject R-… [reason]  reject it: its password is reset again, to one nobody sees (approvers)\n" +
	"  /reset-password help                 this text"

// Parse reads the text of a /reset-password command (with or without the
// leading "/reset-password"). Bad input gets an *Error EINVALID whose message
// says what was wrong and how to write it.
func Parse(text string) (Command, error) {
	if !utf8.ValidString(text) {
		return Command{}, invalid("the command is not valid text", usageAsk)
	}
	fields := Fields(text)
	if len(fields) > 0 && strings.EqualFold(fields[0], commandName) {
		fields = fields[1:]
	}
	if len(fields) == 0 {
		return Command{Kind: KindEmpty}, nil
	}
	word, args := strings.ToLower(fields[0]), fields[1:]
	switch word {
	case "help":
		return Command{Kind: KindHelp}, nil
	case "list":
		if len(args) > 0 {
			return Command{}, invalid("list takes no arguments", "/reset-password list")
		}
		return Command{Kind: KindList}, nil
	case "status":
		if len(args) == 0 {
			return Command{Kind: KindStatus}, nil
		}
		if len(args) > 1 {
			return Command{}, invalid("status takes at most one request ID", "/reset-password status [R-…]")
		}
		id, err := ParseID(args[0])
		if err != nil {
			return Command{}, err
		}
		return Command{Kind: KindStatus, ID: id}, nil
	case "cancel", "approve", "reveal", "confirm":
		kind := Kind(word)
		if len(args) != 1 {
			return Command{}, invalid(word+" takes exactly one request ID", "/reset-password "+word+" R-…")
		}
		id, err := ParseID(args[0])
		if err != nil {
			return Command{}, err
		}
		return Command{Kind: kind, ID: id}, nil
	case "deny", "reject":
		// a request ID, then an optional reason
		if len(args) == 0 {
			return Command{}, invalid(word+" needs a request ID", "/reset-password "+word+" R-… [reason]")
		}
		id, err := ParseID(args[0])
		if err != nil {
			return Command{}, err
		}
		reason, err := parseReason(args[1:], false)
		if err != nil {
			return Command{}, err
		}
		return Command{Kind: Kind(word), ID: id, Reason: reason}, nil
	case "break-glass":
		return parseBreakGlass(args)
	}
	return parseAsk(fields)
}

// parseBreakGlass reads break-glass's arguments: a target as ask has it,
// an incident reference, a reason.
func parseBreakGlass(args []string) (Command, error) {
	if len(args) < 3 {
		return Command{}, invalid("break-glass needs an account, an incident reference and a reason", usageBreakGlass)
	}
	cmd, err := parseAsk(append([]string{args[0]}, args[2:]...))
	if err != nil {
		if e, ok := err.(*Error); ok {
			e.Message = strings.Replace(e.Message, usageAsk, usageBreakGlass, 1)
		}
		return Command{}, err
	}
	if cmd.Incident, err = ParseIncident(args[1]); err != nil {
		return Command{}, err
	}
	cmd.Kind = KindBreakGlass
	return cmd, nil
}

// ParseIncident checks an incident reference: 1-64 printable characters,
// no spaces (INC-123, a PagerDuty incident number, a ticket URL).
func ParseIncident(s string) (string, error) {
	switch {
	case s == "":
		return "", invalid("an incident reference is required", usageBreakGlass)
	case !utf8.ValidString(s):
		return "", invalid("the incident reference is not valid text", usageBreakGlass)
	case utf8.RuneCountInString(s) > MaxIncident:
		return "", invalid("the incident reference is longer than 64 characters", usageBreakGlass)
	}
	for _, r := range s {
		if IsSpace(r) || HiddenRune(r) || !unicode.IsPrint(r) {
			return "", invalid("the incident reference "+quote(s)+" has a space or a character that is not printable", usageBreakGlass)
		}
	}
	if markRun(s) {
		return "", invalid("the incident reference has more than 4 combining marks in a row", usageBreakGlass)
	}
	return s, nil
}

func parseAsk(fields []string) (Command, error) {
	target := fields[0]
	account, userList, hasUsers := strings.Cut(target, ":")
	if err := checkName("account", account); err != nil {
		return Command{}, err
	}
	cmd := Command{Kind: KindAsk, Account: account}
	if hasUsers {
		if userList == "" {
			return Command{}, invalid("no user named after the colon in "+quote(target), usageAsk)
		}
		seen := map[string]bool{}
		for _, u := range strings.Split(userList, ",") {
			if err := checkName("user", u); err != nil {
				return Command{}, err
			}
			if seen[u] {
				return Command{}, invalid("user "+quote(u)+" is named twice", usageAsk)
			}
			seen[u] = true
			cmd.Users = append(cmd.Users, u)
		}
		if len(cmd.Users) > maxUsers {
			return Command{}, invalid("at most 100 users in one request", usageAsk)
		}
	}
	reason, err := parseReason(fields[1:], true)
	if err != nil {
		return Command{}, err
	}
	cmd.Reason = reason
	return cmd, nil
}

func parseReason(words []string, required bool) (string, error) {
	reason := strings.Join(words, " ")
	if reason == "" {
		if required {
			return "", invalid("a reason is required", usageAsk)
		}
		return "", nil
	}
	if utf8.RuneCountInString(reason) > MaxReason {
		return "", invalid("the reason is longer than 500 characters", usageAsk)
	}
	if strings.IndexFunc(reason, HiddenRune) >= 0 {
		return "", invalid("the reason contains a control character or an invisible formatting one", usageAsk)
	}
	if markRun(reason) {
		return "", invalid("the reason has more than 4 combining marks in a row", usageAsk)
	}
	return reason, nil
}

// IsSpace is the one definition of white space between the words of a
// command, on every platform: the typed grammar (Parse) and every form or
// option (Slack's request form, Discord's options) split on it alone.
func IsSpace(r rune) bool { return unicode.IsSpace(r) }

// Fields splits s around runs of IsSpace.
func Fields(s string) []string { return strings.FieldsFunc(s, IsSpace) }

// CheckText reports, as an *Error EINVALID naming what, whether s holds a
// character that could make what a person typed read differently on a card
// or a message from what it says (HiddenRune), or a run of more than
// MaxMarks combining marks, which stack over the lines around them.
func CheckText(what, s string) error {
	if strings.IndexFunc(s, HiddenRune) >= 0 {
		return Errorf(EINVALID, "the %s has an invisible or formatting character: write it in plain text", what)
	}
	if markRun(s) {
		return Errorf(EINVALID, "the %s has more than 4 combining marks in a row: write it in plain text", what)
	}
	return nil
}

// MaxMarks is the longest run of combining marks a typed text may hold:
// enough for any script's accents, too few to draw over other lines.
const MaxMarks = 4

// markRun reports whether s has more than MaxMarks combining marks in a row.
func markRun(s string) bool {
	n := 0
	for _, r := range s {
		if !unicode.Is(unicode.M, r) {
			n = 0
			continue
		}
		if n++; n > MaxMarks {
			return true
		}
	}
	return false
}

// HiddenRune reports whether r may not be in a reason, whichever way it was
// typed: a control character, a format character (a bidi override, a
// zero-width space), or a blank that is not white space (the Hangul fillers
// U+115F, U+1160, U+3164, U+FFA0 and the braille blank U+2800): each could
// make a card read differently from what it says, or push forged text onto
// what looks like a line of its own.
func HiddenRune(r rune) bool {
	switch r {
	case '\u115F', '\u1160', '\u3164', '\uFFA0', '\u2800':
		return true
	}
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}

// checkName accepts the names config allows for accounts and users:
// letters, digits and . _ - @ %, starting with a letter or digit.
func checkName(what, s string) error {
	if s == "" {
		return invalid("no "+what+" named", usageAsk)
	}
	if len(s) > maxName {
		return invalid("the "+what+" name is longer than 64 characters", usageAsk)
	}
	for i, r := range s {
		ok := r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			i > 0 && strings.ContainsRune("._-@%", r))
		if !ok {
			return invalid(what+" "+quote(s)+" has a character that is not allowed (use letters, digits, . _ - @ %)", usageAsk)
		}
	}
	return nil
}

// ParseID reads a request ID, case-insensitively ("r-7f3k9q" is R-7F3K9Q).
func ParseID(s string) (string, error) {
	id := strings.ToUpper(s)
	if !strings.HasPrefix(id, idPrefix) || len(id) != len(idPrefix)+idLength || len(id) != len(s) {
		return "", invalid(quote(s)+" is not a request ID", "request IDs look like R-7F3K9Q")
	}
	for _, r := range id[len(idPrefix):] {
		if !strings.ContainsRune(idAlphabet, r) {
			return "", invalid(quote(s)+" is not a request ID", "request IDs look like R-7F3K9Q")
		}
	}
	return id, nil
}

func invalid(what, how string) *Error {
	return &Error{Code: EINVALID, Message: what + ". Write: " + how}
}

// quote shows user input in a message, cut short so a message stays readable.
func quote(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		r := []rune(s)
		s = string(r[:40]) + "…"
	}
	return "“" + s + "”"
}
