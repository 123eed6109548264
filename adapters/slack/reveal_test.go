package slack_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"resetbot/adapters/chat"
	"resetbot/adapters/chat/chattest"
	"resetbot/adapters/slack/slacktest"
	"resetbot/bot"
	"resetbot/internal/testkit"
)

// offerOf returns the Reveal offer of request id in alice's direct
// conversation with the bot.
func offerOf(calls []slacktest.Call, id string) (slacktest.Call, bool) {
	for _, c := range calls {
		if c.Method == "chat.postMessage" && c.Get("channel") == "D"+alice &&
			strings.Contains(c.Get("blocks"), `"value":"`+id+`"`) {
			return c, true
		}
	}
	return slacktest.Call{}, false
}

// approve has bob approve id on its card, and waits for the Reveal offer
// to alice, which it returns with its reference ("channel/ts").
func (e *env) approve(id string) (slacktest.Call, string) {
	e.t.Helper()
	hook := "bob-" + e.next()
	e.interact(click(bob, "approve", id, "1700000200."+e.next(), hook, e.slack))
	if got := e.slack.Reply(e.ctx(), hook); !strings.Contains(got, "You approved "+id) {
		e.t.Fatalf("bob approving %s: got %q", id, got)
	}
	ref := ""
	calls := e.slack.WaitFor(e.ctx(), "the Reveal offer to alice", func([]slacktest.Call) bool {
		for _, m := range e.slack.Messages("D" + alice) {
			if strings.Contains(m.Blocks, `"value":"`+id+`"`) {
				ref = m.Channel + "/" + m.TS
			}
		}
		return ref != ""
	})
	offer, ok := offerOf(calls, id)
	if !ok {
		e.t.Fatalf("Slack keeps an offer of %s that no chat.postMessage posted", id)
	}
	return offer, ref
}

// revealClick is a block_actions payload: user pressed Reveal on request
// id's offer in alice's direct conversation with the bot. Its trigger is
// fresh; its response_url is hook.
func revealClick(f *slacktest.Server, user, id, hook string) map[string]any {
	return map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": user, "username": strings.ToLower(user)},
		"api_app_id":   "A1",
		"team":         map[string]any{"id": "T1"},
		"trigger_id":   f.Trigger("reveal-" + hook),
		"response_url": f.HookURL(hook),
		"channel":      map[string]any{"id": "D" + alice, "name": "directmessage"},
		"container":    map[string]any{"type": "message", "channel_id": "D" + alice, "message_ts": "1700000000.000009", "is_ephemeral": false},
		"actions": []any{map[string]any{
			"type": "button", "block_id": "reveal", "action_id": "reveal", "value": id, "action_ts": "1700000500." + hook,
			"text": map[string]any{"type": "plain_text", "text": "Reveal"}, "style": "primary",
		}},
	}
}

// window waits until the window opened with trigger has been given its
// answer (the password, or why not), and returns it.
func (e *env) window(trigger string) slacktest.View {
	e.t.Helper()
	var v slacktest.View
	e.slack.WaitFor(e.ctx(), "the answer in the window of "+trigger, func([]slacktest.Call) bool {
		var ok bool
		v, ok = e.slack.ViewOpenedWith(trigger)
		return ok && v.Updates > 0
	})
	return v
}

// reveal has user press Reveal on id and returns the window's answer.
func (e *env) reveal(user, id string) slacktest.View {
	e.t.Helper()
	hook := "reveal-" + e.next()
	if status, body := e.interact(revealClick(e.slack, user, id, hook)); status != http.StatusOK || body != "" {
		e.t.Fatalf("Reveal click: got %d %q, want an empty 200", status, body)
	}
	return e.window("reveal-" + hook)
}

// checkOnlyInWindow fails unless pw is in the window opened with trigger
// and nowhere else: no other Slack call (the offer, cards, notices,
// replies, the window's first view), the log, Redis (audit included).
func (e *env) checkOnlyInWindow(t *testing.T, pw, trigger string) {
	t.Helper()
	v, ok := e.slack.ViewOpenedWith(trigger)
	if !ok {
		t.Fatalf("no window opened with %s", trigger)
	}
	carriers := 0
	for _, c := range e.slack.Calls() {
		if !strings.Contains(c.Text(), pw) {
			continue
		}
		if c.Method != "views.update" || c.Get("view_id") != v.ID {
			t.Errorf("the password is in Slack's %s (%s)", c.Method, c.Get("channel"))
			continue
		}
		carriers++
	}
	if carriers != 1 {
		t.Errorf("views.update calls carrying the password: got %d, want 1", carriers)
	}
	e.CheckNoSecrets(t, pw)
}

func TestRevealOverHTTP(t *testing.T) {
	e := newEnv(t)
	id := e.ask(alice, "prod-db locked out")
	approvedAt := time.Now()
	offer, ref := e.approve(id)
	req := e.request(id)

	t.Run("NothingResetAtApproval", func(t *testing.T) {
		if req.State != bot.StateOffered {
			t.Errorf("state: got %s, want offered", req.State)
		}
		if n := e.resets(); n != 0 {
			t.Errorf("calls to the cloud API: got %d, want 0", n)
		}
		if by := req.RevealBy.Sub(approvedAt); by < 29*time.Minute || by > 31*time.Minute {
			t.Errorf("reveal by: got %s after the approval, want the account's 30m", by)
		}
	})

	t.Run("OfferInAlicesDM", func(t *testing.T) {
		blocks := offer.Get("blocks")
		for _, want := range []string{`"action_id":"reveal"`, `"value":"` + id + `"`} {
			if !strings.Contains(blocks, want) {
				t.Errorf("offer blocks lack %s:\n%s", want, blocks)
			}
		}
		date := fmt.Sprintf("<!date^%d^", req.RevealBy.Unix())
		text := blockText(offer)
		for _, want := range []string{id, "approved by *bob*", "prod-db", "app_user", date, "Reveal"} {
			if !strings.Contains(text, want) {
				t.Errorf("offer lacks %q:\n%s", want, text)
			}
		}
		if got := offer.Get("text"); !strings.Contains(got, date) || !strings.Contains(got, "bob") {
			t.Errorf("offer's notification text: got %q, want who approved and %s…", got, date)
		}
		opened := false
		for _, c := range e.slack.CallsOf("conversations.open") {
			opened = opened || c.Get("users") == alice
		}
		if !opened {
			t.Errorf("no conversations.open with alice before the offer")
		}
	})

	t.Run("CardWaitsForAlice", func(t *testing.T) {
		c, _ := cardOf(e.slack.WaitFor(e.ctx(), "the card waiting for Reveal", func(cs []slacktest.Call) bool {
			c, ok := cardOf(cs, id)
			return ok && strings.Contains(c.Get("text"), "approved, waiting for alice to reveal")
		}), id)
		text := blockText(c)
		for _, want := range []string{"approved, waiting for alice to reveal", "Reveal by", fmt.Sprintf("<!date^%d^", req.RevealBy.Unix())} {
			if !strings.Contains(text, want) {
				t.Errorf("card lacks %q:\n%s", want, text)
			}
		}
		if strings.Contains(c.Get("blocks"), `"action_id":"approve"`) {
			t.Errorf("the card of an approved request still has its buttons")
		}
	})

	t.Run("OthersClickRefusedAndAudited", func(t *testing.T) {
		v := e.reveal(bob, id)
		if got := v.Text(); !strings.Contains(got, "only alice, who asked, can reveal "+id) {
			t.Errorf("bob's window: got %q, want a refusal", got)
		}
		if !hasEvent(e.audit(), "refused", "only alice") {
			t.Errorf("audit: bob's click is not recorded as refused: %v", e.audit())
		}
		if got := e.request(id).State; got != bot.StateOffered {
			t.Errorf("state after bob's click: got %s, want offered", got)
		}
		if n := e.resets(); n != 0 {
			t.Errorf("calls to the cloud API: got %d, want 0", n)
		}
	})

	var trigger string
	t.Run("AliceReveals", func(t *testing.T) {
		hook := "alice-" + e.next()
		trigger = "reveal-" + hook
		e.interact(revealClick(e.slack, alice, id, hook))
		v := e.window(trigger)
		opened := false
		for _, c := range e.slack.CallsOf("views.open") {
			if c.Get("trigger_id") == trigger {
				opened = true
				if !strings.Contains(c.Text(), "Resetting the password of") {
					t.Errorf("the window did not open saying the reset runs: %s", c.Body)
				}
			}
		}
		if !opened {
			t.Fatalf("no views.open with the click's trigger")
		}
		pws := e.passwords()
		if len(pws) != 1 || !strings.Contains(v.Text(), pws[0]) {
			t.Fatalf("the window does not show the new password: %q", v.Text())
		}
		if n := e.resets(); n != 1 {
			t.Errorf("calls to the cloud API: got %d, want 1", n)
		}
	})

	t.Run("CardAndOfferSayHowItEnded", func(t *testing.T) {
		e.slack.WaitFor(e.ctx(), "the card to show success", func(cs []slacktest.Call) bool {
			c, ok := cardOf(cs, id)
			return ok && strings.Contains(c.Get("blocks"), "succeeded")
		})
		e.slack.WaitFor(e.ctx(), "the offer to lose its button", func([]slacktest.Call) bool {
			m, _ := e.slack.Message(ref)
			return m.Updates > 0
		})
		m, _ := e.slack.Message(ref)
		if strings.Contains(m.Blocks, `"action_id":"reveal"`) || !strings.Contains(m.Text, id+" revealed at your click: reset app_user") {
			t.Errorf("the offer after the reveal: got %q with blocks %s, want no button and how it ended", m.Text, m.Blocks)
		}
		if got := e.request(id); got.State != bot.StateSucceeded || got.Refs[bot.Ref(bot.RefOffer, bot.PlatformSlack)] != ref {
			t.Errorf("request: got %s with offer ref %q, want succeeded with %q", got.State, got.Refs[bot.Ref(bot.RefOffer, bot.PlatformSlack)], ref)
		}
	})

	t.Run("SecondClickRevealsNothing", func(t *testing.T) {
		v := e.reveal(alice, id)
		if got := v.Text(); !strings.Contains(got, id+" is already succeeded: nothing is left to reveal") || strings.Contains(got, e.passwords()[0]) {
			t.Errorf("the second window: got %q, want a refusal", got)
		}
		if n := e.resets(); n != 1 {
			t.Errorf("calls to the cloud API: got %d, want 1", n)
		}
	})

	t.Run("PasswordOnlyInTheWindow", func(t *testing.T) {
		e.ad.Wait()
		e.checkOnlyInWindow(t, e.passwords()[0], trigger)
	})
}

// TestRevealByText: /reset-password reveal R-… does what the button does.
func TestRevealByText(t *testing.T) {
	e := newEnv(t)
	id := e.ask(alice, "prod-db locked out")
	e.approve(id)

	_, _, bobHook := e.command(bob, "reveal "+id)
	if got := e.window("trigger-" + bobHook).Text(); !strings.Contains(got, "only alice") {
		t.Errorf("bob's reveal: got %q, want a refusal", got)
	}
	status, body, hook := e.command(alice, "reveal "+strings.ToLower(id))
	if status != http.StatusOK || body != "" {
		t.Fatalf("reveal command: got %d %q, want an empty 200", status, body)
	}
	v := e.window("trigger-" + hook)
	if pws := e.passwords(); len(pws) != 1 || !strings.Contains(v.Text(), pws[0]) {
		t.Fatalf("the window does not show the password: %q", v.Text())
	}
	e.ad.Wait()
	for _, c := range e.slack.CallsOf("hook") {
		if c.Hook == hook || c.Hook == bobHook {
			t.Errorf("a reveal command was answered on its response_url (%q), not in its window", c.Get("text"))
		}
	}
	e.checkOnlyInWindow(t, e.passwords()[0], "trigger-"+hook)
}

// TestRevealExactlyOnce: 30 clicks on Reveal at once, over three replicas
// sharing Redis, reset once; one window shows the password, the others why
// not.
func TestRevealExactlyOnce(t *testing.T) {
	// Each replica's gate lets all of alice's clicks through: what is
	// tested here is the claim, not the gate.
	roomy := func(c *envConfig) { c.slack.Gate = chat.NewGate(time.Second, 50) }
	e := newEnv(t, roomy)
	_, _, srv2 := e.replica(e.opts...)
	_, _, srv3 := e.replica(e.opts...)
	servers := []*httptest.Server{e.srv, srv2, srv3}
	id := e.ask(alice, "prod-db locked out")
	e.approve(id)

	const clicks = 30
	triggers := make([]string, clicks)
	bodies := make([]string, clicks)
	for i := range clicks {
		hook := fmt.Sprintf("many-%02d", i)
		triggers[i] = "reveal-" + hook
		bodies[i] = interactionForm(t, revealClick(e.slack, alice, id, hook))
	}
	var wg sync.WaitGroup
	statuses := make([]int, clicks)
	errs := make([]error, clicks)
	for i := range clicks {
		wg.Go(func() {
			r, err := http.NewRequest(http.MethodPost, servers[i%3].URL+"/slack/interactions", strings.NewReader(bodies[i]))
			if err != nil {
				errs[i] = err
				return
			}
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			sign(r, bodies[i], time.Now(), secret)
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				errs[i] = err
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	for i := range clicks {
		if errs[i] != nil || statuses[i] != http.StatusOK {
			t.Fatalf("click %d: got %d %v, want 200", i, statuses[i], errs[i])
		}
	}
	pw := ""
	showing := []string{}
	for _, tr := range triggers {
		v := e.window(tr)
		if pws := e.passwords(); len(pws) == 1 && strings.Contains(v.Text(), pws[0]) {
			pw = pws[0]
			showing = append(showing, tr)
		} else if !strings.Contains(v.Text(), id) {
			t.Errorf("window %s: got %q, want why it shows nothing", tr, v.Text())
		}
	}
	if len(showing) != 1 {
		t.Fatalf("windows showing the password: got %d, want 1", len(showing))
	}
	if n := e.resets(); n != 1 {
		t.Errorf("calls to the cloud API: got %d, want 1", n)
	}
	e.checkOnlyInWindow(t, pw, showing[0])
}

// gate holds every reset until released, so that a test can act while one
// is under way.
type gate struct {
	bot.Provider
	entered chan struct{}
	release chan struct{}
}

func (g gate) Reset(ctx context.Context, acct bot.Account, users []string) ([]bot.UserResult, error) {
	g.entered <- struct{}{}
	<-g.release
	return g.Provider.Reset(ctx, acct, users)
}

// TestRevealEndings: every way an offer ends shows in the click's window,
// on the offer (which loses its button) and on the card.
func TestRevealEndings(t *testing.T) {
	// offerSays waits until the offer at ref was replaced, and checks it.
	offerSays := func(t *testing.T, e *env, ref string, want ...string) {
		t.Helper()
		e.slack.WaitFor(e.ctx(), "the offer to say how it ended", func([]slacktest.Call) bool {
			m, _ := e.slack.Message(ref)
			return m.Updates > 0
		})
		m, _ := e.slack.Message(ref)
		if strings.Contains(m.Blocks, `"action_id":"reveal"`) {
			t.Errorf("the ended offer still has its Reveal button")
		}
		for _, w := range want {
			if !strings.Contains(m.Text, w) {
				t.Errorf("the ended offer: got %q, want %q", m.Text, w)
			}
		}
	}
	cardSays := func(t *testing.T, e *env, id, state string) {
		t.Helper()
		e.slack.WaitFor(e.ctx(), "the card to say "+state, func(cs []slacktest.Call) bool {
			c, ok := cardOf(cs, id)
			return ok && strings.HasSuffix(c.Get("text"), ": "+state)
		})
	}

	t.Run("Expired", func(t *testing.T) {
		clock := testkit.NewClock(time.Now())
		e := newEnv(t, withClock(clock))
		id := e.ask(alice, "prod-db locked out")
		_, ref := e.approve(id)
		clock.Advance(31 * time.Minute)
		if got := e.reveal(alice, id).Text(); !strings.Contains(got, "has expired; nothing was reset") {
			t.Errorf("a click after the deadline: got %q, want it refused as expired", got)
		}
		e.svc.Sweep(e.ctx())
		if got := e.request(id).State; got != bot.StateExpired {
			t.Fatalf("state: got %s, want expired", got)
		}
		offerSays(t, e, ref, id+" expired", "nothing was reset")
		cardSays(t, e, id, "expired")
		if n := e.resets(); n != 0 {
			t.Errorf("calls to the cloud API: got %d, want 0", n)
		}
	})

	t.Run("CancelledByTheRequester", func(t *testing.T) {
		e := newEnv(t)
		id := e.ask(alice, "prod-db locked out")
		_, ref := e.approve(id)
		_, _, hook := e.command(alice, "cancel "+id)
		if got := e.slack.Reply(e.ctx(), hook); got != id+" is cancelled." {
			t.Errorf("cancel: got %q", got)
		}
		offerSays(t, e, ref, id+" is cancelled: nothing was reset")
		cardSays(t, e, id, "cancelled")
		if got := e.reveal(alice, id).Text(); !strings.Contains(got, "cancelled") {
			t.Errorf("a click after the cancel: got %q, want it refused", got)
		}
		if n := e.resets(); n != 0 {
			t.Errorf("calls to the cloud API: got %d, want 0", n)
		}
	})

	t.Run("CloudRefusal", func(t *testing.T) {
		e := newEnv(t)
		id := e.ask(alice, "prod-db locked out")
		_, ref := e.approve(id)
		e.Cloud.Emulator.Freeze(chattest.TDSQL, prodDB, "app_user@%")
		got := e.reveal(alice, id).Text()
		req := e.request(id)
		if req.State != bot.StateFailed || req.Outcome == "" {
			t.Fatalf("state: got %s (%q), want failed with the cloud's reason", req.State, req.Outcome)
		}
		if !strings.Contains(got, id+" failed: "+req.Outcome) {
			t.Errorf("the window: got %q, want %q", got, id+" failed: "+req.Outcome)
		}
		for _, raw := range []string{"Code", "RequestId", "tencentcloud"} {
			if strings.Contains(got, raw) {
				t.Errorf("the window shows the SDK's words (%s): %q", raw, got)
			}
		}
		offerSays(t, e, ref, id+" failed: "+req.Outcome)
		cardSays(t, e, id, "failed")
		if n := e.Cloud.Resets(); n != 0 {
			t.Errorf("passwords changed: got %d, want 0", n)
		}
	})

	t.Run("WindowCannotOpenResetsNothing", func(t *testing.T) {
		e := newEnv(t)
		id := e.ask(alice, "prod-db locked out")
		e.approve(id)
		hook := "late-" + e.next()
		click := revealClick(e.slack, alice, id, hook)
		e.slack.ExpireTrigger("reveal-" + hook) // the click waited too long
		e.interact(click)
		if got := e.slack.Reply(e.ctx(), hook); !strings.Contains(got, "could not be opened") || !strings.Contains(got, "Nothing was reset") {
			t.Errorf("reply: got %q, want it to say the window did not open and nothing was reset", got)
		}
		e.ad.Wait()
		if got := e.request(id).State; got != bot.StateOffered {
			t.Errorf("state: got %s, want still offered", got)
		}
		if n := e.resets(); n != 0 {
			t.Errorf("calls to the cloud API: got %d, want 0", n)
		}
		if hasEvent(e.audit(), "executing", "Reveal pressed") {
			t.Errorf("the request was claimed for a reset: %v", e.audit())
		}
		// Pressing Reveal again works.
		got := e.reveal(alice, id).Text()
		if pws := e.passwords(); len(pws) != 1 || !strings.Contains(got, pws[0]) {
			t.Errorf("the next click's window: got %q, want the password", got)
		}
	})

	t.Run("WindowClosedDuringTheReset", func(t *testing.T) {
		g := gate{entered: make(chan struct{}, 1), release: make(chan struct{})}
		e := newEnv(t, func(c *envConfig) {
			c.provider = func(p bot.Provider) bot.Provider { g.Provider = p; return g }
		})
		id := e.ask(alice, "prod-db locked out")
		_, ref := e.approve(id)
		hook := "closed-" + e.next()
		e.interact(revealClick(e.slack, alice, id, hook))
		select {
		case <-g.entered:
		case <-e.ctx().Done():
			t.Fatal("the reset did not start")
		}
		v, ok := e.slack.ViewOpenedWith("reveal-" + hook)
		if !ok {
			t.Fatal("the reset started before the window opened")
		}
		e.slack.CloseView(v.ID)
		close(g.release)
		if got := e.slack.Reply(e.ctx(), hook); !strings.Contains(got, "reset app_user, but the new password could not be shown to you") {
			t.Errorf("reply: got %q, want it to say the password was not shown", got)
		}
		e.ad.Wait()
		req := e.request(id)
		if req.State != bot.StateFailed || !strings.Contains(req.Outcome, "outcome unknown: reset app_user at alice's Reveal click, but the new password may not have reached alice") {
			t.Errorf("request: got %s %q, want failed, saying the password may not have been shown", req.State, req.Outcome)
		}
		if !hasEvent(e.audit(), "delivery_failed", "window was closed") {
			t.Errorf("audit: no delivery_failed saying the window was closed: %v", e.audit())
		}
		offerSays(t, e, ref, "may not have reached alice")
		if v, _ := e.slack.View(v.ID); v.Updates != 0 {
			t.Errorf("the closed window was updated %d times, want 0", v.Updates)
		}
		pw := e.passwords()[0]
		for _, c := range e.slack.Calls() {
			if strings.Contains(c.Text(), pw) && (c.Method != "views.update" || c.Get("view_id") != v.ID) {
				t.Errorf("the password is in Slack's %s", c.Method)
			}
		}
		e.CheckNoSecrets(t, pw)
	})
}
