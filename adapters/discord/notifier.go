package discord

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"resetbot/bot"

	"github.com/bwmarrin/discordgo"
)

// cardMessage is a new card. nonce with enforce_nonce makes Discord return
// the first message instead of posting a second when the call is repeated
// (a retry after a lost answer, or another replica), so creating is safe to
// retry.
type cardMessage struct {
	Embeds          []*discordgo.MessageEmbed         `json:"embeds"`
	Components      []discordgo.MessageComponent      `json:"components"`
	AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions"`
	Nonce           string                            `json:"nonce"`
	EnforceNonce    bool                              `json:"enforce_nonce"`
}

// Card posts req's approval card in the account's channel
// (channels.discord, else approvals_channel), or edits it in place when ref
// ("channel/message") names it.
func (a *Adapter) Card(ctx context.Context, req bot.Request, acct bot.Account, ref string) (string, error) {
	embed := cardEmbed(req, acct)
	buttons := cardButtons(req)
	if ref == "" {
		ch := cmp.Or(acct.Channels[bot.PlatformDiscord], a.opts.ApprovalsChannel)
		endpoint := discordgo.EndpointChannelMessages(ch)
		msg := cardMessage{Embeds: []*discordgo.MessageEmbed{embed}, Components: buttons, AllowedMentions: noMentions(),
			Nonce: "card-" + req.ID, EnforceNonce: true}
		var posted discordgo.Message
		err := a.call(ctx, "post the approval card for "+req.ID, true, func(o ...discordgo.RequestOption) error {
			body, err := a.rest.RequestWithBucketID("POST", endpoint, msg, endpoint, o...)
			if err != nil {
				return err
			}
			return json.Unmarshal(body, &posted)
		})
		if err != nil {
			return "", err
		}
		if posted.ID == "" {
			return "", a.fault("post the approval card for "+req.ID, fmt.Errorf("Discord returned no message ID"))
		}
		ref = ch + "/" + posted.ID
		a.cards.Posted(ref, req)
		return ref, nil
	}
	ch, id, ok := strings.Cut(ref, "/")
	if !ok || ch == "" || id == "" {
		return "", bot.Errorf(bot.EINTERNAL, "the Discord card reference %q is not channel/message", ref)
	}
	embeds := []*discordgo.MessageEmbed{embed}
	edit := &discordgo.MessageEdit{Channel: ch, ID: id, Embeds: &embeds, Components: &buttons, AllowedMentions: noMentions()}
	err := a.cards.Update(ctx, ref, req, func() error {
		return a.call(ctx, "update the approval card for "+req.ID, true, func(o ...discordgo.RequestOption) error {
			_, err := a.rest.ChannelMessageEditComplex(edit, o...)
			return err
		})
	})
	if err != nil {
		return "", err
	}
	return ref, nil
}

// Notify tells person about req: ephemerally on the interaction with which
// they asked while its token works (the status updates follow the ask
// there), else in a direct message.
func (a *Adapter) Notify(ctx context.Context, person bot.Person, req bot.Request, text string) error {
	if token, ok := a.liveToken(req); ok {
		err := a.followup(ctx, token, clip(text, maxContent), "tell "+person.Name+" about "+req.ID)
		if bot.ErrorCode(err) != bot.ECONFLICT {
			return err
		}
	}
	_, err := a.dm(ctx, person, &discordgo.MessageSend{Content: clip(text, maxContent), AllowedMentions: noMentions()},
		"tell "+person.Name+" about "+req.ID)
	return err
}

// Offer sends the requester a direct message that says who approved req,
// for which account and users, and until when its Reveal button works; and
// the button. Clicking it runs the reset (chat.Service.Reveal), whose
// password is shown in the click's ephemeral answer alone. The message
// holds no secret and stays; it returns its reference ("channel/message")
// for Withdraw.
func (a *Adapter) Offer(ctx context.Context, person bot.Person, req bot.Request) (string, error) {
	msg := &discordgo.MessageSend{
		Content:         clip(offerText(req), maxContent),
		Components:      revealButton(req.ID),
		AllowedMentions: noMentions(),
	}
	what := "offer " + person.Name + " the password of " + req.ID
	sent, err := a.dm(ctx, person, msg, what)
	if err == nil && (sent == nil || sent.ID == "") {
		err = a.fault(what, fmt.Errorf("Discord returned no message ID"))
	}
	if err != nil {
		return "", err
	}
	return sent.ChannelID + "/" + sent.ID, nil
}

// Withdraw takes the Reveal button off the offer at ref once req has ended,
// and says there how it ended.
func (a *Adapter) Withdraw(ctx context.Context, req bot.Request, ref string) error {
	ch, id, ok := strings.Cut(ref, "/")
	if !ok || ch == "" || id == "" {
		return bot.Errorf(bot.EINTERNAL, "the Discord offer reference %q is not channel/message", ref)
	}
	text := clip(endedText(req), maxContent)
	none := []discordgo.MessageComponent{}
	edit := &discordgo.MessageEdit{Channel: ch, ID: id, Content: &text, Components: &none, AllowedMentions: noMentions()}
	return a.call(ctx, "take the Reveal button off the offer of "+req.ID, true, func(o ...discordgo.RequestOption) error {
		_, err := a.rest.ChannelMessageEditComplex(edit, o...)
		return err
	})
}

// liveToken returns the token of the interaction with which the requester
// asked, while it still works. The adapter keeps it on the request for the
// status updates alone: no password ever goes through it.
func (a *Adapter) liveToken(req bot.Request) (string, bool) {
	token := req.Refs[bot.Ref(bot.RefInteraction, bot.PlatformDiscord)]
	if token == "" || req.Platform != bot.PlatformDiscord {
		return "", false
	}
	// CreatedAt follows the interaction by the moments the bot took to
	// create the request; tokenMargin covers them and the clocks' skew.
	return token, a.clock.Now().Sub(req.CreatedAt) < tokenLife-tokenMargin
}

// followup posts an ephemeral follow-up message on an interaction.
func (a *Adapter) followup(ctx context.Context, token, content, what string) error {
	params := &discordgo.WebhookParams{Content: content, Flags: discordgo.MessageFlagsEphemeral,
		AllowedMentions: noMentions()}
	return a.call(ctx, what, false, func(o ...discordgo.RequestOption) error {
		_, err := a.rest.WebhookExecute(a.opts.ApplicationID, token, false, params, o...)
		return err
	})
}

// dm sends person a direct message.
func (a *Adapter) dm(ctx context.Context, person bot.Person, msg *discordgo.MessageSend, what string) (*discordgo.Message, error) {
	if person.Discord == "" {
		return nil, bot.Errorf(bot.ENOTFOUND, "%s has no Discord user ID in resetbot's config", person.Name)
	}
	var ch *discordgo.Channel
	err := a.call(ctx, "open a direct message to "+person.Name, true, func(o ...discordgo.RequestOption) error {
		var err error
		ch, err = a.rest.UserChannelCreate(person.Discord, o...)
		return err
	})
	if err != nil {
		return nil, err
	}
	var sent *discordgo.Message
	// Sent once: a second try after one that may have arrived would be a
	// second message (deliver).
	err = a.deliver(ctx, what, func(o ...discordgo.RequestOption) error {
		var err error
		sent, err = a.rest.ChannelMessageSendComplex(ch.ID, msg, o...)
		return err
	})
	if err != nil {
		return nil, err
	}
	if sent != nil && sent.ChannelID == "" {
		sent.ChannelID = ch.ID
	}
	return sent, nil
}
