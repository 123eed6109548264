package chat

import (
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
	mu    sync.Mutex
	shown bot.Version
}

// Posted records that the card ref, just posted, shows req.
func (c *Cards) Posted(ref string, req bot.Request) {
	k := c.card(ref)
	k.mu.Lock()
	defer k.mu.Unlock()
	if v := req.Version(); k.shown.Before(v) {
		k.shown = v
	}
}

// Update runs edit to show req on the card ref, unless the card shows a
// newer state already, in which case it does nothing and returns nil. No
// other Update of the same card runs meanwhile. When edit fails, the card
// is taken to show what it showed before.
func (c *Cards) Update(ref string, req bot.Request, edit func() error) error {
	k := c.card(ref)
	k.mu.Lock()
	defer k.mu.Unlock()
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
			if k.mu.TryLock() { // a card being updated is not finished
				if k.shown.Final() {
					delete(c.cards, r)
				}
				k.mu.Unlock()
			}
		}
	}
	k := &card{}
	c.cards[ref] = k
	return k
}
