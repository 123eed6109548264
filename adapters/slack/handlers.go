package slack

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"resetbot/bot"
)

// Action and callback IDs of the adapter's buttons and modals.
const (
	actionApprove  = "approve"
	actionDeny     = "deny"
	actionReveal   = "reveal"
	blockReveal    = "reveal"
	callbackAsk    = "reset_ask"
	callbackDeny   = "reset_deny"
	callbackReveal = "reset_reveal"
	blockAccount   = "account"
	blockReason    = "reason"
	blockUsers     = "users"
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
	return ack{status: http.StatusOK, body: &slack.Msg{ResponseType: slack.ResponseTypeEphemeral, Text: escape(text)}}
}

// dest is where a command's reply goes: its response_url, or else an
// ephemeral message in the user's DM with the bot.
type dest struct {
	responseURL string
	user        string
}

// onCommand checks and parses a slash command; the work runs after the ack.
func (a *Adapter) onCommand(sc slack.SlashCommand) ack {
	if sc.UserID == "" {
		return badPayload("the command has no user_id")
	}
	if a.bot == nil {
		return ack{status: http.StatusServiceUnavailable, problem: "the bot is starting"}
	}
	cmd, err := bot.Parse(sc.Text)
	if err != nil {
		return ephemeralAck(bot.ErrorMessage(err))
	}
	actor := bot.Actor{Platform: bot.PlatformSlack, UserID: sc.UserID}
	to := dest{responseURL: sc.ResponseURL, user: sc.UserID}
	run := a.background
	if cmd.Kind == bot.KindReveal {
		run = a.urgent
	}
	run("command "+string(cmd.Kind), func(ctx context.Context) {
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
	})
	return okAck
}

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
	view := askForm(accts, string(meta))
	err := a.call(ctx, "open the request form", func(ctx context.Context) error {
		_, err := a.api.OpenViewContext(ctx, sc.TriggerID, view)
		return err
	})
	if err != nil {
		a.reply(ctx, to, "Could not open the form: "+bot.ErrorMessage(err)+". You can also write: /reset-password <account> <reason>")
	}
}

// onInteraction checks a button click or form submission; the work runs
// after the ack.
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

func (a *Adapter) onAction(ic slack.InteractionCallback) ack {
	var act *slack.BlockAction
	for _, x := range ic.ActionCallback.BlockActions {
		if x != nil && (x.ActionID == actionApprove || x.ActionID == actionDeny || x.ActionID == actionReveal) {
			act = x
			break
		}
	}
	if act == nil {
		return okAck // not one of the card's buttons
	}
	id, err := bot.ParseID(act.Value)
	if err != nil {
		return badPayload("the button carries no request ID")
	}
	actor := bot.Actor{Platform: bot.PlatformSlack, UserID: ic.User.ID}
	to := dest{responseURL: ic.ResponseURL, user: ic.User.ID}
	stamp := act.ActionTs
	if stamp == "" {
		stamp = ic.ActionTs
	}
	if stamp == "" {
		stamp = ic.TriggerID
	}
	key := "action:" + stamp + ":" + ic.User.ID + ":" + id
	switch act.ActionID {
	case actionReveal:
		a.urgent("reveal", func(ctx context.Context) {
			if !a.first(ctx, key) {
				return // the same click delivered twice
			}
			a.reveal(ctx, actor, id, ic.TriggerID, to)
		})
	case actionApprove:
		a.background("approve", func(ctx context.Context) {
			if !a.first(ctx, key) {
				return // the same click delivered twice
			}
			a.reply(ctx, to, a.bot.Handle(ctx, actor, bot.Command{Kind: bot.KindApprove, ID: id}).Text)
		})
	case actionDeny:
		a.background("open the deny form", func(ctx context.Context) {
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
				a.reply(ctx, to, "Could not open the form: "+bot.ErrorMessage(err)+". You can also write: /reset-password deny "+id+" <reason>")
			}
		})
	}
	return okAck
}

func (a *Adapter) onSubmit(ic slack.InteractionCallback) ack {
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
		if len(errs) > 0 {
			return ack{status: http.StatusOK, body: slack.NewErrorsViewSubmissionResponse(errs)}
		}
		cmd = bot.Command{Kind: bot.KindAsk, Account: account, Users: users, Reason: reason}
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
			return ack{status: http.StatusOK, body: slack.NewErrorsViewSubmissionResponse(map[string]string{blockReason: problem})}
		}
		cmd = bot.Command{Kind: bot.KindDeny, ID: id, Reason: reason}
		to = dest{responseURL: meta.ResponseURL, user: ic.User.ID}
	default:
		return okAck // not one of ours
	}
	a.background("submit "+string(cmd.Kind), func(ctx context.Context) {
		if !a.first(ctx, key) {
			return
		}
		a.reply(ctx, to, a.bot.Handle(ctx, actor, cmd).Text)
	})
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
	users := strings.FieldsFunc(field, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
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

// cleanReason applies the rules of typed commands to a reason from a form.
// It returns the reason on one line, or what is wrong with it.
func cleanReason(s string, required bool) (reason, problem string) {
	reason = strings.Join(strings.Fields(s), " ")
	switch {
	case reason == "" && required:
		return "", "A reason is required."
	case utf8.RuneCountInString(reason) > bot.MaxReason:
		return "", "At most 500 characters, please."
	case strings.IndexFunc(reason, bot.HiddenRune) >= 0:
		return "", "The reason contains a control character or an invisible formatting one (such as a right-to-left mark)."
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
				slack.MsgOptionText(text, true))
			return err
		})
		if err == nil {
			return
		}
	}
	if err := a.ephemeralDM(ctx, to.user, "answer the command", text, nil); err != nil {
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
