package slack_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"resetbot/adapters/slack/slacktest"
	"resetbot/bot"
)

// envelope wraps a payload as Slack sends it over Socket Mode.
func envelope(t testing.TB, typ, id string, retry int, payload any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"type": typ, "envelope_id": id, "payload": payload,
		"accepts_response_payload": typ == "slash_commands", "retry_attempt": retry,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// slashPayload is a slash command as Socket Mode carries it.
func slashPayload(f *slacktest.Server, user, text, hook string) map[string]any {
	return map[string]any{
		"team_id": "T1", "channel_id": general, "user_id": user, "command": "/reset-password",
		"text": text, "response_url": f.HookURL(hook), "trigger_id": f.Trigger("trigger-" + hook), "api_app_id": "A1",
	}
}

// ackOf waits for the acknowledgement of envelope id and returns its payload.
func ackOf(ctx context.Context, t testing.TB, f *slacktest.Server, id string) map[string]any {
	t.Helper()
	for {
		select {
		case m := <-f.Acks():
			if m["envelope_id"] == id {
				p, _ := m["payload"].(map[string]any)
				return p
			}
		case <-ctx.Done():
			t.Fatalf("no acknowledgement of %s", id)
			return nil
		}
	}
}

func TestSocketMode(t *testing.T) {
	e := newEnv(t, withAppToken)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.ad.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: got %v, want nil after its context ended", err)
			}
		case <-e.ctx().Done():
			t.Errorf("Run did not return after its context ended")
		}
	}()
	send := func(env []byte) { e.slack.Send(env) }

	var id string
	t.Run("CommandAsks", func(t *testing.T) {
		send(envelope(t, "slash_commands", "env-ask", 0, slashPayload(e.slack, alice, "prod-db locked out", "sock-ask")))
		if p := ackOf(e.ctx(), t, e.slack, "env-ask"); p != nil {
			t.Errorf("ack payload: got %v, want none", p)
		}
		id = askedID(t, e.slack.Reply(e.ctx(), "sock-ask"))
		if got := e.request(id).State; got != bot.StatePending {
			t.Errorf("state: got %s, want pending", got)
		}
	})

	t.Run("BadTextAnsweredInTheAck", func(t *testing.T) {
		send(envelope(t, "slash_commands", "env-bad", 0, slashPayload(e.slack, alice, "prod-db", "sock-bad")))
		p := ackOf(e.ctx(), t, e.slack, "env-bad")
		if text, _ := p["text"].(string); p["response_type"] != "ephemeral" || !strings.Contains(text, "a reason is required") {
			t.Errorf("ack payload: got %v, want an ephemeral refusal", p)
		}
	})

	t.Run("RetriedEnvelopeIgnored", func(t *testing.T) {
		send(envelope(t, "slash_commands", "env-retry", 1, slashPayload(e.slack, carol, "staging-db again", "sock-retry")))
		ackOf(e.ctx(), t, e.slack, "env-retry")
		e.ad.Wait()
		if n := len(e.slack.CallsOf("chat.postMessage")); n != 1 {
			t.Errorf("cards: got %d, want only the first request's", n)
		}
	})

	t.Run("ClickApproves", func(t *testing.T) {
		send(envelope(t, "interactive", "env-click", 0, click(bob, "approve", id, "1700000400.000001", "sock-bob", e.slack)))
		ackOf(e.ctx(), t, e.slack, "env-click")
		if got := e.slack.Reply(e.ctx(), "sock-bob"); !strings.Contains(got, "You approved "+id) {
			t.Errorf("reply: got %q", got)
		}
		e.slack.WaitFor(e.ctx(), "the Reveal offer", func(cs []slacktest.Call) bool {
			_, ok := offerOf(cs, id)
			return ok
		})
		if n := e.resets(); n != 0 {
			t.Errorf("calls to the cloud API at approval: got %d, want 0", n)
		}
	})

	t.Run("RevealClickShowsThePassword", func(t *testing.T) {
		send(envelope(t, "interactive", "env-reveal", 0, revealClick(e.slack, alice, id, "sock-reveal")))
		if p := ackOf(e.ctx(), t, e.slack, "env-reveal"); p != nil {
			t.Errorf("ack payload: got %v, want none", p)
		}
		v := e.window("reveal-sock-reveal")
		if pws := e.passwords(); len(pws) != 1 || !strings.Contains(v.Text(), pws[0]) {
			t.Fatalf("the window does not show the password: %q", v.Text())
		}
		e.slack.WaitFor(e.ctx(), "the card to show success", func(cs []slacktest.Call) bool {
			c, ok := cardOf(cs, id)
			return ok && strings.Contains(c.Get("blocks"), "succeeded")
		})
		if n := e.resets(); n != 1 {
			t.Errorf("calls to the cloud API: got %d, want 1", n)
		}
		e.ad.Wait()
		e.checkOnlyInWindow(t, e.passwords()[0], "reveal-sock-reveal")
	})

	t.Run("RevealByTextOverSocket", func(t *testing.T) {
		other := e.ask(carol, "staging-db rotate")
		e.interact(click(bob, "approve", other, "1700000400.000009", "sock-bob2", e.slack))
		e.slack.WaitFor(e.ctx(), "carol's Reveal offer", func(cs []slacktest.Call) bool {
			for _, c := range cs {
				if c.Method == "chat.postMessage" && c.Get("channel") == "D"+carol && strings.Contains(c.Get("blocks"), other) {
					return true
				}
			}
			return false
		})
		send(envelope(t, "slash_commands", "env-reveal-text", 0, slashPayload(e.slack, carol, "reveal "+other, "sock-text")))
		ackOf(e.ctx(), t, e.slack, "env-reveal-text")
		v := e.window("trigger-sock-text")
		pw := e.Cloud.Password(stagingDB, "app_user@%")
		if pw == "" || !strings.Contains(v.Text(), pw) {
			t.Fatalf("carol's window does not show the password: %q", v.Text())
		}
		e.ad.Wait()
		e.checkOnlyInWindow(t, pw, "trigger-sock-text")
	})
}

func TestRunWithoutAppTokenReturns(t *testing.T) {
	e := newEnv(t)
	if err := e.ad.Run(e.ctx()); err != nil {
		t.Errorf("Run: got %v, want nil", err)
	}
}
