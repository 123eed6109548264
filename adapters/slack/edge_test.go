package slack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"resetbot/adapters/slack/slacktest"
	"resetbot/bot"
)

// send posts a signed form to path from any goroutine: it reports errors
// instead of failing the test.
func (e *env) send(path, body string) (int, string, error) {
	r, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sign(r, body, time.Now(), secret)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// withField changes one field of a form.
func withField(t testing.TB, form, key, value string) string {
	t.Helper()
	v, err := url.ParseQuery(form)
	if err != nil {
		t.Fatal(err)
	}
	v.Set(key, value)
	return v.Encode()
}

// TestFloodDoesNotDelayAnApprover: while a stranger sends hundreds of
// signed commands and a known person sends dozens, an approver's click is
// admitted and handled. The stranger is refused in each acknowledgement
// (no work queued, nothing stored); the known person's commands beyond
// their burst are told to slow down; every admitted command is answered;
// nothing is dropped silently.
func TestFloodDoesNotDelayAnApprover(t *testing.T) {
	e := newEnv(t)
	id := e.ask(alice, "prod-db locked out")
	const strangers, knowns = 300, 60
	type result struct {
		hook, body string
		status     int
		err        error
	}
	strangerRes := make([]result, strangers)
	knownRes := make([]result, knowns)
	var clickStatus int
	var clickBody string
	var clickErr error
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	run := func(f func()) {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			f()
		})
	}
	for i := range strangers {
		hook := fmt.Sprintf("mallory-%03d", i)
		form := e.commandForm(mallory, "prod-db let me in", hook)
		run(func() {
			s, b, err := e.send("/slack/commands", form)
			strangerRes[i] = result{hook, b, s, err}
		})
		if i == strangers/2 {
			run(func() {
				clickStatus, clickBody, clickErr = e.send("/slack/interactions",
					interactionForm(t, click(bob, "approve", id, "1700000200.000001", "bob-flood", e.slack)))
			})
		}
	}
	for i := range knowns {
		hook := fmt.Sprintf("carol-%03d", i)
		form := e.commandForm(carol, "status", hook)
		run(func() {
			s, b, err := e.send("/slack/commands", form)
			knownRes[i] = result{hook, b, s, err}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	if clickErr != nil || clickStatus != http.StatusOK || clickBody != "" {
		t.Fatalf("bob's click: got %d %q %v, want an empty 200", clickStatus, clickBody, clickErr)
	}
	if got := e.slack.Reply(e.ctx(), "bob-flood"); !strings.Contains(got, "You approved "+id) {
		t.Errorf("bob's click: got %q, want it handled", got)
	}
	refusedStranger := 0
	for _, r := range strangerRes {
		switch {
		case r.err != nil || r.status != http.StatusOK:
			t.Fatalf("stranger's command %s: got %d %v", r.hook, r.status, r.err)
		case strings.Contains(r.body, "not in resetbot's list of people"):
			refusedStranger++
		case !strings.Contains(r.body, "Slow down"):
			t.Fatalf("stranger's command %s: got %q, want a refusal or slow down in the acknowledgement", r.hook, r.body)
		}
	}
	// The gate comes first: the stranger's refusals (each audited) are as
	// few as the gate admits, whatever they send.
	if most := 10 + int(elapsed/(2*time.Second)) + 1; refusedStranger < 1 || refusedStranger > most {
		t.Errorf("stranger's commands refused as a stranger: got %d, want 1 to %d in %s", refusedStranger, most, elapsed)
	}
	var admitted, slowed []string
	for _, r := range knownRes {
		switch {
		case r.err != nil || r.status != http.StatusOK:
			t.Fatalf("carol's command %s: got %d %v", r.hook, r.status, r.err)
		case r.body == "":
			admitted = append(admitted, r.hook)
		case strings.Contains(r.body, "Slow down"):
			slowed = append(slowed, r.hook)
		default:
			t.Fatalf("carol's command %s: got %q, want an empty 200 or slow down", r.hook, r.body)
		}
	}
	// A burst of ten, then one every two seconds.
	if most := 10 + int(elapsed/(2*time.Second)) + 1; len(admitted) < 10 || len(admitted) > most {
		t.Errorf("carol's commands admitted: got %d, want 10 to %d in %s", len(admitted), most, elapsed)
	}
	if len(admitted)+len(slowed) != knowns {
		t.Errorf("carol's commands: %d admitted + %d slowed down, want %d", len(admitted), len(slowed), knowns)
	}
	for _, hook := range admitted {
		if got := e.slack.Reply(e.ctx(), hook); got == "" {
			t.Errorf("carol's admitted command %s: no answer", hook)
		}
	}
	e.ad.Wait()
	replies := map[string]int{}
	for _, c := range e.slack.CallsOf("hook") {
		replies[c.Hook]++
	}
	for _, hook := range admitted {
		if replies[hook] != 1 {
			t.Errorf("answers to %s: got %d, want 1", hook, replies[hook])
		}
	}
	for _, hook := range slowed {
		if replies[hook] != 0 {
			t.Errorf("answers to the slowed %s: got %d, want none beyond the acknowledgement", hook, replies[hook])
		}
	}
	for _, r := range strangerRes {
		if replies[r.hook] != 0 {
			t.Fatalf("work was queued for the stranger's %s", r.hook)
		}
	}
	audited := 0
	for _, ev := range e.audit() {
		if strings.Contains(ev.Actor, mallory) {
			if !ev.Stranger || ev.Kind != bot.EventRefused {
				t.Fatalf("the stranger reached the store beyond the audit of a refusal: %+v", ev)
			}
			audited++
		}
	}
	if audited != refusedStranger {
		t.Errorf("the stranger's refusals audited: got %d, want %d, one for each refusal the gate let through", audited, refusedStranger)
	}
	if got := e.request(id).State; got != bot.StateOffered && got != bot.StateApproved {
		t.Errorf("request: got %s, want approved", got)
	}
}

// TestClickFlood: a known person's clicks beyond the burst get HTTP 429,
// which Slack shows by the button, and queue nothing.
func TestClickFlood(t *testing.T) {
	e := newEnv(t)
	id := e.ask(alice, "prod-db locked out")
	ok, limited := 0, 0
	for i := range 25 {
		status, body := e.interact(click(carol, "approve", id, fmt.Sprintf("1700000300.%06d", i), fmt.Sprintf("carol-%02d", i), e.slack))
		switch status {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			if !strings.Contains(body, "Slow down") {
				t.Errorf("click %d: got 429 %q, want it to say slow down", i, body)
			}
			limited++
		default:
			t.Fatalf("click %d: got %d %q", i, status, body)
		}
	}
	if ok < 10 || limited == 0 || ok+limited != 25 {
		t.Errorf("clicks: %d admitted, %d limited, want 10 or so admitted and the rest limited", ok, limited)
	}
	e.ad.Wait()
	if n := len(e.slack.CallsOf("hook")); n != ok+1 { // the ask's reply, and one per admitted click
		t.Errorf("answers: got %d, want %d", n, ok+1)
	}
}

// TestSSLCheck: Slack's certificate probe gets an empty 200, signed or not,
// and nothing is done.
func TestSSLCheck(t *testing.T) {
	e := newEnv(t)
	body := "ssl_check=1&token=unused"
	for _, signed := range []bool{true, false} {
		status, got := e.post("/slack/commands", body, func(r *http.Request) {
			if !signed {
				r.Header.Del("X-Slack-Signature")
				r.Header.Del("X-Slack-Request-Timestamp")
			}
		})
		if status != http.StatusOK || got != "" {
			t.Errorf("ssl_check (signed %v): got %d %q, want an empty 200", signed, status, got)
		}
	}
	// An unsigned command is still refused.
	status, _ := e.post("/slack/commands", e.commandForm(alice, "list", "x")+"&ssl_check=1", func(r *http.Request) {
		r.Header.Del("X-Slack-Signature")
	})
	if status != http.StatusUnauthorized {
		t.Errorf("an unsigned command that claims ssl_check: got %d, want 401", status)
	}
	if calls := e.slack.Calls(); len(calls) != 0 {
		t.Errorf("Slack got %d calls, want none", len(calls))
	}
}

// TestOtherCommandRefused: a command other than Options.Command sent to the
// same URL is refused with a clear answer, and nothing is done.
func TestOtherCommandRefused(t *testing.T) {
	e := newEnv(t)
	form := withField(t, e.commandForm(alice, "Hi", "hello"), "command", "/hello-world")
	status, body := e.post("/slack/commands", form)
	if got := ackText(t, body); status != http.StatusOK || !strings.Contains(got, "/reset-password only") || !strings.Contains(got, "/hello-world") {
		t.Errorf("/hello-world Hi: got %d %q, want a refusal naming both commands", status, got)
	}
	e.ad.Wait()
	if calls := e.slack.Calls(); len(calls) != 0 {
		t.Errorf("Slack got %d calls, want none", len(calls))
	}
	if evs := e.audit(); len(evs) != 0 {
		t.Errorf("audit: got %v, want nothing", evs)
	}

	t.Run("ConfiguredName", func(t *testing.T) {
		e := newEnv(t, func(c *envConfig) { c.slack.Command = "/pw" })
		status, body := e.post("/slack/commands", withField(t, e.commandForm(alice, "list", "pw"), "command", "/pw"))
		if status != http.StatusOK || body != "" {
			t.Fatalf("/pw list: got %d %q, want an empty 200", status, body)
		}
		if got := e.slack.Reply(e.ctx(), "pw"); !strings.Contains(got, "prod-db") {
			t.Errorf("/pw list: got %q, want the accounts", got)
		}
		_, body = e.post("/slack/commands", e.commandForm(alice, "list", "old"))
		if got := ackText(t, body); !strings.Contains(got, "/pw only") {
			t.Errorf("/reset-password list to a bot named /pw: got %q, want it refused", got)
		}
	})
}

// TestTypedTextShownAsTyped: Slack sends &, < and > in a command's text as
// entities; the reason is read as typed, and shown as typed on the card,
// mrkdwn and all, as is a deny reason.
func TestTypedTextShownAsTyped(t *testing.T) {
	e := newEnv(t)
	typed := "*PRE-APPROVED by security* ~needs review~ _now_ `rm` R&D <ops> <!channel>"
	sent := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace("prod-db " + typed)
	id := e.ask(alice, sent)
	if got := e.request(id).Reason; got != typed {
		t.Fatalf("reason: got %q, want %q", got, typed)
	}
	card, ok := cardOf(e.slack.Calls(), id)
	if !ok {
		t.Fatalf("no card for %s", id)
	}
	if !blocksShown(t, card.Get("blocks")).showsLiterally(typed) {
		t.Errorf("the card does not show the reason as typed:\n%s", blockText(card))
	}
	denial := "*approved* by nobody & <b>"
	_, _, hook := e.command(bob, strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace("deny "+id+" "+denial))
	if got := e.slack.Reply(e.ctx(), hook); !strings.Contains(got, "You denied "+id) {
		t.Fatalf("deny: got %q", got)
	}
	calls := e.slack.WaitFor(e.ctx(), "the card to show the deny", func(cs []slacktest.Call) bool {
		c, ok := cardOf(cs, id)
		return ok && c.Method == "chat.update" && strings.Contains(c.Get("blocks"), "reason for denying")
	})
	card, _ = cardOf(calls, id)
	if s := blocksShown(t, card.Get("blocks")); !s.showsLiterally(denial) || !s.showsLiterally(typed) {
		t.Errorf("the denied card does not show both reasons as typed:\n%s", blockText(card))
	}
	// The replies and notices quote as typed too.
	for _, c := range e.slack.Calls() {
		if c.Method != "hook" && c.Method != "chat.postEphemeral" {
			continue
		}
		b := c.Get("blocks")
		if c.JSON != nil {
			raw, _ := json.Marshal(c.JSON["blocks"])
			b = string(raw)
		}
		if strings.Contains(c.Text(), "*approved*") && !blocksShown(t, b).showsLiterally(denial) {
			t.Errorf("%s quotes the deny reason as markup: %s", c.Method, c.Body)
		}
	}
}

// TestFullQueueSaysSo: when as much work waits as the adapter runs at once,
// a further command is told so in its acknowledgement, nothing is queued
// for it, and every command admitted is answered.
func TestFullQueueSaysSo(t *testing.T) {
	entered := make(chan struct{}, 8)
	release := make(chan struct{})
	e := newEnv(t, func(c *envConfig) {
		// The first look at the memory of deliveries holds the work there.
		c.slack.Seen = func(ctx context.Context, key string, ttl time.Duration) (bool, error) {
			entered <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
			}
			return true, nil
		}
	})
	e.ad.SetWorkers(1)
	status, body, first := e.command(alice, "list")
	if status != http.StatusOK || body != "" {
		t.Fatalf("first command: got %d %q, want an empty 200", status, body)
	}
	select {
	case <-entered: // running, holding the one worker
	case <-e.ctx().Done():
		t.Fatal("the first command never ran")
	}
	status, body, second := e.command(alice, "list") // waits for the worker
	if status != http.StatusOK || body != "" {
		t.Fatalf("second command: got %d %q, want an empty 200", status, body)
	}
	status, body, third := e.command(alice, "list")
	if got := ackText(t, body); status != http.StatusOK || !strings.Contains(got, "busy") || !strings.Contains(got, "nothing was done") {
		t.Errorf("third command: got %d %q, want it told the bot is busy", status, got)
	}
	close(release)
	for _, hook := range []string{first, second} {
		if got := e.slack.Reply(e.ctx(), hook); !strings.Contains(got, "prod-db") {
			t.Errorf("admitted command %s: got %q, want the accounts", hook, got)
		}
	}
	e.ad.Wait()
	for _, c := range e.slack.CallsOf("hook") {
		if c.Hook == third {
			t.Errorf("the refused command was answered later too: %s", c.Body)
		}
	}
}
