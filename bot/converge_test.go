package bot_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"resetbot/bot"
	"resetbot/internal/redistest"
)

// flaky is a chat API that, while failing is set, refuses every other card
// call before doing anything, as Slack answering 500s does; the count is
// shared by every replica's adapter, as the platform is.
type flaky struct {
	notifier
	failing *atomic.Bool
	calls   *atomic.Int64
}

func (n flaky) Card(ctx context.Context, req bot.Request, acct bot.Account, ref string) (string, error) {
	if n.failing.Load() && n.calls.Add(1)%2 == 0 {
		return "", bot.Errorf(bot.EUNAVAILABLE, "the chat API answered 500")
	}
	return n.notifier.Card(ctx, req, acct, ref)
}

// TestServiceCardsConvergeAfterChatFaults: with the chat API refusing half
// the card calls, requests are asked, approved and cancelled through two
// replicas; once it answers again, the replicas' sweeps (run side by side)
// leave every card showing its request as it stands, each posted once.
func TestServiceCardsConvergeAfterChatFaults(t *testing.T) {
	e := newEnv(t)
	var failing atomic.Bool
	var calls atomic.Int64
	failing.Store(true)
	withFaults := func(o *bot.Options) {
		for i, n := range o.Notifiers {
			o.Notifiers[i] = flaky{notifier: n.(notifier), failing: &failing, calls: &calls}
		}
	}
	e.svc, e.store = e.newService(e.client, withFaults)
	other, _ := redistest.Client(t)
	b, _ := e.newService(other, withFaults)

	var ids []string
	for round := 0; round < 3; round++ {
		for _, who := range []string{"alice", "sam"} {
			db := e.ask(as(who, bot.PlatformSlack), "prod-db locked out")
			hpc := e.ask(as(who, bot.PlatformDiscord), "hpc:u1 the batch is down")
			ids = append(ids, db, hpc)
			// Last round, they stay open: prod-db approved, hpc with one
			// approval of two; before, they end: denied and cancelled.
			vote, end := "deny "+db+" not now", func() { e.mustDo(as(who, bot.PlatformDiscord), "cancel "+hpc) }
			if round == 2 {
				vote, end = "approve "+db, func() { e.mustDo(as("carol", bot.PlatformDiscord), "approve "+hpc) }
			}
			if r := b.HandleText(e.ctx, as("bob", bot.PlatformSlack), vote); r.Err != nil {
				t.Fatalf("%s: %v", vote, r.Err)
			}
			end()
		}
	}
	if failed := e.chat.count("card", nil); failed == 0 {
		t.Fatal("no card was shown at all")
	}

	sweepBoth := func() {
		var wg sync.WaitGroup
		for _, svc := range []*bot.Service{e.svc, b} {
			wg.Go(func() { svc.Sweep(e.ctx) })
		}
		wg.Wait()
		e.clock.Advance(5 * time.Minute) // past any backoff
	}
	for range 3 { // still failing half the calls
		sweepBoth()
	}
	failing.Store(false)
	for round := 0; ; round++ {
		n, err := e.client.ZCard(e.ctx, "{"+e.prefix+"}cards:stale").Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if round == 10 {
			t.Fatalf("after %d sweeps with the chat API answering, %d cards are still owed", round, n)
		}
		sweepBoth()
	}

	for _, id := range ids {
		req := e.get(id)
		for _, pl := range []bot.Platform{bot.PlatformSlack, bot.PlatformDiscord} {
			ref := req.Refs[bot.Ref(bot.RefCard, pl)]
			posts := e.chat.count("card", func(s shown) bool { return s.Request.ID == id && s.Platform == pl && s.Ref == "" })
			if posts != 1 || ref == "" {
				t.Errorf("%s on %s: posted %d times (ref %q), want once", id, pl, posts, ref)
				continue
			}
			var last bot.Request
			for _, s := range e.chat.all() {
				if s.Kind == "card" && s.Request.ID == id && s.Platform == pl {
					last = s.Request
				}
			}
			if last.State != req.State || last.Rev != req.Rev {
				t.Errorf("%s's card on %s shows %s (rev %d), want %s (rev %d)", id, pl, last.State, last.Rev, req.State, req.Rev)
			}
		}
	}
}

// lostState is what lostPosts share: a chat platform whose card posts are
// answered with a fault, as Slack's when the answer came too late.
type lostState struct {
	mu sync.Mutex
	// lose: a card post is carried out, but answered with a fault; drop:
	// nothing is posted, and it is answered with a fault.
	lose, drop bool
	posted     map[string]string // request ID -> the card whose post's answer was lost
	findErr    error             // what FindCard answers, when set
	finds      int
}

// lostPosts is a notifier that is also a bot.CardFinder: FindCard finds
// the cards whose post it answered with a fault, as the Slack adapter
// finds them in the channel's history.
type lostPosts struct {
	notifier
	st *lostState
}

func (n lostPosts) Card(ctx context.Context, req bot.Request, acct bot.Account, ref string) (string, error) {
	n.st.mu.Lock()
	lose, drop := n.st.lose, n.st.drop
	n.st.mu.Unlock()
	if ref != "" || !(lose || drop) {
		return n.notifier.Card(ctx, req, acct, ref)
	}
	if drop {
		return "", bot.Errorf(bot.EUNAVAILABLE, "the chat API could not be reached")
	}
	got, err := n.notifier.Card(ctx, req, acct, "")
	if err != nil {
		return "", err
	}
	n.st.mu.Lock()
	n.st.posted[req.ID] = got
	n.st.mu.Unlock()
	return "", bot.Errorf(bot.EUNAVAILABLE, "the chat API did not answer in time")
}

func (n lostPosts) FindCard(_ context.Context, req bot.Request, _ bot.Account) (string, error) {
	n.st.mu.Lock()
	defer n.st.mu.Unlock()
	n.st.finds++
	if n.st.findErr != nil {
		return "", n.st.findErr
	}
	return n.st.posted[req.ID], nil
}

var _ bot.CardFinder = lostPosts{}

// TestSweepTakesOverACardWhosePostWasLost: a card was posted but its post
// answered with a fault; the sweeper asks the platform for it (CardFinder)
// instead of posting a second one, remembers it, and shows the request as
// it stands on it. While the platform cannot look, nothing is posted and
// the card stays owed; a card that was never posted is posted once.
func TestSweepTakesOverACardWhosePostWasLost(t *testing.T) {
	e := newEnv(t)
	st := &lostState{lose: true, posted: map[string]string{}}
	e.svc, e.store = e.newService(e.client, func(o *bot.Options) {
		o.Notifiers[0] = lostPosts{notifier: o.Notifiers[0].(notifier), st: st}
	})
	slackPosts := func(id string) int {
		return e.chat.count("card", func(s shown) bool {
			return s.Request.ID == id && s.Platform == bot.PlatformSlack && s.Ref == ""
		})
	}
	owed := func() int64 {
		n, err := e.client.ZCard(e.ctx, "{"+e.prefix+"}cards:stale").Result()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	key := bot.Ref(bot.RefCard, bot.PlatformSlack)

	lost := e.ask(as("alice", bot.PlatformSlack), "prod-db locked out")
	st.mu.Lock()
	st.lose, st.drop = false, true
	st.mu.Unlock()
	never := e.ask(as("sam", bot.PlatformSlack), "prod-db locked out")
	st.mu.Lock()
	st.drop = false
	st.findErr = bot.Errorf(bot.EUNAVAILABLE, "the chat API answered 500")
	st.mu.Unlock()
	e.mustDo(as("bob", bot.PlatformSlack), "approve "+lost) // the card, unknown to the bot, is not updated
	if ref := e.get(lost).Refs[key]; ref != "" || slackPosts(lost) != 1 {
		t.Fatalf("%s: ref %q after %d posts, want none after 1", lost, ref, slackPosts(lost))
	}

	e.svc.Sweep(e.ctx)
	if n := slackPosts(lost) + slackPosts(never); n != 1 {
		t.Errorf("Slack posts while the look-up fails: got %d, want still 1", n)
	}
	if n := owed(); n != 2 {
		t.Errorf("cards owed after a failed look-up: got %d, want 2", n)
	}

	st.mu.Lock()
	st.findErr = nil
	st.mu.Unlock()
	e.clock.Advance(5 * time.Minute) // past the backoff
	e.svc.Sweep(e.ctx)
	if n := owed(); n != 0 {
		t.Errorf("cards owed once the look-up works: got %d, want 0", n)
	}
	if st.finds != 4 {
		t.Errorf("look-ups: got %d, want 4 (each card twice)", st.finds)
	}

	req := e.get(lost)
	if ref, want := req.Refs[key], st.posted[lost]; ref != want || want == "" {
		t.Errorf("%s's card: got %q, want the one posted before, %q", lost, ref, want)
	}
	if n := slackPosts(lost); n != 1 {
		t.Errorf("%s posted %d times, want once", lost, n)
	}
	var last shown
	for _, s := range e.chat.all() {
		if s.Kind == "card" && s.Platform == bot.PlatformSlack && s.Request.ID == lost {
			last = s
		}
	}
	if last.Ref != req.Refs[key] || last.Request.State != req.State || last.Request.Rev != req.Rev {
		t.Errorf("%s's card last shows %s (rev %d) at %q, want %s (rev %d) at %q",
			lost, last.Request.State, last.Request.Rev, last.Ref, req.State, req.Rev, req.Refs[key])
	}
	if n, ref := slackPosts(never), e.get(never).Refs[key]; n != 1 || ref == "" {
		t.Errorf("%s, never posted: posted %d times (ref %q), want once", never, n, ref)
	}
}
