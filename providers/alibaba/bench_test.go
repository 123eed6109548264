package alibaba_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"resetbot/internal/redistest"
	"resetbot/providers/alibaba"
	"resetbot/providers/emulator"
	"resetbot/providers/ratelimit"
)

type noLimit struct{}

func (noLimit) Wait(context.Context, string) error { return nil }

// BenchmarkResetOwnTime is the bot's own work per reset of three users
// (passwords, the SDK client, the request, HMAC-SHA1 signing, HTTP,
// parsing) against a handler that answers at once without checking
// anything.
func BenchmarkResetOwnTime(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"RequestId":"bench"}`)
	}))
	defer srv.Close()
	p := alibaba.New(alibaba.Options{AccessKeyID: keyID, AccessKeySecret: keySecret,
		Endpoint: srv.Listener.Addr().String(), Scheme: "http", Limiter: noLimit{}})
	acct := hpc()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		res, err := p.Reset(ctx, acct, nil)
		if err != nil || res[0].Err != nil {
			b.Fatal(err, res)
		}
	}
}

// BenchmarkDrain200 is the time to reset 200 users, one call each, through
// the shared Redis limiter at the API's 20 calls a second, against the
// emulator.
func BenchmarkDrain200(b *testing.B) {
	const n = 200
	e := newEnv(b, emulator.Options{})
	acct := hpc()
	acct.Users = nil
	for i := range n {
		u := fmt.Sprintf("u%03d", i)
		acct.Users = append(acct.Users, u)
		e.emu.AddUser(alibaba.EHPC, cluster, u)
	}
	rdb, prefix := redistest.Client(b)
	o := e.options()
	o.Limiter = ratelimit.New(rdb, prefix, alibaba.DefaultRate)
	o.Backoff, o.Timeout = nil, 0
	p := alibaba.New(o)
	for b.Loop() {
		start := time.Now()
		var wg sync.WaitGroup
		sem := make(chan struct{}, 20)
		for _, u := range acct.Users {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				res, err := p.Reset(context.Background(), acct, []string{u})
				if err == nil {
					err = res[0].Err
				}
				if err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "resets/s")
	}
}
