package slack

import (
	"cmp"
	"context"

	"github.com/slack-go/slack"
)

// Announce posts text for everyone in channel ("" is approvals_channel),
// escaped, so that nothing in it pings anyone or links anywhere.
func (a *Adapter) Announce(ctx context.Context, channel, text string) error {
	to := cmp.Or(channel, a.opts.ApprovalsChannel)
	opts := []slack.MsgOption{
		slack.MsgOptionText(escape(cut(text, 3000)), false),
		slack.MsgOptionParse(false),
		slack.MsgOptionLinkNames(false),
	}
	_, fault := a.deliver(ctx, "post a notice in "+to, func(ctx context.Context) error {
		_, _, err := a.api.PostMessageContext(ctx, to, opts...)
		return err
	})
	if fault != nil {
		return fault
	}
	return nil
}
