package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// ErrDeadline is returned (wrapping context.DeadlineExceeded) when the
// caller's deadline comes before its turn; no slot was taken.
var ErrDeadline = fmt.Errorf("rate limit: the turn comes after the deadline: %w", context.DeadlineExceeded)

// Key names the limit of one API action under one credential: the action
// and a hash of the credential ID (an ID, not a secret, but it still need not
// be readable in Redis).
func Key(action, credentialID string) string {
	sum := sha256.Sum256([]byte(credentialID))
	return action + ":" + hex.EncodeToString(sum[:8])
}

// reserve takes the next slot of KEYS[1] unless the caller would wait more
// than ARGV[2] microseconds (negative: any wait). ARGV[1] is the interval in
// microseconds. It returns {taken (1/0), wait in microseconds}. Numbers are
// formatted with %.0f because Lua 5.1's tostring keeps only 14 digits.
// The script touches no key but KEYS[1]: Redis Cluster and the cloud Redis
// proxies route a script by its KEYS (the tests check it).
var reserve = redis.NewScript(reserveSrc)

const reserveSrc = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local maxwait = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tat < now then tat = now end
local wait = tat - now
if maxwait >= 0 and wait > maxwait then
  return {0, string.format('%.0f', wait)}
end
local nexttat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', nexttat), 'PX', math.floor((nexttat - now) / 1000) + 1000)
return {1, string.format('%.0f', wait)}
`

// Limiter allows at most a fixed number of calls a second per key, counted
// across every process that uses the same Redis and prefix.
type Limiter struct {
	rdb      redis.UniversalClient
	prefix   string
	perSec   int
	interval time.Duration

	mu    sync.Mutex
	local map[string]*rate.Limiter
}

// New returns a limiter of perSecond calls a second per key (at least 1),
// keeping its state in rdb under the bot's key prefix (redis.prefix, like
// "resetbot:"). Its keys are "{" + prefix + "}ratelimit:" + key: the braces
// make the prefix their hash tag, the approvals store's, so that on a Redis
// Cluster they live in the bot's one slot.
func New(rdb redis.UniversalClient, prefix string, perSecond int) *Limiter {
	perSecond = max(perSecond, 1)
	return &Limiter{
		rdb:      rdb,
		prefix:   "{" + prefix + "}ratelimit:",
		perSec:   perSecond,
		interval: spacing(perSecond),
		local:    map[string]*rate.Limiter{},
	}
}

// spacing is the interval between calls at perSecond: a second divided by
// the rate, 2% longer, rounded up to the microsecond. Calls spaced exactly
// 1s/rate apart put the rate+1st call at the very edge of the API's
// one-second window, where network jitter tips it over; the margin keeps it
// out.
func spacing(perSecond int) time.Duration {
	d := time.Second * 102 / 100 / time.Duration(perSecond)
	return (d + time.Microsecond - 1).Truncate(time.Microsecond)
}

// Rate is the number of calls a second allowed per key.
func (l *Limiter) Rate() int { return l.perSec }

// Wait blocks until a call under key is allowed. It returns ctx's error
// when ctx ends first, ErrDeadline at once when ctx's deadline is sooner than
// the caller's turn, and a wrapped Redis error when Redis cannot be asked.
func (l *Limiter) Wait(ctx context.Context, key string) error {
	if err := l.localFor(key).Wait(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// x/time/rate refuses at once when the deadline is too close.
		return ErrDeadline
	}
	maxWait := int64(-1)
	if dl, ok := ctx.Deadline(); ok {
		maxWait = max(time.Until(dl).Microseconds(), 0)
	}
	res, err := reserve.Run(ctx, l.rdb, []string{l.prefix + key},
		l.interval.Microseconds(), maxWait).Slice()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("rate limit %s: %w", key, err)
	}
	taken, wait, err := parseReply(res)
	if err != nil {
		return fmt.Errorf("rate limit %s: %w", key, err)
	}
	if !taken {
		return ErrDeadline
	}
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *Limiter) localFor(key string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.local[key]
	if lim == nil {
		lim = rate.NewLimiter(rate.Every(l.interval), 1)
		l.local[key] = lim
	}
	return lim
}

func parseReply(res []any) (taken bool, wait time.Duration, err error) {
	if len(res) != 2 {
		return false, 0, errors.New("unexpected reply from the rate limit script")
	}
	n, ok := res[0].(int64)
	s, ok2 := res[1].(string)
	if !ok || !ok2 {
		return false, 0, errors.New("unexpected reply from the rate limit script")
	}
	us, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return false, 0, fmt.Errorf("rate limit script wait: %w", err)
	}
	return n == 1, time.Duration(us) * time.Microsecond, nil
}

// Local limits calls within one process only, for a bot without a shared
// Redis (one replica). It has the same Wait as Limiter.
type Local struct {
	interval time.Duration
	mu       sync.Mutex
	lims     map[string]*rate.Limiter
}

// NewLocal returns an in-process limiter of perSecond calls a second per key.
func NewLocal(perSecond int) *Local {
	perSecond = max(perSecond, 1)
	return &Local{interval: spacing(perSecond), lims: map[string]*rate.Limiter{}}
}

// Wait blocks until a call under key is allowed or ctx ends.
func (l *Local) Wait(ctx context.Context, key string) error {
	l.mu.Lock()
	lim := l.lims[key]
	if lim == nil {
		lim = rate.NewLimiter(rate.Every(l.interval), 1)
		l.lims[key] = lim
	}
	l.mu.Unlock()
	if err := lim.Wait(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return ErrDeadline
	}
	return nil
}
