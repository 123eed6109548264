package discord

import (
	"context"
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
	// Before any work or store call: a flood from one user (a stranger, a
	// script) is told to slow down, and cannot fill the queue ahead of
	// everyone else's clicks.
	user := userOf(i).ID
	if !a.gate.Allow(user) {
		a.log.Debug("discord: refused an interaction: its user sends too many", "interaction", i.ID, "user", user)
		answer(ephemeral(slowDown))
		return
	}
	if _, known := a.service().Person(bot.PlatformDiscord, user); !known {
		answer(a.stranger(ctx, i))
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
	queued := a.pool.TryGo(ctx, "interaction "+i.ID, workTimeout, func(wctx context.Context) {
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
	if !queued {
		a.busy(i, respond)
		return
	}
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
			if sub := data.Options; len(sub) > 0 && sub[0].Name == string(bot.KindBreakGlass) {
				// every refused break-glass is audited
				account, incident := optionString(sub[0], "account"), optionString(sub[0], "incident")
				b.RefuseBreakGlass(ctx, actor, account, incident, bot.ErrorMessage(err))
			}
			return ephemeral(bot.ErrorMessage(err)), nil
		}
		if cmd.Kind == bot.KindAsk {
			// The status updates follow the ask on this interaction, for as
			// long as its token works: any replica finds it on the request.
			// It never carries a password.
			actor.Refs = map[bot.RefKey]string{bot.Ref(bot.RefInteraction, bot.PlatformDiscord): i.Token}
			actor.RefsFor = tokenLife // the store keeps the token no longer
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
		case "confirm":
			return nil, handle(bot.Command{Kind: bot.KindConfirm, ID: id})
		case "reject":
			if err := b.CheckReview(ctx, actor, id); err != nil { // refused now, not once the form is filled in
				return ephemeral(bot.ErrorMessage(err)), nil
			}
			return rejectModal(id), nil
		}
		return ephemeral("This button is not resetbot's, or no longer works."), nil
	case discordgo.ModalSubmitInteractionData:
		return a.routeForm(formOf(data), handle)
	case modalSubmit:
		return a.routeForm(data, handle)
	}
	return ephemeral("resetbot does not handle this kind of interaction."), nil
}

// routeForm handles a submitted form: the reason for a Deny or a Reject.
func (a *Adapter) routeForm(f modalSubmit, handle func(bot.Command) work) (*response, work) {
	verb, id, err := splitCustomID(f.CustomID)
	if err != nil || (verb != "deny" && verb != "reject") {
		return ephemeral("This form is not resetbot's, or no longer works."), nil
	}
	reason := strings.TrimFunc(f.Values["reason"], bot.IsSpace)
	if err := bot.CheckText("reason", reason); err != nil {
		return ephemeral(bot.ErrorMessage(err)), nil
	}
	cmd, err := parseAs(bot.Kind(verb), verb+" "+id+" "+reason)
	if err != nil {
		return ephemeral(bot.ErrorMessage(err)), nil
	}
	return nil, handle(cmd)
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
	actor, token := a.actor(i), i.Token
	deferredOK := make(chan bool, 1)
	queued := a.pool.TryGo(ctx, "reveal "+id, workTimeout, func(wctx context.Context) {
		if !<-deferredOK {
			return
		}
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
			// However long the reset took, the answer gets a time of its own.
			actx, cancel := context.WithTimeout(context.WithoutCancel(wctx), editTimeout)
			defer cancel()
			if err := a.editOriginal(actx, token, bot.ErrorMessage(err)); err != nil {
				a.log.Error("discord: answer Reveal", "request", id, "err", err)
			}
		}
	})
	if !queued {
		a.busy(i, respond) // nothing was reset; the button stays
		return
	}
	if err := respond(deferred()); err != nil {
		a.log.Error("discord: defer the answer to Reveal; nothing was reset", "interaction", i.ID, "request", id, "err", err)
		deferredOK <- false
		return
	}
	deferredOK <- true
}

const (
	slowDown = "You are sending resetbot too much at once: slow down, and try again in a few seconds."
	busyText = "resetbot is too busy to take this now: nothing was done; try again in a minute."
)

// busy answers an interaction whose work the pool refused: it is said,
// never dropped in silence.
func (a *Adapter) busy(i *discordgo.Interaction, respond responder) {
	a.log.Info("discord: refused an interaction: too much work queued", "interaction", i.ID)
	if err := respond(ephemeral(busyText)); err != nil {
		a.log.Error("discord: answer an interaction", "interaction", i.ID, "err", err)
	}
}

// stranger refuses someone who is not in the config, within the
// acknowledgement: no work is queued for them. The service says why and
// audits it.
func (a *Adapter) stranger(ctx context.Context, i *discordgo.Interaction) *response {
	ctx, cancel := context.WithTimeout(ctx, strangerTimeout)
	defer cancel()
	reply := a.service().Handle(ctx, a.actor(i), strangerCommand(i))
	return ephemeral(reply.Text)
}

// strangerCommand is what a stranger tried, as far as it can be told
// without reading further, for the audit log.
func strangerCommand(i *discordgo.Interaction) bot.Command {
	var verb, id string
	switch data := i.Data.(type) {
	case discordgo.ApplicationCommandInteractionData:
		if len(data.Options) > 0 && data.Options[0] != nil {
			verb = data.Options[0].Name
			for _, o := range data.Options[0].Options {
				if o != nil && o.Name == "id" {
					s, _ := o.Value.(string)
					id, _ = bot.ParseID(strings.TrimFunc(s, bot.IsSpace))
				}
			}
		}
	case discordgo.MessageComponentInteractionData:
		verb, id, _ = splitCustomID(data.CustomID)
	case modalSubmit:
		verb, id, _ = splitCustomID(data.CustomID)
	}
	switch k := bot.Kind(verb); k {
	case bot.KindAsk, bot.KindList, bot.KindStatus, bot.KindCancel, bot.KindReveal, bot.KindApprove, bot.KindDeny, bot.KindHelp,
		bot.KindBreakGlass, bot.KindConfirm, bot.KindReject:
		return bot.Command{Kind: k, ID: id}
	}
	return bot.Command{Kind: bot.KindHelp}
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
		values[o.Name] = strings.TrimFunc(s, bot.IsSpace)
		if o.Focused {
			focused = o
		}
	}
	if focused == nil {
		return result
	}
	accts := b.AccountsFor(p)
	if data.Options[0].Name == string(bot.KindBreakGlass) {
		// Suggest only the accounts p may reset without a vote.
		accts = slices.DeleteFunc(slices.Clone(accts), func(acct bot.Account) bool {
			return acct.BreakGlass == nil || !p.In(acct.BreakGlass.Who)
		})
	}
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
			typedList := strings.Join(bot.Fields(values["users"]), "")
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

// optionString is the string value of sub's option name; "" when absent or
// not a string.
func optionString(sub *discordgo.ApplicationCommandInteractionDataOption, name string) string {
	for _, o := range sub.Options {
		if o.Name == name {
			if v, ok := o.Value.(string); ok {
				return v
			}
		}
	}
	return ""
}
