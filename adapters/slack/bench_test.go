package slack_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// bare only verifies the signature: the floor any Slack handler pays.
func bare(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	sv, err := slack.NewSecretsVerifier(r.Header, secret)
	if err == nil {
		_, err = sv.Write(body)
	}
	if err == nil {
		err = sv.Ensure()
	}
	if err != nil {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// BenchmarkAckLatency measures how long Slack waits for the acknowledgement
// of signed slash commands, 200 at a time, on real Redis: the adapter (whose
// background work, Redis and Slack calls included, runs meanwhile) beside a
// handler that only verifies the signature, in the same run.
func BenchmarkAckLatency(b *testing.B) {
	const concurrency = 200
	e := newEnv(b)
	mux := http.NewServeMux()
	e.ad.Register(mux)
	mux.HandleFunc("POST /bare", bare)
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	users := []string{alice, bob, carol}
	texts := []string{"prod-db locked out", "staging-db rotate", "status", "list"}

	run := func(path string, n int) []time.Duration {
		bodies := make([]string, n)
		for i := range bodies {
			bodies[i] = e.commandForm(users[i%len(users)], texts[i%len(texts)], "bench-"+path+"-"+e.next())
		}
		lat := make([]time.Duration, n)
		var next atomic.Int64
		var wg sync.WaitGroup
		for range concurrency {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= n {
						return
					}
					r, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(bodies[i]))
					r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					sign(r, bodies[i], time.Now(), secret)
					start := time.Now()
					resp, err := client.Do(r)
					if err != nil {
						b.Errorf("POST %s: %v", path, err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					lat[i] = time.Since(start)
					if resp.StatusCode != http.StatusOK {
						b.Errorf("POST %s: status %d", path, resp.StatusCode)
						return
					}
				}
			})
		}
		wg.Wait()
		slices.Sort(lat)
		return lat
	}
	pct := func(lat []time.Duration, p float64) float64 {
		i := int(float64(len(lat)-1) * p)
		return float64(lat[i]) / float64(time.Millisecond)
	}

	b.ResetTimer()
	bareLat := run("/bare", b.N)
	lat := run("/slack/commands", b.N)
	e.ad.Wait() // the work behind the acknowledgements belongs to the cost
	b.StopTimer()

	b.ReportMetric(pct(bareLat, 0.50), "bare-p50-ms")
	b.ReportMetric(pct(bareLat, 0.99), "bare-p99-ms")
	b.ReportMetric(pct(lat, 0.50), "p50-ms")
	b.ReportMetric(pct(lat, 0.99), "p99-ms")
	b.ReportMetric(pct(lat, 0.99)/pct(bareLat, 0.99), "p99/bare")
}
