package discord_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"resetbot/adapters/chat"
	"resetbot/adapters/discord"
	"resetbot/adapters/discord/discordtest"
	"resetbot/bot"
)

const emSpace = "\u2003"

// TestOptionsCheckedAsTyped: Discord's options are checked as the typed
// grammar checks its words, with its one definition of white space: an
// option that would read as other words is refused, saying why, and
// nothing is created; white space around a name is only trimmed.
func TestOptionsCheckedAsTyped(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		i    map[string]any
		want string
	}{
		{"UsersWithAnEmSpaceInside", e.slash(carol, "ask", "account", "hpc", "users", "u1"+emSpace+"u2", "reason", "rotate"), "no space inside a name"},
		{"UsersWithASpaceInside", e.slash(carol, "ask", "account", "hpc", "users", "u1 u2", "reason", "rotate"), "no space inside a name"},
		{"UsersEmptyBetweenCommas", e.slash(carol, "ask", "account", "hpc", "users", "u1,,u2", "reason", "rotate"), "empty name between commas"},
		{"AccountWithAnEmSpace", e.slash(carol, "ask", "account", "inj12"+emSpace+"hpc", "reason", "rotate"), "one word"},
		{"AccountWithAnIdeographicSpace", e.slash(carol, "ask", "account", "hpc\u3000approve", "reason", "rotate"), "one word"},
		{"IDWithAnEmSpace", e.slash(bob, "approve", "id", "R-222222"+emSpace+"x"), "one word"},
		{"ReasonWithABidiOverride", e.slash(carol, "ask", "account", "hpc", "reason", "ok \u202eevil"), "invisible or formatting"},
		{"DenyReasonWithAZeroWidthSpace", e.slash(bob, "deny", "id", "R-222222", "reason", "no\u200bpe"), "invisible or formatting"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.mustSend(tc.i)
			if !strings.Contains(a.Content(), tc.want) {
				t.Errorf("answer: got %q, want %q in it", a.Content(), tc.want)
			}
		})
	}
	if open, err := e.store.Open(e.ctx, "carol"); err != nil || len(open) != 0 {
		t.Errorf("carol's open requests: got %v %v, want none", open, err)
	}
	t.Run("SpacesAroundNamesTrimmed", func(t *testing.T) {
		a := e.mustSend(e.slash(carol, "ask", "account", emSpace+"hpc"+emSpace, "users", emSpace+"u1"+emSpace+",\u00a0u3 ", "reason", "rotate"))
		id := idRE.FindString(a.Content())
		req, err := e.store.Get(e.ctx, id)
		if err != nil || req.Account != "hpc" || !slices.Equal(req.Users, []string{"u1", "u3"}) {
			t.Errorf("request: got %+v %v, want hpc users u1, u3 (answer %q)", req, err, a.Content())
		}
	})
}

// TestStrangerFlood: a stranger's thousand signed payloads are each
// answered at once (a refusal, then "slow down"), queue no work and call
// Discord for nothing; an approver's click sent after them is admitted and
// handled. Counted, not timed.
func TestStrangerFlood(t *testing.T) {
	// A gate that refills too slowly to matter during the test: the
	// stranger gets exactly its burst.
	e := newEnv(t, func(o *discord.Options) { o.Gate = chat.NewGate(time.Hour, 20) })
	id, _ := e.ask(alice, "prod-db")
	e.fake.Wait(e.ctx, "the approval card", isCardPost)
	before := len(e.fake.Calls())

	const flood = 1000
	var mu sync.Mutex
	var refused, slowed int
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for k := 0; k < flood; k++ {
		var i map[string]any
		if k%2 == 0 {
			i = e.click(mallory, "approve:"+id)
		} else {
			i = e.slash(mallory, "ask", "account", "prod-db", "reason", "let me in")
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			a := e.send(i)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case a.Status != 200 || a.Type() != 4 || !a.Ephemeral():
				t.Errorf("answer to the stranger: got %d %s, want an ephemeral message", a.Status, a.Raw)
			case strings.Contains(a.Content(), "not in resetbot's list of people"):
				refused++
			case strings.Contains(a.Content(), "slow down"):
				slowed++
			default:
				t.Errorf("answer to the stranger: got %q, want a refusal or slow down", a.Content())
			}
		}()
	}
	wg.Wait()
	if refused+slowed != flood || refused != 20 {
		t.Errorf("answers: got %d refusals and %d slow down, want every one of %d answered, 20 (the gate's burst) refused by the service", refused, slowed, flood)
	}
	for _, c := range e.fake.Calls()[before:] {
		if c.Method != "ANSWER" {
			t.Errorf("Discord call for the stranger's flood: %s %s", c.Method, c.Path)
		}
	}
	a := e.mustSend(e.click(bob, "approve:"+id))
	if !strings.Contains(a.Content(), "approved") {
		t.Errorf("bob's click after the flood: got %q, want it approved", a.Content())
	}
	e.fake.Wait(e.ctx, "the offer", isOffer(id))
	if req, err := e.store.Get(e.ctx, id); err != nil || req.State != bot.StateOffered {
		t.Errorf("request: got %s %v, want offered", req.State, err)
	}
}

// TestBusyQueueSaysSo: when as much work waits as runs, the next
// interaction is told the bot is busy at once (nothing done), and the work
// already queued is still done.
func TestBusyQueueSaysSo(t *testing.T) {
	e := newEnv(t, func(o *discord.Options) {
		o.MaxWorking = 1
		o.AckWithin = -1
		o.Gate = chat.NewGate(time.Millisecond, 1000)
	})
	release := make(chan struct{})
	held := make(chan struct{})
	var once sync.Once
	e.fake.SetFault(func(c discordtest.Call) *discordtest.Fault {
		if isPostTo("channels/" + approvalsCh + "/messages")(c) {
			once.Do(func() { close(held) })
			return &discordtest.Fault{Hold: release}
		}
		return nil
	})
	first := e.slash(alice, "ask", "account", "prod-db", "reason", "locked out")
	if a := e.send(first); a.Type() != 5 {
		t.Fatalf("first: got %s, want a deferral", a.Raw)
	}
	select { // the ask holds the one slot, posting its card
	case <-held:
	case <-e.ctx.Done():
		t.Fatal("the card was never posted")
	}
	second := e.slash(carol, "list")
	if a := e.send(second); a.Type() != 5 {
		t.Fatalf("second: got %s, want a deferral (queued)", a.Raw)
	}
	third := e.mustSend(e.slash(bob, "list"))
	if !strings.Contains(third.Content(), "too busy") {
		t.Errorf("third: got %q, want it told the bot is busy", third.Content())
	}
	close(release)
	for _, i := range []map[string]any{first, second} {
		e.fake.Wait(e.ctx, "the queued answer", isEditOriginal(tokenOf(i)))
	}
	if !strings.Contains(e.logs.String(), "too much work queued") {
		t.Errorf("log: want the refusal logged")
	}
}

// recordingService remembers the actors of the asks it handles.
type recordingService struct {
	chat.Service
	mu     sync.Mutex
	actors []bot.Actor
}

func (r *recordingService) Handle(ctx context.Context, a bot.Actor, c bot.Command) bot.Reply {
	if c.Kind == bot.KindAsk {
		r.mu.Lock()
		r.actors = append(r.actors, a)
		r.mu.Unlock()
	}
	return r.Service.Handle(ctx, a, c)
}

// TestAskTokenKeptWhileItWorks: the token of the ask's interaction goes
// on the request with how long it works, 15 minutes, so that the store
// keeps it no longer.
func TestAskTokenKeptWhileItWorks(t *testing.T) {
	e := newEnv(t)
	rec := &recordingService{Service: e.svc}
	e.ad.Attach(rec)
	_, ask := e.ask(alice, "prod-db")
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.actors) != 1 {
		t.Fatalf("asks handled: got %d, want 1", len(rec.actors))
	}
	a := rec.actors[0]
	if got := a.Refs[bot.Ref(bot.RefInteraction, bot.PlatformDiscord)]; got != tokenOf(ask) {
		t.Errorf("the ask's ref: got %q, want its token", got)
	}
	if a.RefsFor != 15*time.Minute {
		t.Errorf("RefsFor: got %s, want 15m0s", a.RefsFor)
	}
}

// TestRefusalsLogged: each refused HTTP interaction is logged with its
// reason, and the log holds no token; a signed PING without
// application_id gets PONG.
func TestRefusalsLogged(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now().Unix()
	ts := func() string { return strings.TrimSpace(jsonText(now)) }
	i := e.slash(alice, "list")
	i["application_id"] = "999"
	foreign, _ := json.Marshal(i)
	for _, tc := range []struct {
		name   string
		body   []byte
		sig    func(b []byte) string
		status int
		why    string
	}{
		{"BadSignature", foreign, func([]byte) string { return strings.Repeat("00", 64) }, 401, "does not verify"},
		{"Malformed", []byte(`{"type": 2, "id": `), nil, 400, "not an interaction"},
		{"AnotherApplication", foreign, nil, 400, "application_id is not"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sig := sign(e.key, ts(), tc.body)
			if tc.sig != nil {
				sig = tc.sig(tc.body)
			}
			if a := e.post(tc.body, ts(), sig, ""); a.Status != tc.status {
				t.Errorf("status: got %d, want %d", a.Status, tc.status)
			}
			if logs := e.logs.String(); !strings.Contains(logs, "refused an interaction") || !strings.Contains(logs, tc.why) {
				t.Errorf("log: want the refusal with %q", tc.why)
			}
		})
	}
	if strings.Contains(e.logs.String(), tokenOf(i)) {
		t.Errorf("log: holds an interaction's token")
	}
	t.Run("PingWithoutApplicationID", func(t *testing.T) {
		b := []byte(`{"id":"1","type":1,"token":"x","version":1}`)
		if a := e.post(b, ts(), sign(e.key, ts(), b), ""); a.Status != 200 || a.Type() != 1 {
			t.Errorf("PING: got %d %s, want PONG (type 1)", a.Status, a.Raw)
		}
	})
}

func jsonText(v any) string { b, _ := json.Marshal(v); return string(b) }
