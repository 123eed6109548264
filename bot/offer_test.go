package bot_test

import (
	"strings"
	"testing"
	"time"

	"resetbot/bot"
)

// TestServiceNothingResetAtApproval: whatever the platforms, approval only
// offers. The offer goes to the requester on the platform they asked
// from, whoever approved where, with the account's RevealWithin; the reset
// waits for the click, whose answer may come on that platform.
func TestServiceNothingResetAtApproval(t *testing.T) {
	tests := []struct {
		name            string
		asked, approved bot.Platform
	}{
		{"SlackRequestApprovedInDiscord", bot.PlatformSlack, bot.PlatformDiscord},
		{"DiscordRequestApprovedInSlack", bot.PlatformDiscord, bot.PlatformSlack},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(o *bot.Options) {
				o.Accounts[0].RevealWithin = 10 * time.Minute
			})
			e.runExecutor(e.svc, "only")
			id := e.ask(as("alice", tc.asked), "prod-db locked out")
			e.mustDo(as("bob", tc.approved), "approve "+id)
			e.waitOffer(id)
			if n := e.prov.calls.Load(); n != 0 {
				t.Fatalf("provider calls at approval: got %d, want 0", n)
			}
			offers := 0
			for _, s := range e.chat.all() {
				if s.Kind != "offer" {
					continue
				}
				offers++
				if s.Platform != tc.asked || s.Audience != "alice" {
					t.Errorf("offer: on %s to %s, want on %s to alice", s.Platform, s.Audience, tc.asked)
				}
			}
			if offers != 1 {
				t.Errorf("offers: got %d, want 1", offers)
			}
			req := e.wantState(id, bot.StateOffered)
			if want := e.clock.Now().Add(10 * time.Minute); !req.RevealBy.Equal(want) {
				t.Errorf("reveal by: got %v, want %v (the account's reveal_within)", req.RevealBy, want)
			}
			e.wantTold("alice", id, "valid for 10m")
			for _, s := range e.chat.all() {
				if s.Kind == "notify" && s.Platform != tc.asked {
					t.Errorf("told on %s, want only on %s, where alice asked: %q", s.Platform, tc.asked, s.Text)
				}
			}
			var sh show
			if err := e.svc.Reveal(e.ctx, as("alice", tc.asked), id, sh.fn); err != nil {
				t.Fatalf("Reveal on %s: %v", tc.asked, err)
			}
			e.wantState(id, bot.StateSucceeded)
			e.wantCardState(id, bot.StateSucceeded)
			e.waitWithdrawn(id, bot.StateSucceeded)
			if n := e.prov.calls.Load(); n != 1 || sh.calls != 1 {
				t.Errorf("provider calls, answers: %d, %d; want 1, 1", n, sh.calls)
			}
		})
	}
}

// TestServiceOfferNeedsThePlatform: a request asked from a platform this
// bot no longer runs cannot be offered there; it fails, unreset, saying so.
func TestServiceOfferNeedsThePlatform(t *testing.T) {
	e := newEnv(t)
	e.runExecutor(e.svc, "only")
	id := e.ask(as("alice", bot.PlatformConsole), "prod-db locked out")
	e.mustDo(as("bob", bot.PlatformSlack), "approve "+id)
	if err := e.chat.waitFor(e.ctx, "the failure on the cards", func(all []shown) bool {
		for _, s := range all {
			if s.Kind == "card" && s.Request.ID == id && s.Request.State == bot.StateFailed {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatal(err)
	}
	req := e.wantState(id, bot.StateFailed)
	if !strings.HasPrefix(req.Outcome, "not reset: console is not configured") || !strings.Contains(req.Outcome, "ask again") {
		t.Errorf("outcome: got %q, want it not reset, saying why, and to ask again", req.Outcome)
	}
	if n := e.prov.calls.Load(); n != 0 {
		t.Errorf("provider calls: got %d, want 0", n)
	}
	if n := e.chat.count("offer", nil); n != 0 {
		t.Errorf("offers: got %d, want 0", n)
	}
}
