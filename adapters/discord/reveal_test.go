package discord_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"resetbot/adapters/chat"
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
	e.fake.IssueOn(tokenOf(i), "dm-"+user+"/"+messageID)
	return i
}

// reveal clicks Reveal as user and returns the answer (revealWith).
func (e *env) reveal(user, id, messageID string) string {
	e.t.Helper()
	return e.revealWith(e.srv.URL, e.dmClick(user, "reveal:"+id, messageID))
}

// revealWith sends a Reveal (a click or the command) to the resetbot at
// base, insists on an ephemeral deferral for an answer (nothing may be reset
// before the click has somewhere private to show its password), and returns
// the text that replaced it.
func (e *env) revealWith(base string, i map[string]any) string {
	e.t.Helper()
	a := e.sendTo(base, i)
	if a.Status != 200 || a.Type() != 5 || !a.Ephemeral() {
		e.t.Fatalf("answer to Reveal: got %d %s, want 200 with an ephemeral deferral (type 5, flag 64)", a.Status, a.Raw)
	}
	return content(e.fake.Wait(e.ctx, "the answer to a Reveal", isEditOriginal(tokenOf(i))))
}

// isOffer matches the direct message to alice offering id.
func isOffer(id string) func(discordtest.Call) bool {
	return func(c discordtest.Call) bool {
		return isDM(alice)(c) && slices.Contains(customIDs(c.Body), "reveal:"+id)
	}
}

// waitingCard matches a card edit saying that it waits for alice's Reveal.
func waitingCard(c discordtest.Call) bool {
	return cardState("Approved")(c) && strings.Contains(embedText(c), "waiting for alice to reveal")
}

// approved has alice ask for prod-db and bob approve it, and returns the
// request, alice's ask and the offer in her direct messages, once the card
// says it waits for her.
func (e *env) approved() (string, map[string]any, discordtest.Call) {
	e.t.Helper()
	id, ask := e.ask(alice, "prod-db")
	e.mustSend(e.click(bob, "approve:"+id))
	offer := e.fake.Wait(e.ctx, "the Reveal offer in alice's DMs", isOffer(id))
	e.fake.Wait(e.ctx, "the card waiting for alice", waitingCard)
	return id, ask, offer
}

func msgID(c discordtest.Call) string { s, _ := c.Resp["id"].(string); return s }

// offerNow is the offer's message as it stands in Discord.
func (e *env) offerNow(offer discordtest.Call) map[string]any {
	e.t.Helper()
	m, ok := e.fake.Message("dm-" + alice + "/" + msgID(offer))
	if !ok {
		e.t.Fatalf("the offer %s is not in Discord", msgID(offer))
	}
	return m
}

// wantWithdrawn waits for the offer's DM to lose its button and say says.
func (e *env) wantWithdrawn(offer discordtest.Call, says string) {
	e.t.Helper()
	e.fake.Wait(e.ctx, "the offer withdrawn, saying "+says, func(c discordtest.Call) bool {
		comps, ok := c.Body["components"].([]any)
		return c.Method == "PATCH" && c.Path == "channels/dm-"+alice+"/messages/"+msgID(offer) && c.Status == 200 &&
			ok && len(comps) == 0 && strings.Contains(content(c), says)
	})
	if ids := customIDs(e.offerNow(offer)); len(ids) != 0 {
		e.t.Errorf("buttons left on the withdrawn offer: %v", ids)
	}
}

// wantOfferKept fails if the offer was edited: its button must stay.
func (e *env) wantOfferKept(offer discordtest.Call) {
	e.t.Helper()
	if n := e.fake.Count(func(c discordtest.Call) bool { return c.Method == "PATCH" && strings.HasPrefix(c.Path, "channels/dm-") }); n != 0 {
		e.t.Errorf("edits of the offer: got %d, want 0 (the button stays)", n)
	}
	if ids := customIDs(e.offerNow(offer)); len(ids) != 1 {
		e.t.Errorf("the offer's buttons: got %v, want Reveal", ids)
	}
}

// wantState fails unless request id is in state and its outcome says says.
func (e *env) wantState(id string, state bot.State, says string) bot.Request {
	e.t.Helper()
	req, err := e.store.Get(e.ctx, id)
	if err != nil || req.State != state || !strings.Contains(req.Outcome, says) {
		e.t.Errorf("request: got %s %q (%v), want %s saying %q", req.State, req.Outcome, err, state, says)
	}
	return req
}

// auditOf lists the kinds and actors of request id's audit events.
func (e *env) auditOf(id string) []string {
	e.t.Helper()
	events, err := e.store.AuditLog(e.ctx, bot.AuditQuery{RequestID: id})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range events {
		out = append(out, string(ev.Kind)+":"+ev.Actor)
	}
	return out
}

// TestOffer: at approval nothing is reset; alice gets a direct message that
// stays, says who approved, what and until when, holds the Reveal button
// and no secret; the cards say they wait for her.
func TestOffer(t *testing.T) {
	e := newEnv(t)
	id, ask, offer := e.approved()
	by := e.clock.Now().Add(30 * time.Minute) // the accounts' default reveal_within

	if n := e.resets(); n != 0 {
		t.Fatalf("resets at approval: got %d, want 0", n)
	}
	req := e.wantState(id, bot.StateOffered, "waiting for alice")
	if !req.RevealBy.Equal(by) {
		t.Errorf("reveal by: got %s, want %s", req.RevealBy, by)
	}
	text := content(offer)
	for _, want := range []string{id, "approved by bob", "prod-db: app_user", fmt.Sprintf("before <t:%d:t>", by.Unix()),
		"Nothing is reset until you press it", "/reset-password reveal id:" + id} {
		if !strings.Contains(text, want) {
			t.Errorf("offer: got %q, want %q in it", text, want)
		}
	}
	if offer.Ephemeral || discordtest.Num(offer.Body["flags"]) != 0 {
		t.Errorf("offer: got flags %v, want a message that stays (not ephemeral)", offer.Body["flags"])
	}
	if ids := customIDs(e.offerNow(offer)); !slices.Equal(ids, []string{"reveal:" + id}) {
		t.Errorf("offer buttons: got %v, want reveal:%s", ids, id)
	}
	card := e.fake.Wait(e.ctx, "the card waiting for alice", waitingCard)
	if want := fmt.Sprintf("until <t:%d:f>", by.Unix()); !strings.Contains(embedText(card), want) {
		t.Errorf("card: got %s, want %q", embedText(card), want)
	}
	if ids := customIDs(card.Body); len(ids) != 0 {
		t.Errorf("card buttons while offered: got %v, want none", ids)
	}
	e.fake.Wait(e.ctx, "alice told where to find the button", func(c discordtest.Call) bool {
		return isFollowup(tokenOf(ask))(c) && c.Ephemeral && strings.Contains(content(c), "approved by bob") &&
			strings.Contains(content(c), "Reveal button")
	})
	for _, c := range e.fake.Calls() {
		if strings.HasPrefix(c.Path, "webhooks/") && strings.Contains(c.Path, "@original") {
			t.Errorf("an answer edited before any Reveal: %s %s", c.Method, c.Path)
		}
	}
}

// TestRevealTextFallback: /reset-password reveal id:R-… does what the
// button does, for the requester: a deferred ephemeral answer that the
// password replaces.
func TestRevealTextFallback(t *testing.T) {
	e := newEnv(t)
	id, _, offer := e.approved()

	t.Run("BadID", func(t *testing.T) {
		a := e.mustSend(e.slash(alice, "reveal", "id", "R-0000"))
		if !strings.Contains(a.Content(), "is not a request ID") {
			t.Errorf("answer: got %q, want the ID refused", a.Content())
		}
	})
	t.Run("NoID", func(t *testing.T) {
		a := e.mustSend(e.slash(alice, "reveal"))
		if !strings.Contains(a.Content(), "reveal takes exactly one request ID") {
			t.Errorf("answer: got %q, want the missing ID named", a.Content())
		}
	})
	if n := e.resets(); n != 0 {
		t.Fatalf("resets after bad commands: got %d, want 0", n)
	}

	i := e.slash(alice, "reveal", "id", strings.ToLower(id))
	got := e.revealWith(e.srv.URL, i)
	pws := e.passwords()
	if len(pws) != 1 || !strings.Contains(got, pws[0]) || !strings.Contains(got, "New password for "+id) {
		t.Fatalf("answer: got %q, want the new password", got)
	}
	if m, ok := e.fake.Original(tokenOf(i)); !ok || int(discordtest.Num(m["flags"])) != 64 {
		t.Errorf("the answer: got %v, want ephemeral and no longer loading (flags 64)", m["flags"])
	}
	e.wantWithdrawn(offer, "was revealed")
	e.fake.Wait(e.ctx, "the card done", cardState("Done"))
	e.ad.Wait()
	e.checkShownOnce(pws, tokenOf(i))
}

// TestRevealRefusedToOthers: someone else's click or command is refused,
// saying why, audited, and changes nothing: alice can still reveal.
func TestRevealRefusedToOthers(t *testing.T) {
	e := newEnv(t)
	id, _, offer := e.approved()
	for _, tc := range []struct {
		name string
		i    map[string]any
		says string
	}{
		{"ApproverClicks", e.dmClick(bob, "reveal:"+id, msgID(offer)), "only alice, who asked, can reveal " + id},
		{"ColleagueTypes", e.slash(carol, "reveal", "id", id), "only alice, who asked, can reveal " + id},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := e.revealWith(e.srv.URL, tc.i); !strings.Contains(got, tc.says) {
				t.Errorf("answer: got %q, want %q", got, tc.says)
			}
		})
	}
	// A stranger is refused within the acknowledgement: no deferral, no work.
	t.Run("StrangerClicks", func(t *testing.T) {
		a := e.mustSend(e.dmClick(mallory, "reveal:"+id, msgID(offer)))
		if want := "you are not in resetbot's list of people"; !strings.Contains(a.Content(), want) {
			t.Errorf("answer: got %q, want %q", a.Content(), want)
		}
	})
	if n := e.resets(); n != 0 {
		t.Errorf("resets: got %d, want 0", n)
	}
	e.wantState(id, bot.StateOffered, "waiting for alice")
	audit := e.auditOf(id)
	for _, want := range []string{"refused:bob", "refused:carol", "refused:discord:" + mallory} {
		if !slices.Contains(audit, want) {
			t.Errorf("audit: got %v, want %s", audit, want)
		}
	}
	e.ad.Wait()
	e.wantOfferKept(offer)

	if got := e.reveal(alice, id, msgID(offer)); !strings.Contains(got, "New password") {
		t.Errorf("alice's click: got %q, want the password", got)
	}
	if n := e.resets(); n != 1 {
		t.Errorf("resets: got %d, want 1", n)
	}
}

// TestRevealExpires: an offer nobody takes up expires at its deadline with
// nothing reset; the offer says so, and a late click resets nothing.
func TestRevealExpires(t *testing.T) {
	e := newEnv(t)
	id, _, offer := e.approved()
	e.clock.Advance(30 * time.Minute)
	e.svc.Sweep(e.ctx)
	e.wantState(id, bot.StateExpired, "did not press Reveal")
	e.fake.Wait(e.ctx, "the card edited to expired", cardState("Expired"))
	e.wantWithdrawn(offer, "expired: Reveal was not pressed by")
	if !strings.Contains(msgText(e.offerNow(offer)), "nothing was reset") {
		t.Errorf("offer: got %q, want it to say nothing was reset", msgText(e.offerNow(offer)))
	}
	if got := e.reveal(alice, id, msgID(offer)); !refusedAs(got, id, "expired") {
		t.Errorf("late click: got %q, want it refused as expired", got)
	}
	if n := e.resets(); n != 0 {
		t.Errorf("resets: got %d, want 0", n)
	}
	// She may ask again at once: the expired request is no longer open.
	if again, _ := e.ask(alice, "prod-db"); again == id {
		t.Errorf("ask again: got the expired request %s back", id)
	}
}

// TestRevealCancelled: alice withdraws her offered request; the offer says
// so, loses its button, and nothing is reset.
func TestRevealCancelled(t *testing.T) {
	e := newEnv(t)
	id, _, offer := e.approved()
	waitFor(t, e.ctx, "the offer's reference", func() bool {
		req, err := e.store.Get(e.ctx, id)
		return err == nil && req.Refs[bot.Ref(bot.RefOffer, bot.PlatformDiscord)] != ""
	})
	if a := e.mustSend(e.slash(alice, "cancel", "id", id)); !strings.Contains(a.Content(), id+" is cancelled") {
		t.Errorf("cancel: got %q", a.Content())
	}
	e.wantWithdrawn(offer, "was cancelled")
	e.fake.Wait(e.ctx, "the card edited to cancelled", cardState("Cancelled"))
	if got := e.reveal(alice, id, msgID(offer)); !refusedAs(got, id, "cancelled") {
		t.Errorf("click after the cancel: got %q, want it refused as cancelled", got)
	}
	if n := e.resets(); n != 0 {
		t.Errorf("resets: got %d, want 0", n)
	}
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

// TestRevealCloudRefusal: the click's answer says what the cloud said, in
// words a requester understands; the request fails, nothing is left to
// reveal, and the offer says so.
func TestRevealCloudRefusal(t *testing.T) {
	e := newEnv(t)
	id, _, offer := e.approved()
	e.cloud.Emulator.Fail("ResetUserPassword", "ResourceNotFound", 1)
	got := e.reveal(alice, id, msgID(offer))
	const says = "instance tdsql3-d8fffc3c of account prod-db was not found in TDSQL"
	if !strings.Contains(got, id+" failed: "+says) {
		t.Errorf("answer: got %q, want the failure in plain words: %q", got, says)
	}
	e.wantState(id, bot.StateFailed, says)
	e.wantWithdrawn(offer, "failed")
	if !strings.Contains(msgText(e.offerNow(offer)), says) {
		t.Errorf("offer: got %q, want the failure: %q", msgText(e.offerNow(offer)), says)
	}
	e.fake.Wait(e.ctx, "the card edited to failed", cardState("Failed"))
	if n := e.resets(); n != 0 {
		t.Errorf("resets: got %d, want 0", n)
	}
	if got := e.reveal(alice, id, msgID(offer)); !refusedAs(got, id, "failed") {
		t.Errorf("second click: got %q, want it refused as failed", got)
	}
}

// TestRevealAnswerLost: over HTTP the deferral is only written into the
// response. When Discord never takes it (too late, the connection dropped),
// the click has nowhere to show a password, so nothing is reset and the
// button stays for another try.
func TestRevealAnswerLost(t *testing.T) {
	e := newEnv(t)
	id, _, offer := e.approved()

	i := e.dmClick(alice, "reveal:"+id, msgID(offer))
	body, err := json.Marshal(i)
	if err != nil {
		t.Fatal(err)
	}
	ts := strconv.FormatInt(e.clock.Now().Unix(), 10)
	a := e.post(body, ts, sign(e.key, ts, body), nil) // nil: Discord never gets the answer
	if a.Status != 200 || a.Type() != 5 {
		t.Fatalf("answer: got %d %s, want a deferral", a.Status, a.Raw)
	}
	e.ad.Wait()
	if n := e.resets(); n != 0 {
		t.Errorf("resets: got %d, want 0", n)
	}
	e.wantState(id, bot.StateOffered, "waiting for alice")
	e.wantOfferKept(offer)
	if !strings.Contains(e.logs.String(), "the answer to Reveal did not reach Discord; nothing was reset") {
		t.Errorf("log: want the lost answer logged")
	}
	if n := e.fake.Count(func(c discordtest.Call) bool { return isAnswerEdit(c) && c.Status == 200 }); n != 0 {
		t.Errorf("edits of an answer that Discord took: got %d, want 0", n)
	}

	if got := e.reveal(alice, id, msgID(offer)); !strings.Contains(got, "New password") {
		t.Errorf("the next click: got %q, want the password", got)
	}
	if n := e.resets(); n != 1 {
		t.Errorf("resets after the next click: got %d, want 1", n)
	}
}

// TestRevealPasswordNotShown: the reset ran but its answer could not be
// edited: the request does not pass for a success, nothing is reset again,
// and the password is nowhere.
func TestRevealPasswordNotShown(t *testing.T) {
	e := newEnv(t)
	id, _, offer := e.approved()
	i := e.dmClick(alice, "reveal:"+id, msgID(offer))
	path := "webhooks/" + appID + "/" + tokenOf(i) + "/messages/@original"
	e.fake.SetFault(func(c discordtest.Call) *discordtest.Fault {
		if c.Method == "PATCH" && c.Path == path {
			return &discordtest.Fault{Status: 404, Body: `{"message": "Unknown Webhook", "code": 10015}`}
		}
		return nil
	})
	a := e.send(i)
	if a.Type() != 5 {
		t.Fatalf("answer: got %s, want a deferral", a.Raw)
	}
	e.wantWithdrawn(offer, id)
	e.ad.Wait()
	if n := e.resets(); n != 1 {
		t.Fatalf("resets: got %d, want 1", n)
	}
	e.wantState(id, bot.StateFailed, "outcome unknown")
	if audit := e.auditOf(id); !slices.Contains(audit, "delivery_failed:system") {
		t.Errorf("audit: got %v, want delivery_failed", audit)
	}
	e.fake.SetFault(nil)
	if got := e.reveal(alice, id, msgID(offer)); !refusedAs(got, id, "failed") {
		t.Errorf("the next click: got %q, want it refused as failed", got)
	}
	if n := e.resets(); n != 1 {
		t.Errorf("resets after the next click: got %d, want 1", n)
	}
	e.ad.Wait()
	e.checkSecrets(e.passwords())
}

// redisSeen is the memory of interactions in Redis, as replicas share it.
func (e *env) redisSeen() chat.Seen {
	return func(ctx context.Context, key string, ttl time.Duration) (bool, error) {
		return e.redis.SetNX(ctx, e.prefix+"seen:"+key, 1, ttl).Result()
	}
}

// replica is one more resetbot: its adapter and where it is served.
type replica struct {
	ad  *discord.Adapter
	url string
}

// replicas starts n more resetbots on the env's Redis, cloud, clock and
// Discord, sharing the memory of interactions in Redis as a deployment
// does.
func (e *env) replicas(n int) []replica {
	e.t.Helper()
	var out []replica
	for k := 0; k < n; k++ {
		o := adapterOptions(e.fake, e.clock, e.logs)
		o.Seen = e.redisSeen()
		ad, err := discord.New(o)
		if err != nil {
			e.t.Fatal(err)
		}
		svc, err := bot.New(bot.Options{Store: e.store, Providers: e.providers(), Notifiers: []bot.Notifier{ad},
			People: people, Accounts: accounts, Clock: e.clock, Log: slog.New(slog.NewTextHandler(e.logs, nil))})
		if err != nil {
			e.t.Fatal(err)
		}
		ad.Attach(svc)
		mux := http.NewServeMux()
		ad.Register(mux)
		srv := httptest.NewServer(mux)
		e.t.Cleanup(func() { srv.Close(); ad.Wait() })
		out = append(out, replica{ad, srv.URL})
	}
	return out
}

// TestRevealExactlyOnce: 30 clicks (double clicks, the button and the
// command, over three replicas at once) reset once and show the password
// in one answer; the others say why not; one interaction delivered to two
// replicas is handled once.
func TestRevealExactlyOnce(t *testing.T) {
	e := newEnv(t)
	id, _, offer := e.approved()
	reps := e.replicas(3)

	const clicks = 30
	var wg sync.WaitGroup
	clicked := make([]map[string]any, clicks)
	for k := range clicked {
		if k%5 == 4 {
			clicked[k] = e.slash(alice, "reveal", "id", id)
		} else {
			clicked[k] = e.dmClick(alice, "reveal:"+id, msgID(offer))
		}
	}
	answers := make([]answer, clicks)
	for k := range clicked {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[k] = e.sendTo(reps[k%3].url, clicked[k])
		}()
	}
	wg.Wait()
	var shownTo string
	for k, i := range clicked {
		if a := answers[k]; a.Status != 200 || a.Type() != 5 || !a.Ephemeral() {
			t.Fatalf("answer %d: got %d %s, want an ephemeral deferral", k, a.Status, a.Raw)
		}
		got := content(e.fake.Wait(e.ctx, "an answer", isEditOriginal(tokenOf(i))))
		switch {
		case strings.Contains(got, "New password"):
			if shownTo != "" {
				t.Errorf("a second answer with a password: %q", got)
			}
			shownTo = tokenOf(i)
		case !refusedAs(got, id, "being reset") && !refusedAs(got, id, "succeeded"):
			t.Errorf("answer %d: got %q, want the password or a refusal", k, got)
		}
	}
	if shownTo == "" {
		t.Fatalf("no answer showed the password")
	}
	if n := e.resets(); n != 1 {
		t.Errorf("resets: got %d, want 1", n)
	}
	executing := 0
	for _, ev := range e.auditOf(id) {
		if strings.HasPrefix(ev, "executing:") {
			executing++
		}
	}
	if executing != 2 { // the executor's claim, then alice's click
		t.Errorf("executing in the audit: got %d, want 2 (the offer, then one Reveal)", executing)
	}
	e.wantWithdrawn(offer, "was revealed")
	if n := e.fake.Count(func(c discordtest.Call) bool {
		return c.Method == "PATCH" && c.Path == "channels/dm-"+alice+"/messages/"+msgID(offer)
	}); n != 1 {
		t.Errorf("edits of the offer: got %d, want 1", n)
	}

	t.Run("OneInteractionOnTwoReplicas", func(t *testing.T) {
		i := e.dmClick(alice, "reveal:"+id, msgID(offer))
		first := e.revealWith(reps[0].url, i)
		if !refusedAs(first, id, "succeeded") {
			t.Errorf("first delivery: got %q, want it refused as done", first)
		}
		again := e.sendTo(reps[1].url, i)
		if again.Type() != 4 || !strings.Contains(again.Content(), "handled already") {
			t.Errorf("second delivery: got %s, want it recognised", again.Raw)
		}
	})
	e.ad.Wait()
	for _, r := range reps {
		r.ad.Wait()
	}
	e.checkShownOnce(e.passwords(), shownTo)
}

// msgText is a stored message's content.
func msgText(m map[string]any) string { s, _ := m["content"].(string); return s }

// TestRevealConfirmedOnASecondLook: Discord had not taken the deferral in
// yet when the adapter first read it back; the reset waits for it, then
// runs.
func TestRevealConfirmedOnASecondLook(t *testing.T) {
	e := newEnv(t)
	id, _, offer := e.approved()
	isRead := func(c discordtest.Call) bool {
		return c.Method == "GET" && strings.HasSuffix(c.Path, "/messages/@original")
	}
	e.fake.SetFault(discordtest.FaultFirst(2, isRead, &discordtest.Fault{Status: 404, Body: `{"message": "Unknown Message", "code": 10008}`}))
	if got := e.reveal(alice, id, msgID(offer)); !strings.Contains(got, "New password") {
		t.Errorf("answer: got %q, want the password", got)
	}
	if n := e.fake.Count(isRead); n != 3 {
		t.Errorf("reads of the answer: got %d, want 3", n)
	}
	if n := e.resets(); n != 1 {
		t.Errorf("resets: got %d, want 1", n)
	}
}

// TestOfferUndeliverable: when the direct message cannot be sent (alice
// takes none from the server's members), nothing is reset and the request
// fails saying so, rather than wait for a click that cannot come.
func TestOfferUndeliverable(t *testing.T) {
	e := newEnv(t)
	e.fake.SetFault(func(c discordtest.Call) *discordtest.Fault {
		if isPostTo("channels/dm-" + alice + "/messages")(c) {
			return &discordtest.Fault{Status: 403, Body: `{"message": "Cannot send messages to this user", "code": 50007}`}
		}
		return nil
	})
	id, ask := e.ask(alice, "prod-db")
	e.mustSend(e.click(bob, "approve:"+id))
	e.fake.Wait(e.ctx, "the card edited to failed", cardState("Failed"))
	e.wantState(id, bot.StateFailed, "Reveal button could not be sent")
	e.fake.Wait(e.ctx, "alice told why", func(c discordtest.Call) bool {
		return isFollowup(tokenOf(ask))(c) && strings.Contains(content(c), "allow direct messages")
	})
	if n := e.resets(); n != 0 {
		t.Errorf("resets: got %d, want 0", n)
	}
}

// TestStatusAfterTheTokenExpired: news of a request reaches its requester
// on the interaction with which they asked while its token works, and in a
// direct message after; the offer is a direct message either way.
func TestStatusAfterTheTokenExpired(t *testing.T) {
	e := newEnv(t)
	id, ask := e.ask(alice, "prod-db")
	e.clock.Advance(16 * time.Minute)
	e.mustSend(e.click(bob, "approve:"+id))
	e.fake.Wait(e.ctx, "alice told of the approval in a DM", func(c discordtest.Call) bool {
		return isDM(alice)(c) && len(customIDs(c.Body)) == 0 && strings.Contains(content(c), "approved by bob")
	})
	offer := e.fake.Wait(e.ctx, "the offer", isOffer(id))
	if got := e.reveal(alice, id, msgID(offer)); !strings.Contains(got, "New password") {
		t.Errorf("answer: got %q, want the password", got)
	}
	e.fake.Wait(e.ctx, "alice told it is done in a DM", func(c discordtest.Call) bool {
		return isDM(alice)(c) && strings.Contains(content(c), id+" done")
	})
	if n := e.fake.Count(func(c discordtest.Call) bool { return strings.HasPrefix(c.Path, "webhooks/"+appID+"/"+tokenOf(ask)) }); n != 0 {
		t.Errorf("calls on the expired token: got %d, want 0", n)
	}
}

// refusedAs reports whether the answer to a Reveal of id refuses it,
// saying the request is state: no password, and both named.
func refusedAs(answer, id, state string) bool {
	return !strings.Contains(answer, "New password") && strings.Contains(answer, id) && strings.Contains(answer, state)
}
