package bot

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The one path of every platform: nothing is reset at approval. The
// approved request is offered: its requester gets, through their platform's
// Notifier, a persistent direct message with a Reveal button, and the reset
// runs at that click (Reveal), whose answer shows the password to them
// alone, while they are there to see it.

// offer moves a claimed request to offered, unreset, and sends its
// requester a Reveal button valid for the account's RevealWithin.
// refRetry bounds the tries to keep an offer's reference through a blip.
const refRetry = 5 * time.Second

func (s *Service) offer(ctx context.Context, c Claim, acct Account) {
	req := c.Request
	o, ok := s.notifiers[req.Platform]
	if !ok {
		s.finish(ctx, c, StateFailed, fmt.Sprintf("not reset: %s is not configured, so %s cannot be offered the password there; ask again from a configured platform",
			req.Platform, req.Requester))
		return
	}
	by := s.clock.Now().Add(acct.RevealWithin).UTC().Truncate(time.Millisecond)
	// Tried again while the store blinks (or its replicas do not confirm
	// the offer), under the claim's lease: the same Offer sent again
	// succeeds again, and one that a failover lost is made again.
	until := c.Until
	if until.IsZero() {
		until = s.clock.Now().Add(s.lease)
	}
	var offered Request
	err := s.whileLeased(ctx, func() time.Time { return until }, func() error {
		var err error
		offered, err = s.store.Offer(ctx, c, by, offerOutcome(req, by))
		return err
	})
	if err != nil {
		s.log.Error("offer Reveal", "request", req.ID, "err", err)
		switch ErrorCode(err) {
		case ECONFLICT: // another executor took the claim over, and offers it
		case EUNAVAILABLE:
			// The store is still down: Finish would fail too. The claim's
			// lease runs out and another executor resumes it
			// (Claim.Resumed), offering it again: nothing was reset.
		default:
			s.finish(ctx, c, StateFailed, fmt.Sprintf("not reset: the Reveal offer could not be recorded (%s); ask again",
				ErrorMessage(err)))
		}
		return
	}
	s.metrics.Event(EventOffered)
	s.updateCards(ctx, offered)
	p, _ := s.personByName(req.Requester)
	if c.Resumed && req.Refs[Ref(RefOffer, req.Platform)] != "" {
		// A Reveal click's claim lost before its reset: the requester's
		// direct message and its button are still there, and work again.
		s.tell(ctx, offered, fmt.Sprintf("%s: your Reveal click did not go through, and nothing was reset. The Reveal button in the bot's direct message works again, until %s.",
			req.ID, timeOfDay(offered.RevealBy)))
		return
	}
	var ref string
	err = s.retry(ctx, func() error {
		var err error
		ref, err = o.Offer(ctx, p, offered)
		return err
	})
	if err != nil && ErrorCode(err) == EUNKNOWN {
		// The direct message may have arrived: it is not sent again (a
		// requester would get two buttons), and the request stays offered,
		// since the text fallback reveals it as the button does.
		s.chatFault(ctx, offered, req.Platform, "be sure that "+req.Requester+" got the Reveal button (delivery unknown, not sent again)", err)
		s.tell(ctx, offered, fmt.Sprintf("%s: the bot's direct message with the Reveal button may not have reached you. If it did not, type /reset-password reveal %s before %s; nothing is reset before that.",
			req.ID, req.ID, timeOfDay(offered.RevealBy)))
		return
	}
	if err != nil {
		s.chatFault(ctx, offered, req.Platform, "send "+req.Requester+" the Reveal button", err)
		s.finish(ctx, c, StateFailed, fmt.Sprintf("not reset: the Reveal button could not be sent to %s on %s (%s); ask again",
			req.Requester, req.Platform, ErrorMessage(err)))
		return
	}
	// Without its reference the offer could never be withdrawn: its dead
	// button would stay. SetRef may be repeated; it is tried again through a
	// blip of the store, for a few seconds (an executor's worker waits).
	rctx, cancel := context.WithTimeout(ctx, refRetry)
	defer cancel()
	refUntil := s.clock.Now().Add(s.lease)
	if err := s.whileLeased(rctx, func() time.Time { return refUntil }, func() error {
		return s.store.SetRef(rctx, req.ID, Ref(RefOffer, req.Platform), ref)
	}); err != nil {
		s.log.Error("remember the Reveal offer", "request", req.ID, "err", err)
		return
	}
	// Ended (revealed by the text fallback, cancelled) while the offer was
	// on its way, before its reference was kept: nothing else will withdraw
	// it.
	if cur, err := s.store.Get(ctx, req.ID); err == nil && cur.State.Terminal() {
		s.withdrawOffer(ctx, cur)
	}
}

// offerOutcome is what cards and status say of an offered request.
func offerOutcome(req Request, by time.Time) string {
	return fmt.Sprintf("approved, waiting for %s to reveal until %s: nothing is reset before %s presses Reveal in the bot's direct message on %s",
		req.Requester, timeOfDay(by), req.Requester, req.Platform)
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

// Reveal runs the reset of an offered request, at its requester's click
// (the Reveal button, or its text fallback `reveal R-…`), and hands the new
// passwords to show, which displays them to a alone in the click's answer
// (and returns an error if it could not). The passwords exist only during
// this call. The adapter makes sure, before calling Reveal, that the
// click's answer can be shown: a click whose answer cannot be shown must
// reset nothing.
//
// Errors are *Error, with a message for the requester:
//   - ENOTFOUND; EFORBIDDEN when a is not the requester (audited);
//     ECONFLICT when the request is not offered (not yet, being reset
//     already, ended, or past RevealBy: nothing is reset), or its account is
//     no longer configured; EUNAVAILABLE when the store is down (nothing is
//     reset);
//   - EPROVIDER when the cloud refused the reset: the message says what it
//     said, and the request failed so;
//   - EUNKNOWN when the cloud's answer never came, or when the reset ran but
//     show failed: the request failed as "outcome unknown", never as
//     succeeded, and the requester is told to ask again.
func (s *Service) Reveal(ctx context.Context, a Actor, id string, show func(context.Context, []UserResult) error) error {
	p, ok := s.Person(a.Platform, a.UserID)
	if !ok {
		return s.stranger(ctx, a, id, "reveal")
	}
	c, err := s.store.ClaimReveal(ctx, id, p.Name, a.Platform, s.lease)
	if err != nil && errors.Is(err, ErrUnconfirmed) && c.Token != "" {
		// Claimed, but no replica confirmed it yet: the check before the
		// cloud call confirms it, or finds it lost (a failover).
		s.log.Info("the Reveal's claim is not confirmed by a replica yet: it is checked again before the reset", "request", id, "err", err)
		err = nil
	}
	if err != nil {
		if ErrorCode(err) == ECONFLICT {
			// a reset without a vote on an account a rejected review locked
			// ends at this click, unrevealed: its cards and offer say so
			if cur, gerr := s.store.Get(ctx, id); gerr == nil && cur.Review != nil && cur.State == StateDenied {
				s.updateCards(ctx, cur)
			}
		}
		return s.failed(ctx, "reveal "+id, err).Err
	}
	// A reset under way finishes even if the click's context ends; what
	// belongs to the claim runs under h.ctx, which ends with the claim.
	ctx = context.WithoutCancel(ctx)
	h := s.hold(ctx, c)
	defer h.release()
	req := c.Request
	acct, prov, ok := s.target(req)
	if !ok {
		outcome := fmt.Sprintf("not reset: account %s is no longer configured", req.Account)
		s.finishHeld(ctx, h, StateFailed, outcome)
		return Errorf(ECONFLICT, "%s failed: %s", id, outcome)
	}
	// The cards say "resetting" aside, bounded well under the lease: a chat
	// API that makes the bot wait (Slack's Retry-After) must not hold the
	// reset back while the lease runs out.
	go func() {
		cctx, cancel := context.WithTimeout(h.ctx, s.lease/4)
		defer cancel()
		s.showCards(cctx, req)
	}()
	// A store that blinks (a Sentinel failover takes seconds) is waited
	// for while the claim's lease lasts: asking again would need a new
	// approval. This check records that the cloud call may begin (Calling):
	// a claim lost before it is taken over as resumed, not outcome unknown.
	h.calling()
	if err := s.whileLeased(h.ctx, h.until, func() error { return s.check(h) }); err != nil {
		return s.lostBeforeReset(ctx, h, req, err)
	}
	results, outcome, err := s.reset(h.ctx, req, acct, prov)
	if err != nil {
		s.finishHeld(ctx, h, StateFailed, outcome)
		return err
	}
	if h.ctx.Err() != nil {
		// The claim was lost during the reset: another process has failed
		// the request as outcome unknown. The password is not shown.
		s.log.Error("claim lost during the reset: the new password is not shown", "request", id, "err", context.Cause(h.ctx))
		return Errorf(EUNKNOWN, "outcome unknown for %s: the bot lost its hold on the request during the reset, so the new password is not shown; ask again", id)
	}
	if err := s.retry(h.ctx, func() error { return show(h.ctx, results) }); err != nil {
		return s.notShown(ctx, h, a, req, outcome, err)
	}
	// The end first, while the claim holds: then that it was delivered,
	// both tried again through a blip of the store.
	delivered := s.event(Event{Kind: EventDelivered, RequestID: id, Actor: "system", Platform: a.Platform,
		Detail: "to " + req.Requester + ", at the Reveal click"})
	s.finishHeld(ctx, h, StateSucceeded, outcome)
	if err := s.whileLeased(ctx, h.until, func() error { return s.store.Audit(ctx, delivered) }); err != nil {
		s.log.Error("audit", "event", EventDelivered, "request", id, "err", err)
	}
	s.metrics.Event(EventDelivered)
	s.metrics.Revealed(s.clock.Now().Sub(approvedAt(req)))
	return nil
}

// lostBeforeReset answers a click whose claim failed its check right before
// the cloud call: nothing was reset.
func (s *Service) lostBeforeReset(ctx context.Context, h *held, req Request, err error) error {
	s.log.Error("no reset: the claim did not hold right before the cloud call", "request", req.ID, "err", err)
	if cur, gerr := s.store.Get(ctx, req.ID); gerr == nil && cur.State == StateOffered {
		// The claim is gone and the request offered, as before the click:
		// another replica took it over (nothing was reset), or a Redis
		// failover dropped it. The cards said "resetting": they are owed,
		// and the sweeper shows the request as it stands.
		s.oweCards(ctx, req.ID)
		return Errorf(EUNAVAILABLE, "%s was not reset: the bot lost your click before the reset, and the request is waiting for it again; click Reveal again", req.ID)
	}
	if ErrorCode(err) == EUNAVAILABLE {
		outcome := "not reset: the bot's state store could not be reached right before the reset; ask again"
		s.finishHeld(ctx, h, StateFailed, outcome)
		return Errorf(EUNAVAILABLE, "%s was not reset: the bot's state store (Redis) could not be reached; ask again in a minute", req.ID)
	}
	s.audit(ctx, Event{Kind: EventExecuting, RequestID: req.ID, Actor: "system", Platform: req.Platform,
		Detail: "gave up before the cloud call: the claim at the Reveal click was lost; nothing was reset by it"})
	// Nothing was reset, and the request must say so. Finish checks the
	// claim's token, not its lease: it wins when no other process has taken
	// the request over yet, and is refused, harmlessly, when one has.
	s.finishHeld(ctx, h, StateFailed, "not reset: the bot's hold on the request ran out right before the reset; ask again")
	return Errorf(ECONFLICT, "%s was not reset: the bot lost its hold on the request before the reset; ask again", req.ID)
}

// notShown ends a request reset at the click whose answer could not show
// the password. EUNAVAILABLE: it did not reach the platform, after every
// try. Anything else (EUNKNOWN) may have reached it: it is not sent again,
// so that no one sees a password twice, and the request says so.
func (s *Service) notShown(ctx context.Context, h *held, a Actor, req Request, outcome string, err error) error {
	id := req.ID
	s.log.Error("show the new password at the Reveal click", "request", id, "err", err)
	s.metrics.Event(EventDeliveryFailed)
	if ErrorCode(err) == EUNAVAILABLE {
		// The password changed and did not reach the requester: the request
		// must not say it succeeded.
		s.audit(ctx, Event{Kind: EventDeliveryFailed, RequestID: id, Actor: "system", Platform: a.Platform, Detail: ErrorMessage(err)})
		s.finishHeld(ctx, h, StateFailed, fmt.Sprintf("outcome unknown: %s at %s's Reveal click, but the new password may not have reached %s (%s); ask again",
			outcome, req.Requester, req.Requester, ErrorMessage(err)))
		return Errorf(EUNKNOWN, "outcome unknown for %s: %s, but the new password could not be shown to you (%s); ask again",
			id, outcome, ErrorMessage(err))
	}
	s.audit(ctx, Event{Kind: EventDeliveryFailed, RequestID: id, Actor: "system", Platform: a.Platform,
		Detail: "delivery unknown, not sent again: " + ErrorMessage(err)})
	// the password may have reached the requester: a rejected review of it
	// resets it again
	h.finishing.Store(true)
	c := h.claim()
	c.MaybeShown = true
	s.finishUntil(ctx, c, h.until, StateFailed, fmt.Sprintf("delivery unknown: %s at %s's Reveal click; the answer with the new password may or may not have reached %s (%s), and it is never sent twice; ask again",
		outcome, req.Requester, req.Requester, ErrorMessage(err)))
	return Errorf(EUNKNOWN, "delivery unknown for %s: %s, and the answer with the new password may or may not have reached you (%s); it is never sent twice: if you did not see it, ask again",
		id, outcome, ErrorMessage(err))
}

// approvedAt is when req was approved: at the approval, or escalation,
// that completed it; at its creation when it skipped the vote.
func approvedAt(req Request) time.Time {
	if req.Review != nil {
		return req.CreatedAt
	}
	at := req.CreatedAt
	for _, v := range req.Votes {
		if v.Approve && v.At.After(at) {
			at = v.At
		}
	}
	if e := req.Escalation; e != nil && e.Done && e.At.After(at) {
		at = e.At
	}
	return at
}
