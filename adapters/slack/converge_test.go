package slack_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"resetbot/adapters/chat"
	"resetbot/adapters/chat/chattest"
	"resetbot/adapters/slack/slacktest"
	"resetbot/bot"
	"resetbot/internal/testkit"
)

// cardFaults answers about half the card calls (chat.postMessage and
// chat.update in the approvals channel) with a fault, in turn: an answer
// that comes after the client gave up (the call was carried out), a 5xx,
// a connection cut without an answer, a 429 whose Retry-After is too long
// to wait for, and now and then one that is waited out. It records the requests whose card
// post was carried out without the bot learning where.
type cardFaults struct {
	calls    atomic.Int64
	mu       sync.Mutex
	lostPost map[string]bool // request ID -> a post of its card answered late
}

func (f *cardFaults) pick(c slacktest.Call) *slacktest.Fault {
	if c.Get("channel") != approvalsChannel {
		return nil // offers and their updates go through: this is about cards
	}
	n := f.calls.Add(1)
	if n%2 == 0 {
		return nil
	}
	faults := []slacktest.Fault{
		{Late: true},
		{Status: http.StatusInternalServerError},
		{Cut: true},
		{Status: http.StatusTooManyRequests, RetryAfter: "30", Err: "ratelimited"},
		{Late: true},
		{Status: http.StatusBadGateway},
		{Cut: true},
		{Status: http.StatusTooManyRequests, RetryAfter: "1", Err: "ratelimited"},
	}
	flt := faults[(n/2)%int64(len(faults))]
	if flt.Late && c.Method == "chat.postMessage" {
		var meta struct {
			Payload map[string]any `json:"event_payload"`
		}
		_ = json.Unmarshal([]byte(c.Get("metadata")), &meta)
		id, _ := meta.Payload["request_id"].(string)
		f.mu.Lock()
		f.lostPost[id] = true
		f.mu.Unlock()
	}
	return &flt
}

// shownPasswords are the passwords a Reveal window shows: its inline code.
func shownPasswords(v slacktest.View) []string {
	var out []string
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			if style, _ := x["style"].(map[string]any); style["code"] == true {
				if s, _ := x["text"].(string); s != "" {
					out = append(out, s)
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v.Body)
	return out
}

// TestCardsConvergeUnderSlackFaults: three replicas on one Redis and one
// Slack take 40 requests through ask, then deny, cancel, or approve and
// then Reveal or cancel, while Slack answers about half the card calls
// with 5xx, 429s, answers too late (the card was posted all the same) and
// cut connections. Once Slack answers again, the replicas' sweeps leave
// every request with exactly one card in the channel (a card posted
// without an answer is found by its metadata, not posted again), each
// showing how its request ended, and no password in any message.
func TestCardsConvergeUnderSlackFaults(t *testing.T) {
	const requests = 40
	requesters := []string{alice, bob, carol, dave}
	var accts []bot.Account // enough that every request can be open at once
	for i := range requests / len(requesters) {
		db := []string{prodDB, stagingDB}[i%2]
		accts = append(accts, bot.Account{
			Name: fmt.Sprintf("db-%d", i), Provider: chattest.TDSQL, Region: "ap-guangzhou",
			Users: []string{"app_user"}, Settings: chattest.TDSQLSettings(db),
			Requesters: []string{"eng"}, Approvers: []string{"db-approvers"}, Approvals: 1, TTL: 30 * time.Minute,
		})
	}
	clock := testkit.NewClock(time.Now())
	opts := []envOption{withClock(clock), withHTTPTimeout(time.Second), func(c *envConfig) {
		c.accounts = accts
		c.limit = bot.Limit{N: requests, Window: time.Hour}
		c.slack.Gate = chat.NewGate(time.Millisecond, 2*requests) // each user sends dozens of payloads
	}}
	e := newEnv(t, opts...)
	ad2, svc2, srv2 := e.replica(opts...)
	ad3, svc3, srv3 := e.replica(opts...)
	adapters := []interface{ Wait() }{e.ad, ad2, ad3}
	services := []*bot.Service{e.svc, svc2, svc3}
	servers := []*httptest.Server{e.srv, srv2, srv3}
	e.slack.PageLimit(20) // the look-up reads the channel a page at a time
	faults := &cardFaults{lostPost: map[string]bool{}}
	for _, m := range []string{"chat.postMessage", "chat.update"} {
		e.slack.FailSome(m, faults.pick)
	}
	ctx := e.ctx()

	// send posts a signed payload to the i-th request's replica and returns
	// the hook its reply goes to.
	send := func(i int, path string, body func(hook string) string) string {
		t.Helper()
		hook := fmt.Sprintf("r%d-%s", i, e.next())
		if status, got := e.postTo(servers[i%len(servers)], path, body(hook)); status != http.StatusOK || got != "" {
			t.Fatalf("%s: got %d %q, want an empty 200", path, status, got)
		}
		return hook
	}
	command := func(i int, user, text string) string {
		return send(i, "/slack/commands", func(hook string) string { return e.commandForm(user, text, hook) })
	}

	// Each request ends one way: denied; cancelled while pending;
	// approved, then cancelled while offered; or approved and revealed.
	type request struct {
		id, requester, approver string
		fate                    string // deny, cancel, withdraw, reveal
		want                    bot.State
	}
	reqs := make([]request, requests)
	hooks := make([]string, requests)
	for i := range reqs {
		r := &reqs[i]
		r.requester = requesters[i%len(requesters)]
		r.approver = map[bool]string{true: bob, false: alice}[r.requester == alice || (r.requester != bob && i%2 == 0)]
		r.fate = map[int]string{3: "withdraw", 5: "deny", 7: "cancel"}[i%8]
		r.want = map[string]bot.State{"deny": bot.StateDenied, "cancel": bot.StateCancelled, "withdraw": bot.StateCancelled}[r.fate]
		if r.fate == "" {
			r.fate, r.want = "reveal", bot.StateSucceeded
		}
		hooks[i] = command(i, r.requester, fmt.Sprintf("%s locked out", accts[i/len(requesters)].Name))
	}
	for i := range reqs {
		r := &reqs[i]
		r.id = askedID(t, e.slack.Reply(ctx, hooks[i]))
		switch r.fate {
		case "deny":
			hooks[i] = command(i, r.approver, "deny "+r.id+" not now")
		case "cancel":
			hooks[i] = command(i, r.requester, "cancel "+r.id)
		default:
			hooks[i] = command(i, r.approver, "approve "+r.id)
		}
	}

	// Each approved request is offered to its requester, who reveals it, or
	// cancels it. The Reveals are paced: the cloud API takes 20 calls a
	// second.
	var passwords []string
	triggers := map[string]string{}
	withdrawn := map[string]string{}
	pace := time.NewTicker(60 * time.Millisecond)
	defer pace.Stop()
	for i, r := range reqs {
		if r.fate != "reveal" && r.fate != "withdraw" {
			continue
		}
		e.slack.WaitFor(ctx, "the offer of "+r.id, func([]slacktest.Call) bool {
			for _, m := range e.slack.Messages("D" + r.requester) {
				if strings.Contains(m.Blocks, `"value":"`+r.id+`"`) {
					return true
				}
			}
			return false
		})
		if r.fate == "withdraw" {
			withdrawn[r.id] = command(i, r.requester, "cancel "+r.id)
			continue
		}
		<-pace.C
		hook := send(i, "/slack/interactions", func(hook string) string {
			return interactionForm(t, revealClick(e.slack, r.requester, r.id, hook))
		})
		triggers[r.id] = "reveal-" + hook
	}
	for i, r := range reqs {
		reply := e.slack.Reply(ctx, hooks[i])
		if (r.fate == "reveal" || r.fate == "withdraw") && !strings.Contains(reply, "You approved "+r.id) {
			t.Errorf("approving %s: got %q", r.id, reply)
		}
		switch r.fate {
		case "reveal":
			pws := shownPasswords(e.window(triggers[r.id]))
			if len(pws) != 1 {
				t.Errorf("%s's window shows %d passwords, want 1", r.id, len(pws))
			}
			passwords = append(passwords, pws...)
		case "withdraw":
			if got := e.slack.Reply(ctx, withdrawn[r.id]); got != r.id+" is cancelled." {
				t.Errorf("cancelling %s once offered: got %q", r.id, got)
			}
		}
	}
	e.slack.WaitFor(ctx, "every request to end", func([]slacktest.Call) bool {
		for _, r := range reqs {
			if !e.request(r.id).State.Terminal() {
				return false
			}
		}
		return true
	})
	for _, ad := range adapters {
		ad.Wait() // the work each request's last change set off
	}

	faults.mu.Lock()
	lost := len(faults.lostPost)
	faults.mu.Unlock()
	if lost == 0 {
		t.Fatal("no card post was answered too late: the faults missed what this test is about")
	}
	for _, m := range []string{"chat.postMessage", "chat.update"} {
		e.slack.FailSome(m, nil)
	}
	for round := 0; ; round++ {
		n, err := e.Redis.ZCard(ctx, "{"+e.Prefix+"}cards:stale").Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if round == 10 {
			t.Fatalf("after %d sweeps with Slack answering, %d cards are still owed", round, n)
		}
		var wg sync.WaitGroup
		for _, svc := range services {
			wg.Go(func() { svc.Sweep(ctx) })
		}
		wg.Wait()
		clock.Advance(6 * time.Minute) // past any card's backoff
	}

	cards := map[string][]slacktest.Message{}
	for _, m := range e.slack.Messages(approvalsChannel) {
		if m.ThreadTS != "" {
			continue
		}
		id := ""
		if m.Metadata != nil && m.Metadata.EventType == "resetbot_card" {
			id, _ = m.Metadata.EventPayload["request_id"].(string)
		}
		if id == "" {
			t.Errorf("a message in the channel carries no card metadata: %q", m.Text)
			continue
		}
		cards[id] = append(cards[id], m)
	}
	for _, r := range reqs {
		req := e.request(r.id)
		if req.State != r.want {
			t.Errorf("%s: %s, want %s", r.id, req.State, r.want)
		}
		got := cards[r.id]
		if len(got) != 1 {
			t.Errorf("%s has %d cards in the channel, want 1 (its post answered late: %v)", r.id, len(got), faults.lostPost[r.id])
			continue
		}
		card := got[0]
		if ref := req.Refs[bot.Ref(bot.RefCard, bot.PlatformSlack)]; ref != card.Channel+"/"+card.TS {
			t.Errorf("%s: card ref %q, want the card in the channel, %s/%s", r.id, ref, card.Channel, card.TS)
		}
		if !strings.HasSuffix(card.Text, ": "+string(r.want)) || strings.Contains(card.Blocks, `"action_id":"approve"`) {
			t.Errorf("%s's card: %q, want it to say %s, without buttons", r.id, card.Text, r.want)
		}
	}
	if len(cards) != requests {
		t.Errorf("cards of %d requests in the channel, want %d", len(cards), requests)
	}
	if got, want := e.Cloud.Resets(), len(passwords); got != want {
		t.Errorf("resets: got %d, want %d (one a revealed request)", got, want)
	}
	if len(e.slack.CallsOf("conversations.history")) == 0 {
		t.Error("no card was looked for in the channel's history")
	}

	channels := []string{approvalsChannel}
	for _, u := range requesters {
		channels = append(channels, "D"+u)
	}
	for _, ch := range channels {
		for _, m := range e.slack.Messages(ch) {
			for _, pw := range passwords {
				if strings.Contains(m.Text+m.Blocks, pw) {
					t.Errorf("a message in %s holds a password: %q", ch, m.Text)
				}
			}
		}
	}
	e.CheckNoSecrets(t, passwords...)
}
