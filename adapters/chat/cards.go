package chat

import (
	"context"
	"sync"

	"resetbot/bot"
)

// maxCards is how many cards a Cards remembers before it forgets the
// finished ones.
const maxCards = 2000

// Cards keeps the updates of each approval card in order. A vote's handler
// and the executor update the same card at once, on one replica or several:
// one card's updates go out one at a time, and an older state of the request
// (by bot.Request.Version) never replaces a newer one that this process
// showed. The zero value is ready to use.
type Cards struct {
	mu    sync.Mutex
	cards map[string]*card // card reference -> what it shows
}

type card struct {
	turn  chan struct{} // holds a token while an update of the card runs
	shown bot.Version
}

// lock waits for the card's turn, or for ctx to end.
func (k *card) lock(ctx context.Context) error {
	select {
	case k.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (k *card) unlock() { <-k.turn }

// Posted records that the card ref, just posted, shows req.
func (c *Cards) Posted(ref string, req bot.Request) {
	k := c.card(ref)
	_ = k.lock(context.Background())
	defer k.unlock()
	if v := req.Version(); k.shown.Before(v) {
		k.shown = v
	}
}

// Update runs edit to show req on the card ref, unless the card shows a
// newer state already, in which case it does nothing and returns nil. No
// other Update of the same card runs meanwhile; waiting for it ends with
// ctx (EUNAVAILABLE: nothing was shown), so a caller's deadline bounds the
// wait too. When edit fails, the card is taken to show what it showed before.
func (c *Cards) Update(ctx context.Context, ref string, req bot.Request, edit func() error) error {
	k := c.card(ref)
	if err := k.lock(ctx); err != nil {
		return bot.Errorf(bot.EUNAVAILABLE, "the card was still being updated by an earlier change, and the wait ran out (%v)", err)
	}
	defer k.unlock()
	v := req.Version()
	if v.Before(k.shown) {
		return nil
	}
	if err := edit(); err != nil {
		return err
	}
	k.shown = v
	return nil
}

// card returns the state of the card ref, forgetting finished cards once
// there are many.
func (c *Cards) card(ref string) *card {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k, ok := c.cards[ref]; ok {
		return k
	}
	if c.cards == nil {
		c.cards = map[string]*card{}
	}
	if len(c.cards) >= maxCards {
		for r, k := range c.cards {
			select {
			case k.turn <- struct{}{}: // a card being updated is not finished
				if k.shown.Final() {
					delete(c.cards, r)
				}
				k.unlock()
			default:
			}
		}
	}
	k := &card{turn: make(chan struct{}, 1)}
	c.cards[ref] = k
	return k
}
