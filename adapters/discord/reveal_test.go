package discord_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"resetbot/adapters/discord"
	"resetbot/bot"
)

// revealer is the service with the proposed Reveal: it resets at the click.
type revealer struct {
	*bot.Service
	prov *recorder

	mu    sync.Mutex
	calls int
}

func (r *revealer) Reveal(ctx context.Context, a bot.Actor, id string) ([]bot.UserResult, error) {
	r.mu.Lock()
	r.calls++
	r.mu.Unlock()
	p, ok := r.Person(a.Platform, a.UserID)
	if !ok || p.Name != "alice" {
		return nil, bot.Errorf(bot.EFORBIDDEN, "only alice, who asked, can reveal %s", id)
	}
	return r.prov.Reset(ctx, accounts[0], []string{"app_user"})
}

var _ discord.Revealer = (*revealer)(nil)

// dmClick is a click on a button of the bot's direct message to user.
func (e *env) dmClick(user, customID, messageID string) map[string]any {
	i := e.interaction(user, 3, map[string]any{"custom_id": customID, "component_type": 2})
	delete(i, "member")
	delete(i, "guild_id")
	i["user"] = map[string]any{"id": user, "username": "user" + user}
	i["channel_id"] = "dm-" + user
	i["message"] = map[string]any{"id": messageID, "channel_id": "dm-" + user}
	return i
}

func TestCanDeliver(t *testing.T) {
	e := newEnv(t)
	i := e.slash(alice, "ask")
	req := pendingRequest("R-222222")
	req.CreatedAt = e.clock.Now()
	req.Refs = map[string]string{discord.RefInteraction: tokenOf(i)}
	for _, tc := range []struct {
		after time.Duration
		want  bool
	}{{0, true}, {12 * time.Minute, true}, {13 * time.Minute, false}, {16 * time.Minute, false}} {
		clk := newClock()
		clk.now = req.CreatedAt.Add(tc.after)
		o := adapterOptions(e.fake, clk, e.logs)
		a, err := discord.New(o)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.CanDeliver(req); got != tc.want {
			t.Errorf("CanDeliver %s after the ask: got %v, want %v", tc.after, got, tc.want)
		}
	}
	noToken := req
	noToken.Refs = nil
	if e.ad.CanDeliver(noToken) {
		t.Errorf("CanDeliver without a token: got true, want false")
	}
}

// TestReveal drives the adapter's half of resetting at the requester's click:
// Offer sends a direct message with no password, and the click answers with
// the password ephemerally.
func TestReveal(t *testing.T) {
	e := newEnv(t)
	rv := &revealer{Service: e.svc, prov: e.prov}
	e.ad.Attach(rv)
	req := pendingRequest("R-222222")
	req.State = bot.StateApproved

	if err := e.ad.Offer(e.ctx, people[0], req); err != nil {
		t.Fatalf("Offer: %v", err)
	}
	dm := e.fake.wait(e.ctx, "the offer", isDM(alice))
	if ids := customIDs(dm.Body); len(ids) != 1 || ids[0] != "reveal:R-222222" {
		t.Fatalf("offer buttons: got %v, want reveal:R-222222", ids)
	}
	msgID, _ := dm.Resp["id"].(string)
	if msgID == "" {
		t.Fatalf("offer: no message ID in %v", dm.Resp)
	}

	t.Run("OthersCannotReveal", func(t *testing.T) {
		a := e.mustSend(e.dmClick(bob, "reveal:R-222222", msgID))
		if !strings.Contains(a.Content(), "only alice") {
			t.Errorf("answer: got %q, want bob refused", a.Content())
		}
		if e.prov.Calls() != 0 {
			t.Errorf("provider calls: got %d, want 0", e.prov.Calls())
		}
	})

	t.Run("TheRequesterSeesThePassword", func(t *testing.T) {
		a := e.mustSend(e.dmClick(alice, "reveal:R-222222", msgID))
		pws := e.prov.Passwords()
		if len(pws) != 1 || !strings.Contains(a.Content(), pws[0]) {
			t.Fatalf("answer: got %q, want the new password", a.Content())
		}
		edit := e.fake.wait(e.ctx, "the offer without its button", func(c call) bool {
			return c.Method == "PATCH" && c.Path == "channels/dm-"+alice+"/messages/"+msgID
		})
		if comps, ok := edit.Body["components"].([]any); !ok || len(comps) != 0 {
			t.Errorf("offer after the reveal: got components %v, want []", edit.Body["components"])
		}
		e.ad.Wait()
		e.checkSecrets(pws)
	})

	t.Run("WithoutRevealer", func(t *testing.T) {
		e.ad.Attach(e.svc)
		a := e.mustSend(e.dmClick(alice, "reveal:R-222222", msgID))
		if !strings.Contains(a.Content(), "not available") {
			t.Errorf("answer: got %q, want Reveal said unavailable", a.Content())
		}
	})
}
