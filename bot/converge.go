package bot

import (
	"context"
	"errors"
	"time"
)

// The sweeper's share of the cards owed (Store.CardDebts): how many one
// sweep takes at most, and how long it holds each before another replica
// may take it.
const (
	cardsPerSweep = 20
	cardLease     = time.Minute
)

// owe records that req's card on pl may not show req's state, for the
// sweeper to post or refresh it (settleCards).
func (s *Service) owe(ctx context.Context, req Request, pl Platform) {
	if err := s.store.OweCard(ctx, req.ID, pl); err != nil {
		s.log.Error("remember a card to show again", "request", req.ID, "platform", pl, "err", err)
	}
}

// settleCards posts or refreshes the cards owed that are due, each by one
// replica (the store's claim), until each shows its request's state.
func (s *Service) settleCards(ctx context.Context) {
	debts, err := s.store.CardDebts(ctx, cardLease, cardsPerSweep)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("claim the cards owed", "err", err)
		}
		return
	}
	// Each claim lasts cardLease from now: the debts not reached within
	// half of it are left, so that no other replica's claim of one (once
	// this one ran out) meets this replica posting it too.
	until := s.clock.Now().Add(cardLease / 2)
	for _, d := range debts {
		if ctx.Err() != nil || !s.clock.Now().Before(until) {
			return
		}
		s.settleCard(ctx, d)
	}
}

// settleCard shows d's request on its card: it posts the card when the
// request has none on d's platform (the claim is the caller's alone, so one
// replica posts) and the platform finds none posted earlier (CardFinder),
// else updates it; reads the request again, and shows it again when it
// moved on meanwhile; and pays the debt once the card shows the request as
// it stands. A chat fault owes it again, later.
func (s *Service) settleCard(ctx context.Context, d CardDebt) {
	n, ok := s.notifiers[d.Platform]
	req, err := s.store.Get(ctx, d.RequestID)
	if !ok || ErrorCode(err) == ENOTFOUND {
		s.pay(ctx, d) // the platform is no longer configured, or the request is gone
		return
	}
	if err != nil {
		s.log.Error("read a request whose card is owed", "request", d.RequestID, "err", err)
		return // its claim runs out and it is due again
	}
	key := Ref(RefCard, d.Platform)
	ref := req.Refs[key]
	if f, ok := n.(CardFinder); ok && ref == "" {
		// A post whose answer was lost may have left a card: take it over.
		found, err := f.FindCard(ctx, req, s.accounts[req.Account])
		if err != nil {
			s.log.Error("look for an owed card posted before", "request", req.ID, "platform", d.Platform, "err", err)
			s.owe(ctx, req, d.Platform)
			return
		}
		if found != "" {
			if err := s.retry(ctx, func() error { return s.store.SetRef(ctx, req.ID, key, found) }); err != nil {
				s.log.Error("remember card", "request", req.ID, "err", err)
				s.owe(ctx, req, d.Platform) // found again next time
				return
			}
			s.log.Info("took over a card posted before", "request", req.ID, "platform", d.Platform)
			ref = found
		}
	}
	for round := 1; round <= 3; round++ {
		got, err := n.Card(ctx, req, s.accounts[req.Account], ref)
		if err != nil {
			s.log.Error("show an owed card", "request", req.ID, "platform", d.Platform, "tries", d.Tries, "err", err)
			s.owe(ctx, req, d.Platform)
			return
		}
		if ref == "" {
			ref = got
			err := s.retry(ctx, func() error { return s.store.SetRef(ctx, req.ID, key, ref) })
			if err != nil {
				s.log.Error("remember card", "request", req.ID, "err", err)
				if _, ok := n.(CardFinder); ok {
					s.owe(ctx, req, d.Platform) // found next time, not posted again
				} else {
					s.pay(ctx, d) // owed again, it would be posted twice: the card stays as posted
				}
				return
			}
		}
		cur, err := s.store.Get(ctx, req.ID)
		if err != nil {
			return // its claim runs out and it is due again
		}
		if !req.Version().Before(cur.Version()) {
			s.pay(ctx, d)
			return
		}
		req = cur
	}
	// Still moving: the claim runs out, and the card is shown again then.
}

// oweIfUnconfirmed owes the cards of request id when err says the store
// took a change that its replicas did not confirm (ErrUnconfirmed): the
// person was told to try again, but the change may stand, and the sweeper
// then shows it.
func (s *Service) oweIfUnconfirmed(ctx context.Context, id string, err error) {
	if id != "" && errors.Is(err, ErrUnconfirmed) {
		s.oweCards(ctx, id)
	}
}

// oweCards owes the cards of request id on every platform, for the sweeper
// to show the request as the store holds it (a request the store does not
// hold pays its debt).
func (s *Service) oweCards(ctx context.Context, id string) {
	for _, pl := range s.platforms {
		if err := s.store.OweCard(ctx, id, pl); err != nil {
			s.log.Error("remember a card to show again", "request", id, "platform", pl, "err", err)
		}
	}
}

func (s *Service) pay(ctx context.Context, d CardDebt) {
	if _, err := s.store.PayCard(ctx, d); err != nil {
		s.log.Error("clear a card owed", "request", d.RequestID, "platform", d.Platform, "err", err)
	}
}
