package providertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"resetbot/bot"
	"resetbot/internal/redistest"
	"resetbot/providers/call"
	"resetbot/providers/emulator"
	"resetbot/providers/password"
	"resetbot/providers/ratelimit"
)

// Harness is one cloud API under the conformance suite: how to build its
// provider against the emulator, and an account it resets.
type Harness struct {
	// Credentials sets the credential the provider signs with in the
	// emulator's options.
	Credentials func(o *emulator.Options)
	// New returns the provider with c's settings.
	New func(c Config) bot.Provider
	// Account is an account of the API's kind with at least two users;
	// the suite seeds them with emulator.AddAccount. It resets one user a
	// call, or all in one call, as the account asks.
	Account func() bot.Account
	// Action is the API action, as emulator.Fail names it.
	Action string
	// Throttled is the API's rate-limit code; Transient are its other codes
	// for a passing fault (the suite adds emulator.Fault5xx).
	Throttled string
	Transient []string
	// Rule is the provider's password rule for Account.
	Rule password.Rule
	// Rate is the API's documented limit a second, per action and
	// credential.
	Rate int
	// Burst runs 200 resets from two replicas sharing a Redis limiter (10s
	// at 20/s). Every action of a provider shares one limiter and one call
	// path, so one harness per provider is enough.
	Burst bool
}

// Config is what the suite sets on a provider. The zero values of ID and
// Secret mean the harness's right credential.
type Config struct {
	Endpoint   string
	Transport  http.RoundTripper
	Limiter    call.Limiter
	Timeout    time.Duration
	Backoff    func(n int) time.Duration // nil: the provider's default
	ID, Secret string
}

// Run checks that h's provider behaves as every provider must, against the
// emulator: the new password is the delivered one and goes in a POST body
// over TLS; passing faults are retried and rate limits honoured; a refused
// password gets one stronger retry; a call without an answer ends as
// EUNKNOWN without a second call; refusals about one user stay that user's;
// bad credentials are not retried; and no password leaks in URLs, errors,
// results or logs.
func Run(t *testing.T, h Harness) {
	t.Run("ResetSetsTheDeliveredPassword", func(t *testing.T) { testDelivered(t, h) })
	t.Run("TransientFaultsAreRetried", func(t *testing.T) { testTransient(t, h) })
	t.Run("TransientFaultsBeyondRetriesAreUnavailable", func(t *testing.T) { testBeyondRetries(t, h) })
	t.Run("LimiterIsWaitedOnBeforeEveryAttempt", func(t *testing.T) { testLimiter(t, h) })
	t.Run("RefusedPasswordIsReplacedOnceByAStrongerOne", func(t *testing.T) { testRefusedOnce(t, h) })
	t.Run("PasswordRefusedTwiceFails", func(t *testing.T) { testRefusedTwice(t, h) })
	t.Run("HangIsOutcomeUnknownWithoutASecondCall", func(t *testing.T) { testHang(t, h) })
	t.Run("RefusalsAboutOneUserStayThatUsers", func(t *testing.T) { testPerUser(t, h) })
	t.Run("BadCredentialsAreNotRetried", func(t *testing.T) { testCredentials(t, h) })
	t.Run("GatewayErrorPageIsRetried", func(t *testing.T) { testGateway(t, h) })
	t.Run("UnreachableAPIIsRetriedThenUnavailable", func(t *testing.T) { testUnreachable(t, h) })
	t.Run("PasswordNeverLeaks", func(t *testing.T) { testLeaks(t, h) })
	if h.Burst {
		t.Run("BurstThroughSharedLimiter", func(t *testing.T) { testBurst(t, h) })
	}
}

// env is the emulator behind a TLS test server, with a Recorder in front.
type env struct {
	h    Harness
	emu  *emulator.Emulator
	rec  *Recorder
	srv  *httptest.Server
	acct bot.Account
}

func newEnv(t *testing.T, h Harness) *env {
	t.Helper()
	var o emulator.Options
	h.Credentials(&o)
	e := &env{h: h, emu: emulator.New(o), acct: h.Account()}
	if len(e.acct.Users) < 2 {
		t.Fatalf("the harness's account has %d users, want at least 2", len(e.acct.Users))
	}
	if err := e.emu.AddAccount(e.acct); err != nil {
		t.Fatal(err)
	}
	e.rec = &Recorder{Handler: e.emu}
	e.srv = httptest.NewTLSServer(e.rec)
	t.Cleanup(e.srv.Close)
	return e
}

// config points a provider at srv (the emulator's own server when nil),
// with quick retries and a limiter well above the API's rate.
func (e *env) config(srv *httptest.Server) Config {
	if srv == nil {
		srv = e.srv
	}
	return Config{
		Endpoint:  srv.Listener.Addr().String(),
		Transport: srv.Client().Transport,
		Limiter:   ratelimit.NewLocal(1000),
		Timeout:   2 * time.Second,
		Backoff:   func(int) time.Duration { return time.Millisecond },
	}
}

func (e *env) provider() bot.Provider { return e.h.New(e.config(nil)) }

// first is the account's first user alone: one call whatever the API.
func (e *env) first() []string { return e.acct.Users[:1] }

func testContext(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// checkDelivered fails unless r carries the password now in force.
func (e *env) checkDelivered(t *testing.T, r bot.UserResult) {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("%s: %v", r.User, r.Err)
	}
	st, ok := e.emu.AccountUser(e.acct, r.User)
	if !ok || st.Password == "" || st.Password != r.Password.Value() {
		t.Errorf("%s: the emulator's password is not the delivered one", r.User)
	}
}

func mustReset(t *testing.T, p bot.Provider, acct bot.Account, users []string) []bot.UserResult {
	t.Helper()
	res, err := p.Reset(testContext(t), acct, users)
	if err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if len(res) != len(users) {
		t.Fatalf("got %d results, want %d", len(res), len(users))
	}
	return res
}

// Failure is what a test expects of a failed reset.
type Failure struct {
	Code      string // bot error code
	Retryable bool
	Contains  []string // texts the message shows
}

// CheckFailure fails t unless err is the failure want describes.
func CheckFailure(t testing.TB, err error, want Failure) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", want.Code)
	}
	if got := bot.ErrorCode(err); got != want.Code {
		t.Errorf("code: got %q, want %q (%v)", got, want.Code, err)
	}
	var be *bot.Error
	if errors.As(err, &be) && be.Retryable != want.Retryable {
		t.Errorf("retryable: got %v, want %v", be.Retryable, want.Retryable)
	}
	for _, s := range want.Contains {
		if msg := bot.ErrorMessage(err); !strings.Contains(msg, s) {
			t.Errorf("message %q does not contain %q", msg, s)
		}
	}
}

// oneError is the error of a one-user reset, whether the provider returns
// it for the call or in the user's result.
func oneError(t *testing.T, res []bot.UserResult, err error) error {
	t.Helper()
	if err != nil {
		if res != nil {
			t.Errorf("got results %v with an error for the call", res)
		}
		return err
	}
	if len(res) != 1 {
		t.Fatalf("got %d results and no error, want one", len(res))
	}
	if !res[0].Password.IsZero() {
		t.Errorf("a failed user got a password")
	}
	return res[0].Err
}

func (e *env) calls(t *testing.T) int {
	t.Helper()
	return len(e.emu.Calls())
}

func testDelivered(t *testing.T, h Harness) {
	e := newEnv(t, h)
	res := mustReset(t, e.provider(), e.acct, e.acct.Users)
	for i, r := range res {
		if r.User != e.acct.Users[i] {
			t.Errorf("result %d is %s, want %s", i, r.User, e.acct.Users[i])
		}
		e.checkDelivered(t, r)
		if err := password.Check(h.Rule, r.Password.Value()); err != nil {
			t.Error(err)
		}
		if n := len(r.Password.Value()); n != h.Rule.Default {
			t.Errorf("%s: %d characters, want the rule's default %d", r.User, n, h.Rule.Default)
		}
	}
	for _, c := range e.emu.Calls() {
		if c.Action != h.Action || c.Code != "" || !c.TLS || c.Method != http.MethodPost || c.PasswordInURL {
			t.Errorf("call %s code %q TLS %v method %s password in URL %v", c.Action, c.Code, c.TLS, c.Method, c.PasswordInURL)
		}
	}
}

func testTransient(t *testing.T, h Harness) {
	for _, fault := range append([]string{h.Throttled, emulator.Fault5xx}, h.Transient...) {
		t.Run(fault, func(t *testing.T) {
			e := newEnv(t, h)
			e.emu.Fail(h.Action, fault, 2)
			res := mustReset(t, e.provider(), e.acct, e.first())
			e.checkDelivered(t, res[0])
			if n := e.calls(t); n != 3 {
				t.Errorf("got %d calls, want 3", n)
			}
		})
	}
}

func testBeyondRetries(t *testing.T, h Harness) {
	for _, fault := range append([]string{h.Throttled, emulator.Fault5xx}, h.Transient...) {
		t.Run(fault, func(t *testing.T) {
			e := newEnv(t, h)
			e.emu.Fail(h.Action, fault, 10)
			res, err := e.provider().Reset(testContext(t), e.acct, e.first())
			says := "internal error"
			if fault == h.Throttled {
				says = "limiting the bot's calls, nothing was changed for " + e.acct.Name
			}
			CheckFailure(t, oneError(t, res, err), Failure{bot.EUNAVAILABLE, true, []string{says}})
			if n := e.calls(t); n != 1+call.DefaultRetries {
				t.Errorf("got %d calls, want %d", n, 1+call.DefaultRetries)
			}
		})
	}
}

// countingLimiter admits every call and counts the waits per key.
type countingLimiter struct {
	mu   sync.Mutex
	keys map[string]int
}

func (l *countingLimiter) Wait(ctx context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keys[key]++
	return ctx.Err()
}

func testLimiter(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.emu.Fail(h.Action, h.Throttled, 2)
	l := &countingLimiter{keys: map[string]int{}}
	c := e.config(nil)
	c.Limiter = l
	mustReset(t, h.New(c), e.acct, e.first())
	if len(l.keys) != 1 {
		t.Fatalf("waited on keys %v, want one key for the action and credential", l.keys)
	}
	for key, n := range l.keys {
		if n != 3 {
			t.Errorf("waited %d times, want 3: once before each attempt", n)
		}
		if !strings.Contains(key, h.Action) {
			t.Errorf("limiter key %q: want the action in it", key)
		}
	}

	// A limiter that gives up (its context ended) stops the reset before
	// any call, with nothing changed.
	e = newEnv(t, h)
	c = e.config(nil)
	c.Limiter = refusingLimiter{}
	res, err := h.New(c).Reset(testContext(t), e.acct, e.first())
	if err := oneError(t, res, err); err == nil || bot.ErrorCode(err) == bot.EUNKNOWN {
		t.Errorf("got %v, want a failure that changed nothing", err)
	}
	if n := e.calls(t); n != 0 {
		t.Errorf("got %d calls past a refusing limiter, want 0", n)
	}
}

type refusingLimiter struct{}

func (refusingLimiter) Wait(context.Context, string) error { return context.DeadlineExceeded }

func testRefusedOnce(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.emu.Fail(h.Action, emulator.FaultPasswordRefused, 1)
	res := mustReset(t, e.provider(), e.acct, e.first())
	strong, length := h.Rule.Stronger(e.acct.PasswordLength)
	for _, r := range res {
		e.checkDelivered(t, r)
		if got := len(r.Password.Value()); got != length {
			t.Errorf("%s: %d characters, want %d", r.User, got, length)
		}
		if err := password.Check(strong, r.Password.Value()); err != nil {
			t.Errorf("%s: the second password does not use every class: %v", r.User, err)
		}
	}
	calls := e.emu.Calls()
	if calls[0].Code == "" || calls[1].Code != "" {
		t.Errorf("got calls %v, want a refused one then a successful one", calls)
	}
}

func testRefusedTwice(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.emu.Fail(h.Action, emulator.FaultPasswordRefused, 2)
	res, err := e.provider().Reset(testContext(t), e.acct, e.first())
	CheckFailure(t, oneError(t, res, err), Failure{bot.EPROVIDER, false, []string{e.acct.Name, "a longer one too", "password_length"}})
	if n := e.calls(t); n != 2 {
		t.Errorf("got %d calls, want 2", n)
	}
}

func testHang(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.emu.Fail(h.Action, emulator.FaultHang, 1)
	c := e.config(nil)
	c.Timeout = 300 * time.Millisecond
	res, err := h.New(c).Reset(testContext(t), e.acct, e.acct.Users)
	if res != nil {
		t.Errorf("got results %v with the first call's outcome unknown", res)
	}
	CheckFailure(t, err, Failure{bot.EUNKNOWN, false, []string{"outcome unknown for " + e.acct.Name + ": check the account before asking again"}})
	calls, werr := e.emu.WaitCalls(testContext(t), 1)
	if werr != nil {
		t.Fatal(werr)
	}
	if len(calls) != 1 || calls[0].Code != emulator.FaultHang {
		t.Errorf("got %d calls, want exactly the one that hung: nothing is sent after an unknown outcome", len(calls))
	}
}

func testPerUser(t *testing.T, h Harness) {
	for _, tt := range []struct {
		name  string
		setup func(e *env) (user string)
	}{
		{"UnknownUser", func(*env) string { return "ghost" }},
		{"FrozenUser", func(e *env) string {
			u := e.acct.Users[1]
			if err := e.emu.FreezeAccountUser(e.acct, u); err != nil {
				t.Fatal(err)
			}
			return u
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, h)
			bad := tt.setup(e)
			res := mustReset(t, e.provider(), e.acct, []string{e.acct.Users[0], bad})
			e.checkDelivered(t, res[0])
			if res[1].User != bad || !res[1].Password.IsZero() {
				t.Errorf("result 1: user %s with a password %v, want %s and none", res[1].User, !res[1].Password.IsZero(), bad)
			}
			CheckFailure(t, res[1].Err, Failure{bot.EPROVIDER, false, nil})
			// The message names the user or, where the API's answer says
			// only which users failed, the account.
			if msg := bot.ErrorMessage(res[1].Err); !strings.Contains(msg, bad) && !strings.Contains(msg, e.acct.Name) {
				t.Errorf("message %q names neither %s nor %s", msg, bad, e.acct.Name)
			}
		})
	}
}

func testCredentials(t *testing.T, h Harness) {
	for _, tt := range []struct {
		name, id, secret string
	}{
		{"WrongSecret", "", "not-the-secret-7f3k"},
		{"UnknownID", "unknown-id-9q2x", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, h)
			c := e.config(nil)
			c.ID, c.Secret = tt.id, tt.secret
			_, err := h.New(c).Reset(testContext(t), e.acct, e.first())
			CheckFailure(t, err, Failure{bot.EPROVIDER, false, []string{"the bot's cloud credentials were rejected", "operators"}})
			if n := e.calls(t); n != 1 {
				t.Errorf("got %d calls, want 1: bad credentials are not retried", n)
			}
			if tt.secret != "" && strings.Contains(fmt.Sprintf("%v %+v %#v", err, err, err), tt.secret) {
				t.Errorf("the error shows the secret")
			}
		})
	}
}

func testGateway(t *testing.T, h Harness) {
	e := newEnv(t, h)
	var mu sync.Mutex
	hits := 0
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		first := hits == 1
		mu.Unlock()
		if first {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
			return
		}
		e.rec.ServeHTTP(w, r)
	}))
	defer srv.Close()
	res := mustReset(t, h.New(e.config(srv)), e.acct, e.first())
	e.checkDelivered(t, res[0])
	mu.Lock()
	defer mu.Unlock()
	if hits != 2 {
		t.Errorf("got %d requests, want 2", hits)
	}
}

func testUnreachable(t *testing.T, h Harness) {
	e := newEnv(t, h)
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	c := e.config(srv)
	srv.Close() // connection refused from now on
	_, err := h.New(c).Reset(testContext(t), e.acct, e.first())
	CheckFailure(t, err, Failure{bot.EUNAVAILABLE, true, []string{"could not be reached, nothing was changed for " + e.acct.Name}})
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("the error does not say why: %v", err)
	}
}

func testLeaks(t *testing.T, h Harness) {
	e := newEnv(t, h)
	texts := map[string]string{}
	record := func(label string, res []bot.UserResult, err error) {
		if err != nil {
			texts[label+" error"] = fmt.Sprintf("%s %v %+v %#v", err.Error(), err, err, err)
		}
		for i, r := range res {
			if r.Err != nil {
				texts[fmt.Sprintf("%s result %d error", label, i)] = fmt.Sprintf("%s %+v %#v", r.Err.Error(), r.Err, r.Err)
			}
			texts[fmt.Sprintf("%s result %d printed", label, i)] = fmt.Sprintf("%v %+v %#v", r, r, r)
		}
	}
	out := Capture(t, func() {
		c := e.config(nil)
		c.Timeout = 300 * time.Millisecond
		p := h.New(c)
		for _, f := range []string{emulator.FaultPasswordRefused, emulator.FaultPasswordRefused, emulator.FaultHang, h.Throttled, emulator.Fault5xx} {
			e.emu.Fail(h.Action, f, 1)
		}
		for i := range 4 {
			res, err := p.Reset(context.Background(), e.acct, e.acct.Users)
			record(fmt.Sprint("reset ", i), res, err)
		}
		if err := e.emu.FreezeAccountUser(e.acct, e.acct.Users[1]); err != nil {
			t.Error(err)
		}
		res, err := p.Reset(context.Background(), e.acct, e.acct.Users)
		record("frozen", res, err)
		c.Secret = "wrong"
		res, err = h.New(c).Reset(context.Background(), e.acct, e.acct.Users)
		record("signature", res, err)
	})
	pws := e.rec.Passwords()
	if len(pws) < 6 {
		t.Fatalf("recorded %d passwords, want at least 6", len(pws))
	}
	texts["output"] = out
	LeaksOnTheWire(t, pws, texts, e.rec, e.emu.Calls())
}

// testBurst: 200 resets from two replicas sharing one Redis limiter at the
// API's rate: none fails (a rate-limit answer is retried, never shown), and
// the throughput is about the API's limit.
func testBurst(t *testing.T, h Harness) {
	if testing.Short() {
		t.Skip("takes 10s")
	}
	const n = 200
	e := newEnv(t, h)
	acct := e.acct
	acct.Users = nil
	for i := range n {
		acct.Users = append(acct.Users, fmt.Sprintf("u%03d", i))
	}
	if err := e.emu.AddAccount(acct); err != nil {
		t.Fatal(err)
	}
	rdb, prefix := redistest.Client(t)
	replicas := make([]bot.Provider, 2)
	for i := range replicas {
		c := e.config(nil)
		c.Limiter = ratelimit.New(rdb, prefix, h.Rate)
		c.Backoff = nil
		c.Timeout = 0 // the default 10s: a loaded test machine is slow
		replicas[i] = h.New(c)
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 20)
	for i, u := range acct.Users {
		p := replicas[i%2]
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			res, err := p.Reset(context.Background(), acct, []string{u})
			if err == nil {
				err = res[0].Err
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		t.Errorf("a reset failed: %v", err)
	}
	limited := 0
	for _, c := range e.emu.Calls() {
		if c.Code == h.Throttled {
			limited++
		}
	}
	t.Logf("%d resets in %v: %.1f/s; %d calls answered %s and were retried", n,
		elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), limited, h.Throttled)
}
