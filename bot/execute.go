package bot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// RunExecutor executes approved requests until ctx ends. consumer names this
// process in the queue; every process must use its own. It handles up to
// Options.Workers requests at once, so that one slow chat call (an offer
// that waits out a platform's rate limit) delays no other request; it
// claims a request only when a worker is free to take it at once.
func (s *Service) RunExecutor(ctx context.Context, consumer string) error {
	s.setConsumer(consumer)
	slots := make(chan struct{}, s.workers)
	var wg sync.WaitGroup
	defer wg.Wait() // a request under way finishes before the executor returns
	for {
		select {
		case <-ctx.Done():
			return nil
		case slots <- struct{}{}:
		}
		c, err := s.store.Next(ctx, consumer, s.lease)
		if ctx.Err() != nil {
			<-slots
			return nil
		}
		if err != nil {
			<-slots
			s.log.Error("take the next request", "err", err)
			select { // the store is down: wait a little, then try again
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			// A request under way finishes even when shutdown begins:
			// cutting it off would leave it half offered.
			s.execute(context.WithoutCancel(ctx), c)
		}()
	}
}

// execute runs one claimed request: nothing is reset at approval, so it
// offers the request to its requester, whose Reveal click runs the reset.
func (s *Service) execute(ctx context.Context, c Claim) {
	req := c.Request
	if c.Stale {
		s.finish(ctx, c, StateFailed, fmt.Sprintf("outcome unknown for %s: the bot stopped during the reset at %s's Reveal click, so the password may have changed without being shown; ask again",
			req.Account, req.Requester))
		return
	}
	if c.Resumed {
		s.log.Info("offer again: the process that claimed it stopped before offering it or before its Reveal's reset began, and nothing was reset", "request", req.ID)
	}
	acct, _, ok := s.target(req)
	if !ok {
		s.finish(ctx, c, StateFailed, fmt.Sprintf("not reset: account %s is no longer configured", req.Account))
		return
	}
	s.offer(ctx, c, acct)
}

// target is the account of req and its provider, while both are configured.
func (s *Service) target(req Request) (Account, Provider, bool) {
	acct, ok := s.accounts[req.Account]
	prov := s.providers[acct.Provider]
	return acct, prov, ok && prov != nil
}

// reset calls the provider for req. It returns the results and the outcome
// to record; and, when no user was reset, the error that answers the click:
// EUNKNOWN when a call's outcome is unknown, else EPROVIDER, its message
// the cloud's answer in the requester's words.
func (s *Service) reset(ctx context.Context, req Request, acct Account, prov Provider) ([]UserResult, string, error) {
	start := s.clock.Now()
	results, err := prov.Reset(ctx, acct, req.Users)
	s.metrics.Execution(acct.Provider, s.clock.Now().Sub(start), err == nil)
	if err != nil {
		s.log.Error("reset failed", "request", req.ID, "account", acct.Name, "err", err)
		outcome := ErrorMessage(err)
		return nil, outcome, Errorf(resetCode(err), "%s failed: %s", req.ID, outcome)
	}
	var done, failed []string
	code := EPROVIDER
	for _, r := range results {
		if r.Err != nil {
			failed = append(failed, r.User+": "+ErrorMessage(r.Err))
			if ErrorCode(r.Err) == EUNKNOWN {
				code = EUNKNOWN
			}
		} else {
			done = append(done, r.User)
		}
	}
	if len(done) == 0 {
		if len(failed) == 0 {
			failed = []string{"the cloud API reported no user as reset"}
		}
		outcome := strings.Join(failed, "; ")
		return results, outcome, Errorf(code, "%s failed: %s", req.ID, outcome)
	}
	outcome := "reset " + strings.Join(done, ", ")
	if len(failed) > 0 {
		outcome += "; not reset: " + strings.Join(failed, "; ")
	}
	return results, outcome, nil
}

// resetCode is the code of a failed reset's answer to the click.
func resetCode(err error) string {
	if ErrorCode(err) == EUNKNOWN {
		return EUNKNOWN
	}
	return EPROVIDER
}

// retry calls a chat API through fn, again after a pause while it answers
// EUNAVAILABLE: a hiccup should not lose a password that now exists.
func (s *Service) retry(ctx context.Context, fn func() error) error {
	const tries = 3
	var err error
	for try := 0; try < tries; try++ {
		if err = fn(); err == nil || ErrorCode(err) != EUNAVAILABLE || try == tries-1 {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(try+1) * 500 * time.Millisecond):
		}
	}
	return err
}

// finish ends a claim, trying again while the store cannot be reached,
// until the claim's lease runs out: the claim's token makes it safe to
// repeat, and a finish lost to a blip would leave a takeover to call a
// delivered reset "outcome unknown".
func (s *Service) finish(ctx context.Context, c Claim, state State, outcome string) {
	until := c.Until
	if until.IsZero() {
		until = s.clock.Now().Add(s.lease)
	}
	s.finishUntil(ctx, c, func() time.Time { return until }, state, outcome)
}

// finishHeld ends a held claim (Reveal's) as finish does, under its
// renewed lease; then the heartbeat stops.
func (s *Service) finishHeld(ctx context.Context, h *held, state State, outcome string) {
	h.finishing.Store(true)
	s.finishUntil(ctx, h.claim(), h.until, state, outcome)
}

func (s *Service) finishUntil(ctx context.Context, c Claim, until func() time.Time, state State, outcome string) {
	var req Request
	err := s.whileLeased(ctx, until, func() error {
		var err error
		req, err = s.store.Finish(ctx, c, state, outcome)
		if err != nil && ErrorCode(err) == EUNAVAILABLE {
			s.log.Error("finish request: trying again while the lease lasts", "request", c.Request.ID, "state", state, "err", err)
		}
		return err
	})
	if err != nil {
		s.log.Error("finish request", "request", c.Request.ID, "state", state, "err", err)
		return
	}
	kind := EventSucceeded
	if state == StateFailed {
		kind = EventFailed
	}
	s.metrics.Event(kind)
	s.updateCards(ctx, req)
	if state == StateSucceeded {
		s.tell(ctx, req, fmt.Sprintf("%s done: %s.", req.ID, req.Outcome))
	} else {
		s.tell(ctx, req, fmt.Sprintf("%s failed: %s", req.ID, req.Outcome))
	}
}

// RunSweeper sweeps (Sweep) every interval until ctx ends.
func (s *Service) RunSweeper(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.Sweep(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Sweep checks that the store still holds its data (saying so when it
// lost it: see Ready), expires overdue requests once and tells everyone
// concerned, sends the reminders and escalations that are due, posts or
// refreshes the cards that chat faults left behind, and, now and then,
// removes the execution queue's consumers that hold nothing.
func (s *Service) Sweep(ctx context.Context) {
	s.watchStore(ctx)
	defer s.tidyQueue(ctx)
	defer s.settleCards(ctx)
	reqs, err := s.store.ExpireDue(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return // shutting down: nothing went wrong
		}
		s.log.Error("expire requests", "err", err)
	}
	for _, r := range reqs {
		s.metrics.Event(EventExpired)
		if r.Review == nil && !Satisfied(r.Progress()) { // expired unapproved, not unrevealed
			s.metrics.Decided(StateExpired, r.UpdatedAt.Sub(r.CreatedAt))
		}
		s.updateCards(ctx, r)
		s.tell(ctx, r, fmt.Sprintf("%s %s.", r.ID, r.Outcome))
	}
	s.remind(ctx)
}
