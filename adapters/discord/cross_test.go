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
	slackToken    = "xoxb-cross-test"
	slackSecret   = "0123456789abcdef0123456789abcdef"
	slackChannel  = "C0APPROVALS"
	slackAlice    = "U0ALICE"
	slackBob      = "U0BOB"
	slackEphemera = "chat.postEphemeral"
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
		"text": {text}, "response_url": {hook}, "trigger_id": {"trig-" + id},
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
		"type": "block_actions", "user": map[string]any{"id": user}, "trigger_id": "trig-" + id,
		"response_url": hook, "channel": map[string]any{"id": slackChannel},
		"actions": []any{map[string]any{"action_id": "approve", "block_id": "vote", "value": reqID,
			"type": "button", "action_ts": "1700000100." + strconv.Itoa(ce.hooks)}},
	})
	if status := ce.slackPost("/slack/interactions", url.Values{"payload": {string(payload)}}); status != 200 {
		ce.t.Fatalf("click: got %d, want 200", status)
	}
	return ce.slack.Reply(ce.ctx, id)
}

// checkCrossSecrets fails if a password is anywhere but the one ephemeral
// message on the platform where it was asked.
func (ce *crossEnv) checkCrossSecrets(passwords []string, askedOn bot.Platform) {
	ce.t.Helper()
	ce.checkSecrets(passwords) // Discord's calls, logs, Redis
	n := 0
	for _, c := range ce.slack.Calls() {
		for _, pw := range passwords {
			if !strings.Contains(c.Text(), pw) {
				continue
			}
			if c.Method != slackEphemera {
				ce.t.Errorf("the password is in Slack's %s", c.Method)
			}
			n++
		}
	}
	for _, c := range ce.fake.Calls() {
		for _, pw := range passwords {
			if strings.Contains(c.Raw, pw) {
				n++
			}
		}
	}
	if n != 1 {
		ce.t.Errorf("messages holding the password: got %d, want 1", n)
	}
	if askedOn == bot.PlatformDiscord {
		for _, c := range ce.slack.Calls() {
			if c.Method == slackEphemera && strings.Contains(c.Text(), passwords[0]) {
				ce.t.Errorf("a request asked on Discord delivered its password on Slack")
			}
		}
	}
}

// slackCardIs matches the last update of the Slack card of id in state.
func slackCardIs(id, state string) func([]slacktest.Call) bool {
	return func(calls []slacktest.Call) bool {
		for _, c := range calls {
			if c.Method == "chat.update" && strings.Contains(c.Get("text"), id+": alice asks to reset prod-db (app_user): "+state) {
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
			if c.Method == "chat.postMessage" && strings.Contains(c.Text(), id) {
				return true
			}
		}
		return false
	}
}

// TestAcrossPlatforms has one request asked on one platform and approved on
// the other: the same person cannot approve their own request from either
// side, every card follows, and the password goes back where it was asked.
func TestAcrossPlatforms(t *testing.T) {
	t.Run("AskedInSlackApprovedInDiscord", func(t *testing.T) {
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
		ce.fake.Wait(ce.ctx, "the Discord card done", cardState("Done"))
		ce.slack.WaitFor(ce.ctx, "the Slack card done", slackCardIs(id, "succeeded"))
		ce.slackAd.Wait()
		ce.ad.Wait()
		if got := ce.resets(); got != 1 {
			t.Fatalf("provider calls: got %d, want 1", got)
		}
		pw := ce.passwords()[0]
		n := 0
		for _, c := range ce.slack.Calls() {
			if c.Method == slackEphemera && c.Get("channel") == "D"+slackAlice && strings.Contains(c.Text(), pw) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("ephemeral Slack messages to alice with the password: got %d, want 1", n)
		}
		if n := ce.fake.Count(func(c discordtest.Call) bool { return strings.HasPrefix(c.Path, "webhooks/") }); n != 0 {
			t.Errorf("Discord follow-ups for a Slack request: got %d, want 0", n)
		}
		ce.checkCrossSecrets(ce.passwords(), bot.PlatformSlack)
	})

	t.Run("AskedInDiscordApprovedInSlack", func(t *testing.T) {
		ce := newCrossEnv(t)
		id, ask := ce.ask(alice, "prod-db")
		ce.fake.Wait(ce.ctx, "the Discord card", isCardPost)
		ce.slack.WaitFor(ce.ctx, "the Slack card", slackCardPosted(id))

		if reply := ce.slackApprove(slackAlice, id); !strings.Contains(reply, "cannot approve your own request") {
			t.Errorf("alice approving in Slack: got %q, want refused", reply)
		}
		if reply := ce.slackApprove(slackBob, id); !strings.Contains(reply, "You approved "+id) {
			t.Errorf("bob approving in Slack: got %q", reply)
		}
		delivered := ce.fake.Wait(ce.ctx, "the password on Discord", func(c discordtest.Call) bool {
			return isFollowup(tokenOf(ask))(c) && strings.Contains(content(c), "New password")
		})
		if !delivered.Ephemeral {
			t.Errorf("delivery on Discord: got flags %v, want 64", delivered.Body["flags"])
		}
		ce.fake.Wait(ce.ctx, "the Discord card done", cardState("Done"))
		ce.slack.WaitFor(ce.ctx, "the Slack card done", slackCardIs(id, "succeeded"))
		ce.slackAd.Wait()
		ce.ad.Wait()
		if got := ce.resets(); got != 1 {
			t.Errorf("provider calls: got %d, want 1", got)
		}
		ce.checkCrossSecrets(ce.passwords(), bot.PlatformDiscord)
	})

	// Approved in Slack after alice's Discord token ran out: both cards
	// say the request waits for her Reveal, and her click in Discord
	// resets and shows the password there alone.
	t.Run("AskedInDiscordApprovedInSlackLate", func(t *testing.T) {
		ce := newCrossEnv(t)
		// Slack's signatures are checked against the wall clock: alice asks
		// 16 minutes before it, bob approves at it.
		ce.clock.Advance(-16 * time.Minute)
		id, ask := ce.ask(alice, "prod-db")
		ce.slack.WaitFor(ce.ctx, "the Slack card", slackCardPosted(id))
		ce.clock.Advance(16 * time.Minute)
		if reply := ce.slackApprove(slackBob, id); !strings.Contains(reply, "You approved "+id) {
			t.Errorf("bob approving in Slack: got %q", reply)
		}
		offer := ce.fake.Wait(ce.ctx, "the Reveal offer in alice's DMs", func(c discordtest.Call) bool {
			return isDM(alice)(c) && len(customIDs(c.Body)) > 0
		})
		ce.slack.WaitFor(ce.ctx, "the Slack card waiting for Reveal", func(calls []slacktest.Call) bool {
			for _, c := range calls {
				if c.Method == "chat.update" && strings.Contains(c.Text(), id) && strings.Contains(c.Text(), "press Reveal") {
					return true
				}
			}
			return false
		})
		if n := ce.resets(); n != 0 {
			t.Fatalf("resets before the click: got %d, want 0", n)
		}
		if got := ce.reveal(alice, id, msgID(offer)); !strings.Contains(got, ce.passwords()[0]) {
			t.Fatalf("the click's answer: got %q, want the password", got)
		}
		ce.slack.WaitFor(ce.ctx, "the Slack card done", slackCardIs(id, "succeeded"))
		ce.slackAd.Wait()
		ce.ad.Wait()
		if n := ce.fake.Count(isFollowup(tokenOf(ask))); n != 0 {
			t.Errorf("follow-ups on the expired token: got %d, want 0", n)
		}
		ce.checkCrossSecrets(ce.passwords(), bot.PlatformDiscord)
	})
}
