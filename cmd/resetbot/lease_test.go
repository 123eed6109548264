package main

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"resetbot/internal/redistest"
)

// TestServeHoldsResetsForTheConfiguredLease: execution_lease reaches the
// service: while a Reveal's cloud call runs, the request's lease in Redis
// runs out the configured 11s from now, not the default two minutes.
func TestServeHoldsResetsForTheConfiguredLease(t *testing.T) {
	client, prefix := redistest.Client(t)
	var (
		mu     sync.Mutex
		leases []time.Duration // what is left of the lease at each cloud call
	)
	w := startWorldOn(t, redistest.Addr(t), prefix, worldOptions{
		yaml: "execution_lease: 11s\n",
		cloud: func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				iter := client.Scan(r.Context(), 0, "{"+prefix+"}req:*", 100).Iterator()
				for iter.Next(r.Context()) {
					if v, err := client.HGet(r.Context(), iter.Val(), "lease").Result(); err == nil {
						if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
							mu.Lock()
							leases = append(leases, time.Until(time.UnixMilli(ms)))
							mu.Unlock()
						}
					}
				}
				next.ServeHTTP(rw, r)
			})
		},
	})
	w.reset(t, "locked out")
	mu.Lock()
	defer mu.Unlock()
	if len(leases) == 0 {
		t.Fatal("no lease was held while the cloud call ran")
	}
	for _, left := range leases {
		if left <= 0 || left > 11*time.Second {
			t.Errorf("lease left during the reset: %v, want within the configured 11s", left)
		}
	}
}
