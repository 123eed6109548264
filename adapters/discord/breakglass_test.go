package discord_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"resetbot/adapters/chat"
	"resetbot/adapters/discord/discordtest"
	"resetbot/bot"
)

// reviewed is an offered break-glass request of alice's whose review is
// open until an hour after it was made.
func reviewed(id string) bot.Request {
	req := pendingRequest(id)
	req.State = bot.StateOffered
	req.RevealBy = req.CreatedAt.Add(30 * time.Minute)
	req.Reason = "primary is down"
	req.Review = &bot.Review{Kind: bot.ReviewBreakGlass, Incident: "INC-42", State: bot.ReviewOpen,
		Due: req.CreatedAt.Add(time.Hour)}
	return req
}

// card is a posted card as Discord got it.
type card struct {
	Title, Description string
	Color              int
	Fields             map[string]string
	Buttons            map[string]int // custom_id: style
}

// postCard has the adapter post req's card and reads what Discord got.
func (b *bare) postCard(t *testing.T, req bot.Request) card {
	t.Helper()
	if _, err := b.ad.Card(b.ctx, req, accounts[0], ""); err != nil {
		t.Fatalf("Card: %v", err)
	}
	post := b.fake.Wait(b.ctx, "the card of "+req.ID, func(c discordtest.Call) bool {
		return isCardPost(c) && strings.Contains(c.Raw, req.ID)
	})
	var body struct {
		Embeds []struct {
			Title       string                         `json:"title"`
			Description string                         `json:"description"`
			Color       int                            `json:"color"`
			Fields      []struct{ Name, Value string } `json:"fields"`
		} `json:"embeds"`
		Components []struct {
			Components []struct {
				CustomID string `json:"custom_id"`
				Style    int    `json:"style"`
			} `json:"components"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(post.Raw), &body); err != nil || len(body.Embeds) != 1 {
		t.Fatalf("card body: %v %s", err, post.Raw)
	}
	e := body.Embeds[0]
	c := card{Title: e.Title, Description: e.Description, Color: e.Color, Fields: map[string]string{}, Buttons: map[string]int{}}
	for _, f := range e.Fields {
		c.Fields[f.Name] = f.Value
	}
	for _, row := range body.Components {
		for _, btn := range row.Components {
			c.Buttons[btn.CustomID] = btn.Style
		}
	}
	return c
}

func stamp(t time.Time, style string) string { return fmt.Sprintf("<t:%d:%s>", t.Unix(), style) }

// Discord's button styles.
const (
	successStyle = 3
	dangerStyle  = 4
)

// TestCardBreakGlass: the card of a request that skipped the vote is marked
// BREAK-GLASS with its incident, has Confirm and Reject (never Approve and
// Deny) while its review is open and no button after, and says how the
// review ended and whether the password shown is still valid.
func TestCardBreakGlass(t *testing.T) {
	b := newBare(t)
	t0 := pendingRequest("R-222222").CreatedAt
	due, decided, next := t0.Add(time.Hour), t0.Add(20*time.Minute), t0.Add(25*time.Minute)
	n := 0

	for _, tc := range []struct {
		name   string
		change func(*bot.Request)
		review bool              // Confirm and Reject, and nothing else
		fields map[string]string // exact values
		says   []string          // in the title, description and fields
		never  []string
	}{{
		name:   "Open",
		change: func(*bot.Request) {},
		review: true,
		fields: map[string]string{"Incident": "INC-42", "Approvals": "skipped: break-glass",
			"Review": "Open: an approver confirms or rejects it by " + stamp(due, "f") +
				". Rejected, or not confirmed by then, the password shown is reset again, to one nobody sees."},
		says:  []string{"BREAK-GLASS password reset R-BG2222", "**BREAK-GLASS** by alice", "review of an approver other than alice", "waiting for alice to reveal"},
		never: []string{"Rotation", "EXPOSED"},
	}, {
		name: "Confirmed",
		change: func(r *bot.Request) {
			r.State = bot.StateSucceeded
			r.Review.State, r.Review.By, r.Review.At = bot.ReviewConfirmed, "bob", decided
		},
		fields: map[string]string{"Review": "Confirmed by bob " + stamp(decided, "f")},
		says:   []string{"BREAK-GLASS password reset", "**Done**"},
		never:  []string{"Rotation", "EXPOSED"},
	}, {
		name: "RejectedStillExposed",
		change: func(r *bot.Request) {
			r.State = bot.StateSucceeded
			r.Review.State, r.Review.By, r.Review.At, r.Review.Reason = bot.ReviewRejected, "bob", decided, "**not** an incident"
			r.Review.Rotation = &bot.Rotation{State: bot.RotationPending, Attempts: 2, Next: next, Error: "the cloud is throttling: try_again"}
		},
		fields: map[string]string{
			"Review": "Rejected by bob " + stamp(decided, "f") + `: \*\*not\*\* an incident`,
			"Rotation": "**STILL EXPOSED**: the password shown to alice is still valid; " +
				`resetting it again failed (the cloud is throttling: try\_again); next try ` + stamp(next, "R") + ".",
		},
	}, {
		name: "RejectedRotated",
		change: func(r *bot.Request) {
			r.State = bot.StateSucceeded
			r.Review.State, r.Review.By, r.Review.At = bot.ReviewRejected, "bob", decided
			r.Review.Rotation = &bot.Rotation{State: bot.RotationDone, Attempts: 1, At: next}
		},
		fields: map[string]string{
			"Review":   "Rejected by bob " + stamp(decided, "f"),
			"Rotation": "Reset again " + stamp(next, "f") + "; nobody has the password; the account is locked until a normal approved request.",
		},
		never: []string{"EXPOSED"},
	}, {
		name: "OverdueNeverRevealed",
		change: func(r *bot.Request) {
			r.State = bot.StateExpired
			r.Review.State, r.Review.By, r.Review.At = bot.ReviewOverdue, "system", due
			r.Review.Rotation = &bot.Rotation{State: bot.RotationNone}
		},
		fields: map[string]string{
			"Review":   "Overdue: not confirmed by " + stamp(due, "f"),
			"Rotation": "Nothing was reset, nothing to undo.",
		},
		never: []string{"EXPOSED"},
	}, {
		name: "OnCall",
		change: func(r *bot.Request) {
			r.Review.Kind, r.Review.Incident, r.Review.Detail = bot.ReviewOnCall, "#1234", "schedule PSCHED1, level 1, incident #1234"
		},
		review: true,
		fields: map[string]string{"Incident": `\#1234` + "\n" + "schedule PSCHED1, level 1, incident #1234",
			"Approvals": "auto-approved by PagerDuty (on call)"},
		says: []string{"BREAK-GLASS password reset", "auto-approved by PagerDuty (alice is on call)", "needs an approver's review"},
	}, {
		name: "MarkdownInIncidentAndReason",
		change: func(r *bot.Request) {
			r.Reason = "**pre-approved** by [security](https://evil.example)"
			r.Review.Incident = "-[INC-1](https://evil.example)||<@1002>"
		},
		review: true,
		fields: map[string]string{
			"Incident": `\-\[INC-1\]\(https://evil.example\)\|\|\<@1002\>`,
			"Reason":   `\*\*pre-approved\*\* by \[security\]\(https://evil.example\)`,
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			req := reviewed(fmt.Sprintf("R-BG222%d", 2+n))
			n++
			tc.change(&req)
			c := b.postCard(t, req)
			want := map[string]int{}
			if tc.review {
				want = map[string]int{"confirm:" + req.ID: successStyle, "reject:" + req.ID: dangerStyle}
			}
			if !maps(c.Buttons, want) {
				t.Errorf("buttons: got %v, want %v", c.Buttons, want)
			}
			for name, want := range tc.fields {
				if got := c.Fields[name]; got != want {
					t.Errorf("field %s:\n got %q\nwant %q", name, got, want)
				}
			}
			all := c.Title + "\n" + c.Description + "\n" + fmt.Sprint(c.Fields)
			if !strings.HasPrefix(c.Title, "BREAK-GLASS") {
				t.Errorf("title: got %q, want it marked BREAK-GLASS", c.Title)
			}
			for _, s := range tc.says {
				if !strings.Contains(all, s) {
					t.Errorf("card: got %s, want %q in it", all, s)
				}
			}
			for _, s := range tc.never {
				if strings.Contains(all, s) {
					t.Errorf("card: got %s, want no %q", all, s)
				}
			}
		})
	}
}

func maps(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestCardNotice: a notice on a request (PagerDuty could not tell) is on
// its card, escaped; a request with no review keeps Approve and Deny and
// carries no BREAK-GLASS mark.
func TestCardNotice(t *testing.T) {
	b := newBare(t)
	req := pendingRequest("R-NTC222")
	req.Notice = "PagerDuty did not answer: no on-call auto-approval; approvers vote as usual (*timeout*)"
	c := b.postCard(t, req)
	if got, want := c.Fields["Notice"], `PagerDuty did not answer: no on-call auto-approval; approvers vote as usual \(\*timeout\*\)`; got != want {
		t.Errorf("notice:\n got %q\nwant %q", got, want)
	}
	if want := map[string]int{"approve:R-NTC222": successStyle, "deny:R-NTC222": dangerStyle}; !maps(c.Buttons, want) {
		t.Errorf("buttons: got %v, want %v", c.Buttons, want)
	}
	if all := c.Title + c.Description + fmt.Sprint(c.Fields); strings.Contains(all, "BREAK-GLASS") || strings.Contains(all, "Incident") {
		t.Errorf("card of a normal request: got %s, want no BREAK-GLASS mark and no incident", all)
	}
	plain := b.postCard(t, pendingRequest("R-PLN222"))
	if _, ok := plain.Fields["Notice"]; ok {
		t.Errorf("card without a notice: got a Notice field %q", plain.Fields["Notice"])
	}
}

// Discord's rules for the names of commands and options (lower case where
// the script has cases), and its limits.
var (
	optionName     = regexp.MustCompile(`^[-_\p{L}\p{N}\p{Devanagari}\p{Thai}]{1,32}$`)
	maxOptions     = 25
	maxDescription = 100
	maxStringLen   = 6000
)

type option struct {
	Type         int       `json:"type"`
	Name         string    `json:"name"`
	Description  string    `json:"description"`
	Required     bool      `json:"required"`
	Autocomplete bool      `json:"autocomplete"`
	MaxLength    *int      `json:"max_length"`
	Options      []*option `json:"options"`
}

// TestStartRegistersReviewCommands: break-glass, confirm and reject are
// registered with the options the text grammar has, each within
// Discord's documented rules (names, descriptions, lengths, required
// options before optional ones, at most 25 options).
func TestStartRegistersReviewCommands(t *testing.T) {
	b := newBare(t)
	if err := b.ad.Start(b.ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	put := b.fake.Wait(b.ctx, "the commands", func(c discordtest.Call) bool { return c.Method == "PUT" })
	var cmds []*option
	if err := json.Unmarshal([]byte(put.Raw), &cmds); err != nil || len(cmds) != 1 {
		t.Fatalf("body: %v %s", err, put.Raw)
	}
	subs := map[string]*option{}
	var check func(o *option, where string)
	check = func(o *option, where string) {
		where += "/" + o.Name
		if !optionName.MatchString(o.Name) || o.Name != strings.ToLower(o.Name) {
			t.Errorf("%s: the name breaks Discord's rules", where)
		}
		if n := utf8.RuneCountInString(o.Description); n < 1 || n > maxDescription {
			t.Errorf("%s: description of %d characters, want 1 to %d", where, n, maxDescription)
		}
		if len(o.Options) > maxOptions {
			t.Errorf("%s: %d options, want at most %d", where, len(o.Options), maxOptions)
		}
		if o.MaxLength != nil && (*o.MaxLength < 1 || *o.MaxLength > maxStringLen) {
			t.Errorf("%s: max_length %d, want 1 to %d", where, *o.MaxLength, maxStringLen)
		}
		optional := false
		for _, sub := range o.Options {
			if sub.Required && optional {
				t.Errorf("%s: required option %s after an optional one", where, sub.Name)
			}
			optional = optional || !sub.Required
			check(sub, where)
		}
	}
	check(cmds[0], "")
	for _, s := range cmds[0].Options {
		subs[s.Name] = s
	}

	type want struct {
		name               string
		required, complete bool
		max                int
	}
	for sub, wants := range map[string][]want{
		"break-glass": {{"account", true, true, 64}, {"incident", true, false, bot.MaxIncident},
			{"reason", true, false, bot.MaxReason}, {"users", false, true, 1000}},
		"confirm": {{"id", true, false, 16}},
		"reject":  {{"id", true, false, 16}, {"reason", false, false, bot.MaxReason}},
	} {
		s := subs[sub]
		if s == nil || s.Type != 1 {
			t.Errorf("subcommand %s: got %+v, want one (type 1)", sub, s)
			continue
		}
		var got []want
		for _, o := range s.Options {
			if o.Type != 3 {
				t.Errorf("%s %s: type %d, want a string (3)", sub, o.Name, o.Type)
			}
			w := want{o.Name, o.Required, o.Autocomplete, 0}
			if o.MaxLength != nil {
				w.max = *o.MaxLength
			}
			got = append(got, w)
		}
		if !slices.Equal(got, wants) {
			t.Errorf("%s's options: got %+v, want %+v", sub, got, wants)
		}
	}
}

// commandLog is the real service, remembering each command the adapter
// hands it, so that a test sees what a click or an option became whatever
// the service answers.
type commandLog struct {
	chat.Service
	mu   sync.Mutex
	cmds []bot.Command
}

func (l *commandLog) Handle(ctx context.Context, a bot.Actor, c bot.Command) bot.Reply {
	l.mu.Lock()
	l.cmds = append(l.cmds, c)
	l.mu.Unlock()
	return l.Service.Handle(ctx, a, c)
}

// take returns the commands handed over since the last take.
func (l *commandLog) take() []bot.Command {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.cmds
	l.cmds = nil
	return out
}

func logCommands(e *env) *commandLog {
	l := &commandLog{Service: e.svc}
	e.ad.Attach(l)
	return l
}

// handled sends i and waits until its answer is in: at once, or edited
// into a deferred one; the command was handed over by then.
func (e *env) handled(i map[string]any) {
	e.t.Helper()
	if a := e.send(i); a.Type() == 5 {
		e.fake.Wait(e.ctx, "the deferred answer", isEditOriginal(tokenOf(i)))
	}
}

func sameCommands(a, b []bot.Command) bool {
	return slices.EqualFunc(a, b, func(x, y bot.Command) bool {
		return x.Kind == y.Kind && x.ID == y.ID && x.Account == y.Account && x.Incident == y.Incident &&
			x.Reason == y.Reason && slices.Equal(x.Users, y.Users)
	})
}

// TestBreakGlassOptions: the break-glass, confirm and reject subcommands
// become the commands the text grammar makes; a malformed incident or
// reason is refused with a clear answer, and nothing is handed over.
func TestBreakGlassOptions(t *testing.T) {
	e := newEnv(t)
	log := logCommands(e)
	for _, tc := range []struct {
		name string
		i    map[string]any
		want bot.Command
	}{
		{"BreakGlass", e.slash(alice, "break-glass", "account", "prod-db", "incident", "INC-42", "reason", "primary is down"),
			bot.Command{Kind: bot.KindBreakGlass, Account: "prod-db", Incident: "INC-42", Reason: "primary is down"}},
		{"BreakGlassUsersAndSpacesAround", e.slash(carol, "break-glass", "account", " hpc", "users", "u1, u3", "incident", emSpace+"https://tickets.example/INC-7 ", "reason", "nodes down"),
			bot.Command{Kind: bot.KindBreakGlass, Account: "hpc", Users: []string{"u1", "u3"}, Incident: "https://tickets.example/INC-7", Reason: "nodes down"}},
		{"Confirm", e.slash(bob, "confirm", "id", "r-bg2222"), bot.Command{Kind: bot.KindConfirm, ID: "R-BG2222"}},
		{"Reject", e.slash(bob, "reject", "id", "R-BG2222", "reason", "not an incident"),
			bot.Command{Kind: bot.KindReject, ID: "R-BG2222", Reason: "not an incident"}},
		{"RejectWithoutReason", e.slash(bob, "reject", "id", "R-BG2222"), bot.Command{Kind: bot.KindReject, ID: "R-BG2222"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.handled(tc.i)
			if got := log.take(); !sameCommands(got, []bot.Command{tc.want}) {
				t.Errorf("commands handed over: got %+v, want %+v", got, tc.want)
			}
		})
	}

	long := strings.Repeat("I", bot.MaxIncident+1)
	for _, tc := range []struct {
		name string
		i    map[string]any
		want string
	}{
		{"IncidentWithASpace", e.slash(alice, "break-glass", "account", "prod-db", "incident", "INC 42", "reason", "down"), "has a space"},
		{"IncidentWithAnEmSpace", e.slash(alice, "break-glass", "account", "prod-db", "incident", "INC"+emSpace+"42", "reason", "down"), "has a space"},
		{"IncidentWithABidiOverride", e.slash(alice, "break-glass", "account", "prod-db", "incident", "INC-\u202e24", "reason", "down"), "not printable"},
		{"IncidentTooLong", e.slash(alice, "break-glass", "account", "prod-db", "incident", long, "reason", "down"), "longer than 64"},
		{"NoIncident", e.slash(alice, "break-glass", "account", "prod-db", "reason", "down"), "an incident reference is required"},
		{"NoReason", e.slash(alice, "break-glass", "account", "prod-db", "incident", "INC-42"), "needs an account, an incident reference and a reason"},
		{"ReasonWithAZeroWidthSpace", e.slash(alice, "break-glass", "account", "prod-db", "incident", "INC-42", "reason", "do\u200bwn"), "invisible or formatting"},
		{"AccountWithASpace", e.slash(alice, "break-glass", "account", "prod-db confirm", "incident", "INC-42", "reason", "down"), "one word"},
		{"NoAccount", e.slash(alice, "break-glass", "incident", "INC-42", "reason", "down"), "name the account"},
		{"UsersWithASpaceInside", e.slash(carol, "break-glass", "account", "hpc", "users", "u1 u2", "incident", "INC-42", "reason", "down"), "no space inside a name"},
		{"ConfirmBadID", e.slash(bob, "confirm", "id", "R-0000"), "is not a request ID"},
		{"RejectReasonWithABidiOverride", e.slash(bob, "reject", "id", "R-BG2222", "reason", "ok \u202eevil"), "invisible or formatting"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.mustSend(tc.i)
			if !strings.Contains(a.Content(), tc.want) {
				t.Errorf("answer: got %q, want %q in it", a.Content(), tc.want)
			}
			if got := log.take(); len(got) != 0 {
				t.Errorf("commands handed over: got %+v, want none", got)
			}
		})
	}
}

// TestReviewButtons: Confirm hands over a confirm at once; Reject first
// asks for an optional reason, as Deny does, and its form hands over a
// reject with it; a replayed click is handled once; a stranger's click is
// refused as what it tried.
func TestReviewButtons(t *testing.T) {
	e := breakGlassEnv(t)
	req, _ := e.breakGlass()
	id := req.ID
	log := logCommands(e)

	// Reject's form opens for reviewers only: not for the requester, nor
	// for someone who is not an approver
	for _, who := range []string{alice, carol} {
		a := e.mustSend(e.click(who, "reject:"+id))
		if a.Type() == 9 || !strings.Contains(a.Content(), "review") {
			t.Errorf("Reject by %s: got %s, want a refusal, no form", who, a.Raw)
		}
	}

	modal := e.send(e.click(bob, "reject:"+id))
	if modal.Status != 200 || modal.Type() != 9 {
		t.Fatalf("Reject: got %d %s, want a form (type 9)", modal.Status, modal.Raw)
	}
	if got := modal.data()["custom_id"]; got != "reject:"+id {
		t.Errorf("the form's custom_id: got %v, want reject:%s", got, id)
	}
	var form struct {
		Data struct {
			Title      string `json:"title"`
			Components []struct {
				Components []struct {
					CustomID  string `json:"custom_id"`
					Required  bool   `json:"required"`
					MaxLength int    `json:"max_length"`
				} `json:"components"`
			} `json:"components"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(modal.Raw), &form); err != nil || len(form.Data.Components) != 1 || len(form.Data.Components[0].Components) != 1 {
		t.Fatalf("the form: %v %s", err, modal.Raw)
	}
	if in := form.Data.Components[0].Components[0]; in.CustomID != "reason" || in.Required || in.MaxLength != bot.MaxReason {
		t.Errorf("the form's input: got %+v, want an optional reason of at most %d", in, bot.MaxReason)
	}
	if form.Data.Title != "Reject "+id {
		t.Errorf("the form's title: got %q, want %q", form.Data.Title, "Reject "+id)
	}
	if got := log.take(); len(got) != 0 {
		t.Errorf("Reject before its form: got %+v handed over, want nothing", got)
	}

	confirm := e.click(bob, "confirm:"+id)
	e.mustSend(confirm)
	if got, want := log.take(), []bot.Command{{Kind: bot.KindConfirm, ID: id}}; !sameCommands(got, want) {
		t.Errorf("Confirm: got %+v, want %+v", got, want)
	}
	if a := e.mustSend(confirm); !strings.Contains(a.Content(), "handled already") {
		t.Errorf("the click replayed: got %q, want it handled already", a.Content())
	}
	if got := log.take(); len(got) != 0 {
		t.Errorf("the click replayed: got %+v handed over, want nothing", got)
	}

	e.handled(e.submit(bob, "reject:"+id, "  not an incident  "))
	e.handled(e.submit(bob, "reject:"+id, ""))
	want := []bot.Command{{Kind: bot.KindReject, ID: id, Reason: "not an incident"}, {Kind: bot.KindReject, ID: id}}
	if got := log.take(); !sameCommands(got, want) {
		t.Errorf("the forms: got %+v, want %+v", got, want)
	}
	if a := e.mustSend(e.submit(bob, "reject:"+id, "no\u200bpe")); !strings.Contains(a.Content(), "invisible or formatting") {
		t.Errorf("a reason with a zero-width space: got %q, want it refused", a.Content())
	}
	if got := log.take(); len(got) != 0 {
		t.Errorf("a refused reason: got %+v handed over, want nothing", got)
	}

	for _, verb := range []string{"confirm", "reject"} {
		a := e.mustSend(e.click(mallory, verb+":"+id))
		if !strings.Contains(a.Content(), "not in resetbot's list of people") {
			t.Errorf("a stranger's %s: got %q, want a refusal", verb, a.Content())
		}
		if got, want := log.take(), []bot.Command{{Kind: bot.Kind(verb), ID: id}}; !sameCommands(got, want) {
			t.Errorf("a stranger's %s: got %+v, want it refused as %+v", verb, got, want)
		}
	}
}

// TestBreakGlassAutocomplete: break-glass suggests only the accounts the
// person may reset without a vote; ask still suggests all they may ask for.
func TestBreakGlassAutocomplete(t *testing.T) {
	accts := slices.Clone(accounts)
	accts[1].BreakGlass = &bot.BreakGlass{Who: []string{"eng"}, ReviewWithin: time.Hour}
	e := newEnvWith(t, accts)
	suggest := func(sub string) []string {
		i := e.complete(carol, "account", "")
		i["data"].(map[string]any)["options"].([]map[string]any)[0]["name"] = sub
		a := e.send(i)
		if a.Type() != 8 {
			t.Fatalf("%s autocomplete: got %s, want a result (type 8)", sub, a.Raw)
		}
		var names []string
		choices, _ := a.data()["choices"].([]any)
		for _, c := range choices {
			v, _ := c.(map[string]any)["value"].(string)
			names = append(names, v)
		}
		return names
	}
	if got, want := suggest("break-glass"), []string{"hpc"}; !slices.Equal(got, want) {
		t.Errorf("break-glass suggests: got %v, want %v", got, want)
	}
	if got, want := suggest("ask"), []string{"hpc", "prod-db"}; !slices.Equal(slices.Sorted(slices.Values(got)), want) {
		t.Errorf("ask suggests: got %v, want %v", got, want)
	}
}
