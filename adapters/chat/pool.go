package chat

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Pool runs an adapter's background work: what a handler does after it has
// acknowledged the platform (which wants an answer within three seconds).
// Wait lets a graceful shutdown finish that work. A panic in one piece of
// work is logged, not fatal: one bad payload must not take the bot down.
type Pool struct {
	platform string
	log      *slog.Logger
	slots    chan struct{} // nil: no bound
	waiting  atomic.Int64  // work queued for a slot
	wg       sync.WaitGroup
}

// NewPool makes a Pool that runs at most max pieces of work at once (0: no
// bound), so that a burst of commands queues instead of starving the
// acknowledgements of CPU and the Redis pool of connections. platform
// names it in the log; log nil discards.
func NewPool(platform string, max int, log *slog.Logger) *Pool {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Pool{platform: platform, log: log}
	if max > 0 {
		p.slots = make(chan struct{}, max)
	}
	return p
}

// Go runs f in the background with a context of its own: it keeps ctx's
// values but not its end (a handler's request ends when it answers), and
// lasts timeout. Work that cannot start before then is dropped, and logged.
func (p *Pool) Go(ctx context.Context, what string, timeout time.Duration, f func(ctx context.Context)) {
	if p.slots != nil {
		p.waiting.Add(1)
	}
	p.start(ctx, what, timeout, f)
}

// TryGo is Go for work that may be refused: when as much work already
// waits for a slot as the pool runs at once, it starts nothing and returns
// false, so that the handler can say so (HTTP 429, "slow down") instead of
// queueing without bound or dropping silently.
func (p *Pool) TryGo(ctx context.Context, what string, timeout time.Duration, f func(ctx context.Context)) bool {
	if p.slots != nil {
		for {
			n := p.waiting.Load()
			if n >= int64(cap(p.slots)) {
				return false
			}
			if p.waiting.CompareAndSwap(n, n+1) {
				break
			}
		}
	}
	p.start(ctx, what, timeout, f)
	return true
}

// start runs f once a slot is free; the caller counted it as waiting.
func (p *Pool) start(ctx context.Context, what string, timeout time.Duration, f func(ctx context.Context)) {
	p.Track(what, func() {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		if p.slots != nil {
			select {
			case p.slots <- struct{}{}:
				p.waiting.Add(-1)
				defer func() { <-p.slots }()
			case <-wctx.Done():
				p.waiting.Add(-1)
				p.log.Error(p.platform+": dropped work that waited too long to start", "work", what)
				return
			}
		}
		f(wctx)
	})
}

// Track runs f in a goroutine that Wait waits for, outside the bound: for
// what must happen whatever the load (closing a connection).
func (p *Pool) Track(what string, f func()) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer func() {
			if r := recover(); r != nil {
				p.log.Error(p.platform+": background work panicked", "work", what, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			}
		}()
		f()
	}()
}

// Wait blocks until every piece of work started so far is done.
func (p *Pool) Wait() { p.wg.Wait() }
