package approvals_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"resetbot/approvals"
)

func TestCoordination(t *testing.T) {
	for _, srv := range append(servers(), deployments()...) {
		t.Run(srv.name, func(t *testing.T) {
			ctx := context.Background()
			t.Run("SeenOnceAcrossStores", func(t *testing.T) {
				e := newEnv(t, srv)
				// A second replica: its own client, the same Redis and prefix.
				c2 := e.newClient()
				stores := []*approvals.Store{e.store, approvals.New(c2, approvals.Options{Prefix: e.prefix})}
				var firsts atomic.Int32
				var wg sync.WaitGroup
				for i := 0; i < 20; i++ {
					wg.Add(1)
					go func(i int) {
						defer wg.Done()
						first, err := stores[i%2].Seen(ctx, "slack:retry:abc", time.Minute)
						if err != nil {
							t.Error(err)
						}
						if first {
							firsts.Add(1)
						}
					}(i)
				}
				wg.Wait()
				if got := firsts.Load(); got != 1 {
					t.Fatalf("first sightings = %d, want 1", got)
				}
				if first, _ := e.store.Seen(ctx, "slack:retry:other", time.Minute); !first {
					t.Fatal("a new key was reported as seen")
				}
			})
			t.Run("LeaseHeldByOneHolder", func(t *testing.T) {
				e := newEnv(t, srv)
				got, err := e.store.Acquire(ctx, "gateway", "a", time.Minute)
				if err != nil || !got {
					t.Fatalf("a Acquire = %v, %v; want true", got, err)
				}
				if got, _ := e.store.Acquire(ctx, "gateway", "b", time.Minute); got {
					t.Fatal("b acquired a lease that a holds")
				}
				if got, _ := e.store.Renew(ctx, "gateway", "b", time.Minute); got {
					t.Fatal("b renewed a lease that a holds")
				}
				if got, _ := e.store.Renew(ctx, "gateway", "a", time.Minute); !got {
					t.Fatal("a could not renew its own lease")
				}
				if err := e.store.Release(ctx, "gateway", "b"); err != nil {
					t.Fatal(err)
				}
				if got, _ := e.store.Acquire(ctx, "gateway", "b", time.Minute); got {
					t.Fatal("b's Release freed a's lease")
				}
				if err := e.store.Release(ctx, "gateway", "a"); err != nil {
					t.Fatal(err)
				}
				if got, _ := e.store.Acquire(ctx, "gateway", "b", time.Minute); !got {
					t.Fatal("b could not take the lease a released")
				}
			})
		})
	}
}
