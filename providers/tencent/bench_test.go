package tencent_test

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
	"resetbot/providers/emulator"
	"resetbot/providers/ratelimit"
	"resetbot/providers/tencent"
)

type noLimit struct{}

func (noLimit) Wait(context.Context, string) error { return nil }

// BenchmarkResetOwnTime is the bot's own work per reset (password, request
// building, TC3 signing, HTTP, parsing) against a handler that answers at
// once without checking anything.
func BenchmarkResetOwnTime(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"Response":{"RequestId":"bench"}}`)
	}))
	defer srv.Close()
	p := tencent.New(tencent.Options{SecretID: secretID, SecretKey: secretKey,
		Endpoint: srv.Listener.Addr().String(), Scheme: "http", Limiter: noLimit{}})
	acct := cam()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		res, err := p.Reset(ctx, acct, nil)
		if err != nil || res[0].Err != nil {
			b.Fatal(err, res)
		}
	}
}

// BenchmarkDrain200 is the time to reset 200 users through the shared Redis
// limiter at the API's 20 calls a second, against the emulator.
func BenchmarkDrain200(b *testing.B) {
	const n = 200
	e := newEnv(b, emulator.Options{})
	for i := range n {
		e.emu.AddUser(tencent.CAM, "", fmt.Sprintf("user%03d", i))
	}
	rdb, prefix := redistest.Client(b)
	o := e.options()
	o.Limiter = ratelimit.New(rdb, prefix, tencent.DefaultRate)
	o.Backoff, o.Timeout = nil, 0
	p := tencent.New(o)
	for b.Loop() {
		start := time.Now()
		var wg sync.WaitGroup
		sem := make(chan struct{}, 20)
		for i := range n {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				res, err := p.Reset(context.Background(), cam(), []string{fmt.Sprintf("user%03d", i)})
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
