package slack

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"resetbot/bot"
)

var _ bot.CardFinder = (*Adapter)(nil)

// Card posts req's approval card in the account's channel (channels.slack,
// else approvals_channel), or updates it in place when ref ("channel/ts",
// what an earlier Card returned) is set.
func (a *Adapter) Card(ctx context.Context, req bot.Request, acct bot.Account, ref string) (string, error) {
	opts := []slack.MsgOption{
		slack.MsgOptionText(cardText(req), true),
		slack.MsgOptionBlocks(cardBlocks(req, acct, a.opts.Command)...),
		slack.MsgOptionMetadata(cardMetadata(req.ID)),
	}
	if ref == "" {
		to := cmp.Or(acct.Channels[bot.PlatformSlack], a.opts.ApprovalsChannel)
		var channel, ts string
		// A second chat.postMessage after an unknown outcome could leave two
		// cards, so only refusals that guarantee nothing was posted are retried.
		what := "post the approval card in " + to
		err := a.withRetry(ctx, what, false, func(ctx context.Context) error {
			var err error
			channel, ts, err = a.api.PostMessageContext(ctx, to, opts...)
			return err
		})
		if err != nil {
			return "", a.fault(what, err)
		}
		if channel == "" {
			channel = to
		}
		ref = channel + "/" + ts
		a.cards.Posted(ref, req)
		return ref, nil
	}
	channel, ts, ok := strings.Cut(ref, "/")
	if !ok || channel == "" || ts == "" {
		return "", bot.Errorf(bot.EINTERNAL, "the approval card's reference %q is not channel/timestamp", ref)
	}
	err := a.cards.Update(ctx, ref, req, func() error {
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

// The metadata each card carries, by which FindCard knows it: the event
// type, and the key of the request's ID in the payload.
const (
	cardEvent      = "resetbot_card"
	cardRequestKey = "request_id"
)

func cardMetadata(id string) slack.SlackMetadata {
	return slack.SlackMetadata{EventType: cardEvent, EventPayload: map[string]any{cardRequestKey: id}}
}

// How far FindCard looks back: from a little before the request was made
// (clocks differ), a bounded number of pages of the channel's history.
const (
	findSkew  = 2 * time.Minute
	findPage  = 200
	findPages = 5
)

// FindCard looks in the channel of req's card for a message carrying its
// metadata, posted since req was made, and returns its reference
// ("channel/ts"), or "" when there is none: a card whose chat.postMessage
// timed out may have been posted all the same. It needs the
// channels:history scope (groups:history for a private channel). Without
// it, it says it found none, so that the card is posted, as it was before
// the scope was needed: two cards are better than none.
func (a *Adapter) FindCard(ctx context.Context, req bot.Request, acct bot.Account) (string, error) {
	channel := cmp.Or(acct.Channels[bot.PlatformSlack], a.opts.ApprovalsChannel)
	p := slack.GetConversationHistoryParameters{ChannelID: channel, Limit: findPage, IncludeAllMetadata: true}
	if !req.CreatedAt.IsZero() {
		from := req.CreatedAt.Add(-findSkew)
		p.Oldest = fmt.Sprintf("%d.%06d", from.Unix(), from.Nanosecond()/1000)
	}
	what := "look for the approval card of " + req.ID + " in " + channel
	self, err := a.ownBotID(ctx)
	if err != nil {
		return "", err
	}
	for page := 1; page <= findPages; page++ {
		var h *slack.GetConversationHistoryResponse
		err := a.withRetry(ctx, what, true, func(ctx context.Context) error {
			var err error
			h, err = a.api.GetConversationHistoryContext(ctx, &p)
			return err
		})
		if codeOf(err) == "missing_scope" {
			a.log.Error("slack: cannot read the approval channel's history to find a card posted before; add the channels:history and groups:history scopes", "request", req.ID)
			return "", nil
		}
		if err != nil {
			return "", a.fault(what, err)
		}
		for _, m := range h.Messages {
			// the bot's own: another app's message may carry the same
			// metadata, and the bot could never update it
			if m.BotID == self && m.Metadata.EventType == cardEvent && m.Metadata.EventPayload[cardRequestKey] == req.ID && m.Timestamp != "" {
				return channel + "/" + m.Timestamp, nil
			}
		}
		if !h.HasMore || h.ResponseMetaData.NextCursor == "" {
			return "", nil
		}
		p.Cursor = h.ResponseMetaData.NextCursor
	}
	a.log.Error("slack: stopped looking for a card posted before, after the most pages allowed", "request", req.ID, "pages", findPages)
	return "", nil
}

// ownBotID is the bot's own bot ID, asked of auth.test once.
func (a *Adapter) ownBotID(ctx context.Context) (string, error) {
	a.botMu.Lock()
	defer a.botMu.Unlock()
	if a.botID != "" {
		return a.botID, nil
	}
	var id string
	err := a.call(ctx, "ask Slack who the bot is", func(ctx context.Context) error {
		r, err := a.api.AuthTestContext(ctx)
		if err == nil {
			id = r.BotID
		}
		return err
	})
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", bot.Errorf(bot.EINTERNAL, "slack: auth.test named no bot ID: the token is not a bot token")
	}
	a.botID = id
	return id, nil
}

// Notify tells person something about req, in an ephemeral message in their
// DM with the bot.
func (a *Adapter) Notify(ctx context.Context, person bot.Person, req bot.Request, text string) error {
	if person.Slack == "" {
		return bot.Errorf(bot.ENOTFOUND, "%s has no Slack user ID in resetbot's config", person.Name)
	}
	return a.ephemeralDM(ctx, person.Slack, "tell "+person.Name+" about "+req.ID, text, textBlocks(text))
}

// Offer sends the requester a message in their direct conversation with
// the bot (conversations.open, then chat.postMessage: it stays, on every
// device, unlike an ephemeral one) saying who approved req, for which
// account and users, and until when its Reveal button works. The click runs
// the reset (see reveal.go). The message holds no secret; its reference
// ("channel/ts") is for Withdraw.
func (a *Adapter) Offer(ctx context.Context, person bot.Person, req bot.Request) (string, error) {
	if person.Slack == "" {
		return "", bot.Errorf(bot.ENOTFOUND, "%s has no Slack user ID in resetbot's config", person.Name)
	}
	return a.postDM(ctx, person.Slack, "offer "+person.Name+" the password of "+req.ID,
		offerText(req), offerBlocks(req))
}

// Withdraw replaces the offer at ref once req has ended: the Reveal button
// goes, and the message says how the request ended.
func (a *Adapter) Withdraw(ctx context.Context, req bot.Request, ref string) error {
	channel, ts, ok := strings.Cut(ref, "/")
	if !ok || channel == "" || ts == "" {
		return bot.Errorf(bot.EINTERNAL, "the Slack offer reference %q is not channel/timestamp", ref)
	}
	return a.call(ctx, "take the Reveal button off the offer of "+req.ID, func(ctx context.Context) error {
		_, _, _, err := a.api.UpdateMessageContext(ctx, channel, ts,
			slack.MsgOptionText(endedText(req), false), slack.MsgOptionBlocks(endedBlocks(req)...))
		return err
	})
}
