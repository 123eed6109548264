package slack_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"resetbot/adapters/slack/slacktest"
	"resetbot/bot"
)

var requestID = regexp.MustCompile(`R-[2-9A-Z]{6}`)

// breakGlass has alice break the glass of prod-db by the typed command and
// returns the request ID and its card's reference.
func breakGlass(t *testing.T, e *env) (id, card string) {
	t.Helper()
	status, body, hook := e.command(alice, "break-glass prod-db INC-42 db down, approvers asleep")
	if status != http.StatusOK || body != "" {
		t.Fatalf("break-glass: got %d %q, want an empty 200", status, body)
	}
	reply := e.slack.Reply(e.ctx(), hook)
	if id = requestID.FindString(reply); id == "" {
		t.Fatalf("the reply to break-glass %q names no request", reply)
	}
	req := e.request(id)
	if req.Review == nil || req.Review.Kind != bot.ReviewBreakGlass || req.Review.State != bot.ReviewOpen || req.Review.Incident != "INC-42" {
		t.Fatalf("%s's review: %+v, want an open break-glass review of INC-42", id, req.Review)
	}
	card = req.Refs[bot.Ref(bot.RefCard, bot.PlatformSlack)]
	if card == "" {
		t.Fatalf("%s has no card", id)
	}
	return id, card
}

// waitCard waits until the card at ref shows what ok looks for.
func waitCard(t *testing.T, e *env, ref, what string, ok func(cardShown) bool) cardShown {
	t.Helper()
	var c cardShown
	e.slack.WaitFor(e.ctx(), what, func([]slacktest.Call) bool {
		c = showCard(t, e.slack, ref)
		return ok(c)
	})
	return c
}

// TestBreakGlassConfirmedOverSlack: alice breaks the glass; the card is
// marked BREAK-GLASS with Confirm and Reject; her own Confirm is refused;
// bob's confirms it, and the card says so, without buttons.
func TestBreakGlassConfirmedOverSlack(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.accounts = glassAccounts() })
	id, card := breakGlass(t, e)
	c := showCard(t, e.slack, card)
	if !strings.Contains(c.header, "BREAK-GLASS") || !strings.Contains(c.header, id) || !strings.Contains(c.review(), "Incident: INC-42") {
		t.Errorf("card: header %q, review %q; want BREAK-GLASS and the incident", c.header, c.review())
	}
	if got, want := c.buttonIDs(), []string{"confirm", "reject"}; !slices.Equal(got, want) {
		t.Errorf("buttons %v, want %v", got, want)
	}
	e.slack.WaitFor(e.ctx(), "the Reveal offer to alice", func(cs []slacktest.Call) bool {
		for _, c := range cs {
			if c.Method == "chat.postMessage" && strings.Contains(c.Get("blocks"), `"action_id":"reveal"`) && strings.Contains(c.Get("blocks"), id) {
				return true
			}
		}
		return false
	})

	e.interact(click(alice, "confirm", id, "1700000600.000001", "alice-confirm", e.slack))
	e.slack.Reply(e.ctx(), "alice-confirm")
	if r := e.request(id).Review; r.State != bot.ReviewOpen {
		t.Fatalf("after alice confirms her own break-glass: review %s by %s, want still open", r.State, r.By)
	}

	e.interact(click(bob, "confirm", id, "1700000700.000001", "bob-confirm", e.slack))
	if reply := e.slack.Reply(e.ctx(), "bob-confirm"); !strings.Contains(reply, id) {
		t.Errorf("bob's answer %q does not name %s", reply, id)
	}
	if r := e.request(id).Review; r.State != bot.ReviewConfirmed || r.By != "bob" {
		t.Fatalf("after bob confirms: review %s by %s, want confirmed by bob", r.State, r.By)
	}
	c = waitCard(t, e, card, "the card to say bob confirmed", func(c cardShown) bool {
		return strings.Contains(c.review(), "Confirmed by bob")
	})
	if len(c.buttons) != 0 {
		t.Errorf("buttons %v once confirmed, want none", c.buttonIDs())
	}
}

// TestBreakGlassRejectedOverSlack: bob's Reject, before alice revealed
// anything, ends the review; the card says who rejected it, and has no
// buttons left.
func TestBreakGlassRejectedOverSlack(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.accounts = glassAccounts() })
	id, card := breakGlass(t, e)
	e.interact(click(bob, "reject", id, "1700000800.000001", "bob-reject", e.slack))
	e.slack.Reply(e.ctx(), "bob-reject")
	if r := e.request(id).Review; r.State != bot.ReviewRejected || r.By != "bob" {
		t.Fatalf("after bob rejects: review %s by %s, want rejected by bob", r.State, r.By)
	}
	c := waitCard(t, e, card, "the card to say bob rejected it", func(c cardShown) bool {
		return strings.Contains(c.review(), "Rejected by bob")
	})
	if len(c.buttons) != 0 {
		t.Errorf("buttons %v once rejected, want none", c.buttonIDs())
	}
	if n := e.resets(); n != 0 {
		t.Errorf("calls to the cloud API: %d, want none (nothing was revealed, so nothing to reset again)", n)
	}
}

// TestBreakGlassFormOverSlack: break-glass from the request form makes the
// same request as the typed command.
func TestBreakGlassFormOverSlack(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.accounts = glassAccounts() })
	open, hook := openForm(t, e, alice)
	e.interact(submission(t, alice, open, map[string]any{
		"account":     map[string]any{"type": "static_select", "selected_option": map[string]any{"value": "prod-db"}},
		"break_glass": tickedBreakGlass,
		"incident":    incidentField("INC-42"),
		"reason":      map[string]any{"type": "plain_text_input", "value": "db down"},
	}))
	reply := e.slack.Reply(e.ctx(), hook)
	id := requestID.FindString(reply)
	if id == "" {
		t.Fatalf("the form's answer %q names no request", reply)
	}
	req := e.request(id)
	if req.Review == nil || req.Review.Kind != bot.ReviewBreakGlass || req.Review.Incident != "INC-42" || req.Reason != "db down" {
		t.Errorf("%s: review %+v, reason %q; want a break-glass review of INC-42 for %q", id, req.Review, req.Reason, "db down")
	}
}
