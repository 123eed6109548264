package discord

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"resetbot/bot"

	"github.com/bwmarrin/discordgo"
)

// response is an interaction response. discordgo's own type sends null
// fields that Discord refuses for some types (an autocomplete result with no
// choices, for one), so the adapter writes exactly what each type needs.
type response struct {
	Type discordgo.InteractionResponseType `json:"type"`
	Data *responseData                     `json:"data,omitempty"`
}

type responseData struct {
	Content         string                                       `json:"content,omitempty"`
	Flags           discordgo.MessageFlags                       `json:"flags,omitempty"`
	AllowedMentions *discordgo.MessageAllowedMentions            `json:"allowed_mentions,omitempty"`
	Choices         *[]*discordgo.ApplicationCommandOptionChoice `json:"choices,omitempty"`
	CustomID        string                                       `json:"custom_id,omitempty"`
	Title           string                                       `json:"title,omitempty"`
	Components      []discordgo.MessageComponent                 `json:"components,omitempty"`
}

// responder sends an interaction's one initial response: in the HTTP reply,
// or to the callback endpoint for a Gateway interaction.
type responder func(*response) error

// work is a command's slow part; it returns the text for the person who
// sent it.
type work func(ctx context.Context) string

// handle answers one checked interaction through respond, exactly once, and
// leaves any slow part running in the background.
func (a *Adapter) handle(ctx context.Context, i *discordgo.Interaction, respond responder) {
	answer := func(r *response) {
		if err := respond(r); err != nil {
			a.log.Error("discord: answer an interaction", "interaction", i.ID, "err", err)
		}
	}
	if i.Type == discordgo.InteractionApplicationCommandAutocomplete {
		answer(a.autocomplete(i)) // changes nothing, so no need to see it once
		return
	}
	first, err := a.seen(ctx, "discord:interaction:"+i.ID, seenTTL)
	if err != nil {
		a.log.Error("discord: check an interaction against replays", "interaction", i.ID, "err", err)
		answer(ephemeral("resetbot cannot reach its store right now: try again in a minute."))
		return
	}
	if !first {
		answer(ephemeral("This interaction was handled already."))
		return
	}
	if id, ok := revealOf(i); ok {
		a.reveal(ctx, i, id, respond)
		return
	}
	now, slow := a.route(ctx, i)
	if now != nil {
		answer(now)
		return
	}
	a.run(ctx, i, slow, respond)
}

// run answers with slow's text when it is ready within AckWithin, and
// otherwise defers the answer and edits it in when slow is done.
func (a *Adapter) run(ctx context.Context, i *discordgo.Interaction, slow work, respond responder) {
	done := make(chan string, 1)
	edit := make(chan bool, 1) // whether the text goes in by editing a deferred answer
	token := i.Token
	// One piece of work runs the command and, when the answer was deferred,
	// edits it in: a second one waiting for the first could hold the slot
	// the first needs.
	a.pool.Go(ctx, "interaction "+i.ID, workTimeout, func(wctx context.Context) {
		text := slow(wctx)
		done <- text
		if !<-edit {
			return
		}
		ectx, cancel := context.WithTimeout(context.WithoutCancel(wctx), editTimeout)
		defer cancel()
		if err := a.editOriginal(ectx, token, text); err != nil {
			a.log.Error("discord: edit a deferred answer", "interaction", i.ID, "err", err)
		}
	})
	if a.ackWithin > 0 {
		t := time.NewTimer(a.ackWithin)
		select {
		case text := <-done:
			t.Stop()
			edit <- false
			if err := respond(ephemeral(text)); err != nil {
				a.log.Error("discord: answer an interaction", "interaction", i.ID, "err", err)
			}
			return
		case <-t.C:
		}
	}
	if err := respond(deferred()); err != nil {
		a.log.Error("discord: defer an interaction's answer", "interaction", i.ID, "err", err)
		edit <- false // the work still runs; its answer has nowhere to go
		return
	}
	edit <- true
}

// editOriginal replaces the deferred answer of the interaction with text.
func (a *Adapter) editOriginal(ctx context.Context, token, text string) error {
	content := clip(text, maxContent)
	edit := &discordgo.WebhookEdit{Content: &content, AllowedMentions: noMentions()}
	return a.callOriginal(ctx, "edit a deferred answer", func(o ...discordgo.RequestOption) error {
		_, err := a.rest.WebhookMessageEdit(a.opts.ApplicationID, token, "@original", edit, o...)
		return err
	})
}

// showPassword puts the passwords of a Reveal in its confirmed deferred
// answer: once, never again after a try that may have reached Discord
// (deliver).
func (a *Adapter) showPassword(ctx context.Context, token, text string) error {
	content := clip(text, maxContent)
	edit := &discordgo.WebhookEdit{Content: &content, AllowedMentions: noMentions()}
	return a.deliver(ctx, "show the password in the answer to Reveal", func(o ...discordgo.RequestOption) error {
		_, err := a.rest.WebhookMessageEdit(a.opts.ApplicationID, token, "@original", edit, o...)
		return err
	})
}

// route decides what an interaction gets: an immediate response, or work
// whose text is the answer.
func (a *Adapter) route(ctx context.Context, i *discordgo.Interaction) (*response, work) {
	b := a.service()
	actor := a.actor(i)
	handle := func(cmd bot.Command) work {
		return func(ctx context.Context) string {
			reply := b.Handle(ctx, actor, cmd)
			if cmd.Kind == bot.KindHelp && reply.Err == nil {
				return usage
			}
			return reply.Text
		}
	}
	switch data := i.Data.(type) {
	case discordgo.ApplicationCommandInteractionData:
		if data.Name != commandName {
			return ephemeral("resetbot does not know this command."), nil
		}
		cmd, err := commandOf(data)
		if err != nil {
			return ephemeral(bot.ErrorMessage(err)), nil
		}
		if cmd.Kind == bot.KindAsk {
			// The status updates follow the ask on this interaction, for as
			// long as its token works: any replica finds it on the request.
			// It never carries a password.
			actor.Refs = map[bot.RefKey]string{bot.Ref(bot.RefInteraction, bot.PlatformDiscord): i.Token}
		}
		return nil, handle(cmd)
	case discordgo.MessageComponentInteractionData:
		verb, id, err := splitCustomID(data.CustomID)
		if err != nil {
			return ephemeral("This button is not resetbot's, or no longer works."), nil
		}
		switch verb {
		case "approve":
			return nil, handle(bot.Command{Kind: bot.KindApprove, ID: id})
		case "deny":
			if err := b.CheckVote(ctx, actor, id); err != nil { // refused now, not once the form is filled in
				return ephemeral(bot.ErrorMessage(err)), nil
			}
			return denyModal(id), nil
		}
		return ephemeral("This button is not resetbot's, or no longer works."), nil
	case discordgo.ModalSubmitInteractionData:
		verb, id, err := splitCustomID(data.CustomID)
		if err != nil || verb != "deny" {
			return ephemeral("This form is not resetbot's, or no longer works."), nil
		}
		cmd, err := parseAs(bot.KindDeny, "deny "+id+" "+modalValue(data.Components, "reason"))
		if err != nil {
			return ephemeral(bot.ErrorMessage(err)), nil
		}
		return nil, handle(cmd)
	}
	return ephemeral("resetbot does not handle this kind of interaction."), nil
}

// revealOf reports whether i asks to reveal a request, and which: a click
// on a Reveal button, or its text fallback, /reset-password reveal.
func revealOf(i *discordgo.Interaction) (string, bool) {
	switch data := i.Data.(type) {
	case discordgo.MessageComponentInteractionData:
		verb, id, err := splitCustomID(data.CustomID)
		return id, err == nil && verb == "reveal"
	case discordgo.ApplicationCommandInteractionData:
		if data.Name != commandName {
			return "", false
		}
		cmd, err := commandOf(data)
		return cmd.ID, err == nil && cmd.Kind == bot.KindReveal
	}
	return "", false
}

// reveal answers a Reveal: the click on the button or the command. The
// answer is deferred, ephemerally, before anything is reset, and the reset
// runs only once Discord shows that answer: a password made now must have
// a message to go to, seen by the requester alone. The password then
// replaces the deferred answer; the service has the offer withdrawn. When
// the deferral fails, nothing is reset and the offer stays for another try.
func (a *Adapter) reveal(ctx context.Context, i *discordgo.Interaction, id string, respond responder) {
	svc := a.service()
	if err := respond(deferred()); err != nil {
		a.log.Error("discord: defer the answer to Reveal; nothing was reset", "interaction", i.ID, "request", id, "err", err)
		return
	}
	actor, token := a.actor(i), i.Token
	a.pool.Go(ctx, "reveal "+id, workTimeout, func(wctx context.Context) {
		// Over HTTP the deferral is only written into the response: make sure
		// Discord took it, and so has a message to put the password in.
		if err := a.landed(wctx, token); err != nil {
			a.log.Error("discord: the answer to Reveal did not reach Discord; nothing was reset", "request", id, "err", err)
			// Should Discord have it after all, it must not stay "thinking".
			if err := a.editOriginal(wctx, token, "Discord did not confirm this answer, so nothing was reset: press Reveal again."); err != nil {
				a.log.Info("discord: the answer to Reveal cannot be edited either", "request", id, "err", err)
			}
			return
		}
		shown := false
		err := svc.Reveal(wctx, actor, id, func(ctx context.Context, results []bot.UserResult) error {
			shown = true
			return a.showPassword(ctx, token, passwordText(id, results))
		})
		switch {
		case err == nil:
		case shown:
			// The reset ran but its password may not have been shown: the
			// service records that, and the answer cannot be edited anyway.
			a.log.Error("discord: show the password of a Reveal", "request", id, "err", err)
		default:
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

// actor is who sent i. Role IDs count only from the configured guild.
func (a *Adapter) actor(i *discordgo.Interaction) bot.Actor {
	act := bot.Actor{Platform: bot.PlatformDiscord}
	if u := userOf(i); u != nil {
		act.UserID = u.ID
	}
	if i.Member != nil && (a.opts.GuildID == "" || i.GuildID == a.opts.GuildID) {
		act.Roles = slices.Clone(i.Member.Roles)
	}
	return act
}

// userOf is who sent i: the member in a guild, the user in a DM.
func userOf(i *discordgo.Interaction) *discordgo.User {
	if i.Member != nil && i.Member.User != nil && i.Member.User.ID != "" {
		return i.Member.User
	}
	if i.User != nil && i.User.ID != "" {
		return i.User
	}
	return nil
}

// commandOf turns /reset-password's subcommand and options into the text
// grammar and parses it, so that both platforms share one set of checks.
func commandOf(data discordgo.ApplicationCommandInteractionData) (bot.Command, error) {
	if len(data.Options) != 1 || data.Options[0] == nil || data.Options[0].Type != discordgo.ApplicationCommandOptionSubCommand {
		return bot.Command{}, bot.Errorf(bot.EINVALID, "pick one of /reset-password's subcommands: ask, list, status, cancel, reveal, approve, deny, help")
	}
	sub := data.Options[0]
	opt := func(name string) (string, error) {
		for _, o := range sub.Options {
			if o != nil && o.Name == name {
				s, ok := o.Value.(string)
				if !ok {
					return "", bot.Errorf(bot.EINVALID, "option %s must be text", name)
				}
				return strings.TrimSpace(s), nil
			}
		}
		return "", nil
	}
	word := func(name string) (string, error) { // one token: the text grammar splits on spaces
		s, err := opt(name)
		if err == nil && strings.ContainsFunc(s, isSpace) {
			err = bot.Errorf(bot.EINVALID, "option %s must be one word, without spaces: %q", name, clip(s, 40))
		}
		return s, err
	}
	var text string
	var kind bot.Kind
	switch sub.Name {
	case "ask":
		account, err1 := word("account")
		users, err2 := opt("users")
		reason, err3 := opt("reason")
		if err := errors.Join(err1, err2, err3); err != nil {
			return bot.Command{}, firstBotError(err)
		}
		if account == "" {
			return bot.Command{}, bot.Errorf(bot.EINVALID, "name the account: /reset-password ask account:<account> reason:<why>")
		}
		text, kind = account, bot.KindAsk
		if users = strings.Join(strings.FieldsFunc(users, isSpace), ""); users != "" {
			text += ":" + users
		}
		text += " " + reason
	case "list", "help":
		text, kind = sub.Name, bot.Kind(sub.Name)
	case "status", "cancel", "reveal", "approve", "deny":
		id, err := word("id")
		if err != nil {
			return bot.Command{}, err
		}
		text, kind = sub.Name+" "+id, bot.Kind(sub.Name)
		if sub.Name == "deny" {
			reason, err := opt("reason")
			if err != nil {
				return bot.Command{}, err
			}
			text += " " + reason
		}
	default:
		return bot.Command{}, bot.Errorf(bot.EINVALID, "resetbot has no subcommand %q: /reset-password help lists them", clip(sub.Name, 40))
	}
	return parseAs(kind, text)
}

// parseAs parses text and insists that it is a command of kind: an account
// named "list" must not turn an ask into a list.
func parseAs(kind bot.Kind, text string) (bot.Command, error) {
	cmd, err := bot.Parse(text)
	if err != nil {
		return bot.Command{}, err
	}
	if cmd.Kind != kind {
		if kind == bot.KindAsk {
			return bot.Command{}, bot.Errorf(bot.EINVALID, "not an account: %q. /reset-password list shows the accounts you may ask for", clip(strings.Fields(text)[0], 40))
		}
		return bot.Command{}, bot.Errorf(bot.EINVALID, "that is not a %s command: /reset-password help shows how to write it", kind)
	}
	return cmd, nil
}

func firstBotError(err error) error {
	var e *bot.Error
	if errors.As(err, &e) {
		return e
	}
	return err
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u00a0' || r == '\u3000'
}

// splitCustomID reads a button's or form's custom_id, "verb:R-XXXXXX".
func splitCustomID(s string) (verb, id string, err error) {
	verb, rest, ok := strings.Cut(s, ":")
	if !ok {
		return "", "", errors.New("no request ID")
	}
	id, err = bot.ParseID(rest)
	return verb, id, err
}

// modalValue finds a text input's value among a submitted form's rows.
func modalValue(components []discordgo.MessageComponent, customID string) string {
	for _, c := range components {
		switch c := c.(type) {
		case *discordgo.ActionsRow:
			if v := modalValue(c.Components, customID); v != "" {
				return v
			}
		case *discordgo.TextInput:
			if c.CustomID == customID {
				return c.Value
			}
		}
	}
	return ""
}

// autocomplete suggests the accounts the person may ask for and, for an
// account whose users may be picked, its users.
func (a *Adapter) autocomplete(i *discordgo.Interaction) *response {
	choices := []*discordgo.ApplicationCommandOptionChoice{}
	result := &response{Type: discordgo.InteractionApplicationCommandAutocompleteResult,
		Data: &responseData{Choices: &choices}}
	data, ok := i.Data.(discordgo.ApplicationCommandInteractionData)
	u := userOf(i)
	if !ok || data.Name != commandName || len(data.Options) != 1 || data.Options[0] == nil || u == nil {
		return result
	}
	b := a.service()
	p, known := b.Person(bot.PlatformDiscord, u.ID)
	if !known {
		return result
	}
	var focused *discordgo.ApplicationCommandInteractionDataOption
	values := map[string]string{}
	for _, o := range data.Options[0].Options {
		if o == nil {
			continue
		}
		s, _ := o.Value.(string)
		values[o.Name] = strings.TrimSpace(s)
		if o.Focused {
			focused = o
		}
	}
	if focused == nil {
		return result
	}
	accts := b.AccountsFor(p)
	add := func(name, value string) bool {
		choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: clip(name, 100), Value: value})
		return len(choices) < 25 // Discord shows at most 25
	}
	typed := strings.ToLower(values[focused.Name])
	switch focused.Name {
	case "account":
		for _, acct := range accts {
			if strings.Contains(strings.ToLower(acct.Name), typed) && len(acct.Name) <= 100 {
				if !add(acct.Name+" ("+string(acct.Provider)+" "+acct.Region+")", acct.Name) {
					break
				}
			}
		}
	case "users":
		for _, acct := range accts {
			if acct.Name != values["account"] || !acct.Selectable {
				continue
			}
			// Complete the last of a comma-separated list.
			typedList := strings.Join(strings.FieldsFunc(values["users"], isSpace), "")
			head, last := "", typedList
			if k := strings.LastIndex(typedList, ","); k >= 0 {
				head, last = typedList[:k+1], typedList[k+1:]
			}
			for _, user := range acct.Users {
				v := head + user
				if strings.HasPrefix(strings.ToLower(user), strings.ToLower(last)) && len(v) <= 100 && !slices.Contains(strings.Split(head, ","), user) {
					if !add(v, v) {
						break
					}
				}
			}
		}
	}
	return result
}
