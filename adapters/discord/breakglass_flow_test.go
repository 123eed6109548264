package discord_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"resetbot/adapters/discord/discordtest"
	"resetbot/bot"
)

// These tests run the whole break-glass story through the real service
// and store: they need the service's break-glass, confirm and reject.

// breakGlassEnv is an env where the eng group (alice, bob, carol) may
// reset prod-db without a vote, reviewed within an hour.
func breakGlassEnv(t *testing.T) *env {
	t.Helper()
	accts := slices.Clone(accounts)
	accts[0].BreakGlass = &bot.BreakGlass{Who: []string{"eng"}, ReviewWithin: time.Hour}
	return newEnvWith(t, accts)
}

// breakGlass has alice reset prod-db for INC-42 and returns the request,
// once its card is in Discord.
func (e *env) breakGlass() (bot.Request, map[string]any) {
	e.t.Helper()
	i := e.slash(alice, "break-glass", "account", "prod-db", "incident", "INC-42", "reason", "primary is down")
	a := e.mustSend(i)
	id := idRE.FindString(a.Content())
	if id == "" {
		e.t.Fatalf("break-glass: got %q, want the new request's ID", a.Content())
	}
	req, err := e.store.Get(e.ctx, id)
	if err != nil || req.Review == nil || req.Review.Kind != bot.ReviewBreakGlass || req.Review.Incident != "INC-42" || !req.Reviewable() {
		e.t.Fatalf("request: got %+v %v, want a break-glass for INC-42 open for review", req, err)
	}
	e.fake.Wait(e.ctx, "the break-glass card", func(c discordtest.Call) bool {
		return isCardPost(c) && strings.Contains(c.Raw, id)
	})
	return req, i
}

// cardNow is id's card as it stands in Discord.
func (e *env) cardNow(id string) (text string, buttons []string) {
	e.t.Helper()
	req, err := e.store.Get(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	m, ok := e.fake.Message(req.Refs[bot.Ref(bot.RefCard, bot.PlatformDiscord)])
	if !ok {
		e.t.Fatalf("the card of %s is not in Discord", id)
	}
	return strings.ReplaceAll(toJSON(m["embeds"]), `\u003c`, "<"), customIDs(m)
}

// cardSays waits for an edit of id's card whose embed says all of says.
func cardSays(id string, says ...string) func(discordtest.Call) bool {
	return func(c discordtest.Call) bool {
		if !isCardEdit(c) || !strings.Contains(c.Raw, id) {
			return false
		}
		txt := embedText(c)
		for _, s := range says {
			if !strings.Contains(txt, s) {
				return false
			}
		}
		return true
	}
}

// TestBreakGlassConfirmed: alice's break-glass reset is offered to her at
// once and its card, marked BREAK-GLASS with the incident, has Confirm and
// Reject and no Approve or Deny; alice cannot confirm it herself, carol
// (no approver) cannot; bob's Confirm closes the review, and the card says
// so without buttons.
func TestBreakGlassConfirmed(t *testing.T) {
	e := breakGlassEnv(t)
	req, _ := e.breakGlass()
	id := req.ID
	e.fake.Wait(e.ctx, "the Reveal offer in alice's DMs", isOffer(id))
	text, buttons := e.cardNow(id)
	if !strings.Contains(text, "BREAK-GLASS") || !strings.Contains(text, "INC-42") || !strings.Contains(text, "primary is down") {
		t.Errorf("card: got %s, want BREAK-GLASS, the incident and the reason", text)
	}
	if want := []string{"confirm:" + id, "reject:" + id}; !slices.Equal(buttons, want) {
		t.Errorf("card's buttons: got %v, want %v", buttons, want)
	}

	for _, who := range []string{alice, carol} {
		e.mustSend(e.click(who, "confirm:"+id))
		if got, _ := e.store.Get(e.ctx, id); !got.Reviewable() {
			t.Fatalf("after %s's Confirm: review %+v, want still open", who, got.Review)
		}
	}
	e.mustSend(e.click(bob, "confirm:"+id))
	got, err := e.store.Get(e.ctx, id)
	if err != nil || got.Review.State != bot.ReviewConfirmed || got.Review.By != "bob" {
		t.Fatalf("after bob's Confirm: review %+v %v, want confirmed by bob", got.Review, err)
	}
	edit := e.fake.Wait(e.ctx, "the card confirmed", cardSays(id, "Confirmed by bob"))
	if ids := customIDs(edit.Body); len(ids) != 0 {
		t.Errorf("buttons on the confirmed card: got %v, want none", ids)
	}
}

// TestBreakGlassRejectedRotated: alice reveals her break-glass reset; bob
// rejects it through the Reject form with a reason; the card says so and,
// once the sweeper reset the password again, that nobody has it. The
// second password reaches no one: it is in no call to Discord at all.
func TestBreakGlassRejectedRotated(t *testing.T) {
	e := breakGlassEnv(t)
	req, _ := e.breakGlass()
	id := req.ID
	offer := e.fake.Wait(e.ctx, "the Reveal offer in alice's DMs", isOffer(id))
	e.reveal(alice, id, msgID(offer))
	shown := e.passwords()
	if len(shown) != 1 {
		t.Fatalf("passwords after Reveal: got %d, want 1", len(shown))
	}

	if modal := e.send(e.click(bob, "reject:"+id)); modal.Type() != 9 {
		t.Fatalf("Reject: got %s, want its form (type 9)", modal.Raw)
	}
	e.handled(e.submit(bob, "reject:"+id, "not an incident"))
	got, err := e.store.Get(e.ctx, id)
	if err != nil || got.Review.State != bot.ReviewRejected || got.Review.By != "bob" || got.Review.Reason != "not an incident" {
		t.Fatalf("after bob's Reject: review %+v %v, want rejected by bob with his reason", got.Review, err)
	}
	e.fake.Wait(e.ctx, "the card rejected", cardSays(id, "Rejected by bob", "not an incident"))

	// The rotation runs in the sweeper; each sweep a minute later, until
	// it is done (a bounded number of sweeps, not a wait).
	for range 10 {
		if got, _ = e.store.Get(e.ctx, id); got.Review.Rotation != nil && got.Review.Rotation.State == bot.RotationDone {
			break
		}
		e.clock.Advance(time.Minute)
		e.svc.Sweep(e.ctx)
	}
	if got.Review.Rotation == nil || got.Review.Rotation.State != bot.RotationDone {
		t.Fatalf("rotation: got %+v, want done", got.Review.Rotation)
	}
	e.fake.Wait(e.ctx, "the card saying nobody has the password", cardSays(id, "nobody has the password"))
	text, buttons := e.cardNow(id)
	if strings.Contains(text, "STILL EXPOSED") || len(buttons) != 0 {
		t.Errorf("card once rotated: got %s %v, want neither STILL EXPOSED nor buttons", text, buttons)
	}

	all := e.passwords()
	if len(all) != 1 || all[0] == shown[0] {
		t.Fatalf("password now: got %d, want one new one", len(all))
	}
	for _, c := range e.fake.Calls() {
		if strings.Contains(c.Raw, all[0]) {
			t.Errorf("the rotated password is in a call to Discord: %s %s", c.Method, c.Path)
		}
	}
	e.checkSecrets(append(all, shown...))
}
