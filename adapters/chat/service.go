package chat

import (
	"context"

	"resetbot/bot"
)

// Service is what a chat adapter needs from the service; *bot.Service has
// it. The adapter gets it through its Attach method, after the service was
// built with the adapter as one of its notifiers.
type Service interface {
	// Handle runs one command for a. Its Reply is shown to a alone; Reply.Err
	// says why it was refused, and Reply.Text says so in words.
	Handle(ctx context.Context, a bot.Actor, c bot.Command) bot.Reply

	// Person finds who a platform user is; false for a stranger, whom
	// Handle refuses (and audits).
	Person(p bot.Platform, userID string) (bot.Person, bool)

	// AccountsFor lists the accounts p may ask for, for a request form or
	// autocomplete.
	AccountsFor(p bot.Person) []bot.Account

	// CheckVote tells whether a may vote on request id now, so that a form
	// asking for a reason (Deny) opens only for someone whose vote counts.
	// Errors are *bot.Error: ENOTFOUND, EFORBIDDEN, ECONFLICT.
	CheckVote(ctx context.Context, a bot.Actor, id string) error

	// CheckReview tells whether a may review request id now (Confirm or
	// Reject of a reset that skipped the vote), so that a form asking for
	// a rejection's reason opens only for a reviewer. Errors are
	// *bot.Error: ENOTFOUND, EFORBIDDEN, ECONFLICT.
	CheckReview(ctx context.Context, a bot.Actor, id string) error

	// RefuseBreakGlass audits a break-glass the adapter refused before it
	// reached Handle (its form or options could not be read): why is the
	// refusal's message.
	RefuseBreakGlass(ctx context.Context, a bot.Actor, account, incident, why string)

	// Reveal runs the reset of the offered request id at its requester's
	// click, and hands the new passwords to show, which puts them in the
	// click's private answer: call it only once that answer is sure to be
	// shown. Errors are *bot.Error: ENOTFOUND; EFORBIDDEN (a is not the
	// requester); ECONFLICT (not offered, past RevealBy, or the account is
	// no longer configured); EUNAVAILABLE (the store is down, nothing was
	// reset); EPROVIDER (the cloud refused, in its words); EUNKNOWN (the
	// cloud's answer never came, or the reset ran but show failed: the
	// request failed as outcome unknown).
	Reveal(ctx context.Context, a bot.Actor, id string, show func(context.Context, []bot.UserResult) error) error
}
