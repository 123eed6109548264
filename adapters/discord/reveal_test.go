package discord_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"resetbot/adapters/discord"
	"resetbot/adapters/discord/discordtest"
	"resetbot/bot"
)

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

// reveal clicks Reveal as user, insists on an ephemeral deferred answer (no
// reset may run before the click has somewhere to show its password), and
// returns the text that replaced it.
func (e *env) reveal(user, id, messageID string) string {
	e.t.Helper()
	i := e.dmClick(user, "reveal:"+id, messageID)
	a := e.send(i)
	if a.Status != 200 || a.Type() != 5 || !a.Ephemeral() {
		e.t.Fatalf("answer to Reveal: got %d %s, want 200 with an ephemeral deferral (type 5, flag 64)", a.Status, a.Raw)
	}
	return content(e.fake.Wait(e.ctx, "the answer to "+user+"'s Reveal", isEditOriginal(tokenOf(i))))
}

// lateApproval has alice ask for prod-db, bob approve it 16 minutes later,
// when her interaction token can no longer carry a password, and returns
// the request and the offer in her direct messages.
func (e *env) lateApproval() (string, map[string]any, discordtest.Call) {
	e.t.Helper()
	id, ask := e.ask(alice, "prod-db")
	e.clock.Advance(16 * time.Minute)
	e.mustSend(e.click(bob, "approve:"+id))
	offer := e.fake.Wait(e.ctx, "the Reveal offer in alice's DMs", func(c discordtest.Call) bool {
		return isDM(alice)(c) && len(customIDs(c.Body)) > 0
	})
	if ids := customIDs(offer.Body); len(ids) != 1 || ids[0] != "reveal:"+id {
		e.t.Fatalf("offer buttons: got %v, want reveal:%s", ids, id)
	}
	if by := fmt.Sprintf("before <t:%d:t>", e.clock.Now().Add(30*time.Minute).Unix()); !strings.Contains(content(offer), by) {
		e.t.Errorf("offer: got %q, want it to say %q", content(offer), by)
	}
	return id, ask, offer
}

func msgID(c discordtest.Call) string { s, _ := c.Resp["id"].(string); return s }

func TestCanDeliver(t *testing.T) {
	e := newEnv(t)
	i := e.slash(alice, "ask")
	req := pendingRequest("R-222222")
	req.CreatedAt = e.clock.Now()
	req.Refs = map[bot.RefKey]string{bot.Ref(bot.RefInteraction, bot.PlatformDiscord): tokenOf(i)}
	for _, tc := range []struct {
		after time.Duration
		want  bool
	}{{0, true}, {12 * time.Minute, true}, {13 * time.Minute, false}, {16 * time.Minute, false}} {
		clk := newClock()
		clk.Set(req.CreatedAt.Add(tc.after))
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

// TestRevealAfterTheTokenExpired: approved after alice's interaction token
// ran out, the request is not reset but offered in a DM; her click on Reveal
// runs the reset and shows the password in the click's ephemeral answer.
func TestRevealAfterTheTokenExpired(t *testing.T) {
	e := newEnv(t)
	id, ask, offer := e.lateApproval()

	e.fake.Wait(e.ctx, "the card saying it waits for Reveal", func(c discordtest.Call) bool {
		return cardState("Approved")(c) && strings.Contains(embedText(c), "press Reveal")
	})
	req, err := e.store.Get(e.ctx, id)
	if err != nil || req.State != bot.StateOffered || !req.RevealBy.Equal(e.clock.Now().Add(30*time.Minute)) {
		t.Fatalf("request after the offer: got %s, reveal by %s (%v), want offered, reveal by the clock + the account's TTL",
			req.State, req.RevealBy, err)
	}
	if n := e.resets(); n != 0 {
		t.Fatalf("resets before the click: got %d, want 0", n)
	}
	if n := e.fake.Count(isFollowup(tokenOf(ask))); n != 0 {
		t.Errorf("follow-ups on the expired token: got %d, want 0", n)
	}
	e.fake.Wait(e.ctx, "alice told a Reveal button is coming", func(c discordtest.Call) bool {
		return isDM(alice)(c) && strings.Contains(content(c), "send you a Reveal button")
	})

	t.Run("OthersCannotReveal", func(t *testing.T) {
		if got := e.reveal(bob, id, msgID(offer)); !strings.Contains(got, "only alice") {
			t.Errorf("answer: got %q, want bob refused", got)
		}
		if n := e.resets(); n != 0 {
			t.Errorf("resets: got %d, want 0", n)
		}
	})

	t.Run("TheRequesterSeesThePassword", func(t *testing.T) {
		got := e.reveal(alice, id, msgID(offer))
		pws := e.passwords()
		if len(pws) != 1 || !strings.Contains(got, pws[0]) {
			t.Fatalf("answer: got %q, want the new password", got)
		}
		e.wantWithdrawn(offer, "succeeded")
		e.fake.Wait(e.ctx, "the card edited to done", cardState("Done"))
		req, err := e.store.Get(e.ctx, id)
		if err != nil || req.State != bot.StateSucceeded || !req.RevealBy.IsZero() {
			t.Errorf("request: got %s, reveal by %s (%v), want succeeded", req.State, req.RevealBy, err)
		}
		events, err := e.store.AuditLog(e.ctx, bot.AuditQuery{RequestID: id})
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, ev := range events {
			kinds = append(kinds, string(ev.Kind))
		}
		want := "requested voted approved executing offered refused executing delivered succeeded"
		if got := strings.Join(kinds, " "); got != want {
			t.Errorf("audit: got %s, want %s", got, want)
		}
		e.ad.Wait()
		e.checkSecrets(pws)
	})

	t.Run("OnlyOnce", func(t *testing.T) {
		if got := e.reveal(alice, id, msgID(offer)); !strings.Contains(got, "succeeded") {
			t.Errorf("second click: got %q, want it already succeeded", got)
		}
		if n := e.resets(); n != 1 {
			t.Errorf("resets: got %d, want 1", n)
		}
		e.ad.Wait()
		e.checkSecrets(e.passwords())
	})
}

// TestRevealExpires: an offer nobody takes up expires with the account's
// TTL, and its button no longer resets anything.
func TestRevealExpires(t *testing.T) {
	e := newEnv(t)
	id, _, offer := e.lateApproval()
	e.fake.Wait(e.ctx, "the card saying it waits for Reveal", func(c discordtest.Call) bool {
		return cardState("Approved")(c) && strings.Contains(embedText(c), "press Reveal")
	})
	e.clock.Advance(30 * time.Minute)
	e.svc.Sweep(e.ctx)
	req, err := e.store.Get(e.ctx, id)
	if err != nil || req.State != bot.StateExpired || !strings.Contains(req.Outcome, "did not press Reveal") {
		t.Fatalf("request: got %s %q (%v), want expired, saying Reveal was not pressed", req.State, req.Outcome, err)
	}
	e.fake.Wait(e.ctx, "the card edited to expired", cardState("Expired"))
	e.wantWithdrawn(offer, "expired")
	if got := e.reveal(alice, id, msgID(offer)); !strings.Contains(got, "expired") {
		t.Errorf("late click: got %q, want it expired", got)
	}
	if n := e.resets(); n != 0 {
		t.Errorf("resets: got %d, want 0", n)
	}
	// She may ask again at once: the expired request is no longer open; and
	// she may withdraw an offer she no longer wants.
	id, _ = e.ask(alice, "prod-db")
	e.clock.Advance(16 * time.Minute)
	e.mustSend(e.click(bob, "approve:"+id))
	offer = e.fake.Wait(e.ctx, "the second offer", func(c discordtest.Call) bool {
		return isDM(alice)(c) && slices.Contains(customIDs(c.Body), "reveal:"+id)
	})
	waitFor(t, e.ctx, "the offer's reference", func() bool {
		req, err := e.store.Get(e.ctx, id)
		return err == nil && req.Refs["offer.discord"] != ""
	})
	if a := e.mustSend(e.slash(alice, "cancel", "id", id)); !strings.Contains(a.Content(), "cancelled") {
		t.Errorf("cancel: got %q", a.Content())
	}
	e.wantWithdrawn(offer, "cancelled")
	if n := e.resets(); n != 0 {
		t.Errorf("resets: got %d, want 0", n)
	}
}

// wantWithdrawn waits for the offer's DM to lose its button and say state.
func (e *env) wantWithdrawn(offer discordtest.Call, state string) {
	e.t.Helper()
	e.fake.Wait(e.ctx, "the offer withdrawn as "+state, func(c discordtest.Call) bool {
		comps, ok := c.Body["components"].([]any)
		return c.Method == "PATCH" && c.Path == "channels/dm-"+alice+"/messages/"+msgID(offer) &&
			ok && len(comps) == 0 && strings.Contains(content(c), state)
	})
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestRevealWhenTheResetFails: the click answers with the cloud's refusal,
// the request fails, and nothing is left to reveal.
func TestRevealWhenTheResetFails(t *testing.T) {
	e := newEnv(t)
	id, _, offer := e.lateApproval()
	e.fake.Wait(e.ctx, "the card saying it waits for Reveal", cardState("Approved"))
	e.cloud.Emulator.Fail("ResetUserPassword", "ResourceNotFound", 1)
	if got := e.reveal(alice, id, msgID(offer)); !strings.Contains(got, id+" failed") {
		t.Errorf("answer: got %q, want the failure", got)
	}
	req, err := e.store.Get(e.ctx, id)
	if err != nil || req.State != bot.StateFailed {
		t.Errorf("request: got %s (%v), want failed", req.State, err)
	}
	e.fake.Wait(e.ctx, "the card edited to failed", cardState("Failed"))
	if n := e.resets(); n != 0 {
		t.Errorf("resets: got %d, want 0", n)
	}
}

// TestRevealOfferUndeliverable: when the DM cannot be sent (alice does not
// take DMs from the server), nothing is reset and the request fails saying
// so, rather than wait for a click that cannot come.
func TestRevealOfferUndeliverable(t *testing.T) {
	e := newEnv(t)
	e.fake.SetFault(func(c discordtest.Call) *discordtest.Fault {
		if isPostTo("channels/dm-" + alice + "/messages")(c) {
			return &discordtest.Fault{Status: 403, Body: `{"message": "Cannot send messages to this user", "code": 50007}`}
		}
		return nil
	})
	id, _ := e.ask(alice, "prod-db")
	e.clock.Advance(16 * time.Minute)
	e.mustSend(e.click(bob, "approve:"+id))
	e.fake.Wait(e.ctx, "the card edited to failed", cardState("Failed"))
	req, err := e.store.Get(e.ctx, id)
	if err != nil || req.State != bot.StateFailed || !strings.Contains(req.Outcome, "Reveal button could not be sent") {
		t.Errorf("request: got %s %q (%v), want failed, saying the Reveal button could not be sent", req.State, req.Outcome, err)
	}
	if n := e.resets(); n != 0 {
		t.Errorf("resets: got %d, want 0", n)
	}
}

// TestRevealAnswerLost: over HTTP the deferral is only written into the
// response. When Discord never takes it (too late, the connection dropped),
// the click has nowhere to show a password, so nothing is reset and the
// button stays for another try.
func TestRevealAnswerLost(t *testing.T) {
	e := newEnv(t)
	id, _, offer := e.lateApproval()
	e.fake.Wait(e.ctx, "the card saying it waits for Reveal", cardState("Approved"))

	i := e.dmClick(alice, "reveal:"+id, msgID(offer))
	body, err := json.Marshal(i)
	if err != nil {
		t.Fatal(err)
	}
	ts := strconv.FormatInt(e.clock.Now().Unix(), 10)
	if a := e.post(body, ts, sign(e.key, ts, body), nil); a.Status != 200 || a.Type() != 5 { // nil: Discord never sees the answer
		t.Fatalf("answer: got %d %s, want a deferral", a.Status, a.Raw)
	}
	e.ad.Wait()
	if n := e.resets(); n != 0 {
		t.Errorf("resets: got %d, want 0", n)
	}
	if req, err := e.store.Get(e.ctx, id); err != nil || req.State != bot.StateOffered || req.RevealBy.IsZero() {
		t.Errorf("request: got %s, reveal by %v (%v); want still waiting for Reveal", req.State, req.RevealBy, err)
	}
	if n := e.fake.Count(func(c discordtest.Call) bool { return c.Method == "PATCH" && strings.HasPrefix(c.Path, "channels/dm-") }); n != 0 {
		t.Errorf("edits of the offer: got %d, want 0 (the button stays)", n)
	}
	if !strings.Contains(e.logs.String(), "nothing was reset") {
		t.Errorf("log: want the lost answer logged")
	}

	if got := e.reveal(alice, id, msgID(offer)); !strings.Contains(got, "New password") {
		t.Errorf("the next click: got %q, want the password", got)
	}
	if n := e.resets(); n != 1 {
		t.Errorf("resets after the next click: got %d, want 1", n)
	}
}
