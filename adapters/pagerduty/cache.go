package pagerduty

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"resetbot/bot"
)

// cache keeps answers for a while, by key, and runs one look-up per key at
// a time: callers that miss while a look-up is running wait for it instead
// of starting their own. Failed look-ups are not kept: a failure costs its
// callers only the auto-approval, while a kept one would refuse it after
// PagerDuty is back; and callers that arrive together still share the one
// failing call.
type cache[T any] struct {
	clock bot.Clock
	ttl   time.Duration

	mu      sync.Mutex
	flights map[string]*flight[T]
}

// flight is one look-up: running until done is closed, then its answer.
type flight[T any] struct {
	done chan struct{}
	at   time.Time // when the look-up started, by the clock
	val  T
	err  error

	waiting atomic.Int32 // callers in wait, for tests
}

func newCache[T any](clock bot.Clock, ttl time.Duration) *cache[T] {
	return &cache[T]{clock: clock, ttl: ttl, flights: map[string]*flight[T]{}}
}

// start returns the flight for key: a fresh answer, the look-up running,
// or a new look-up of fetch. The look-up runs on its own, within timeout,
// not on ctx: a caller that gives up does not fail the others waiting.
func (c *cache[T]) start(ctx context.Context, key string, timeout time.Duration, fetch func(context.Context) (T, error)) *flight[T] {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.flights[key]; ok {
		select {
		case <-f.done:
			if now.Before(f.at.Add(c.ttl)) {
				return f // a fresh answer (failures are removed when they end)
			}
		default:
			return f // running
		}
	}
	c.pruneLocked(now)
	f := &flight[T]{done: make(chan struct{}), at: now}
	c.flights[key] = f
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	go func() {
		defer cancel()
		val, err := fetch(fctx)
		c.mu.Lock()
		f.val, f.err = val, err
		if err != nil && c.flights[key] == f {
			delete(c.flights, key)
		}
		c.mu.Unlock()
		close(f.done)
	}()
	return f
}

// pruneLocked forgets answers that are too old, so that the cache holds
// no more than the keys in use.
func (c *cache[T]) pruneLocked(now time.Time) {
	for k, f := range c.flights {
		select {
		case <-f.done:
			if !now.Before(f.at.Add(c.ttl)) {
				delete(c.flights, k)
			}
		default:
		}
	}
}

// wait returns the flight's answer, or, if ctx ends first, its error: as
// EUNAVAILABLE when its deadline passed (the caller could wait no longer
// for PagerDuty).
func (f *flight[T]) wait(ctx context.Context) (T, error) {
	f.waiting.Add(1)
	defer f.waiting.Add(-1)
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		var zero T
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return zero, fmt.Errorf("%w (%w)", &bot.Error{Code: bot.EUNAVAILABLE, Message: "PagerDuty did not answer in time", Retryable: true}, ctx.Err())
		}
		return zero, ctx.Err()
	}
}
