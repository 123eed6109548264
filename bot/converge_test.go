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
