package approvals_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/approvals"
	"resetbot/bot"
	"resetbot/internal/redistest"
	"resetbot/internal/testkit"
)

// When Redis goes away every call says so with EUNAVAILABLE, and the same
// store works again once Redis is back.
func TestRedisDown(t *testing.T) {
	srv, err := redistest.Start()
	if err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	client := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = client.Close() })
	clock := testkit.NewClock(time.Date(2030, 1, 2, 9, 30, 0, 0, time.UTC))
	store := approvals.New(client, approvals.Options{Clock: clock, Poll: 50 * time.Millisecond})
	e := &env{t: t, clock: clock, store: store}

	// Used once before the outage, so that the scripts are loaded and the
	// consumer group exists: both are gone after the restart.
	e.approved("R-DOWN01", "alice")
	c := e.mustNext(store, "exec", time.Minute)
	if _, err := store.Finish(ctx(t), c, bot.StateSucceeded, "reset"); err != nil {
		t.Fatal(err)
	}
	e.mustCreate(e.request("R-DOWN02", "alice", "prod-db", 1))

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	outage := []struct {
		name string
		call func() error
	}{
		{"Create", func() error {
			_, err := store.Create(ctx(t), e.request("R-DOWN03", "carol", "prod-db", 1), bot.Limit{N: 10, Window: time.Hour})
			return err
		}},
		{"Vote", func() error {
			_, err := store.Vote(ctx(t), "R-DOWN02", bot.Vote{Person: "bob", Approve: true})
			return err
		}},
		{"Cancel", func() error { _, err := store.Cancel(ctx(t), "R-DOWN02", "alice", bot.PlatformSlack); return err }},
		{"Get", func() error { _, err := store.Get(ctx(t), "R-DOWN02"); return err }},
		{"Open", func() error { _, err := store.Open(ctx(t), "alice"); return err }},
		{"SetRef", func() error { return store.SetRef(ctx(t), "R-DOWN02", "slack.card", "x") }},
		{"ExpireDue", func() error { _, err := store.ExpireDue(ctx(t)); return err }},
		{"Next", func() error { _, err := store.Next(ctx(t), "exec", time.Minute); return err }},
		{"Finish", func() error { _, err := store.Finish(ctx(t), c, bot.StateSucceeded, "reset"); return err }},
		{"Audit", func() error { return store.Audit(ctx(t), bot.Event{Kind: "delivered", Actor: "alice"}) }},
		{"AuditLog", func() error { _, err := store.AuditLog(ctx(t), bot.AuditQuery{}); return err }},
		{"Ping", func() error { return store.Ping(ctx(t)) }},
	}
	t.Run("Outage", func(t *testing.T) {
		for _, tc := range outage {
			t.Run(tc.name+"Unavailable", func(t *testing.T) {
				t.Parallel()
				err := tc.call()
				be := wantError(t, err, bot.EUNAVAILABLE)
				if !strings.Contains(be.Message, "Redis") || !be.Retryable {
					t.Errorf("error: got %+v, want a retryable message naming Redis", be)
				}
				var op *net.OpError
				if !errors.As(err, &op) {
					t.Errorf("error %v: want the network cause in the chain", err)
				}
			})
		}
	})

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	// go-redis redials in the background after failed dials; wait for it as
	// a readiness probe would.
	ready, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	for store.Ping(ready) != nil {
		if ready.Err() != nil {
			t.Fatal("the store did not reconnect after the restart")
		}
	}
	// The restarted server is empty: the scripts and the group come back.
	e.mustCreate(e.request("R-DOWN04", "alice", "prod-db", 1))
	if r := e.mustVote("R-DOWN04", "bob", true); r.State != bot.StateApproved {
		t.Fatalf("after the restart: got %s, want approved", r.State)
	}
	next, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := store.Next(next, "exec", time.Minute)
	if err != nil || got.Request.ID != "R-DOWN04" {
		t.Fatalf("Next after the restart: got %q, %v; want R-DOWN04", got.Request.ID, err)
	}
}
