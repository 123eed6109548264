package discord_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"resetbot/adapters/chat/chattest"
	"resetbot/adapters/discord"
	"resetbot/adapters/discord/discordtest"
	slackad "resetbot/adapters/slack"
	"resetbot/adapters/slack/slacktest"
	"resetbot/bot"
	"resetbot/internal/testkit"
)

const (
	slackToken   = "xoxb-cross-test"
	slackSecret  = "0123456789abcdef0123456789abcdef"
	slackChannel = "C0APPROVALS"
	slackAlice   = "U0ALICE"
	slackBob     = "U0BOB"
)

// crossEnv is one resetbot on both platforms: one service, one store, the
// Slack and the Discord adapters, and a fake of each platform.
type crossEnv struct {
	*env
	slack   *slacktest.Server
	slackAd *slackad.Adapter
	hooks   int
}

func newCrossEnv(t *testing.T) *crossEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	// slack-go checks Slack's signed timestamps against the wall clock.
	clock := testkit.NewClock(time.Now().UTC().Truncate(time.Second))
	e := &env{t: t, ctx: ctx, clock: clock, prov: &recorder{}, key: testKey()}
	e.backend()
	ce := &crossEnv{env: e, slack: slacktest.NewServer(t, slackToken, "")}

	var err error
	if e.ad, err = discord.New(adapterOptions(e.fake, e.clock, e.logs)); err != nil {
		t.Fatal(err)
	}
	ce.slackAd, err = slackad.New(slackad.Options{
		BotToken: slackToken, SigningSecret: slackSecret, APIURL: ce.slack.APIURL(),
		ApprovalsChannel: slackChannel, Clock: e.clock, Log: slog.New(slog.NewTextHandler(e.logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.svc, err = bot.New(bot.Options{
		Store:     e.store,
		Providers: e.providers(),
		Notifiers: []bot.Notifier{ce.slackAd, e.ad},
		People:    people,
		Accounts:  accounts,
		Clock:     e.clock,
		Log:       slog.New(slog.NewTextHandler(e.logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.ad.Attach(e.svc)
	ce.slackAd.Attach(e.svc)
	mux := http.NewServeMux()
	e.ad.Register(mux)
	ce.slackAd.Register(mux)
	e.srv = httptest.NewServer(mux)

	stop := chattest.StartExecutor(e.svc)
	t.Cleanup(func() {
		stop()
		e.srv.Close()
		e.ad.Wait()
		ce.slackAd.Wait()
		cancel()
	})
	return ce
}

// slackPost signs a Slack request the way Slack does and posts it.
func (ce *crossEnv) slackPost(path string, form url.Values) int {
	ce.t.Helper()
	body := form.Encode()
	ts := strconv.FormatInt(ce.clock.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(slackSecret))
	fmt.Fprintf(mac, "v0:%s:%s", ts, body)
	req, err := http.NewRequestWithContext(ce.ctx, "POST", ce.srv.URL+path, bytes.NewReader([]byte(body)))
	if err != nil {
		ce.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ce.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (ce *crossEnv) hook() (id, u string) {
	ce.hooks++
	id = fmt.Sprintf("hook-%d", ce.hooks)
	return id, ce.slack.HookURL(id)
}

// slackCommand types /reset-password text in Slack and returns the reply.
func (ce *crossEnv) slackCommand(user, text string) string {
	ce.t.Helper()
	id, hook := ce.hook()
	status := ce.slackPost("/slack/commands", url.Values{
		"team_id": {"T1"}, "channel_id": {"C0GENERAL"}, "user_id": {user}, "command": {"/reset-password"},
		"text": {text}, "response_url": {hook}, "trigger_id": {ce.slack.Trigger("trig-" + id)},
	})
	if status != 200 {
		ce.t.Fatalf("slash command: got %d, want 200", status)
	}
	return ce.slack.Reply(ce.ctx, id)
}

// slackApprove clicks Approve on the Slack card and returns the reply.
func (ce *crossEnv) slackApprove(user, reqID string) string {
	ce.t.Helper()
	id, hook := ce.hook()
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": user}, "trigger_id": ce.slack.Trigger("trig-" + id),
		"response_url": hook, "channel": map[string]any{"id": slackChannel},
		"actions": []any{map[string]any{"action_id": "approve", "block_id": "vote", "value": reqID,
			"type": "button", "action_ts": "1700000100." + strconv.Itoa(ce.hooks)}},
	})
	if status := ce.slackPost("/slack/interactions", url.Values{"payload": {string(payload)}}); status != 200 {
		ce.t.Fatalf("click: got %d, want 200", status)
	}
	return ce.slack.Reply(ce.ctx, id)
}

// slackOffer waits for the Reveal offer of reqID in user's Slack DM.
func (ce *crossEnv) slackOffer(user, reqID string) slacktest.Call {
	ce.t.Helper()
	var offer slacktest.Call
	ce.slack.WaitFor(ce.ctx, "the Reveal offer in Slack", func(calls []slacktest.Call) bool {
		for _, c := range calls {
			if c.Method == "chat.postMessage" && c.Get("channel") == "D"+user &&
				strings.Contains(c.Get("blocks"), `"action_id":"reveal"`) && strings.Contains(c.Get("blocks"), reqID) {
				offer = c
				return true
			}
		}
		return false
	})
	return offer
}

// slackReveal presses Reveal on reqID's offer in user's Slack DM, and
// returns the window that the click opened, once it has its answer.
func (ce *crossEnv) slackReveal(user, reqID string) slacktest.View {
	ce.t.Helper()
	id, hook := ce.hook()
	trigger := ce.slack.Trigger("trig-" + id)
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": user}, "trigger_id": trigger,
		"response_url": hook, "channel": map[string]any{"id": "D" + user},
		"container": map[string]any{"type": "message", "channel_id": "D" + user},
		"actions": []any{map[string]any{"action_id": "reveal", "block_id": "reveal", "value": reqID,
			"type": "button", "action_ts": "1700000200." + strconv.Itoa(ce.hooks)}},
	})
	if status := ce.slackPost("/slack/interactions", url.Values{"payload": {string(payload)}}); status != 200 {
		ce.t.Fatalf("Reveal click: got %d, want 200", status)
	}
	var v slacktest.View
	ce.slack.WaitFor(ce.ctx, "the answer in the Reveal window", func([]slacktest.Call) bool {
		var ok bool
		v, ok = ce.slack.ViewOpenedWith(trigger)
		return ok && v.Updates > 0
	})
	return v
}

// discordOffer waits for the Reveal offer of reqID in user's Discord DM.
func (ce *crossEnv) discordOffer(user, reqID string) discordtest.Call {
	ce.t.Helper()
	return ce.fake.Wait(ce.ctx, "the Reveal offer in Discord", func(c discordtest.Call) bool {
		return isDM(user)(c) && slices.Contains(customIDs(c.Body), "reveal:"+reqID)
	})
}

// discordReveal presses Reveal on the Discord offer (message messageID) in
// user's DM, and returns the click's answer and where it was: in the
// interaction's HTTP response, or in a later edit of it.
func (ce *crossEnv) discordReveal(user, reqID, messageID string) (text string, inResponse bool) {
	ce.t.Helper()
	i := ce.interaction(user, 3, map[string]any{"custom_id": "reveal:" + reqID, "component_type": 2})
	delete(i, "member")
	delete(i, "guild_id")
	i["user"] = map[string]any{"id": user, "username": "user" + user}
	i["channel_id"] = "dm-" + user
	i["message"] = map[string]any{"id": messageID, "channel_id": "dm-" + user}
	a := ce.send(i)
	if a.Status != 200 || !a.Ephemeral() {
		ce.t.Fatalf("answer to Reveal on Discord: got %d %s, want 200 and ephemeral", a.Status, a.Raw)
	}
	if a.Type() == 4 {
		return a.Content(), true
	}
	return content(ce.fake.Wait(ce.ctx, "the answer to Reveal on Discord", isEditOriginal(tokenOf(i)))), false
}

// checkCrossSecrets fails if pw is anywhere but the one answer to the
// requester's Reveal: Slack's window (views.update of slackWindow) for a
// request asked in Slack, or Discord's ephemeral answer for one asked in
// Discord (inResponse: in the HTTP answer to the click itself).
func (ce *crossEnv) checkCrossSecrets(pw string, askedOn bot.Platform, slackWindow string, inResponse bool) {
	ce.t.Helper()
	ce.checkSecrets([]string{pw}) // only ephemeral Discord calls; logs; Redis
	n := 0
	if inResponse {
		n++
	}
	for _, c := range ce.slack.Calls() {
		if !strings.Contains(c.Text(), pw) {
			continue
		}
		if askedOn != bot.PlatformSlack || c.Method != "views.update" || c.Get("view_id") != slackWindow {
			ce.t.Errorf("the password is in Slack's %s", c.Method)
		}
		n++
	}
	for _, c := range ce.fake.Calls() {
		if strings.Contains(c.Raw, pw) {
			if askedOn != bot.PlatformDiscord {
				ce.t.Errorf("a request asked in Slack showed its password on Discord (%s %s)", c.Method, c.Path)
			}
			n++
		}
	}
	if n != 1 {
		ce.t.Errorf("messages holding the password: got %d, want 1", n)
	}
}

// slackCardIs matches the last update of the Slack card of id in state.
func slackCardIs(id, state string) func([]slacktest.Call) bool {
	return func(calls []slacktest.Call) bool {
		for _, c := range calls {
			if c.Method == "chat.update" && c.Get("channel") == slackChannel &&
				strings.Contains(c.Get("text"), id+": alice asks to reset prod-db (app_user): "+state) {
				return true
			}
		}
		return false
	}
}

// slackCardPosted matches the Slack card of id.
func slackCardPosted(id string) func([]slacktest.Call) bool {
	return func(calls []slacktest.Call) bool {
		for _, c := range calls {
			if c.Method == "chat.postMessage" && c.Get("channel") == slackChannel && strings.Contains(c.Text(), id) {
				return true
			}
		}
		return false
	}
}

// discordWaitsForReveal matches the Discord card saying it waits for Reveal.
func discordWaitsForReveal(c discordtest.Call) bool {
	return cardState("Approved")(c) && strings.Contains(embedText(c), "Reveal")
}

// TestAcrossPlatforms has one request asked on one platform and approved on
// the other: the same person cannot approve their own request from either
// side, nothing is reset at approval, the Reveal offer goes where the
// request was asked, the click there shows the password, and every card
// follows.
func TestAcrossPlatforms(t *testing.T) {
	t.Run("AskedInSlackApprovedInDiscordRevealedInSlack", func(t *testing.T) {
		ce := newCrossEnv(t)
		reply := ce.slackCommand(slackAlice, "prod-db locked out")
		id := idRE.FindString(reply)
		if id == "" {
			t.Fatalf("Slack reply: got %q, want a request ID", reply)
		}
		ce.slack.WaitFor(ce.ctx, "the Slack card", slackCardPosted(id))
		card := ce.fake.Wait(ce.ctx, "the Discord card", isCardPost)
		if !strings.Contains(embedText(card), id) || !strings.Contains(card.Raw, "asked on slack") {
			t.Errorf("Discord card: got %s, want %s asked on slack", embedText(card), id)
		}

		// alice is one person on both platforms
		a := ce.mustSend(ce.click(alice, "approve:"+id))
		if !strings.Contains(a.Content(), "cannot approve your own request") {
			t.Errorf("alice approving on Discord: got %q, want refused", a.Content())
		}

		a = ce.mustSend(ce.click(bob, "approve:"+id))
		if !strings.Contains(a.Content(), "You approved "+id) {
			t.Errorf("bob approving on Discord: got %q", a.Content())
		}
		offer := ce.slackOffer(slackAlice, id)
		if !strings.Contains(offer.Text(), "approved by *bob*") {
			t.Errorf("the Slack offer does not say bob approved: %s", offer.Text())
		}
		ce.fake.Wait(ce.ctx, "the Discord card waiting for Reveal", discordWaitsForReveal)
		ce.slack.WaitFor(ce.ctx, "the Slack card waiting for Reveal", slackCardIs(id, "approved, waiting for alice to reveal"))
		if n := ce.resets(); n != 0 {
			t.Fatalf("resets before the click: got %d, want 0", n)
		}

		window := ce.slackReveal(slackAlice, id)
		pw := ce.passwords()
		if len(pw) != 1 || !strings.Contains(window.Text(), pw[0]) {
			t.Fatalf("the Slack window: got %q, want the new password", window.Text())
		}
		ce.fake.Wait(ce.ctx, "the Discord card done", cardState("Done"))
		ce.slack.WaitFor(ce.ctx, "the Slack card done", slackCardIs(id, "succeeded"))
		ce.slackAd.Wait()
		ce.ad.Wait()
		if got := ce.resets(); got != 1 {
			t.Fatalf("resets: got %d, want 1", got)
		}
		if n := ce.fake.Count(func(c discordtest.Call) bool {
			return strings.HasPrefix(c.Path, "webhooks/") || isDM(alice)(c) && len(customIDs(c.Body)) > 0
		}); n != 0 {
			t.Errorf("Discord follow-ups or offers for a Slack request: got %d, want 0", n)
		}
		ce.checkCrossSecrets(pw[0], bot.PlatformSlack, window.ID, false)
	})

	t.Run("AskedInDiscordApprovedInSlackRevealedInDiscord", func(t *testing.T) {
		ce := newCrossEnv(t)
		id, _ := ce.ask(alice, "prod-db")
		ce.fake.Wait(ce.ctx, "the Discord card", isCardPost)
		ce.slack.WaitFor(ce.ctx, "the Slack card", slackCardPosted(id))

		if reply := ce.slackApprove(slackAlice, id); !strings.Contains(reply, "cannot approve your own request") {
			t.Errorf("alice approving in Slack: got %q, want refused", reply)
		}
		if reply := ce.slackApprove(slackBob, id); !strings.Contains(reply, "You approved "+id) {
			t.Errorf("bob approving in Slack: got %q", reply)
		}
		offer := ce.discordOffer(alice, id)
		ce.fake.Wait(ce.ctx, "the Discord card waiting for Reveal", discordWaitsForReveal)
		ce.slack.WaitFor(ce.ctx, "the Slack card waiting for Reveal", slackCardIs(id, "approved, waiting for alice to reveal"))
		if n := ce.resets(); n != 0 {
			t.Fatalf("resets before the click: got %d, want 0", n)
		}

		answer, inResponse := ce.discordReveal(alice, id, discordMessageID(offer))
		pw := ce.passwords()
		if len(pw) != 1 || !strings.Contains(answer, pw[0]) {
			t.Fatalf("the answer to Reveal on Discord: got %q, want the new password", answer)
		}
		ce.fake.Wait(ce.ctx, "the Discord card done", cardState("Done"))
		ce.slack.WaitFor(ce.ctx, "the Slack card done", slackCardIs(id, "succeeded"))
		ce.slackAd.Wait()
		ce.ad.Wait()
		if got := ce.resets(); got != 1 {
			t.Errorf("resets: got %d, want 1", got)
		}
		for _, c := range ce.slack.Calls() {
			if (c.Method == "chat.postMessage" && c.Get("channel") == "D"+slackAlice) || c.Method == "views.open" {
				t.Errorf("Slack got a %s for a Discord request's Reveal", c.Method)
			}
		}
		ce.checkCrossSecrets(pw[0], bot.PlatformDiscord, "", inResponse)
	})
}

// discordMessageID is the ID Discord gave the message a call posted.
func discordMessageID(c discordtest.Call) string { s, _ := c.Resp["id"].(string); return s }
