package slack

import (
	"context"
	"fmt"
	"strings"

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
		what := "post the approval card in " + a.opts.ApprovalsChannel
		err := a.withRetry(ctx, what, false, func(ctx context.Context) error {
			var err error
			channel, ts, err = a.api.PostMessageContext(ctx, a.opts.ApprovalsChannel, opts...)
			return err
		})
		if err != nil {
			return "", a.fault(what, err)
		}
		if channel == "" {
			channel = a.opts.ApprovalsChannel
		}
		ref = channel + "/" + ts
		a.cards.Posted(ref, req)
		return ref, nil
	}
	channel, ts, ok := strings.Cut(ref, "/")
	if !ok || channel == "" || ts == "" {
		return "", bot.Errorf(bot.EINTERNAL, "the approval card's reference %q is not channel/timestamp", ref)
	}
	err := a.cards.Update(ref, req, func() error {
		return a.call(ctx, "update the approval card", func(ctx context.Context) error {
			_, _, _, err := a.api.UpdateMessageContext(ctx, channel, ts, opts...)
			return err
		})
	})
	if err != nil {
		return "", err
	}
	return ref, nil
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

// CanDeliver is true: an ephemeral message in the requester's DM with the
// bot can always be sent, so the service resets at approval.
func (a *Adapter) CanDeliver(bot.Request) bool { return true }

// Offer is never called, since CanDeliver is always true: Slack has no
// Reveal offer.
func (a *Adapter) Offer(_ context.Context, _ bot.Person, req bot.Request) (string, error) {
	return "", bot.Errorf(bot.EUNAVAILABLE, "Slack has no Reveal offer (request %s): its passwords are delivered at once", req.ID)
}

// Withdraw is never called, since Offer makes no offer.
func (a *Adapter) Withdraw(_ context.Context, req bot.Request, _ string) error {
	return bot.Errorf(bot.EUNAVAILABLE, "Slack has no Reveal offer to withdraw (request %s)", req.ID)
}
