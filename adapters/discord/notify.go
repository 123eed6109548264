package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"resetbot/bot"
)

// resetAllowance is how much of an interaction token's life a reset may
// take: CanDeliver promises that the token still works when it is done.
const resetAllowance = 2 * time.Minute

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

// Card posts req's approval card in the approvals channel, or edits it in
// place when ref ("channel/message") names it.
func (a *Adapter) Card(ctx context.Context, req bot.Request, acct bot.Account, ref string) (string, error) {
	embed := cardEmbed(req, acct)
	buttons := cardButtons(req)
	if ref == "" {
		ch := a.opts.ApprovalsChannel
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
		return ch + "/" + posted.ID, nil
	}
	ch, id, ok := strings.Cut(ref, "/")
	if !ok || ch == "" || id == "" {
		return "", bot.Errorf(bot.EINTERNAL, "the Discord card reference %q is not channel/message", ref)
	}
	// A vote's handler and the executor update the same card at once: one
	// card's edits go out one at a time, and an older state never replaces
	// a newer one.
	shown := a.cards.get(ref)
	shown.mu.Lock()
	defer shown.mu.Unlock()
	v := req.Version()
	if v.Before(shown.v) {
		return ref, nil
	}
	embeds := []*discordgo.MessageEmbed{embed}
	edit := &discordgo.MessageEdit{Channel: ch, ID: id, Embeds: &embeds, Components: &buttons, AllowedMentions: noMentions()}
	err := a.call(ctx, "update the approval card for "+req.ID, true, func(o ...discordgo.RequestOption) error {
		_, err := a.rest.ChannelMessageEditComplex(edit, o...)
		return err
	})
	if err != nil {
		return "", err
	}
	shown.v = v
	return ref, nil
}

// cards remembers what each card shows, as far as this process knows.
type cards struct {
	mu    sync.Mutex
	shown map[string]*cardShown // card ref ->
}

type cardShown struct {
	mu sync.Mutex
	v  bot.Version
}

const maxCards = 1000

func (c *cards) get(ref string) *cardShown {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.shown[ref]; ok {
		return s
	}
	if c.shown == nil {
		c.shown = map[string]*cardShown{}
	}
	if len(c.shown) >= maxCards { // forget finished cards
		for k, s := range c.shown {
			if s.mu.TryLock() {
				if s.v.Final() {
					delete(c.shown, k)
				}
				s.mu.Unlock()
			}
		}
	}
	s := &cardShown{}
	c.shown[ref] = s
	return s
}

// Notify tells person about req: ephemerally on the interaction with which
// they asked while its token works, else in a direct message.
func (a *Adapter) Notify(ctx context.Context, person bot.Person, req bot.Request, text string) error {
	if token, ok := a.liveToken(req, 0); ok {
		err := a.followup(ctx, token, clip(text, maxContent), nil, "tell "+person.Name+" about "+req.ID)
		if bot.ErrorCode(err) != bot.ECONFLICT {
			return err
		}
	}
	_, err := a.dm(ctx, person, &discordgo.MessageSend{Content: clip(text, maxContent), AllowedMentions: noMentions()},
		"tell "+person.Name+" about "+req.ID)
	return err
}

// Deliver shows the new passwords to the requester as an ephemeral
// follow-up on the interaction with which they asked. Once its token has
// expired there is no private place left to show them, so Deliver refuses
// (ECONFLICT) rather than put a password in a direct message that stays.
func (a *Adapter) Deliver(ctx context.Context, person bot.Person, req bot.Request, results []bot.UserResult) error {
	if req.Platform != bot.PlatformDiscord {
		return bot.Errorf(bot.EINTERNAL, "request %s was asked on %s, not Discord", req.ID, req.Platform)
	}
	expired := bot.Errorf(bot.ECONFLICT, "your Discord request expired (15 minutes after you asked) before the reset ran, so the new password could not be shown to you privately")
	token, ok := a.liveToken(req, 0)
	if !ok {
		return expired
	}
	err := a.followup(ctx, token, passwordText(req.ID, results), nil, "deliver the password for "+req.ID)
	if bot.ErrorCode(err) == bot.ECONFLICT {
		return expired
	}
	return err
}

// CanDeliver reports whether Deliver would still reach the requester after a
// reset of req started now. A service that runs resets at the requester's
// click asks it before resetting, and calls Offer when it is false.
func (a *Adapter) CanDeliver(req bot.Request) bool {
	_, ok := a.liveToken(req, resetAllowance)
	return ok
}

// Offer sends the requester a direct message with a Reveal button: clicking
// it runs the reset (Revealer) and shows the password ephemerally, so that it
// exists only while it is shown. It says nothing secret, and returns the
// message's reference ("channel/message") for Withdraw.
func (a *Adapter) Offer(ctx context.Context, person bot.Person, req bot.Request) (string, error) {
	msg := &discordgo.MessageSend{
		Content: fmt.Sprintf("%s (%s) is approved. Press Reveal when you are ready, before %s: the password is reset then and shown to you alone.",
			req.ID, req.Account, revealBy(req)),
		Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "Reveal", Style: discordgo.PrimaryButton, CustomID: "reveal:" + req.ID},
		}}},
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

// revealBy is when the offer ends, as Discord shows a time to each reader.
func revealBy(req bot.Request) string {
	if req.RevealBy.IsZero() {
		return "it expires"
	}
	return fmt.Sprintf("<t:%d:t>", req.RevealBy.Unix())
}

// Withdraw takes the Reveal button off the offer at ref once req has ended,
// and says how it ended.
func (a *Adapter) Withdraw(ctx context.Context, req bot.Request, ref string) error {
	ch, id, ok := strings.Cut(ref, "/")
	if !ok || ch == "" || id == "" {
		return bot.Errorf(bot.EINTERNAL, "the Discord offer reference %q is not channel/message", ref)
	}
	text := clip(bot.Summary(req), maxContent)
	none := []discordgo.MessageComponent{}
	edit := &discordgo.MessageEdit{Channel: ch, ID: id, Content: &text, Components: &none, AllowedMentions: noMentions()}
	return a.call(ctx, "take the Reveal button off the offer of "+req.ID, true, func(o ...discordgo.RequestOption) error {
		_, err := a.rest.ChannelMessageEditComplex(edit, o...)
		return err
	})
}

// revealAt answers a click on Reveal. The answer is deferred before the
// reset runs: a password made at the click must have a message to go to, so
// when the deferral fails nothing is reset. The password then replaces the
// deferred (ephemeral) answer; the service then has the offer withdrawn.
func (a *Adapter) revealAt(ctx context.Context, i *discordgo.Interaction, id string, respond responder) {
	rv, ok := a.service().(Revealer)
	if !ok {
		if err := respond(ephemeral("Reveal is not available in this version of resetbot: ask for the reset again and keep Discord open until it is approved.")); err != nil {
			a.log.Error("discord: answer an interaction", "interaction", i.ID, "err", err)
		}
		return
	}
	if err := respond(deferred()); err != nil {
		a.log.Error("discord: defer the answer to Reveal; nothing was reset", "interaction", i.ID, "request", id, "err", err)
		return
	}
	actor, token := a.actor(i), i.Token
	a.goBackground(func() {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), workTimeout)
		defer cancel()
		// Over HTTP the deferral is only written into the response: make sure
		// Discord took it, and so has a message to put the password in.
		if err := a.landed(wctx, token); err != nil {
			a.log.Error("discord: the answer to Reveal did not reach Discord; nothing was reset", "request", id, "err", err)
			return
		}
		shown := false
		err := rv.Reveal(wctx, actor, id, func(ctx context.Context, results []bot.UserResult) error {
			shown = true
			return a.editOriginal(ctx, token, passwordText(id, results))
		})
		if err != nil && !shown {
			if err := a.editOriginal(wctx, token, bot.ErrorMessage(err)); err != nil {
				a.log.Error("discord: answer Reveal", "request", id, "err", err)
			}
		}
	})
}

// landed checks that the answer to an interaction reached Discord, waiting
// a little for Discord to process it.
func (a *Adapter) landed(ctx context.Context, token string) error {
	return a.callOriginal(ctx, "check the answer to Reveal", func(o ...discordgo.RequestOption) error {
		_, err := a.rest.WebhookMessage(a.opts.ApplicationID, token, "@original", o...)
		return err
	})
}

// liveToken returns the requester's interaction token when it will still
// work for spare more time.
func (a *Adapter) liveToken(req bot.Request, spare time.Duration) (string, bool) {
	token := req.Refs[RefInteraction]
	if token == "" || req.Platform != bot.PlatformDiscord {
		return "", false
	}
	// CreatedAt follows the interaction by the moments the bot took to
	// create the request; tokenMargin covers them and the clocks' skew.
	age := a.clock.Now().Sub(req.CreatedAt)
	return token, age < tokenLife-tokenMargin-spare
}

// followup posts an ephemeral follow-up message on an interaction.
func (a *Adapter) followup(ctx context.Context, token, content string, components []discordgo.MessageComponent, what string) error {
	params := &discordgo.WebhookParams{Content: content, Components: components, Flags: discordgo.MessageFlagsEphemeral,
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
	err = a.call(ctx, what, false, func(o ...discordgo.RequestOption) error {
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

// passwordText is the one message that holds passwords.
func passwordText(id string, results []bot.UserResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "New password for %s, shown to you alone:", id)
	for _, r := range results {
		if r.Err != nil {
			fmt.Fprintf(&b, "\n• %s: not reset: %s", r.User, bot.ErrorMessage(r.Err))
			continue
		}
		fmt.Fprintf(&b, "\n• %s: %s", r.User, codeSpan(r.Password.Value()))
	}
	b.WriteString("\nCopy it now: resetbot keeps no copy, and this message goes away when you dismiss it.")
	return b.String()
}

// codeSpan shows s verbatim, whatever backticks it holds.
func codeSpan(s string) string {
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	return fence + " " + s + " " + fence
}

// escapeMarkdown shows text typed by people (a reason) as typed: without it
// a reason could put a masked link, bold "pre-approved" words, a spoiler
// or a heading on the card, as if the bot had written them.
// Reasons are one line (whitespace is collapsed), so a heading or a list
// can only start the text.
func escapeMarkdown(s string) string {
	var b strings.Builder
	if strings.HasPrefix(s, "#") || strings.HasPrefix(s, "-") {
		b.WriteByte('\\')
	}
	for _, r := range s {
		if strings.ContainsRune("\\*_~`|[]()<>", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// cardEmbed shows a request to approvers.
func cardEmbed(req bot.Request, acct bot.Account) *discordgo.MessageEmbed {
	field := func(name, value string, inline bool) *discordgo.MessageEmbedField {
		if value == "" {
			value = "—"
		}
		return &discordgo.MessageEmbedField{Name: name, Value: clip(value, 1024), Inline: inline}
	}
	where := acct.Provider
	if acct.Region != "" {
		where += " · " + acct.Region
	}
	fields := []*discordgo.MessageEmbedField{
		field("Requester", req.Requester, true),
		field("Account", req.Account, true),
		field("Provider", where, true),
	}
	if r := acct.Resource(); r != "" {
		fields = append(fields, field("Resource", r, false))
	}
	fields = append(fields,
		field("Users", strings.Join(req.Users, ", "), false),
		field("Reason", escapeMarkdown(req.Reason), false),
		field("Approvals", fmt.Sprintf("%d of %d", req.Approved(), req.Approvals), true),
		field("Expires", fmt.Sprintf("<t:%d:f>", req.ExpiresAt.Unix()), true),
	)
	if len(req.Votes) > 0 {
		var votes []string
		for _, v := range req.Votes {
			line := "✅ " + v.Person
			if !v.Approve {
				line = "❌ " + v.Person
			}
			line += fmt.Sprintf(" (%s, <t:%d:t>)", v.Platform, v.At.Unix())
			if v.Reason != "" {
				line += ": " + escapeMarkdown(v.Reason)
			}
			votes = append(votes, line)
		}
		fields = append(fields, field("Votes", strings.Join(votes, "\n"), false))
	}
	if req.Outcome != "" {
		fields = append(fields, field("Outcome", escapeMarkdown(req.Outcome), false))
	}
	var updated string
	if !req.UpdatedAt.IsZero() {
		updated = req.UpdatedAt.UTC().Format(time.RFC3339)
	}
	return &discordgo.MessageEmbed{
		Type:        discordgo.EmbedTypeRich,
		Title:       "Password reset " + req.ID,
		Description: stateLine(req),
		Color:       stateColor(req.State),
		Fields:      fields,
		Footer:      &discordgo.MessageEmbedFooter{Text: "asked on " + string(req.Platform)},
		Timestamp:   updated,
	}
}

func stateLine(req bot.Request) string {
	switch req.State {
	case bot.StatePending:
		return fmt.Sprintf("**Pending**: waiting for %d more approval(s).", max(req.Approvals-req.Approved(), 1))
	case bot.StateApproved:
		if !req.RevealBy.IsZero() {
			return "**Approved**: waiting for the requester to press Reveal."
		}
		return "**Approved**: the reset is queued."
	case bot.StateExecuting:
		return "**Resetting** now."
	case bot.StateSucceeded:
		return "**Done**."
	case bot.StateFailed:
		return "**Failed**."
	case bot.StateDenied:
		return "**Denied**."
	case bot.StateExpired:
		return "**Expired**."
	case bot.StateCancelled:
		return "**Cancelled** by the requester."
	}
	return "**" + string(req.State) + "**"
}

func stateColor(s bot.State) int {
	switch s {
	case bot.StatePending:
		return 0xF1C40F
	case bot.StateApproved, bot.StateExecuting:
		return 0x3498DB
	case bot.StateSucceeded:
		return 0x2ECC71
	case bot.StateFailed, bot.StateDenied:
		return 0xE74C3C
	}
	return 0x95A5A6
}

// cardButtons are Approve and Deny while req is pending, and none after
// (an empty list, which an edit sends as [] to remove them).
func cardButtons(req bot.Request) []discordgo.MessageComponent {
	if req.State != bot.StatePending {
		return []discordgo.MessageComponent{}
	}
	return []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{Label: "Approve", Style: discordgo.SuccessButton, CustomID: "approve:" + req.ID},
		discordgo.Button{Label: "Deny", Style: discordgo.DangerButton, CustomID: "deny:" + req.ID},
	}}}
}
