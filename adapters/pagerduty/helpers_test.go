package pagerduty_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"resetbot/adapters/pagerduty"
	"resetbot/bot"
)

const token = "u+pd-s3cret-token-value"

var policy1 = bot.OnCallPolicy{EscalationPolicy: "PPOLICY1", Levels: []int{1}}

// clock is a hand-moved bot.Clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2025, 3, 1, 3, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// MustNew returns an OnCall speaking to srv's URL with the real client.
func MustNew(tb testing.TB, url string, edit ...func(*pagerduty.Options)) *pagerduty.OnCall {
	tb.Helper()
	o := pagerduty.Options{Token: token, APIURL: url, Timeout: 5 * time.Second, Clock: newClock()}
	for _, e := range edit {
		e(&o)
	}
	oc, err := pagerduty.New(o)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return oc
}

func ctx(tb testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	tb.Cleanup(cancel)
	return c
}

// wantUnavailable checks err is EUNAVAILABLE with message want, and that
// neither the message nor the error's text carries the token.
func wantUnavailable(tb testing.TB, err error, want string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("err = nil, want %s: %q", bot.EUNAVAILABLE, want)
	}
	if got := bot.ErrorCode(err); got != bot.EUNAVAILABLE {
		tb.Errorf("code = %q, want %q (err %v)", got, bot.EUNAVAILABLE, err)
	}
	if got := bot.ErrorMessage(err); got != want {
		tb.Errorf("message = %q, want %q", got, want)
	}
	for _, s := range []string{bot.ErrorMessage(err), err.Error()} {
		if strings.Contains(s, token) || strings.Contains(s, "s3cret") {
			tb.Errorf("error carries the token: %q", s)
		}
	}
}
