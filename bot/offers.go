package bot

import (
	"context"
	"fmt"
	"time"
)

// The offered path: nothing is reset at approval. The approved request is
// offered: its requester gets, through their platform's Notifier, a direct
// message with a Reveal button, and the reset runs at that click (Reveal),
// whose answer shows the password to them alone, while they are there to
// see it.

// offer moves a claimed request to offered, unreset, and sends its
// requester a Reveal button valid for the account's RevealWithin.
func (s *Service) offer(ctx context.Context, c Claim, acct Account) {
	req := c.Request
	o, ok := s.notifiers[req.Platform]
	if !ok {
		s.finish(ctx, c, StateFailed, fmt.Sprintf("not reset: %s is not configured, so %s cannot be offered the password there; ask again from a configured platform",
			req.Platform, req.Requester))
		return
	}
	by := s.clock.Now().Add(acct.RevealWithin).UTC().Truncate(time.Millisecond)
	outcome := fmt.Sprintf("not reset yet: waiting for %s to press Reveal in a direct message on %s, until %s",
		req.Requester, req.Platform, by.Format("15:04 MST"))
	offered, err := s.store.Offer(ctx, c, by, outcome)
	if err != nil {
		// Nothing was reset. Fail it now, if the claim still holds, rather
		// than leave it to a takeover that would call its outcome unknown.
		s.log.Error("offer Reveal", "request", req.ID, "err", err)
		if ErrorCode(err) != ECONFLICT {
			s.finish(ctx, c, StateFailed, fmt.Sprintf("not reset: the Reveal offer could not be recorded (%s); ask again",
				ErrorMessage(err)))
		}
		return
	}
	s.metrics.Event(EventOffered)
	s.updateCards(ctx, offered)
	p, _ := s.personByName(req.Requester)
	var ref string
	err = s.retry(ctx, func() error {
		var err error
		ref, err = o.Offer(ctx, p, offered)
		return err
	})
	if err != nil {
		s.chatFault(ctx, offered, req.Platform, "send "+req.Requester+" the Reveal button", err)
		s.finish(ctx, c, StateFailed, fmt.Sprintf("not reset: the Reveal button could not be sent to %s on %s (%s); ask again",
			req.Requester, req.Platform, ErrorMessage(err)))
		return
	}
	if err := s.store.SetRef(ctx, req.ID, Ref(RefOffer, req.Platform), ref); err != nil {
		s.log.Error("remember the Reveal offer", "request", req.ID, "err", err)
		return
	}
	// Ended (cancelled) while the offer was on its way: nothing else will
	// withdraw it.
	if cur, err := s.store.Get(ctx, req.ID); err == nil && cur.State.Terminal() {
		s.withdrawOffer(ctx, cur)
	}
}

// withdrawOffer takes the Reveal button off a request's offer once the
// request has ended, so that no dead button stays in a direct message.
func (s *Service) withdrawOffer(ctx context.Context, req Request) {
	ref := req.Refs[Ref(RefOffer, req.Platform)]
	o, ok := s.notifiers[req.Platform]
	if ref == "" || !ok || !req.State.Terminal() {
		return
	}
	if err := o.Withdraw(ctx, req, ref); err != nil {
		s.chatFault(ctx, req, req.Platform, "take the Reveal button off the offer", err)
	}
}

// Reveal runs the reset of an offered request, at its requester's click,
// and hands the new passwords to show, which displays them to a alone (and
// returns an error if it could not). The passwords exist only during this
// call. Errors are *Error: ENOTFOUND, EFORBIDDEN (a is not the requester),
// ECONFLICT (the request is not offered, or its RevealBy has passed),
// EUNAVAILABLE (the store is down, or show failed after the reset), or
// EPROVIDER when the reset failed.
func (s *Service) Reveal(ctx context.Context, a Actor, id string, show func(context.Context, []UserResult) error) error {
	p, ok := s.Person(a.Platform, a.UserID)
	if !ok {
		return s.stranger(ctx, a, id, "reveal")
	}
	c, err := s.store.ClaimReveal(ctx, id, p.Name, a.Platform, s.lease)
	if err != nil {
		return s.failed(ctx, "reveal "+id, err).Err
	}
	// A reset under way finishes even if the click's context ends.
	ctx = context.WithoutCancel(ctx)
	req := c.Request
	acct, prov, ok := s.target(req)
	if !ok {
		outcome := fmt.Sprintf("account %s is no longer configured", req.Account)
		s.finish(ctx, c, StateFailed, outcome)
		return Errorf(ECONFLICT, "%s failed: %s", id, outcome)
	}
	s.updateCards(ctx, req)
	results, outcome, ok := s.reset(ctx, req, acct, prov)
	if !ok {
		s.finish(ctx, c, StateFailed, outcome)
		return Errorf(EPROVIDER, "%s failed: %s", id, outcome)
	}
	err = s.retry(ctx, func() error { return show(ctx, results) })
	s.finish(ctx, c, StateSucceeded, s.delivered(ctx, req, outcome, ", at the Reveal click", err))
	if err != nil {
		return Errorf(EUNAVAILABLE, "%s was reset, but the new password could not be shown (%s): ask again", id, ErrorMessage(err))
	}
	return nil
}
