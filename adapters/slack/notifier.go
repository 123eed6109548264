package slack

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/slack-go/slack"

	"resetbot/bot"
)

// Card posts req's approval card in the approvals channel, or updates it in
// place when ref ("channel/ts", what an earlier Card returned) is set.
func (a *Adapter) Card(ctx context.Context, req bot.Request, acct bot.Account, ref string) (string, error) {
	opts := []slack.MsgOption{
		slack.MsgOptionText(cardText(req), true),
		slack.MsgOptionBlocks(cardBlocks(req, acct)...),
	}
	if ref == "" {
		var channel, ts string
		// A second chat.postMessage after an unknown outcome could leave two
		// cards, so only refusals that guarantee nothing was posted are retried.
		err := a.retry(ctx, func(ctx context.Context) error {
			var err error
			channel, ts, err = a.api.PostMessageContext(ctx, a.opts.ApprovalsChannel, opts...)
			return err
		}, false)
		if err != nil {
			return "", a.fault("post the approval card in "+a.opts.ApprovalsChannel, err)
		}
		if channel == "" {
			channel = a.opts.ApprovalsChannel
		}
		ref = channel + "/" + ts
		c := a.card(ref)
		c.mu.Lock()
		if v := req.Version(); c.shown.Before(v) {
			c.shown = v
		}
		c.mu.Unlock()
		return ref, nil
	}
	channel, ts, ok := strings.Cut(ref, "/")
	if !ok || channel == "" || ts == "" {
		return "", bot.Errorf(bot.EINTERNAL, "the approval card's reference %q is not channel/timestamp", ref)
	}
	// Updates race (a vote's handler and the executor both update the card),
	// so one card's updates go out one at a time and an older state never
	// replaces a newer one.
	c := a.card(ref)
	c.mu.Lock()
	defer c.mu.Unlock()
	v := req.Version()
	if v.Before(c.shown) {
		return ref, nil
	}
	err := a.call(ctx, "update the approval card", func(ctx context.Context) error {
		_, _, _, err := a.api.UpdateMessageContext(ctx, channel, ts, opts...)
		return err
	})
	if err != nil {
		return "", err
	}
	c.shown = v
	return ref, nil
}

// cardState is what one card shows, as far as this process knows.
type cardState struct {
	mu    sync.Mutex
	shown bot.Version
}

// card returns the state of the card ref, forgetting finished cards once
// there are many.
func (a *Adapter) card(ref string) *cardState {
	a.cardsMu.Lock()
	defer a.cardsMu.Unlock()
	if c, ok := a.cards[ref]; ok {
		return c
	}
	if len(a.cards) >= maxCards {
		for k, c := range a.cards {
			if c.mu.TryLock() {
				if c.shown.Final() {
					delete(a.cards, k)
				}
				c.mu.Unlock()
			}
		}
	}
	c := &cardState{}
	a.cards[ref] = c
	return c
}

// Notify tells person something about req, in an ephemeral message in their
// DM with the bot.
func (a *Adapter) Notify(ctx context.Context, person bot.Person, req bot.Request, text string) error {
	if person.Slack == "" {
		return bot.Errorf(bot.ENOTFOUND, "%s has no Slack user ID in resetbot's config", person.Name)
	}
	return a.ephemeralDM(ctx, person.Slack, "tell "+person.Name+" about "+req.ID, text, nil)
}

// Deliver shows the new passwords to person alone: an ephemeral message in
// their DM with the bot, and nowhere else. The message's notification text
// holds no password; only its blocks do.
func (a *Adapter) Deliver(ctx context.Context, person bot.Person, req bot.Request, results []bot.UserResult) error {
	if person.Slack == "" {
		return bot.Errorf(bot.ENOTFOUND, "%s has no Slack user ID in resetbot's config, so the password cannot reach them", person.Name)
	}
	text := fmt.Sprintf("%s: the new password for %s is ready (only you can see it).", req.ID, req.Account)
	return a.ephemeralDM(ctx, person.Slack, "deliver the new password of "+req.ID+" to "+person.Name,
		text, deliverBlocks(req, results))
}
