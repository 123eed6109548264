package bot

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// errLost ends what belongs to a claim that no longer holds its request.
var errLost = errors.New("the claim on the request was lost: another process may take it over")

// held is a claim whose lease a heartbeat renews while the reset runs. Its
// ctx ends as soon as the claim is lost, or its lease runs out unrenewed
// (the store unreachable): whatever runs under it (the cloud call and its
// retries, the click's answer) stops then, so nothing outlives the lease.
type held struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	stop   chan struct{}
	done   chan struct{}

	// finishing is set once the request is being finished: a renewal that
	// fails from then on only says the request has ended, as it should.
	finishing atomic.Bool

	mu sync.Mutex
	c  Claim
}

// hold starts renewing c's lease every third of the lease, until release.
func (s *Service) hold(ctx context.Context, c Claim) *held {
	if c.Until.IsZero() {
		c.Until = s.clock.Now().Add(s.lease)
	}
	hctx, cancel := context.WithCancelCause(ctx)
	h := &held{ctx: hctx, cancel: cancel, stop: make(chan struct{}), done: make(chan struct{}), c: c}
	go func() {
		defer close(h.done)
		t := time.NewTicker(max(s.lease/3, time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-hctx.Done():
				return
			case <-t.C:
			}
			if err := s.renew(h); err != nil {
				cancel(err)
				return
			}
		}
	}()
	return h
}

// claim is the held claim as last renewed.
func (h *held) claim() Claim {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.c
}

func (h *held) until() time.Time { return h.claim().Until }

// calling marks the claim as about to call the cloud: its next Hold
// records it (Claim.Calling).
func (h *held) calling() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.c.Calling = true
}

// release stops the heartbeat and ends h.ctx.
func (h *held) release() {
	close(h.stop)
	<-h.done
	h.cancel(context.Canceled)
}

// renew extends the lease once. It fails when the claim is lost, or when
// its lease ran out while the store could not be reached.
func (s *Service) renew(h *held) error {
	c := h.claim()
	ctx, cancel := context.WithTimeout(h.ctx, max(s.lease/3, time.Millisecond))
	defer cancel()
	nc, err := s.store.Hold(ctx, c, s.lease)
	if err == nil {
		h.mu.Lock()
		h.c = nc
		h.mu.Unlock()
		return nil
	}
	if h.finishing.Load() {
		return errLost // finished meanwhile: nothing is left to hold
	}
	if ErrorCode(err) != EUNAVAILABLE || !s.clock.Now().Before(c.Until) {
		s.log.Error("renew the claim", "request", c.Request.ID, "err", err)
		return errLost
	}
	return nil // the store blinked: try again at the next beat, while the lease lasts
}

// check re-checks, right before the cloud call, that the claim still holds
// its request, and extends its lease. Any error means: do not call.
func (s *Service) check(h *held) error {
	if err := context.Cause(h.ctx); err != nil {
		return err
	}
	nc, err := s.store.Hold(h.ctx, h.claim(), s.lease)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.c = nc
	h.mu.Unlock()
	return nil
}

// whileLeased calls fn, and again after a pause while it answers
// EUNAVAILABLE (the store blinked), until until() has passed by the
// service's clock or a lease's time has passed on the wall. fn must be safe
// to repeat: Finish under a claim's token is; an audit event sent again
// after a lost answer is written twice at worst, never lost.
func (s *Service) whileLeased(ctx context.Context, until func() time.Time, fn func() error) error {
	start := time.Now()
	pause := 50 * time.Millisecond
	for {
		err := fn()
		if err == nil || ErrorCode(err) != EUNAVAILABLE ||
			!s.clock.Now().Before(until()) || time.Since(start) >= s.lease {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
		pause = min(2*pause, 2*time.Second)
	}
}
