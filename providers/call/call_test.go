package call_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"resetbot/bot"
	"resetbot/providers/call"
)

type countingLimiter struct {
	n    atomic.Int32
	keys chan string
	err  error
}

func (l *countingLimiter) Wait(_ context.Context, key string) error {
	l.n.Add(1)
	if l.keys != nil {
		l.keys <- key
	}
	return l.err
}

func policy(l call.Limiter) call.Policy {
	return call.Policy{
		API: "cam.UpdateUser", Account: "console", Limiter: l, Key: "cam.UpdateUser:abcd",
		Timeout: time.Second, Backoff: func(int) time.Duration { return time.Millisecond },
		Retryable: func(e *call.APIError) bool { return e.Code == "RequestLimitExceeded" || e.Status >= 500 },
	}
}

func ctx(tb testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	tb.Cleanup(cancel)
	return c
}

func TestDoRetriesRetryableAnswersUnderTheLimiter(t *testing.T) {
	l := &countingLimiter{keys: make(chan string, 10)}
	attempts := 0
	err := policy(l).Do(ctx(t), func(context.Context) error {
		attempts++
		if attempts < 3 {
			return &call.APIError{Code: "RequestLimitExceeded"}
		}
		return nil
	})
	if err != nil || attempts != 3 {
		t.Fatalf("got %v after %d attempts, want success after 3", err, attempts)
	}
	if got := l.n.Load(); got != 3 {
		t.Errorf("limiter waited %d times, want once per attempt (3)", got)
	}
	if k := <-l.keys; k != "cam.UpdateUser:abcd" {
		t.Errorf("limiter key %q", k)
	}
}

func TestDoReturnsFinalAnswerAtOnce(t *testing.T) {
	attempts := 0
	err := policy(nil).Do(ctx(t), func(context.Context) error {
		attempts++
		return &call.APIError{Code: "ResourceNotFound.UserNotExist", RequestID: "r-1"}
	})
	var apiErr *call.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "ResourceNotFound.UserNotExist" || apiErr.API != "cam.UpdateUser" || apiErr.Attempts != 1 {
		t.Fatalf("got %v, want the API's answer after one attempt", err)
	}
	if attempts != 1 {
		t.Errorf("got %d attempts, want 1", attempts)
	}
}

func TestDoGivesUpAfterRetries(t *testing.T) {
	for _, tt := range []struct {
		retries, want int
	}{{0, 4}, {1, 2}, {-1, 1}} {
		p := policy(nil)
		p.Retries = tt.retries
		attempts := 0
		err := p.Do(ctx(t), func(context.Context) error {
			attempts++
			return &call.APIError{Code: "RequestLimitExceeded"}
		})
		var apiErr *call.APIError
		if !errors.As(err, &apiErr) || attempts != tt.want || apiErr.Attempts != tt.want {
			t.Errorf("Retries %d: got %v after %d attempts, want %d", tt.retries, err, attempts, tt.want)
		}
	}
}

// post sends a request through call.Transport, as the SDKs do, and turns a
// non-200 answer into an *APIError without a code.
func post(client *http.Client, url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"Password":"Secret-123"}`))
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.ReadAll(resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return &call.APIError{}
		}
		return nil
	}
}

func client() *http.Client { return &http.Client{Transport: call.Transport(nil)} }

func TestDoNotSentIsRetriedThenUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	l := &countingLimiter{}
	err := policy(l).Do(ctx(t), post(client(), url))
	if got := bot.ErrorCode(err); got != bot.EUNAVAILABLE {
		t.Fatalf("got %v, want %s", err, bot.EUNAVAILABLE)
	}
	var te *call.TransportError
	if !errors.As(err, &te) || te.Sent || te.Reason != "connection refused" {
		t.Errorf("got cause %v, want connection refused, not sent", te)
	}
	if !strings.Contains(bot.ErrorMessage(err), "nothing was changed for console") {
		t.Errorf("message %q", bot.ErrorMessage(err))
	}
	if got := l.n.Load(); got != 4 {
		t.Errorf("got %d attempts, want 4", got)
	}
}

func TestDoSentWithoutAnswerIsUnknownAndNotRetried(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		reason  string
	}{
		{"Timeout", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		}, "no answer within 200ms"},
		{"ConnectionDropped", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.(*net.TCPConn).SetLinger(0) // a reset, not a clean close
				_ = conn.Close()
			}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				tt.handler(w, r)
			}))
			defer srv.Close()
			p := policy(nil)
			p.Timeout = 200 * time.Millisecond
			err := p.Do(ctx(t), post(client(), srv.URL))
			if got := bot.ErrorCode(err); got != bot.EUNKNOWN {
				t.Fatalf("got %v, want %s", err, bot.EUNKNOWN)
			}
			if msg := bot.ErrorMessage(err); msg != "outcome unknown for console: check the account before asking again" {
				t.Errorf("message %q", msg)
			}
			var te *call.TransportError
			if !errors.As(err, &te) || !te.Sent || (tt.reason != "" && te.Reason != tt.reason) {
				t.Errorf("cause %v", te)
			}
			if strings.Contains(err.Error(), "Secret-123") || strings.Contains(err.Error(), "127.0.0.1") {
				t.Errorf("the error quotes the HTTP client: %v", err)
			}
			if n := hits.Load(); n != 1 {
				t.Errorf("the server got %d requests, want 1", n)
			}
		})
	}
}

func TestDoRecordsHTTPStatus(t *testing.T) {
	var failures atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failures.Add(-1) >= 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	failures.Store(1)
	if err := policy(nil).Do(ctx(t), post(client(), srv.URL)); err != nil {
		t.Fatalf("got %v, want a 503 retried", err)
	}
	failures.Store(1)
	p := policy(nil)
	p.Retries = -1
	err := p.Do(ctx(t), post(client(), srv.URL))
	var apiErr *call.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 503 || apiErr.Code != "HTTP 503" {
		t.Errorf("got %v, want HTTP 503", err)
	}
}

func TestDoLimiterFailureSendsNothing(t *testing.T) {
	l := &countingLimiter{err: errors.New("redis down")}
	sent := false
	err := policy(l).Do(ctx(t), func(context.Context) error { sent = true; return nil })
	if got := bot.ErrorCode(err); got != bot.EUNAVAILABLE || sent {
		t.Errorf("got %v (sent %v), want %s and nothing sent", err, sent, bot.EUNAVAILABLE)
	}
}

func TestDoCancelledDuringBackoff(t *testing.T) {
	c, cancel := context.WithCancel(context.Background())
	p := policy(nil)
	p.Backoff = func(int) time.Duration { return time.Hour }
	done := make(chan error, 1)
	go func() {
		done <- p.Do(c, func(context.Context) error { return &call.APIError{Code: "RequestLimitExceeded"} })
	}()
	cancel()
	select {
	case err := <-done:
		if got := bot.ErrorCode(err); got != bot.EUNAVAILABLE || !strings.Contains(bot.ErrorMessage(err), "not sent in time") {
			t.Errorf("got %v", err)
		}
	case <-ctx(t).Done():
		t.Fatal("Do did not return after its context was cancelled")
	}
}

func TestBindGivesContextlessRequestsTheAttempt(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	defer srv.Close()
	p := policy(nil)
	p.Timeout = 200 * time.Millisecond
	err := p.Do(ctx(t), func(ctx context.Context) error {
		// Like the Alibaba SDK: the request has no context of its own.
		c := &http.Client{Transport: call.Bind(ctx, nil)}
		resp, err := c.Post(srv.URL, "text/plain", strings.NewReader("x"))
		if err == nil {
			resp.Body.Close()
		}
		return err
	})
	if got := bot.ErrorCode(err); got != bot.EUNKNOWN {
		t.Errorf("got %v, want the attempt's deadline to end it as %s", err, bot.EUNKNOWN)
	}
}

func TestBackoffGrowsWithJitterAndACap(t *testing.T) {
	for n := 1; n <= 10; n++ {
		full := min(200*time.Millisecond<<(n-1), 5*time.Second)
		for range 100 {
			d := call.Backoff(n)
			if d < full/2 || d > full {
				t.Fatalf("Backoff(%d) = %v, want within [%v, %v]", n, d, full/2, full)
			}
		}
	}
}

func TestUserLevelAndSkipped(t *testing.T) {
	target := call.Target{Account: "console", Service: "CAM", Cloud: "Tencent Cloud", Users: []string{"bob"}}
	cause := &call.APIError{API: "cam.UpdateUser", Code: "X"}
	for k, want := range map[call.Kind]bool{
		call.KindUserNotFound: true, call.KindUserFrozen: true, call.KindNotAllowed: true, call.KindPasswordRejected: true,
		call.KindCredentials: false, call.KindThrottled: false, call.KindResourceNotFound: false, call.KindFailed: false,
	} {
		if got := call.UserLevel(call.Refuse(k, target, cause)); got != want {
			t.Errorf("%v: UserLevel %v, want %v", k, got, want)
		}
	}
	unknown := &bot.Error{Code: bot.EUNKNOWN, Message: "outcome unknown for console: check the account before asking again"}
	s := call.Skipped("console", "carol", unknown)
	if s.Code != bot.EUNAVAILABLE || !strings.Contains(s.Message, "user carol of console was not reset") {
		t.Errorf("got %v", s)
	}
}

func TestDoUnreadableAnswer(t *testing.T) {
	tests := []struct {
		name   string
		status int
		want   string // bot code, or "" for an *APIError
	}{
		{"GatewayError", http.StatusBadGateway, ""},
		{"OKButGarbled", http.StatusOK, bot.EUNKNOWN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, "<html>not json</html>")
			}))
			defer srv.Close()
			send := func(ctx context.Context) error {
				if err := post(client(), srv.URL)(ctx); err != nil && !errors.As(err, new(*call.APIError)) {
					return err
				}
				return call.ErrUnreadable // as an SDK that cannot parse the body
			}
			err := policy(nil).Do(ctx(t), send)
			if tt.want == "" {
				var apiErr *call.APIError
				if !errors.As(err, &apiErr) || apiErr.Code != "HTTP 502" || hits.Load() != 4 {
					t.Errorf("got %v after %d requests, want HTTP 502 after 4", err, hits.Load())
				}
				return
			}
			if got := bot.ErrorCode(err); got != tt.want || hits.Load() != 1 {
				t.Errorf("got %v after %d requests, want %s after 1", err, hits.Load(), tt.want)
			}
		})
	}
}

// TestTraceTellsHowEachCallEnded: a Do under a context with a Trace
// reports its API and one result word per call, retries included in it.
func TestTraceTellsHowEachCallEnded(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	defer hang.Close()
	tests := []struct {
		name string
		send func(context.Context) error
		want call.Result
	}{
		{"OK", func(context.Context) error { return nil }, call.ResultOK},
		{"Refused", func(context.Context) error { return &call.APIError{Code: "AuthFailure.SecretIdNotFound"} }, call.ResultRefused},
		{"Transient", func(context.Context) error { return &call.APIError{Code: "RequestLimitExceeded"} }, call.ResultTransient},
		{"Unknown", post(client(), hang.URL), call.ResultUnknown},
		{"Unreachable", post(client(), closed.URL), call.ResultUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			c := call.WithTrace(ctx(t), &call.Trace{Done: func(api string, r call.Result) {
				got = append(got, api+" "+string(r))
			}})
			p := policy(nil)
			p.Timeout = 200 * time.Millisecond
			_ = p.Do(c, tt.send)
			if want := "cam.UpdateUser " + string(tt.want); len(got) != 1 || got[0] != want {
				t.Errorf("got %q, want [%q]", got, want)
			}
		})
	}
	if err := policy(nil).Do(ctx(t), func(context.Context) error { return nil }); err != nil {
		t.Errorf("without a trace: %v", err)
	}
}
