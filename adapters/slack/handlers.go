package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"resetbot/bot"
)

// Action and callback IDs of the adapter's buttons and modals.
const (
	actionApprove = "approve"
	actionDeny    = "deny"
	actionReveal  = "reveal"
	// The review of a request that skipped the vote; like approve and
	// deny, each is the bot.Kind of its command.
	actionConfirm   = "confirm"
	actionReject    = "reject"
	blockReveal     = "reveal"
	blockReview     = "review"
	callbackAsk     = "reset_ask"
	callbackDeny    = "reset_deny"
	callbackReveal  = "reset_reveal"
	blockAccount    = "account"
	blockReason     = "reason"
	blockUsers      = "users"
	blockBreakGlass = "break_glass"
	blockIncident   = "incident"
	// optionBreakGlass is the value of the request form's break-glass
	// checkbox.
	optionBreakGlass = "break-glass"
)

// ack is the immediate answer to one Slack payload, the same over HTTP and
// Socket Mode.
type ack struct {
	status  int    // 200, or 400 for a payload that cannot be Slack's
	problem string // why it was refused
	body    any    // JSON to answer with; nil for an empty 200
}

var okAck = ack{status: http.StatusOK}

func badPayload(why string) ack { return ack{status: http.StatusBadRequest, problem: why} }

// ephemeralAck answers a slash command at once, visibly to its sender alone.
func ephemeralAck(text string) ack {
	return ack{status: http.StatusOK, body: &slack.Msg{ResponseType: slack.ResponseTypeEphemeral, Text: escape(text),
		Blocks: slack.Blocks{BlockSet: textBlocks(text)}}}
}

// dest is where a command's reply goes: its response_url, or else an
// ephemeral message in the user's DM with the bot.
type dest struct {
	responseURL string
	user        string
}

// Answers to payloads refused before any work is queued.
const (
	slowDownText = "Slow down: you sent too much at once. Wait a few seconds, then try again."
	busyText     = "resetbot is busy right now: nothing was done. Try again in a few seconds."
)

// slackText undoes Slack's escaping of &, < and > in a slash command's
// text, so that a reason is read (and later shown) as it was typed.
var slackText = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// onCommand checks and parses a slash command; the work runs after the ack.
// Everything refused here (another command, a stranger, a user sending too
// much, a full queue) is answered in the ack itself: no work is queued for
// it, and nothing is dropped silently.
func (a *Adapter) onCommand(sc slack.SlashCommand) ack {
	if sc.UserID == "" {
		return badPayload("the command has no user_id")
	}
	if a.bot == nil {
		return ack{status: http.StatusServiceUnavailable, problem: "the bot is starting"}
	}
	if !a.gate.Allow(sc.UserID) {
		return ephemeralAck(slowDownText)
	}
	if sc.Command != a.opts.Command {
		a.log.Info("slack: refused another slash command", "command", cut(sc.Command, 40), "user", sc.UserID)
		return ephemeralAck(fmt.Sprintf("resetbot answers %s only, not %s: check the app's slash commands (slack.command).",
			a.opts.Command, cut(sc.Command, 40)))
	}
	cmd, err := bot.Parse(slackText.Replace(sc.Text))
	if refused, ok := a.stranger(sc.UserID, cmd); ok {
		return ephemeralAck(refused)
	}
	if err != nil {
		return ephemeralAck(bot.ErrorMessage(err))
	}
	actor := bot.Actor{Platform: bot.PlatformSlack, UserID: sc.UserID}
	to := dest{responseURL: sc.ResponseURL, user: sc.UserID}
	work := func(ctx context.Context) {
		if sc.TriggerID != "" && !a.first(ctx, "trigger:"+sc.TriggerID) {
			return // the same command delivered twice
		}
		switch cmd.Kind {
		case bot.KindEmpty:
			a.openAskForm(ctx, actor, sc)
			return
		case bot.KindReveal: // the password goes in a window, never in the command's reply
			a.reveal(ctx, actor, cmd.ID, sc.TriggerID, to)
			return
		}
		a.reply(ctx, to, a.bot.Handle(ctx, actor, cmd).Text)
	}
	if cmd.Kind == bot.KindReveal {
		a.urgent("command reveal", work)
	} else if !a.background("command "+string(cmd.Kind), work) {
		return ephemeralAck(busyText)
	}
	return okAck
}

// stranger reports whether user is not in config, and the answer to give
// them. A stranger is refused in the acknowledgement, with no work queued;
// the service says why and audits the attempt (tried), as it does every
// refusal. The gate, passed before, bounds how often that can happen.
func (a *Adapter) stranger(user string, tried bot.Command) (string, bool) {
	if _, ok := a.bot.Person(bot.PlatformSlack, user); ok {
		return "", false
	}
	ctx, cancel := context.WithTimeout(context.Background(), strangerTimeout)
	defer cancel()
	return a.bot.Handle(ctx, bot.Actor{Platform: bot.PlatformSlack, UserID: user}, tried).Text, true
}

// strangerTimeout bounds the audit of a stranger's attempt, which runs
// inside the acknowledgement.
const strangerTimeout = time.Second

// askMeta rides in the request form's private_metadata, so that the
// submission's answer goes where the command was typed.
type askMeta struct {
	ResponseURL string `json:"r,omitempty"`
}

// denyMeta rides in the deny form's private_metadata.
type denyMeta struct {
	ID          string `json:"id"`
	ResponseURL string `json:"r,omitempty"`
}

func (a *Adapter) openAskForm(ctx context.Context, actor bot.Actor, sc slack.SlashCommand) {
	to := dest{responseURL: sc.ResponseURL, user: sc.UserID}
	p, ok := a.bot.Person(bot.PlatformSlack, sc.UserID)
	if !ok { // the service refuses, audits and says why
		a.reply(ctx, to, a.bot.Handle(ctx, actor, bot.Command{Kind: bot.KindEmpty}).Text)
		return
	}
	accts := a.bot.AccountsFor(p)
	if len(accts) == 0 {
		a.reply(ctx, to, "You may not ask for any account's reset.")
		return
	}
	meta, _ := json.Marshal(askMeta{ResponseURL: sc.ResponseURL})
	view := askForm(p, accts, string(meta))
	err := a.call(ctx, "open the request form", func(ctx context.Context) error {
		_, err := a.api.OpenViewContext(ctx, sc.TriggerID, view)
		return err
	})
	if err != nil {
		a.reply(ctx, to, "Could not open the form: "+bot.ErrorMessage(err)+". You can also write: "+a.opts.Command+" <account> <reason>")
	}
}

// onInteraction checks a button click or form submission; the work runs
// after the ack. As for commands, a refusal is the ack itself: a form shows
// it on its reason field, a click gets an HTTP error, which Slack shows
// next to the button.
func (a *Adapter) onInteraction(ic slack.InteractionCallback) ack {
	if ic.User.ID == "" {
		return badPayload("the interaction has no user")
	}
	if a.bot == nil {
		return ack{status: http.StatusServiceUnavailable, problem: "the bot is starting"}
	}
	switch ic.Type {
	case slack.InteractionTypeBlockActions:
		return a.onAction(ic)
	case slack.InteractionTypeViewSubmission:
		return a.onSubmit(ic)
	case "":
		return badPayload("the interaction has no type")
	}
	return okAck // view_closed, shortcuts, …: nothing to do
}

// ourAction returns the first of the adapter's buttons among the payload's
// actions, or nil.
func ourAction(ic slack.InteractionCallback) *slack.BlockAction {
	for _, x := range ic.ActionCallback.BlockActions {
		if x == nil {
			continue
		}
		switch x.ActionID {
		case actionApprove, actionDeny, actionReveal, actionConfirm, actionReject:
			return x
		}
	}
	return nil
}

func (a *Adapter) onAction(ic slack.InteractionCallback) ack {
	act := ourAction(ic)
	if act == nil {
		return okAck // not one of the card's buttons (a select in a form, another app's)
	}
	if !a.gate.Allow(ic.User.ID) {
		return ack{status: http.StatusTooManyRequests, problem: slowDownText}
	}
	tried, _ := bot.ParseID(act.Value) // a stranger's text goes into no audit event
	if refused, ok := a.stranger(ic.User.ID, bot.Command{Kind: bot.Kind(act.ActionID), ID: tried}); ok {
		return ack{status: http.StatusForbidden, problem: refused}
	}
	id, err := bot.ParseID(act.Value)
	if err != nil {
		return badPayload("the button carries no request ID")
	}
	actor := bot.Actor{Platform: bot.PlatformSlack, UserID: ic.User.ID}
	// A click in a view (a modal) has no response_url: the answer then goes
	// by direct message.
	to := dest{responseURL: ic.ResponseURL, user: ic.User.ID}
	stamp := act.ActionTs
	if stamp == "" {
		stamp = ic.ActionTs
	}
	if stamp == "" {
		stamp = ic.TriggerID
	}
	key := "action:" + stamp + ":" + ic.User.ID + ":" + id
	admitted := true
	switch act.ActionID {
	case actionReveal:
		a.urgent("reveal", func(ctx context.Context) {
			if !a.first(ctx, key) {
				return // the same click delivered twice
			}
			a.reveal(ctx, actor, id, ic.TriggerID, to)
		})
	case actionApprove:
		admitted = a.background("approve", func(ctx context.Context) {
			if !a.first(ctx, key) {
				return // the same click delivered twice
			}
			a.reply(ctx, to, a.bot.Handle(ctx, actor, bot.Command{Kind: bot.KindApprove, ID: id}).Text)
		})
	case actionConfirm, actionReject:
		// Slack asked for confirmation before sending a Reject; its reason,
		// optional, is given by typing reject R-… <reason>.
		kind := bot.KindConfirm
		if act.ActionID == actionReject {
			kind = bot.KindReject
		}
		admitted = a.background(act.ActionID, func(ctx context.Context) {
			if !a.first(ctx, key) {
				return // the same click delivered twice
			}
			a.reply(ctx, to, a.bot.Handle(ctx, actor, bot.Command{Kind: kind, ID: id}).Text)
		})
	case actionDeny:
		admitted = a.background("open the deny form", func(ctx context.Context) {
			if !a.first(ctx, key) {
				return
			}
			if err := a.bot.CheckVote(ctx, actor, id); err != nil { // refused now, not once the form is filled in
				a.reply(ctx, to, bot.ErrorMessage(err))
				return
			}
			meta, _ := json.Marshal(denyMeta{ID: id, ResponseURL: ic.ResponseURL})
			err := a.call(ctx, "open the deny form", func(ctx context.Context) error {
				_, err := a.api.OpenViewContext(ctx, ic.TriggerID, denyForm(id, string(meta)))
				return err
			})
			if err != nil {
				a.reply(ctx, to, "Could not open the form: "+bot.ErrorMessage(err)+". You can also write: "+a.opts.Command+" deny "+id+" <reason>")
			}
		})
	}
	if !admitted {
		return ack{status: http.StatusTooManyRequests, problem: busyText}
	}
	return okAck
}

// formRefused keeps a form open with why on its reason field.
func formRefused(why string) ack {
	return ack{status: http.StatusOK, body: slack.NewErrorsViewSubmissionResponse(map[string]string{blockReason: why})}
}

func (a *Adapter) onSubmit(ic slack.InteractionCallback) ack {
	if ic.View.CallbackID != callbackAsk && ic.View.CallbackID != callbackDeny {
		return okAck // not one of ours
	}
	if !a.gate.Allow(ic.User.ID) {
		return formRefused(slowDownText)
	}
	if refused, ok := a.stranger(ic.User.ID, bot.Command{Kind: bot.Kind(ic.View.CallbackID)}); ok {
		return formRefused(refused)
	}
	actor := bot.Actor{Platform: bot.PlatformSlack, UserID: ic.User.ID}
	key := "view:" + ic.View.ID
	if ic.View.ID == "" {
		key = "view:" + ic.TriggerID
	}
	var cmd bot.Command
	var to dest
	switch ic.View.CallbackID {
	case callbackAsk:
		var meta askMeta
		_ = json.Unmarshal([]byte(ic.View.PrivateMetadata), &meta) // without it, the answer goes by DM
		account := formValue(ic.View, blockAccount).SelectedOption.Value
		reason, problem := cleanReason(formValue(ic.View, blockReason).Value, true)
		errs := map[string]string{}
		if account == "" {
			errs[blockAccount] = "Pick an account."
		}
		if problem != "" {
			errs[blockReason] = problem
		}
		users, problem := a.formUsers(actor, account, formValue(ic.View, blockUsers).Value)
		if problem != "" {
			errs[blockUsers] = problem
		}
		breakGlass := false
		for _, o := range formValue(ic.View, blockBreakGlass).SelectedOptions {
			breakGlass = breakGlass || o.Value == optionBreakGlass
		}
		incident, problem := formIncident(breakGlass, formValue(ic.View, blockIncident).Value)
		if problem != "" {
			errs[blockIncident] = problem
		}
		if len(errs) > 0 {
			if breakGlass {
				// every refused break-glass is audited
				var why []string
				for _, k := range []string{blockAccount, blockReason, blockUsers, blockIncident} {
					if m := errs[k]; m != "" {
						why = append(why, m)
					}
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second) // within Slack's 3 s
				a.bot.RefuseBreakGlass(ctx, actor, account, formValue(ic.View, blockIncident).Value, strings.Join(why, " "))
				cancel()
			}
			return ack{status: http.StatusOK, body: slack.NewErrorsViewSubmissionResponse(errs)}
		}
		cmd = bot.Command{Kind: bot.KindAsk, Account: account, Users: users, Reason: reason}
		if breakGlass {
			cmd.Kind, cmd.Incident = bot.KindBreakGlass, incident
		}
		to = dest{responseURL: meta.ResponseURL, user: ic.User.ID}
	case callbackDeny:
		var meta denyMeta
		if err := json.Unmarshal([]byte(ic.View.PrivateMetadata), &meta); err != nil {
			return badPayload("the deny form lost its request ID")
		}
		id, err := bot.ParseID(meta.ID)
		if err != nil {
			return badPayload("the deny form lost its request ID")
		}
		reason, problem := cleanReason(formValue(ic.View, blockReason).Value, false)
		if problem != "" {
			return formRefused(problem)
		}
		cmd = bot.Command{Kind: bot.KindDeny, ID: id, Reason: reason}
		to = dest{responseURL: meta.ResponseURL, user: ic.User.ID}
	}
	if !a.background("submit "+string(cmd.Kind), func(ctx context.Context) {
		if !a.first(ctx, key) {
			return
		}
		a.reply(ctx, to, a.bot.Handle(ctx, actor, cmd).Text)
	}) {
		return formRefused(busyText)
	}
	return okAck // an empty 200 closes the form
}

// formValue returns what the user entered in the input block blockID, whose
// element's action ID is the same.
func formValue(v slack.View, blockID string) slack.BlockAction {
	if v.State == nil {
		return slack.BlockAction{}
	}
	return v.State.Values[blockID][blockID]
}

// formUsers reads the request form's users field ("u1, u2") and checks it
// against the chosen account, so that a mistake is shown on the field.
func (a *Adapter) formUsers(actor bot.Actor, account, field string) ([]string, string) {
	users := strings.FieldsFunc(field, func(r rune) bool { return r == ',' || bot.IsSpace(r) })
	if err := bot.CheckText("users field", strings.Join(users, " ")); err != nil {
		return nil, bot.ErrorMessage(err)
	}
	if len(users) == 0 || account == "" {
		return nil, ""
	}
	p, ok := a.bot.Person(actor.Platform, actor.UserID)
	if !ok {
		return nil, "" // refused, with the reason, when the request is made
	}
	for _, acct := range a.bot.AccountsFor(p) {
		if acct.Name == account {
			if _, err := bot.PickUsers(acct, users); err != nil {
				return nil, bot.ErrorMessage(err)
			}
			return users, ""
		}
	}
	return users, ""
}

// formIncident reads the request form's incident field. With break-glass
// it is required and checked as a typed one is (bot.ParseIncident).
// Without, an incident is refused rather than ignored: whoever typed one
// may believe they asked for break-glass, and would wait for a vote
// without knowing it.
func formIncident(breakGlass bool, field string) (incident, problem string) {
	field = strings.TrimFunc(field, bot.IsSpace)
	if !breakGlass {
		if field != "" {
			return "", "An incident goes with break-glass only: tick Break-glass to reset now without a vote, or empty this field to ask for approvals."
		}
		return "", ""
	}
	incident, err := bot.ParseIncident(field)
	if err != nil {
		return "", fieldMessage(err)
	}
	return incident, ""
}

// fieldMessage is a parse error's message for a form field: without the
// usage of the typed command that follows it, capitalized.
func fieldMessage(err error) string {
	msg, _, _ := strings.Cut(bot.ErrorMessage(err), ". Write: ")
	if r, n := utf8.DecodeRuneInString(msg); n > 0 {
		msg = string(unicode.ToUpper(r)) + msg[n:]
	}
	return strings.TrimSuffix(msg, ".") + "."
}

// cleanReason applies the rules of typed commands to a reason from a form
// (bot.Fields for white space, so that a multi-line reason is one line,
// then bot.CheckText). It returns the reason, or what is wrong with it.
func cleanReason(s string, required bool) (reason, problem string) {
	reason = strings.Join(bot.Fields(s), " ")
	if err := bot.CheckText("reason", reason); err != nil {
		return "", bot.ErrorMessage(err)
	}
	switch {
	case reason == "" && required:
		return "", "A reason is required."
	case utf8.RuneCountInString(reason) > bot.MaxReason:
		return "", "At most 500 characters, please."
	}
	return reason, ""
}

// reply shows text to one user: through the payload's response_url, or when
// there is none (or it fails) as an ephemeral message in their DM.
func (a *Adapter) reply(ctx context.Context, to dest, text string) {
	if text == "" {
		return
	}
	if to.responseURL != "" && a.hookAllowed(to.responseURL) {
		err := a.call(ctx, "answer the command", func(ctx context.Context) error {
			_, _, err := a.api.PostMessageContext(ctx, "",
				slack.MsgOptionResponseURL(to.responseURL, slack.ResponseTypeEphemeral),
				slack.MsgOptionText(text, true), slack.MsgOptionBlocks(textBlocks(text)...))
			return err
		})
		if err == nil {
			return
		}
	}
	if err := a.ephemeralDM(ctx, to.user, "answer the command", text, textBlocks(text)); err != nil {
		a.log.Error("slack: could not answer a user", "user", to.user, "err", err)
	}
}

// hookAllowed keeps response_url posts on Slack's hosts (or the configured
// API's host), so that a payload cannot point the bot anywhere else.
func (a *Adapter) hookAllowed(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	if u.Scheme == "https" && (u.Host == "hooks.slack.com" || u.Host == "hooks.slack-gov.com") {
		return true
	}
	if u.Scheme == a.apiBase.Scheme && u.Host == a.apiBase.Host {
		return true
	}
	a.log.Info("slack: ignored a response_url on an unexpected host", "host", u.Host)
	return false
}
