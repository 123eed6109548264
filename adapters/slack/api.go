package slack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"

	"resetbot/adapters/chat"
	"resetbot/bot"
)

// call runs one Web API call with retries and turns a final failure into a
// *bot.Error whose message says what could not be done and how to fix it.
func (a *Adapter) call(ctx context.Context, what string, fn func(context.Context) error) error {
	if err := a.withRetry(ctx, what, true, fn); err != nil {
		return a.fault(what, err)
	}
	return nil
}

// withRetry runs fn with the adapter's retries. Unless idempotent, a call
// whose outcome is unknown (a timeout after sending, a 5xx) is not sent
// again: only refusals that guarantee nothing happened are retried (rate
// limits, connections never made).
func (a *Adapter) withRetry(ctx context.Context, what string, idempotent bool, fn func(context.Context) error) error {
	return a.retry.Do(ctx, what, func(err error) chat.Verdict { return verdict(err, idempotent) }, fn)
}

// verdict says whether err is worth another try, and after how long Slack
// asked to wait.
func verdict(err error, idempotent bool) chat.Verdict {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return chat.Verdict{}
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return chat.Verdict{Again: true, After: max(rl.RetryAfter, time.Second)}
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		switch {
		case sc.Code == http.StatusTooManyRequests: // no Retry-After header
			return chat.Verdict{Again: true, After: time.Second}
		case sc.Code >= 500:
			return chat.Verdict{Again: idempotent}
		}
		return chat.Verdict{}
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		switch se.Err {
		case "ratelimited":
			return chat.Verdict{Again: true, After: time.Second}
		case "service_unavailable", "internal_error", "fatal_error", "request_timeout":
			return chat.Verdict{Again: idempotent}
		}
		return chat.Verdict{}
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return chat.Verdict{Again: true} // never reached Slack
	}
	var ue *url.Error
	if errors.As(err, &ue) || errors.As(err, new(net.Error)) {
		return chat.Verdict{Again: idempotent}
	}
	return chat.Verdict{}
}

// deliver runs a call that carries a password or an offer. It is never
// sent again once it may have reached Slack, and its failure says which way
// it went: EUNAVAILABLE (or the refusal's own code, for a fault of the bot's
// setup) when nothing reached Slack, so that trying again is safe, and
// EUNKNOWN when it may have been delivered (the request was written, and
// then the answer was a 5xx, never came, or the connection was cut). raw is
// the last error as the client library returned it.
func (a *Adapter) deliver(ctx context.Context, what string, fn func(context.Context) error) (raw error, fault *bot.Error) {
	var wrote atomic.Bool
	raw = a.withRetry(ctx, what, false, func(ctx context.Context) error {
		wrote.Store(false)
		return fn(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			WroteRequest: func(i httptrace.WroteRequestInfo) {
				if i.Err == nil {
					wrote.Store(true)
				}
			},
		}))
	})
	if raw == nil {
		return nil, nil
	}
	e := deliveryFault(what, raw, wrote.Load())
	a.log.Error("slack: Web API call failed", "what", what, "code", e.Code, "sent", wrote.Load(), "err", safeErr(raw))
	return raw, e
}

// deliveryFault classifies the failure of a call that carries a password
// or an offer; sent is whether its request was written to Slack in full.
func deliveryFault(what string, err error, sent bool) *bot.Error {
	unknown := func(why string) *bot.Error {
		return bot.Errorf(bot.EUNKNOWN, "delivery unknown: %s after the message was sent, so it may have arrived; it is not sent again", why)
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) { // Slack refused it unread
		return classify(what, err)
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		if sc.Code >= 500 {
			return unknown(fmt.Sprintf("Slack answered HTTP %d", sc.Code))
		}
		return &bot.Error{Code: bot.EUNAVAILABLE, Retryable: sc.Code == http.StatusTooManyRequests,
			Message: fmt.Sprintf("Slack refused it with HTTP %d, so nothing was delivered; try again shortly", sc.Code)}
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		switch se.Err {
		case "internal_error", "fatal_error": // Slack: "some aspect of the operation" may have succeeded
			return unknown("Slack answered " + se.Err)
		case "not_found", "hash_conflict": // the window is gone, or changed: nothing shown
			return &bot.Error{Code: bot.EUNAVAILABLE, Message: slackCode(what, se).Message}
		}
		return slackCode(what, se) // a refusal: nothing was delivered
	}
	if sent {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.As(err, new(net.Error)) {
			return unknown("Slack did not answer in time")
		}
		return unknown("Slack's answer was cut off or unreadable")
	}
	e := classify(what, err)
	if e.Code == bot.EUNKNOWN || e.Code == bot.EINTERNAL {
		e = &bot.Error{Code: bot.EUNAVAILABLE, Retryable: true, Message: "Slack could not be reached, so nothing was delivered; try again shortly"}
	}
	return e
}

// fault turns a Slack failure into a *bot.Error safe to show and logs it.
// what says what could not be done ("post the approval card"); it never
// holds a secret.
func (a *Adapter) fault(what string, err error) *bot.Error {
	e := classify(what, err)
	a.log.Error("slack: Web API call failed", "what", what, "code", e.Code, "err", safeErr(err))
	return e
}

func classify(what string, err error) *bot.Error {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return &bot.Error{Code: bot.EUNAVAILABLE, Retryable: true,
			Message: fmt.Sprintf("Slack is rate limiting the bot (retry after %s); try again in a minute", rl.RetryAfter)}
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return slackCode(what, se)
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		return &bot.Error{Code: bot.EUNAVAILABLE, Retryable: true,
			Message: fmt.Sprintf("Slack answered HTTP %d; try again shortly", sc.Code)}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &bot.Error{Code: bot.EUNAVAILABLE, Retryable: true,
			Message: "Slack did not answer in time; try again shortly"}
	}
	var ue *url.Error
	if errors.As(err, &ue) || errors.As(err, new(net.Error)) {
		return &bot.Error{Code: bot.EUNAVAILABLE, Retryable: true,
			Message: "Slack cannot be reached from the bot; try again shortly"}
	}
	return bot.Errorf(bot.EINTERNAL, "unexpected answer from Slack while trying to %s (the bot's log has the details)", what)
}

// slackCode explains one of the Web API's error codes.
func slackCode(what string, se slack.SlackErrorResponse) *bot.Error {
	code := se.Err
	fix := ""
	switch code {
	case "ratelimited", "service_unavailable", "internal_error", "fatal_error", "request_timeout":
		return &bot.Error{Code: bot.EUNAVAILABLE, Retryable: true,
			Message: fmt.Sprintf("Slack is unavailable (%s); try again shortly", code)}
	case "channel_not_found":
		fix = "the channel does not exist or the bot cannot see it: check that slack.approvals_channel is a channel ID (C…) and invite the bot to it"
	case "not_in_channel":
		fix = "the bot is not in the channel: invite it with /invite @resetbot"
	case "is_archived":
		fix = "the channel is archived: unarchive it or set another slack.approvals_channel"
	case "invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive":
		fix = "the bot token was refused: check slack.bot_token (xoxb-…) and that the app is installed"
	case "missing_scope":
		fix = "the Slack app lacks a scope"
		if se.Needed != "" {
			fix += " (" + se.Needed + ")"
		}
		fix += ": reinstall it from deploy/slack/manifest.yaml"
	case "user_not_found", "user_not_in_channel", "cannot_dm_bot", "user_disabled":
		fix = "that user cannot be reached"
	case "expired_trigger_id", "invalid_trigger_id", "exchanged_trigger_id":
		fix = "the window could not be opened in time: click or run the command again"
	case "message_not_found", "cant_update_message":
		fix = "the message was deleted"
	case "not_found", "hash_conflict":
		fix = "the window was closed before the answer arrived"
	case "view_too_large", "invalid_arguments":
		fix = "the window was refused while trying to " + what
	default:
		fix = "the call was refused while trying to " + what
	}
	return bot.Errorf(bot.EINTERNAL, "Slack: %s (%s)", fix, code)
}

// codeOf returns the Web API error code of err, if any.
func codeOf(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

// safeErr is err for the log, without URLs: a response_url is a credential
// for posting into a conversation.
func safeErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		host := ""
		if u, perr := url.Parse(ue.URL); perr == nil {
			host = u.Host
		}
		return ue.Op + " " + host + ": " + ue.Err.Error()
	}
	return err.Error()
}

// dmChannel returns the ID of user's direct conversation with the bot.
func (a *Adapter) dmChannel(ctx context.Context, user string) (string, error) {
	a.dmMu.Lock()
	ch, ok := a.dms[user]
	a.dmMu.Unlock()
	if ok {
		return ch, nil
	}
	err := a.withRetry(ctx, "open a direct message", true, func(ctx context.Context) error {
		c, _, _, err := a.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
		if err == nil && c != nil {
			ch = c.ID
		}
		return err
	})
	if err != nil {
		return "", a.fault("open a direct message with the user", err)
	}
	if ch == "" {
		return "", a.fault("open a direct message with the user", errors.New("conversations.open returned no channel"))
	}
	a.dmMu.Lock()
	a.dms[user] = ch
	a.dmMu.Unlock()
	return ch, nil
}

func (a *Adapter) forgetDM(user string) {
	a.dmMu.Lock()
	delete(a.dms, user)
	a.dmMu.Unlock()
}

// ephemeralDM shows a message to user alone, in their DM with the bot
// (conversations.open, then chat.postEphemeral there).
func (a *Adapter) ephemeralDM(ctx context.Context, user, what, text string, blocks []slack.Block) error {
	opts := []slack.MsgOption{slack.MsgOptionText(text, true)}
	if len(blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(blocks...))
	}
	for try := 0; ; try++ {
		ch, err := a.dmChannel(ctx, user)
		if err != nil {
			return err
		}
		err = a.withRetry(ctx, what, true, func(ctx context.Context) error {
			_, err := a.api.PostEphemeralContext(ctx, ch, user, opts...)
			return err
		})
		if err == nil {
			return nil
		}
		if try == 0 && codeOf(err) == "channel_not_found" {
			a.forgetDM(user) // the remembered DM went away: open it again
			continue
		}
		return a.fault(what, err)
	}
}

// postDM posts a message that stays in user's direct conversation with the
// bot, and returns its reference ("channel/ts"). Its errors are those of
// deliver: a second chat.postMessage after an unknown outcome could leave
// two messages, so only refusals that guarantee nothing was posted are
// retried.
func (a *Adapter) postDM(ctx context.Context, user, what, text string, blocks []slack.Block) (string, error) {
	opts := []slack.MsgOption{slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...)}
	for try := 0; ; try++ {
		ch, err := a.dmChannel(ctx, user)
		if err != nil { // nothing was posted
			if bot.ErrorCode(err) == bot.EUNKNOWN {
				err = &bot.Error{Code: bot.EUNAVAILABLE, Retryable: true, Message: bot.ErrorMessage(err)}
			}
			return "", err
		}
		var channel, ts string
		raw, fault := a.deliver(ctx, what, func(ctx context.Context) error {
			var err error
			channel, ts, err = a.api.PostMessageContext(ctx, ch, opts...)
			return err
		})
		if raw == nil {
			if channel == "" {
				channel = ch
			}
			return channel + "/" + ts, nil
		}
		if try == 0 && codeOf(raw) == "channel_not_found" {
			a.forgetDM(user)
			continue
		}
		return "", fault
	}
}

// openView opens view with the trigger of a click or command, and returns
// its ID. A trigger is good once, for three seconds: only refusals that
// leave it unused are retried.
func (a *Adapter) openView(ctx context.Context, what, trigger string, view slack.ModalViewRequest) (string, error) {
	var id string
	err := a.withRetry(ctx, what, false, func(ctx context.Context) error {
		v, err := a.api.OpenViewContext(ctx, trigger, view)
		if err == nil && v != nil {
			id = v.ID
		}
		return err
	})
	if err == nil && id == "" {
		err = errors.New("views.open returned no view ID")
	}
	if err != nil {
		return "", a.fault(what, err)
	}
	return id, nil
}

// showView puts the answer to a Reveal, which holds a password, in the open
// view id: sent once, never again once it may have reached Slack. Its
// errors are EUNKNOWN when it may have been shown, else EUNAVAILABLE: a
// window Slack refused to update (closed, or any error answer) showed
// nothing.
func (a *Adapter) showView(ctx context.Context, what, id string, view slack.ModalViewRequest) error {
	_, fault := a.deliver(ctx, what, func(ctx context.Context) error {
		_, err := a.api.UpdateViewContext(ctx, view, "", "", id)
		return err
	})
	if fault == nil {
		return nil
	}
	if fault.Code != bot.EUNKNOWN {
		fault.Code = bot.EUNAVAILABLE
	}
	return fault
}

// updateView replaces what the open view id shows.
func (a *Adapter) updateView(ctx context.Context, what, id string, view slack.ModalViewRequest) error {
	return a.call(ctx, what, func(ctx context.Context) error {
		_, err := a.api.UpdateViewContext(ctx, view, "", "", id)
		return err
	})
}
