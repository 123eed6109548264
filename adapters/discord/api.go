package discord

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"resetbot/adapters/chat"
	"resetbot/bot"

	"github.com/bwmarrin/discordgo"
)

// Discord's JSON error codes that the adapter treats on their own.
const (
	codeUnknownChannel     = 10003
	codeUnknownMessage     = 10008
	codeUnknownWebhook     = 10015
	codeUnknownInteraction = 10062
	codeMissingAccess      = 50001
	codeCannotDM           = 50007
	codeMissingPermissions = 50013
	codeInvalidToken       = 50027
)

// call runs one REST call f, retrying where waiting helps: a 429 whose
// retry_after is within MaxRetryWait, and, when the call is idempotent (or
// could not have been sent), network errors and 5xx. It returns nil or a
// *bot.Error; what says what was being done, for the log.
func (a *Adapter) call(ctx context.Context, what string, idempotent bool, f func(...discordgo.RequestOption) error) error {
	judge := func(err error) chat.Verdict { return verdict(err, idempotent) }
	if !idempotent {
		// discordgo repeats a call answered 502 by itself.
		g := f
		f = func(o ...discordgo.RequestOption) error { return g(append(o, discordgo.WithRestRetries(0))...) }
	}
	return a.do(ctx, a.retry, what, judge, f)
}

func (a *Adapter) do(ctx context.Context, r chat.Retry, what string, judge func(error) chat.Verdict, f func(...discordgo.RequestOption) error) error {
	err := r.Do(ctx, what, judge, func(ctx context.Context) error { return f(discordgo.WithContext(ctx)) })
	if err != nil {
		return a.fault(what, err)
	}
	return nil
}

// verdict says whether a failed call is worth another try.
func verdict(err error, idempotent bool) chat.Verdict {
	var rl *discordgo.RateLimitError
	var re *discordgo.RESTError
	switch {
	case errors.Is(err, context.Canceled):
		return chat.Verdict{}
	case errors.Is(err, context.DeadlineExceeded):
		// The caller's deadline ends the retries before they are judged:
		// this is the HTTP client's own timeout, an answer lost.
		return chat.Verdict{Again: idempotent}
	case errors.As(err, &rl):
		// Discord refused the call without acting on it: always safe to
		// repeat, if the wait is short enough to be worth it (Retry's
		// MaxWait).
		if rl.TooManyRequests == nil {
			return chat.Verdict{}
		}
		return chat.Verdict{Again: true, After: rl.RetryAfter}
	case errors.As(err, &re):
		return chat.Verdict{Again: re.Response != nil && re.Response.StatusCode >= 500 && idempotent}
	case notSent(err):
		return chat.Verdict{Again: true}
	}
	return chat.Verdict{Again: idempotent && isNetwork(err)}
}

// callOriginal makes a call on an interaction's answer. A call that
// overtakes Discord's processing of the answer finds no message (or no
// token) yet: it gets a moment, a few times.
func (a *Adapter) callOriginal(ctx context.Context, what string, f func(o ...discordgo.RequestOption) error) error {
	r := a.retry
	r.Backoff = 500 * time.Millisecond
	judge := func(err error) chat.Verdict {
		if code, _ := restCode(err); tokenGone(err) || code == codeUnknownMessage {
			return chat.Verdict{Again: true}
		}
		return verdict(err, true)
	}
	return a.do(ctx, r, what, judge, f)
}

// notSent reports a network error from before the request left: a failed
// dial. Repeating the call cannot make it happen twice.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func isNetwork(err error) bool {
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne)
}

// restCode returns Discord's JSON error code and the HTTP status of err, if
// it is an error answer from Discord.
func restCode(err error) (code, status int) {
	var re *discordgo.RESTError
	if !errors.As(err, &re) {
		return 0, 0
	}
	if re.Message != nil {
		code = re.Message.Code
	}
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	return code, status
}

// tokenGone reports an error saying that an interaction's token no longer
// works (it expired, or was never valid).
func tokenGone(err error) bool {
	code, _ := restCode(err)
	return code == codeUnknownWebhook || code == codeInvalidToken || code == codeUnknownInteraction
}

// fault logs err and turns it into a *bot.Error whose message says what went
// wrong and how to fix it, never Discord's own text.
func (a *Adapter) fault(what string, err error) error {
	var be *bot.Error
	if errors.As(err, &be) {
		return be
	}
	a.log.Error("discord: "+what, "cause", cause(err))
	unavailable := func(format string, args ...any) error {
		e := bot.Errorf(bot.EUNAVAILABLE, format, args...)
		e.Retryable = true
		return e
	}
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) && rl.TooManyRequests != nil {
		return unavailable("Discord is rate limiting the bot: try again in %s", rl.RetryAfter.Round(time.Second)+time.Second)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return unavailable("Discord did not answer in time: try again")
	}
	code, status := restCode(err)
	switch {
	case code == codeUnknownChannel:
		return unavailable("Discord says the channel does not exist or the bot cannot see it: check discord.approvals_channel (%s), or the account's channels.discord, and that the bot is in that server", a.opts.ApprovalsChannel)
	case code == codeMissingAccess || code == codeMissingPermissions:
		return unavailable("the bot lacks a permission in Discord: give it View Channel, Send Messages, Embed Links and Read Message History in channel %s, or the account's channels.discord", a.opts.ApprovalsChannel)
	case code == codeCannotDM:
		return unavailable("Discord does not let the bot send this person a direct message: they must allow direct messages from members of the bot's server")
	case code == codeUnknownMessage:
		return unavailable("the Discord message was deleted")
	case tokenGone(err):
		return bot.Errorf(bot.ECONFLICT, "the Discord interaction has expired (its token lasts 15 minutes)")
	case status == http.StatusUnauthorized:
		return unavailable("Discord refused the bot token: check discord.bot_token")
	case status >= 500:
		return unavailable("Discord is having trouble (HTTP %d): try again", status)
	case status != 0:
		return unavailable("Discord refused the call (HTTP %d, code %d): the bot's log has the details", status, code)
	}
	return unavailable("cannot reach Discord at %s: try again", a.opts.APIURL)
}

// cause describes err for the log without what it may carry: a URL holds an
// interaction token, and a response body could echo what was sent.
func cause(err error) string {
	var re *discordgo.RESTError
	if errors.As(err, &re) {
		status, msg, code := "", "", 0
		if re.Response != nil {
			status = re.Response.Status
		}
		if re.Message != nil {
			msg, code = re.Message.Message, re.Message.Code
		}
		return fmt.Sprintf("HTTP %s, Discord code %d: %s", status, code, msg)
	}
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) && rl.TooManyRequests != nil {
		return fmt.Sprintf("rate limited, retry after %s", rl.RetryAfter)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}

// probe notes what one REST call did on the wire, so that a failure can be
// told apart: nothing reached Discord (safe to try again), or it may have.
type probe struct {
	mu     sync.Mutex
	wrote  bool // the request was written, in part or whole, to a connection
	status int  // the HTTP status of Discord's answer; 0: none came
}

type probeKey struct{}

func withProbe(ctx context.Context) (context.Context, *probe) {
	p := &probe{}
	return context.WithValue(ctx, probeKey{}, p), p
}

// probeOf is the probe of a call's context, or nil.
func probeOf(ctx context.Context) *probe {
	p, _ := ctx.Value(probeKey{}).(*probe)
	return p
}

func (p *probe) setWrote() {
	p.mu.Lock()
	p.wrote = true
	p.mu.Unlock()
}

func (p *probe) setStatus(status int) {
	p.mu.Lock()
	p.status = status
	p.mu.Unlock()
}

// mayHaveReached reports whether the call may have had its effect: it was
// written, and Discord did not answer with a refusal (4xx, which changes
// nothing). A success, a 5xx, a timeout or a cut connection after writing
// all may have.
func (p *probe) mayHaveReached() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.wrote && !(p.status >= 400 && p.status < 500)
}

// deliver makes a call that must not reach Discord twice: the answer to
// Reveal that holds a password, or an offer. It is tried again only when a
// try cannot have reached Discord: a rate limit short enough to wait out
// (within ctx's deadline), or a request never written. It returns nil, or
// a *bot.Error: EUNAVAILABLE when nothing reached Discord (a connection
// refused, a rate limit not waited out, an error answer), so that trying
// again is safe; EUNKNOWN when it may have (a timeout after sending, a 5xx,
// a connection cut after the request was written), which must not be sent
// again.
func (a *Adapter) deliver(ctx context.Context, what string, f func(...discordgo.RequestOption) error) error {
	var last *probe
	judge := func(err error) chat.Verdict {
		if last.mayHaveReached() {
			return chat.Verdict{}
		}
		var rl *discordgo.RateLimitError
		if errors.As(err, &rl) && rl.TooManyRequests != nil {
			return chat.Verdict{Again: true, After: rl.RetryAfter}
		}
		last.mu.Lock()
		defer last.mu.Unlock()
		return chat.Verdict{Again: !last.wrote}
	}
	err := a.retry.Do(ctx, what, judge, func(ctx context.Context) error {
		pctx, p := withProbe(ctx)
		last = p
		// discordgo repeats a call answered 502 by itself: not this one.
		return f(discordgo.WithContext(pctx), discordgo.WithRestRetries(0))
	})
	if err == nil {
		return nil
	}
	if last.mayHaveReached() {
		a.log.Error("discord: "+what+": Discord may have it, unconfirmed; not sent again", "cause", cause(err))
		return bot.Errorf(bot.EUNKNOWN, "Discord did not confirm it (%s): it may have arrived, and is not sent again", last.why(err))
	}
	fe := a.fault(what, err)
	var be *bot.Error
	if errors.As(fe, &be) && be.Code != bot.EUNAVAILABLE {
		e := bot.Errorf(bot.EUNAVAILABLE, "%s", be.Message)
		e.Retryable = true
		return e
	}
	return fe
}

// why says, in the requester's words, why a call went unconfirmed.
func (p *probe) why(err error) string {
	p.mu.Lock()
	status := p.status
	p.mu.Unlock()
	if status != 0 {
		return fmt.Sprintf("Discord answered HTTP %d", status)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "no answer in time"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "no answer in time"
	}
	return "the connection broke"
}
