package slack_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	slackad "resetbot/adapters/slack"
	"resetbot/adapters/slack/slacktest"
	"resetbot/bot"
)

// withHTTPTimeout gives the adapter's client a timeout of d.
func withHTTPTimeout(d time.Duration) envOption {
	return func(c *envConfig) { c.slack.HTTPClient = &http.Client{Timeout: d} }
}

// offered is a request as the service hands it to Offer.
func offered(id string) bot.Request {
	return bot.Request{ID: id, Account: "prod-db", Users: []string{"app_user"}, Requester: "alice",
		State: bot.StateOffered, RevealBy: time.Now().Add(30 * time.Minute),
		Votes: []bot.Vote{{Person: "bob", Approve: true, At: time.Now()}}}
}

// TestRetryAfterCapped: a Retry-After longer than MaxRetryWait is not
// waited out, even with time left before the deadline: the call fails at
// once, unsent, as EUNAVAILABLE. A shorter one is waited out.
func TestRetryAfterCapped(t *testing.T) {
	e := newEnv(t)
	req := offered("R-CAP001")
	req.State = bot.StatePending
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // room for a 45s wait
	defer cancel()
	ref, err := e.ad.Card(ctx, req, accounts[0], "")
	if err != nil {
		t.Fatalf("post the card: %v", err)
	}
	e.slack.Fail("chat.update", slacktest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "45", Err: "ratelimited"})
	req.Outcome = "changed"
	_, err = e.ad.Card(ctx, req, accounts[0], ref)
	if got := bot.ErrorCode(err); got != bot.EUNAVAILABLE {
		t.Errorf("card update under Retry-After 45: got %v, want %s", err, bot.EUNAVAILABLE)
	}
	if n := len(e.slack.CallsOf("chat.update")); n != 1 {
		t.Errorf("chat.update calls: got %d, want 1 (a 45s Retry-After is not waited out)", n)
	}
	// Offer and the Reveal's views.open alike.
	e.slack.Fail("chat.postMessage", slacktest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "30", Err: "ratelimited"})
	_, err = e.ad.Offer(ctx, people[0], offered("R-CAP002"))
	if got := bot.ErrorCode(err); got != bot.EUNAVAILABLE {
		t.Errorf("offer under Retry-After 30: got %v, want %s", err, bot.EUNAVAILABLE)
	}
	if n := len(e.slack.CallsOf("chat.postMessage")); n != 2 { // the card, then the one refused offer
		t.Errorf("chat.postMessage calls: got %d, want 2", n)
	}

	t.Run("UnderTheCapWaited", func(t *testing.T) {
		e := newEnv(t, func(c *envConfig) { c.slack.MaxRetryWait = 2 * time.Second })
		ref, err := e.ad.Card(ctx, req, accounts[0], "")
		if err != nil {
			t.Fatalf("post the card: %v", err)
		}
		e.slack.Fail("chat.update", slacktest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "1", Err: "ratelimited", Times: 1})
		req.Outcome = "changed again"
		if _, err := e.ad.Card(ctx, req, accounts[0], ref); err != nil {
			t.Errorf("card update under Retry-After 1: %v", err)
		}
		if n := len(e.slack.CallsOf("chat.update")); n != 2 {
			t.Errorf("chat.update calls: got %d, want 2 (refused, then retried)", n)
		}
	})
}

// TestOfferDeliveryHonesty: Offer says EUNAVAILABLE only when nothing
// reached Slack, EUNKNOWN when the message may have arrived, and never
// posts twice.
func TestOfferDeliveryHonesty(t *testing.T) {
	tests := []struct {
		name      string
		fault     slacktest.Fault
		want      string
		delivered bool // the fake kept the message
	}{
		{"RateLimited", slacktest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "40", Err: "ratelimited"}, bot.EUNAVAILABLE, false},
		{"ServiceUnavailableAnswer", slacktest.Fault{Err: "service_unavailable"}, bot.EUNAVAILABLE, false},
		{"Refused", slacktest.Fault{Err: "invalid_auth"}, bot.EINTERNAL, false},
		{"ServerError", slacktest.Fault{Status: http.StatusBadGateway}, bot.EUNKNOWN, false},
		{"FatalErrorAnswer", slacktest.Fault{Err: "fatal_error"}, bot.EUNKNOWN, false},
		{"ConnectionCutAfterSending", slacktest.Fault{Cut: true}, bot.EUNKNOWN, false},
		{"AcceptedButAnsweredLate", slacktest.Fault{Late: true}, bot.EUNKNOWN, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, withHTTPTimeout(time.Second))
			if _, err := e.ad.Offer(e.ctx(), people[0], offered("R-WARM01")); err != nil { // opens the DM
				t.Fatalf("first offer: %v", err)
			}
			e.slack.Fail("chat.postMessage", tt.fault)
			_, err := e.ad.Offer(e.ctx(), people[0], offered("R-OFFER1"))
			if got := bot.ErrorCode(err); got != tt.want {
				t.Errorf("Offer: got %s (%v), want %s", got, err, tt.want)
			}
			if tt.want == bot.EUNKNOWN && !strings.Contains(bot.ErrorMessage(err), "delivery unknown") {
				t.Errorf("Offer: got %q, want it to say delivery is unknown", bot.ErrorMessage(err))
			}
			if n := len(e.slack.CallsOf("chat.postMessage")); n != 2 {
				t.Errorf("chat.postMessage calls: got %d, want 2 (the first offer, and this one once)", n)
			}
			kept := 0
			for _, m := range e.slack.Messages("D" + alice) {
				if strings.Contains(m.Blocks, "R-OFFER1") {
					kept++
				}
			}
			if want := map[bool]int{true: 1, false: 0}[tt.delivered]; kept != want {
				t.Errorf("offers Slack kept: got %d, want %d", kept, want)
			}
		})
	}

	t.Run("ConnectionRefused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		ad, err := slackad.New(slackad.Options{BotToken: botToken, SigningSecret: secret,
			APIURL: "http://" + addr + "/api/", ApprovalsChannel: approvalsChannel})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if _, err := ad.Offer(ctx, people[0], offered("R-OFFER2")); bot.ErrorCode(err) != bot.EUNAVAILABLE {
			t.Errorf("Offer to a closed port: got %v, want %s", err, bot.EUNAVAILABLE)
		}
	})
}

// TestRevealAnsweredLate: Slack takes the password's views.update but
// answers after the client's timeout. The password is shown once, never
// sent again, and the request says delivery is unknown, not that the
// password could not be delivered.
func TestRevealAnsweredLate(t *testing.T) {
	e := newEnv(t, withHTTPTimeout(time.Second))
	id := e.ask(alice, "prod-db locked out")
	e.approve(id)
	e.slack.Fail("views.update", slacktest.Fault{Late: true, Times: 1})
	hook := "late-" + e.next()
	if status, body := e.interact(revealClick(e.slack, alice, id, hook)); status != http.StatusOK || body != "" {
		t.Fatalf("Reveal click: got %d %q, want an empty 200", status, body)
	}
	reply := e.slack.Reply(e.ctx(), hook)
	e.ad.Wait()
	v, _ := e.slack.ViewOpenedWith("reveal-" + hook)
	pws := e.passwords()
	if len(pws) != 1 || !strings.Contains(v.Text(), pws[0]) {
		t.Fatalf("the window: got %q, want the new password (Slack took the update)", v.Text())
	}
	if v.Updates != 1 {
		t.Errorf("window updates: got %d, want 1", v.Updates)
	}
	e.checkOnlyInWindow(t, pws[0], "reveal-"+hook)
	req := e.request(id)
	if req.State != bot.StateFailed || !strings.Contains(req.Outcome, "unknown") || strings.Contains(req.Outcome, "could not be delivered") {
		t.Errorf("request: got %s %q, want failed as delivery unknown", req.State, req.Outcome)
	}
	if !strings.Contains(reply, "delivery unknown") || strings.Contains(reply, "could not be delivered") {
		t.Errorf("reply to alice: got %q, want it to say delivery is unknown", reply)
	}
	if n := e.resets(); n != 1 {
		t.Errorf("calls to the cloud API: got %d, want 1", n)
	}
}

// TestRevealShowFaults: how each fault of the password's views.update ends
// the request. When the update may have reached Slack, it is sent once and
// the requester hears that delivery is unknown; when Slack refused it,
// nothing was shown, and they hear that instead.
func TestRevealShowFaults(t *testing.T) {
	tests := []struct {
		name    string
		fault   slacktest.Fault
		unknown bool
	}{
		{"ServerError", slacktest.Fault{Status: http.StatusBadGateway, Times: 1}, true},
		{"ConnectionCut", slacktest.Fault{Cut: true, Times: 1}, true},
		{"InternalErrorAnswer", slacktest.Fault{Err: "internal_error", Times: 1}, true},
		{"RateLimitedLong", slacktest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "45", Err: "ratelimited"}, false},
		{"Refused", slacktest.Fault{Err: "invalid_auth"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, withHTTPTimeout(5*time.Second))
			id := e.ask(alice, "prod-db locked out")
			e.approve(id)
			e.slack.Fail("views.update", tt.fault)
			hook := "show-" + e.next()
			if status, body := e.interact(revealClick(e.slack, alice, id, hook)); status != http.StatusOK || body != "" {
				t.Fatalf("Reveal click: got %d %q, want an empty 200", status, body)
			}
			reply := e.slack.Reply(e.ctx(), hook)
			e.ad.Wait()
			if got := strings.Contains(reply, "delivery unknown"); got != tt.unknown {
				t.Errorf("reply: got %q, want delivery unknown: %v", reply, tt.unknown)
			}
			pws := e.passwords()
			if len(pws) != 1 {
				t.Fatalf("passwords: got %d, want 1", len(pws))
			}
			v, _ := e.slack.ViewOpenedWith("reveal-" + hook)
			sent := 0
			for _, c := range e.slack.CallsOf("views.update") {
				if c.Get("view_id") == v.ID && strings.Contains(c.Text(), pws[0]) {
					sent++
				}
			}
			if tt.unknown && sent != 1 {
				t.Errorf("views.update calls with the password: got %d, want 1 (never sent again)", sent)
			}
			if strings.Contains(v.Text(), pws[0]) {
				t.Errorf("the window shows the password though Slack never took it")
			}
			if got := e.request(id).State; got != bot.StateFailed {
				t.Errorf("state: got %s, want failed", got)
			}
		})
	}
}
