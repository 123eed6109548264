// Package testkit holds what the tests of several packages share: a clock
// that moves only when told, a log buffer that several goroutines may write
// at once, and a dump of Redis to scan for secrets.
package testkit

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Clock is a bot.Clock that moves only when told.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now tells the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock by d (back, when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set puts the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Log collects log output from several goroutines.
type Log struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String is everything written so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// RedisDump is every key matching pattern with its contents, as text, for
// tests that scan Redis for what must not be there (a password).
func RedisDump(tb testing.TB, c redis.UniversalClient, pattern string) string {
	tb.Helper()
	ctx := context.Background()
	var b strings.Builder
	iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		typ := c.Type(ctx, k).Val()
		fmt.Fprintf(&b, "%s (%s): ", k, typ)
		switch typ {
		case "string":
			b.WriteString(c.Get(ctx, k).Val())
		case "hash":
			fmt.Fprint(&b, c.HGetAll(ctx, k).Val())
		case "list":
			fmt.Fprint(&b, c.LRange(ctx, k, 0, -1).Val())
		case "set":
			fmt.Fprint(&b, c.SMembers(ctx, k).Val())
		case "zset":
			fmt.Fprint(&b, c.ZRangeWithScores(ctx, k, 0, -1).Val())
		case "stream":
			fmt.Fprint(&b, c.XRange(ctx, k, "-", "+").Val())
		}
		b.WriteString("\n")
	}
	if err := iter.Err(); err != nil {
		tb.Fatalf("scan redis: %v", err)
	}
	return b.String()
}

// Resource is bot.AccountSettings for tests of packages that do not reset
// anything themselves: the settings of an account whose provider is a fake.
// Its value is what the approval card shows.
type Resource string

// Resource returns r.
func (r Resource) Resource() string { return string(r) }
