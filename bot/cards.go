package bot

import (
	"context"
	"time"
)

func (s *Service) postCards(ctx context.Context, req Request) {
	acct := s.accounts[req.Account]
	for _, pl := range s.platforms {
		ref, err := s.notifiers[pl].Card(ctx, req, acct, "")
		if err != nil {
			s.chatFault(ctx, req, pl, "post the approval card", err)
			s.owe(ctx, req, pl) // the sweeper posts it (converge.go)
			continue
		}
		// Without its reference the card could never be updated: tried
		// again through a blip of the store, for a few seconds.
		rctx, cancel := context.WithTimeout(ctx, refRetry)
		until := s.clock.Now().Add(refRetry)
		err = s.whileLeased(rctx, func() time.Time { return until }, func() error {
			return s.store.SetRef(rctx, req.ID, Ref(RefCard, pl), ref)
		})
		cancel()
		if err != nil {
			s.log.Error("remember card", "request", req.ID, "err", err)
			if _, ok := s.notifiers[pl].(CardFinder); ok {
				s.owe(ctx, req, pl) // the sweeper finds it, and updates it from then on
			}
		}
	}
}

// updateCards shows req's current state on every platform's card.
//
// Each adapter drops an update older than one it showed, but it knows only
// its own process's updates: a replica's slow edit of an older state can
// land after another replica's newer one. So, once its edits are done, the
// service reads the request again and shows it again when it has moved on
// meanwhile: whichever edit lands last, its sender then sees the newest
// state and shows it.
func (s *Service) updateCards(ctx context.Context, req Request) {
	req = s.showCards(ctx, req)
	s.withdrawOffer(ctx, req)
}

// showCards is updateCards without the offer's withdrawal; it returns the
// request as last shown.
func (s *Service) showCards(ctx context.Context, req Request) Request {
	acct := s.accounts[req.Account]
	for round := 1; ; round++ {
		for _, pl := range s.platforms {
			ref := req.Refs[Ref(RefCard, pl)]
			if ref == "" {
				continue // never posted (the chat API was down): owed, the sweeper posts it
			}
			if _, err := s.notifiers[pl].Card(ctx, req, acct, ref); err != nil {
				s.chatFault(ctx, req, pl, "update the approval card", err)
				s.owe(ctx, req, pl) // the sweeper refreshes it (converge.go)
			}
		}
		if round == 3 || req.Version().Final() { // nothing newer can come
			break
		}
		cur, err := s.store.Get(ctx, req.ID)
		if err != nil || !req.Version().Before(cur.Version()) {
			break
		}
		req = cur
	}
	return req
}

// tell sends the requester a status line on the platform they asked from.
func (s *Service) tell(ctx context.Context, req Request, text string) {
	n, ok := s.notifiers[req.Platform]
	if !ok {
		return
	}
	p, _ := s.personByName(req.Requester)
	if err := n.Notify(ctx, p, req, text); err != nil {
		s.chatFault(ctx, req, req.Platform, "notify "+req.Requester, err)
	}
}

func (s *Service) chatFault(ctx context.Context, req Request, pl Platform, what string, err error) {
	s.log.Error(what, "request", req.ID, "platform", pl, "err", err)
	s.audit(ctx, Event{Kind: EventChatError, RequestID: req.ID, Actor: "system", Platform: pl,
		Detail: "could not " + what + ": " + ErrorMessage(err)})
}
