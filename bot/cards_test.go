package bot_test

import (
	"context"
	"testing"

	"resetbot/bot"
	"resetbot/internal/redistest"
)

// slowCards is a platform whose edit of an approved card hangs until
// released, as a slow chat API call would.
type slowCards struct {
	notifier
	held, release chan struct{}
}

func (n slowCards) Card(ctx context.Context, req bot.Request, acct bot.Account, ref string) (string, error) {
	if ref != "" && req.State == bot.StateApproved {
		n.held <- struct{}{}
		<-n.release
	}
	return n.notifier.Card(ctx, req, acct, ref)
}

// TestServiceCardsConvergeAcrossReplicas: replica A's edit of the card to
// "approved" is slow and lands after replica B offered the request and the
// requester revealed it through B. Neither adapter alone can know A's edit
// is stale; the card must still end up showing succeeded.
func TestServiceCardsConvergeAcrossReplicas(t *testing.T) {
	e := newEnv(t)
	held, release := make(chan struct{}), make(chan struct{})
	e.svc, e.store = e.newService(e.client, func(o *bot.Options) {
		for i, n := range o.Notifiers {
			if nt := n.(notifier); nt.platform == bot.PlatformSlack {
				o.Notifiers[i] = slowCards{notifier: nt, held: held, release: release}
			}
		}
	})
	other, _ := redistest.Client(t)
	b, _ := e.newService(other)
	e.runExecutor(b, "replica-b")

	id := e.ask(as("alice", bot.PlatformSlack), "prod-db locked out")
	voted := make(chan bot.Reply, 1)
	go func() { voted <- e.do(as("bob", bot.PlatformSlack), "approve "+id) }()
	select {
	case <-held:
	case <-e.ctx.Done():
		t.Fatal("replica A never edited the card to approved")
	}
	e.waitOffer(id)
	var sh show
	if err := b.Reveal(e.ctx, as("alice", bot.PlatformSlack), id, sh.fn); err != nil {
		t.Fatalf("Reveal through replica B: %v", err)
	}
	e.wantState(id, bot.StateSucceeded)
	close(release) // A's stale edit lands now
	if r := <-voted; r.Err != nil {
		t.Fatalf("the vote: %v", r.Err)
	}
	e.wantCardState(id, bot.StateSucceeded)
}
