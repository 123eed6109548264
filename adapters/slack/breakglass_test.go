package slack_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"resetbot/adapters/chat"
	"resetbot/adapters/slack/slacktest"
	"resetbot/bot"
)

// recorder stands between the adapter and the real service and notes each
// command that reaches it, so that a test can check what the adapter sent
// whatever the service answers.
type recorder struct {
	chat.Service
	mu   sync.Mutex
	cmds []handled
}

type handled struct {
	actor bot.Actor
	cmd   bot.Command
}

func (r *recorder) Handle(ctx context.Context, a bot.Actor, c bot.Command) bot.Reply {
	r.mu.Lock()
	r.cmds = append(r.cmds, handled{a, c})
	r.mu.Unlock()
	return r.Service.Handle(ctx, a, c)
}

// commands returns the commands user's actions sent the service.
func (r *recorder) commands(user string) []bot.Command {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []bot.Command
	for _, h := range r.cmds {
		if h.actor.UserID == user && h.actor.Platform == bot.PlatformSlack {
			out = append(out, h.cmd)
		}
	}
	return out
}

func withRecorder(r *recorder) envOption {
	return func(c *envConfig) {
		c.wrap = func(s chat.Service) chat.Service {
			r.Service = s
			return r
		}
	}
}

// glassAccounts are the package's accounts, prod-db allowing alice to
// break the glass.
func glassAccounts() []bot.Account {
	accts := slices.Clone(accounts)
	accts[0].BreakGlass = &bot.BreakGlass{Who: []string{"alice"}, ReviewWithin: 4 * time.Hour}
	return accts
}

// The times of the cards below; the cards show each in its UTC fallback.
var (
	glassAt   = time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)
	glassDue  = glassAt.Add(4 * time.Hour)
	glassSeen = "2026-12-04 07:00 UTC" // glassDue
)

// glassRequest is a break-glass request just offered to alice, its review
// open.
func glassRequest(id string) bot.Request {
	return bot.Request{ID: id, Account: "prod-db", Users: []string{"app_user"}, Requester: "alice",
		Reason: "db down, approvers asleep", State: bot.StateOffered, Approvals: 1,
		CreatedAt: glassAt, UpdatedAt: glassAt, ExpiresAt: glassAt.Add(time.Hour), RevealBy: glassAt.Add(15 * time.Minute),
		Review: &bot.Review{Kind: bot.ReviewBreakGlass, Incident: "INC-42", Due: glassDue, State: bot.ReviewOpen}}
}

// cardShown is a card as a reader sees it: the header, each rich text
// block as one line of text (a date shown by its fallback), each context
// block's texts, and the buttons by action ID.
type cardShown struct {
	text     string // the notification
	header   string
	rich     map[string]string
	contexts map[string]string
	buttons  map[string]map[string]any
	blocks   string // the JSON
}

func showCard(t testing.TB, f *slacktest.Server, ref string) cardShown {
	t.Helper()
	m, ok := f.Message(ref)
	if !ok {
		t.Fatalf("no message at %s", ref)
	}
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(m.Blocks), &blocks); err != nil {
		t.Fatalf("blocks %q: %v", m.Blocks, err)
	}
	c := cardShown{text: m.Text, blocks: m.Blocks, rich: map[string]string{}, contexts: map[string]string{}, buttons: map[string]map[string]any{}}
	var render func(v any) string
	render = func(v any) string {
		var b strings.Builder
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				b.WriteString(render(e))
			}
		case map[string]any:
			switch x["type"] {
			case "text":
				s, _ := x["text"].(string)
				return s
			case "date":
				s, _ := x["fallback"].(string)
				return s
			}
			b.WriteString(render(x["elements"]))
		}
		return b.String()
	}
	for _, bl := range blocks {
		id, _ := bl["block_id"].(string)
		switch bl["type"] {
		case "header":
			c.header, _ = bl["text"].(map[string]any)["text"].(string)
		case "rich_text":
			c.rich[id] = render(bl["elements"])
		case "context":
			var texts []string
			for _, e := range bl["elements"].([]any) {
				s, _ := e.(map[string]any)["text"].(string)
				texts = append(texts, s)
			}
			c.contexts[id] = strings.Join(texts, "\n")
		case "actions":
			for _, e := range bl["elements"].([]any) {
				el := e.(map[string]any)
				a, _ := el["action_id"].(string)
				c.buttons[a] = el
			}
		}
	}
	return c
}

// review is the card's review line.
func (c cardShown) review() string { return c.rich["review-state"] }

func (c cardShown) buttonIDs() []string {
	var ids []string
	for id := range c.buttons {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// TestBreakGlassCard: a request that skipped the vote is marked at the top
// of its card, with its incident, and says where its review stands; its
// buttons are Confirm and Reject while the review is open, and none after.
func TestBreakGlassCard(t *testing.T) {
	f := slacktest.NewServer(t, botToken, appToken)
	ad := newAdapter(t, f)
	card := func(t *testing.T, req bot.Request) cardShown {
		t.Helper()
		return showCard(t, f, postCard(t, ad, req))
	}

	t.Run("OpenForReview", func(t *testing.T) {
		c := card(t, glassRequest("R-GLASS1"))
		if !strings.Contains(c.header, "BREAK-GLASS, NEEDS REVIEW R-GLASS1") || !strings.HasPrefix(c.header, "🚨") {
			t.Errorf("header %q, want it marked BREAK-GLASS, needing review", c.header)
		}
		for _, want := range []string{"BREAK-GLASS: alice reset it without a vote. NEEDS REVIEW", "Incident: INC-42",
			"Review due by " + glassSeen + ": an approver other than alice confirms or rejects it"} {
			if !strings.Contains(c.review(), want) {
				t.Errorf("review line %q, want %q in it", c.review(), want)
			}
		}
		if !strings.Contains(c.rich["reason"], "db down, approvers asleep") {
			t.Errorf("reason block %q, want the reason", c.rich["reason"])
		}
		if got, want := c.buttonIDs(), []string{"confirm", "reject"}; !slices.Equal(got, want) {
			t.Fatalf("buttons %v, want %v (no Approve or Deny: the vote was skipped)", got, want)
		}
		for _, id := range []string{"confirm", "reject"} {
			if v := c.buttons[id]["value"]; v != "R-GLASS1" {
				t.Errorf("%s button's value %v, want the request ID", id, v)
			}
		}
		if c.buttons["confirm"]["style"] != "primary" || c.buttons["reject"]["style"] != "danger" {
			t.Errorf("styles: confirm %v, reject %v; want primary and danger", c.buttons["confirm"]["style"], c.buttons["reject"]["style"])
		}
		dialog, _ := c.buttons["reject"]["confirm"].(map[string]any)
		if dialog == nil || !strings.Contains(slacktest.JSONStrings(mustJSON(t, dialog)), "the password is reset again, to one nobody sees") ||
			dialog["style"] != "danger" {
			t.Errorf("Reject's confirmation dialog %v, want a danger dialog saying the password is reset again, to one nobody sees", dialog)
		}
		if _, ok := c.buttons["confirm"]["confirm"]; ok {
			t.Errorf("Confirm asks for confirmation; only Reject undoes anything")
		}
		if _, ok := c.contexts["votes"]; ok {
			t.Errorf("the card shows votes and progress %q for a request that skipped the vote", c.contexts["votes"])
		}
		if !strings.HasPrefix(c.text, "BREAK-GLASS R-GLASS1: alice reset prod-db (app_user) for incident INC-42") {
			t.Errorf("notification %q, want it marked BREAK-GLASS with the incident", c.text)
		}
	})

	t.Run("TypedTextShownAsTyped", func(t *testing.T) {
		req := glassRequest("R-GLASS2")
		req.Reason = "*PRE-APPROVED by security* <!channel> R&D `rm`"
		req.Review.Incident = "<!here>&*INC-1*"
		c := card(t, req)
		s := blocksShown(t, c.blocks)
		for _, typed := range []string{req.Reason, req.Review.Incident} {
			if !s.showsLiterally(typed) {
				t.Errorf("the card does not show %q as typed:\n%s", typed, c.blocks)
			}
		}
		if strings.Contains(c.text, "<!here>") || !strings.Contains(c.text, "&lt;!here&gt;&amp;*INC-1*") {
			t.Errorf("notification %q: the incident is not escaped", c.text)
		}
		req.Review.State, req.Review.By, req.Review.At = bot.ReviewRejected, "bob", glassAt.Add(time.Hour)
		req.Review.Reason = "*not* an incident <!channel>"
		if s := blocksShown(t, card(t, req).blocks); !s.showsLiterally(req.Review.Reason) {
			t.Errorf("the card does not show the rejection's reason %q as typed", req.Review.Reason)
		}
	})

	t.Run("Confirmed", func(t *testing.T) {
		req := glassRequest("R-GLASS3")
		req.State = bot.StateSucceeded
		req.Review.State, req.Review.By, req.Review.At = bot.ReviewConfirmed, "bob", time.Date(2026, 12, 4, 14, 2, 0, 0, time.UTC)
		c := card(t, req)
		if !strings.Contains(c.review(), "Confirmed by bob at 2026-12-04 14:02 UTC") {
			t.Errorf("review line %q, want it confirmed by bob at 14:02", c.review())
		}
		if strings.Contains(c.review(), "NEEDS REVIEW") || strings.Contains(c.review(), "due by") || strings.Contains(c.header, "NEEDS REVIEW") {
			t.Errorf("header %q, review line %q: still asks for a review", c.header, c.review())
		}
		if !strings.Contains(c.header, "BREAK-GLASS R-GLASS3") {
			t.Errorf("header %q, want it still marked BREAK-GLASS", c.header)
		}
		if len(c.buttons) != 0 {
			t.Errorf("buttons %v after the review, want none", c.buttonIDs())
		}
	})

	t.Run("RejectedStillExposed", func(t *testing.T) {
		req := glassRequest("R-GLASS4")
		req.State = bot.StateSucceeded
		req.Review.State, req.Review.By, req.Review.At = bot.ReviewRejected, "bob", glassAt.Add(time.Hour)
		req.Review.Reason = "no incident was open"
		req.Review.Rotation = &bot.Rotation{State: bot.RotationPending, Attempts: 2, Error: "the cloud API is unreachable",
			Next: time.Date(2026, 12, 4, 4, 5, 0, 0, time.UTC)}
		c := card(t, req)
		for _, want := range []string{
			"Rejected by bob at 2026-12-04 04:00 UTC: no incident was open",
			"The password shown to alice is STILL VALID (exposed): resetting it again failed (the cloud API is unreachable); next try at 2026-12-04 04:05 UTC",
		} {
			if !strings.Contains(c.review(), want) {
				t.Errorf("review line %q, want %q in it", c.review(), want)
			}
		}
		if len(c.buttons) != 0 {
			t.Errorf("buttons %v after the review, want none", c.buttonIDs())
		}
	})

	t.Run("RotatedAfterOverdue", func(t *testing.T) {
		req := glassRequest("R-GLASS5")
		req.State = bot.StateSucceeded
		req.Review.State, req.Review.By, req.Review.At = bot.ReviewOverdue, "system", glassDue
		req.Review.Rotation = &bot.Rotation{State: bot.RotationDone, Attempts: 1, At: glassDue.Add(time.Minute)}
		c := card(t, req)
		for _, want := range []string{
			"Not confirmed by " + glassSeen + ": overdue",
			"Password reset again at 2026-12-04 07:01 UTC; nobody has it. prod-db is locked until a normal approved request.",
		} {
			if !strings.Contains(c.review(), want) {
				t.Errorf("review line %q, want %q in it", c.review(), want)
			}
		}
		if strings.Contains(c.review(), "STILL VALID") {
			t.Errorf("review line %q says the password is exposed once reset again", c.review())
		}
	})

	t.Run("RejectedBeforeReveal", func(t *testing.T) {
		req := glassRequest("R-GLASS6")
		req.State = bot.StateCancelled
		req.Review.State, req.Review.By, req.Review.At = bot.ReviewRejected, "bob", glassAt.Add(5*time.Minute)
		req.Review.Rotation = &bot.Rotation{State: bot.RotationNone}
		c := card(t, req)
		if !strings.Contains(c.review(), "Rejected by bob at 2026-12-04 03:05 UTC\nNothing was reset, nothing to undo.") {
			t.Errorf("review line %q, want the rejection without a reason, then nothing to undo", c.review())
		}
	})

	t.Run("OnCall", func(t *testing.T) {
		req := glassRequest("R-ONCAL1")
		req.Review.Kind, req.Review.Incident = bot.ReviewOnCall, "#1234"
		req.Review.Detail = "schedule PSCHED1, level 1, incident #1234"
		c := card(t, req)
		if !strings.Contains(c.header, "BREAK-GLASS: AUTO-APPROVED BY PAGERDUTY (on call), NEEDS REVIEW R-ONCAL1") {
			t.Errorf("header %q, want it marked auto-approved by PagerDuty", c.header)
		}
		for _, want := range []string{"BREAK-GLASS: AUTO-APPROVED BY PAGERDUTY (on call): alice is on call, so the vote was skipped. NEEDS REVIEW",
			"Incident: #1234", "PagerDuty: schedule PSCHED1, level 1, incident #1234", "Review due by " + glassSeen} {
			if !strings.Contains(c.review(), want) {
				t.Errorf("review line %q, want %q in it", c.review(), want)
			}
		}
		if got, want := c.buttonIDs(), []string{"confirm", "reject"}; !slices.Equal(got, want) {
			t.Errorf("buttons %v, want %v", got, want)
		}
	})

	t.Run("OfferStatesTheReview", func(t *testing.T) {
		for _, tc := range []struct {
			kind bot.ReviewKind
			by   string
		}{{bot.ReviewBreakGlass, "approved by *break-glass*"}, {bot.ReviewOnCall, "approved by *PagerDuty (on call)*"}} {
			req := glassRequest("R-OFFER3")
			req.Review.Kind = tc.kind
			ref, err := ad.Offer(testCtx(t), people[0], req)
			if err != nil {
				t.Fatalf("Offer: %v", err)
			}
			c := showCard(t, f, ref)
			if !strings.Contains(c.blocks, tc.by) {
				t.Errorf("%s offer: %s, want %q", tc.kind, c.blocks, tc.by)
			}
			if want := "Incident INC-42: approvers review this reset by " + glassSeen +
				". Rejected, or not confirmed by then, the password is reset again, to one nobody sees"; !strings.Contains(c.rich["review"], want) {
				t.Errorf("%s offer's review line %q, want %q", tc.kind, c.rich["review"], want)
			}
			if _, ok := c.buttons["reveal"]; !ok || len(c.buttons) != 1 {
				t.Errorf("%s offer's buttons %v, want Reveal alone", tc.kind, c.buttonIDs())
			}
		}
	})

	t.Run("NoticeOnAPendingCard", func(t *testing.T) {
		req := pending("R-NOTIC1")
		req.Notice = "PagerDuty did not answer: no on-call auto-approval; approvers vote as usual <!channel>"
		c := card(t, req)
		if got := c.contexts["notice"]; !strings.Contains(got, req.Notice) {
			t.Errorf("notice line %q, want %q", got, req.Notice)
		}
		if !blocksShown(t, c.blocks).showsLiterally(req.Notice) {
			t.Errorf("the notice is not shown as written")
		}
		if got, want := c.buttonIDs(), []string{"approve", "deny"}; !slices.Equal(got, want) {
			t.Errorf("buttons %v, want %v", got, want)
		}
		if strings.Contains(c.header, "BREAK-GLASS") || c.review() != "" {
			t.Errorf("a normal request's card is marked as skipping the vote: %q, %q", c.header, c.review())
		}
		if _, ok := c.contexts["votes"]; !ok {
			t.Errorf("the pending card lost its votes line")
		}
	})

	t.Run("NoNoticeNoLine", func(t *testing.T) {
		if c := card(t, pending("R-NOTIC2")); c.contexts["notice"] != "" {
			t.Errorf("notice line %q without a notice", c.contexts["notice"])
		}
	})
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// openForm has user type the bare command and returns the views.open call
// of the form it opens, and the hook where the form's answer goes.
func openForm(t *testing.T, e *env, user string) (slacktest.Call, string) {
	t.Helper()
	before := len(e.slack.CallsOf("views.open"))
	status, body, hook := e.command(user, "")
	if status != http.StatusOK || body != "" {
		t.Fatalf("got %d %q, want an empty 200", status, body)
	}
	e.slack.WaitFor(e.ctx(), "views.open", func([]slacktest.Call) bool { return len(e.slack.CallsOf("views.open")) > before })
	return e.slack.CallsOf("views.open")[before], hook
}

// formErrors reads a view_submission's errors answer.
func formErrors(t testing.TB, status int, body string) map[string]string {
	t.Helper()
	var got struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || status != http.StatusOK || got.ResponseAction != "errors" {
		t.Fatalf("got %d %q, want a 200 with field errors", status, body)
	}
	return got.Errors
}

var tickedBreakGlass = map[string]any{"type": "checkboxes", "selected_options": []any{
	map[string]any{"value": "break-glass", "text": map[string]any{"type": "plain_text", "text": "Break-glass"}}}}

func incidentField(s string) map[string]any {
	return map[string]any{"type": "plain_text_input", "value": s}
}

// TestBreakGlassForm: the request form offers break-glass, and an incident
// field, to whom may break the glass of one of their accounts; ticked, it
// needs a valid incident, shown on the incident field when it is not, and
// sends the service a break-glass command; an incident without the tick
// is refused, not ignored.
func TestBreakGlassForm(t *testing.T) {
	rec := &recorder{}
	e := newEnv(t, withRecorder(rec), func(c *envConfig) { c.accounts = glassAccounts() })
	open, hook := openForm(t, e, alice)
	for _, want := range []string{`"block_id":"break_glass"`, `"type":"checkboxes"`, `"value":"break-glass"`,
		`"block_id":"incident"`, `"max_length":64`, "Only for prod-db."} {
		if !strings.Contains(open.Body, want) {
			t.Errorf("alice's form lacks %s: %s", want, open.Body)
		}
	}
	t.Run("NotOfferedToWhoMayNot", func(t *testing.T) {
		open, _ := openForm(t, e, carol)
		if strings.Contains(open.Body, "break_glass") || strings.Contains(open.Body, `"block_id":"incident"`) {
			t.Errorf("carol, who may not break the glass, is offered it: %s", open.Body)
		}
	})

	fill := func(values map[string]any) map[string]any {
		v := map[string]any{
			"account": map[string]any{"type": "static_select", "selected_option": map[string]any{"value": "prod-db"}},
			"reason":  map[string]any{"type": "plain_text_input", "value": "db down, approvers asleep"},
		}
		for k, x := range values {
			v[k] = x
		}
		return submission(t, alice, open, v)
	}
	refusals := []struct {
		name   string
		values map[string]any
		says   string
	}{
		{"TickedWithoutIncident", map[string]any{"break_glass": tickedBreakGlass}, "An incident reference is required."},
		{"TickedWithBlankIncident", map[string]any{"break_glass": tickedBreakGlass, "incident": incidentField("  ")}, "An incident reference is required."},
		{"IncidentWithASpace", map[string]any{"break_glass": tickedBreakGlass, "incident": incidentField("INC 42")}, "has a space or a character that is not printable"},
		{"IncidentTooLong", map[string]any{"break_glass": tickedBreakGlass, "incident": incidentField(strings.Repeat("I", 65))}, "longer than 64 characters"},
		{"IncidentWithoutTick", map[string]any{"incident": incidentField("INC-42")}, "An incident goes with break-glass only"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			status, body := e.interact(fill(tt.values))
			errs := formErrors(t, status, body)
			if !strings.Contains(errs["incident"], tt.says) || len(errs) != 1 {
				t.Errorf("errors %v, want one, on the incident, saying %q", errs, tt.says)
			}
			if strings.Contains(errs["incident"], "Write:") {
				t.Errorf("error %q: the typed command's usage in a form", errs["incident"])
			}
		})
	}
	e.ad.Wait()
	if got := rec.commands(alice); len(got) != 0 {
		t.Fatalf("refused forms sent the service %+v, want nothing", got)
	}
	if n := len(e.slack.CallsOf("hook")); n != 0 {
		t.Errorf("refused forms were answered %d times through the hook, want only the field errors", n)
	}
	t.Run("ParseIncidentsWords", func(t *testing.T) {
		_, err := bot.ParseIncident("")
		msg, _, _ := strings.Cut(bot.ErrorMessage(err), ". Write:")
		if !strings.EqualFold(msg+".", refusals[0].says) {
			t.Errorf("bot.ParseIncident says %q, the form %q: want the same words", msg, refusals[0].says)
		}
	})

	t.Run("Submitted", func(t *testing.T) {
		sub := fill(map[string]any{"break_glass": tickedBreakGlass, "incident": incidentField(" INC-42 ")})
		if status, body := e.interact(sub); status != http.StatusOK || body != "" {
			t.Fatalf("got %d %q, want an empty 200 that closes the form", status, body)
		}
		if reply := e.slack.Reply(e.ctx(), hook); reply == "" {
			t.Errorf("the form's answer is empty")
		}
		got := rec.commands(alice)
		want := bot.Command{Kind: bot.KindBreakGlass, Account: "prod-db", Incident: "INC-42", Reason: "db down, approvers asleep"}
		if len(got) != 1 || got[0].Kind != want.Kind || got[0].Account != want.Account || got[0].Incident != want.Incident ||
			got[0].Reason != want.Reason || len(got[0].Users) != 0 {
			t.Errorf("the service got %+v, want [%+v]", got, want)
		}
	})

	t.Run("NotTickedAsks", func(t *testing.T) {
		sub := fill(map[string]any{"break_glass": map[string]any{"type": "checkboxes", "selected_options": []any{}},
			"incident": incidentField("")})
		sub["view"].(map[string]any)["id"] = "V-not-ticked"
		if status, body := e.interact(sub); status != http.StatusOK || body != "" {
			t.Fatalf("got %d %q, want an empty 200 that closes the form", status, body)
		}
		e.ad.Wait()
		got := rec.commands(alice)
		if len(got) != 2 || got[1].Kind != bot.KindAsk || got[1].Incident != "" {
			t.Errorf("the service got %+v, want an ask, without an incident, last", got)
		}
	})
}

// TestReviewButtons: Confirm and Reject clicks reach the service as the
// confirm and reject commands of the request on the button, answered to
// the clicker alone; a click Slack delivers twice is handled once, and a
// stranger's is refused in the acknowledgement, as votes are.
func TestReviewButtons(t *testing.T) {
	rec := &recorder{}
	e := newEnv(t, withRecorder(rec))
	for _, tc := range []struct {
		action string
		kind   bot.Kind
	}{{"confirm", bot.KindConfirm}, {"reject", bot.KindReject}} {
		t.Run(tc.action, func(t *testing.T) {
			before := len(rec.commands(bob))
			hook := "bob-" + tc.action
			payload := click(bob, tc.action, "R-ABCDEF", "1700000300."+e.next(), hook, e.slack)
			for range 2 { // delivered twice
				if status, body := e.interact(payload); status != http.StatusOK || body != "" {
					t.Fatalf("click: got %d %q, want an empty 200", status, body)
				}
			}
			if reply := e.slack.Reply(e.ctx(), hook); reply == "" {
				t.Errorf("the click's answer is empty")
			}
			e.ad.Wait()
			got := rec.commands(bob)[before:]
			if len(got) != 1 || got[0].Kind != tc.kind || got[0].ID != "R-ABCDEF" || got[0].Reason != "" {
				t.Errorf("the service got %+v, want one %s of R-ABCDEF", got, tc.kind)
			}
			for _, c := range e.slack.CallsOf("hook") {
				if c.Hook == hook && c.Get("response_type") != "ephemeral" {
					t.Errorf("the answer to the click is not ephemeral: %s", c.Body)
				}
			}
		})
	}
	t.Run("Stranger", func(t *testing.T) {
		status, body := e.interact(click(mallory, "reject", "R-ABCDEF", "1700000400.000001", "mallory-reject", e.slack))
		if status != http.StatusForbidden || !strings.Contains(body, "not in resetbot's list of people") {
			t.Errorf("mallory clicks Reject: got %d %q, want 403 saying she is not in the list of people", status, body)
		}
	})
	t.Run("NoRequestID", func(t *testing.T) {
		if status, _ := e.interact(click(bob, "confirm", "INC-42", "1700000500.000001", "bob-bad", e.slack)); status != http.StatusBadRequest {
			t.Errorf("a Confirm without a request ID: got %d, want 400", status)
		}
	})
}

// TestReviewCommandsTyped: the typed break-glass, confirm and reject
// commands reach the service as parsed, none held back by the adapter.
func TestReviewCommandsTyped(t *testing.T) {
	rec := &recorder{}
	e := newEnv(t, withRecorder(rec), func(c *envConfig) { c.accounts = glassAccounts() })
	tests := []struct {
		user, text string
		want       bot.Command
	}{
		{alice, "break-glass prod-db INC-42 db down &amp; approvers asleep",
			bot.Command{Kind: bot.KindBreakGlass, Account: "prod-db", Incident: "INC-42", Reason: "db down & approvers asleep"}},
		{bob, "confirm R-ABCDEF", bot.Command{Kind: bot.KindConfirm, ID: "R-ABCDEF"}},
		{bob, "reject R-ABCDEF no incident was open", bot.Command{Kind: bot.KindReject, ID: "R-ABCDEF", Reason: "no incident was open"}},
	}
	for _, tt := range tests {
		before := len(rec.commands(tt.user))
		status, body, hook := e.command(tt.user, tt.text)
		if status != http.StatusOK || body != "" {
			t.Errorf("%s: got %d %q, want an empty 200", tt.text, status, body)
			continue
		}
		e.slack.Reply(e.ctx(), hook)
		got := rec.commands(tt.user)[before:]
		if len(got) != 1 || got[0].Kind != tt.want.Kind || got[0].ID != tt.want.ID || got[0].Account != tt.want.Account ||
			got[0].Incident != tt.want.Incident || got[0].Reason != tt.want.Reason {
			t.Errorf("%s: the service got %+v, want [%+v]", tt.text, got, tt.want)
		}
	}
}
