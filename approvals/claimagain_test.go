package approvals_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/approvals"
	"resetbot/bot"
)

// A claim whose answer is lost after Redis made it (a connection cut, as a
// Sentinel failover cuts them) is sent again with its token, past the
// Redis client's own retries, and answered as made: the request is not
// left claimed by no one until the lease runs out.
func TestClaimAnswerLostSentAgain(t *testing.T) {
	for _, srv := range servers() {
		t.Run(srv.name, func(t *testing.T) {
			// cutStore's connections lose the answer to the first three
			// scripts that name who and run as EVALSHA (Redis has them
			// already: e.store ran them first); its client does not retry.
			cutStore := func(e *env, who string) (*approvals.Store, *cutter) {
				cut := &cutter{match: []byte(who), with: []byte("evalsha"), times: 3}
				client := redis.NewClient(&redis.Options{Addr: e.addr, Dialer: cut.dial, MaxRetries: -1})
				t.Cleanup(func() { _ = client.Close() })
				return approvals.New(client, approvals.Options{Prefix: e.prefix, Clock: e.clock, Poll: 50 * time.Millisecond}), cut
			}
			t.Run("Queue", func(t *testing.T) {
				e := newEnv(t, srv)
				e.approved("R-AGNQ00", "alice")
				e.mustNext(e.store, "exec-warm", time.Minute)
				e.approved("R-AGNQ01", "alice")
				store, cut := cutStore(e, "exec-cut")
				c, err := store.Next(ctx(t), "exec-cut", time.Minute)
				if err != nil {
					t.Fatalf("Next with the claim's answer lost (%d times): %v; want it sent again", cut.cuts(), err)
				}
				if n := cut.cuts(); n != 3 {
					t.Fatalf("answers cut: got %d, want 3 (the test did not reproduce the loss)", n)
				}
				if c.Request.ID != "R-AGNQ01" || c.Stale || c.Resumed {
					t.Fatalf("Next with the claim's answer lost three times: got %q (stale %v, resumed %v); want the claim of R-AGNQ01",
						c.Request.ID, c.Stale, c.Resumed)
				}
				if _, err := e.store.Hold(ctx(t), c, time.Minute); err != nil {
					t.Errorf("Hold with the claim Next returned: %v; want it to hold the request", err)
				}
				if got := kinds(e.events("R-AGNQ01")); got != "[requested/alice voted/bob approved/bob executing/system]" {
					t.Errorf("audit: got %s, want one claim", got)
				}
			})
			// The take-over of a request whose lease ran out, its answer
			// lost: sent again, it finds the request it took by its token
			// (no longer due), and answers as the first send did.
			for _, stale := range []bool{false, true} {
				t.Run(map[bool]string{false: "TakeOverResumed", true: "TakeOverStale"}[stale], func(t *testing.T) {
					e := newEnv(t, srv)
					e.offered("R-AGNT00", "alice") // Redis has the claim script
					id := "R-AGNT01"
					if stale {
						// a Reveal click's claim that began its cloud call
						e.offered(id, "alice")
						c, err := e.store.ClaimReveal(ctx(t), id, "alice", bot.PlatformSlack, time.Minute)
						if err != nil {
							t.Fatal(err)
						}
						c.Calling = true
						if _, err := e.store.Hold(ctx(t), c, time.Minute); err != nil {
							t.Fatal(err)
						}
					} else {
						// a claim from the queue that did not offer
						e.approved(id, "alice")
						e.mustNext(e.store, "exec-1", time.Minute)
					}
					e.clock.Advance(2 * time.Minute) // and its process died
					store, cut := cutStore(e, "exec-cut")
					next, cancel := context.WithTimeout(ctx(t), 5*time.Second)
					defer cancel()
					c, err := store.Next(next, "exec-cut", time.Minute)
					if err != nil {
						t.Fatalf("Next with the take-over's answer lost (%d times): %v; want it sent again", cut.cuts(), err)
					}
					if n := cut.cuts(); n != 3 {
						t.Fatalf("answers cut: got %d, want 3 (the test did not reproduce the loss)", n)
					}
					if c.Request.ID != id || c.Stale != stale || c.Resumed == stale {
						t.Fatalf("the take-over sent again: got %q (stale %v, resumed %v); want %s, stale %v, resumed %v",
							c.Request.ID, c.Stale, c.Resumed, id, stale, !stale)
					}
					if _, err := e.store.Hold(ctx(t), c, time.Minute); err != nil {
						t.Errorf("Hold with the claim Next returned: %v; want it to hold the request", err)
					}
					n := 0
					for _, ev := range e.events(id) {
						if ev.Kind == bot.EventExecuting && strings.Contains(ev.Detail, "exec-cut") {
							n++
						}
					}
					if n != 1 {
						t.Errorf("audit: %d take-overs by exec-cut, want 1: %s", n, kinds(e.events(id)))
					}
				})
			}
			t.Run("Reveal", func(t *testing.T) {
				e := newEnv(t, srv)
				e.offered("R-AGNR00", "alice")
				if _, err := e.store.ClaimReveal(ctx(t), "R-AGNR00", "alice", bot.PlatformSlack, time.Minute); err != nil {
					t.Fatal(err)
				}
				e.offered("R-AGNR01", "carol-cut")
				store, cut := cutStore(e, "carol-cut")
				c, err := store.ClaimReveal(ctx(t), "R-AGNR01", "carol-cut", bot.PlatformSlack, time.Minute)
				if err != nil {
					t.Fatalf("ClaimReveal with its answer lost (%d times): %v; want it sent again", cut.cuts(), err)
				}
				if n := cut.cuts(); n != 3 {
					t.Fatalf("answers cut: got %d, want 3 (the test did not reproduce the loss)", n)
				}
				if c.Request.State != bot.StateExecuting {
					t.Fatalf("ClaimReveal with its answer lost three times: got %s; want the claim", c.Request.State)
				}
				if _, err := e.store.Hold(ctx(t), c, time.Minute); err != nil {
					t.Errorf("Hold with the claim ClaimReveal returned: %v; want it to hold the request", err)
				}
				n := 0
				for _, ev := range e.events("R-AGNR01") {
					if ev.Kind == bot.EventExecuting {
						n++
					}
				}
				if n != 2 { // the executor's claim, then the click's
					t.Errorf("audit: got %s, want the click's claim once", kinds(e.events("R-AGNR01")))
				}
			})
		})
	}
}

// A queue entry read by a consumer that never claimed its request (it died
// right after reading, or a failover lost its claim) goes to another
// consumer after a few seconds, not after a lease: the approved request
// does not wait minutes to be offered.
func TestOrphanedEntryHandedOut(t *testing.T) {
	e := newEnv(t, servers()[0]) // idle times are Redis's own clock
	e.approved("R-ORPH01", "alice")
	c := ctx(t)
	if err := e.raw.XGroupCreateMkStream(c, e.key("queue"), approvals.Group, "0").Err(); err != nil {
		t.Fatal(err)
	}
	read, err := e.raw.XReadGroup(c, &redis.XReadGroupArgs{Group: approvals.Group, Consumer: "exec-dead",
		Streams: []string{e.key("queue"), ">"}, Count: 1}).Result()
	if err != nil || len(read) != 1 || len(read[0].Messages) != 1 {
		t.Fatalf("exec-dead's read: got %v, %v; want the entry", read, err)
	}
	start := time.Now()
	next, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got, err := e.newStore().Next(next, "exec-2", time.Hour)
	if err != nil || got.Request.ID != "R-ORPH01" || got.Resumed || got.Stale {
		t.Fatalf("Next with an hour's lease: got %q, %v; want R-ORPH01 claimed", got.Request.ID, err)
	}
	t.Logf("handed out after %v", time.Since(start).Round(100*time.Millisecond))
	if e.mustGet("R-ORPH01").State != bot.StateExecuting {
		t.Errorf("state: got %s, want executing", e.mustGet("R-ORPH01").State)
	}
}
