package slack

import (
	"context"
	"fmt"
	"time"

	"resetbot/bot"
)

// reveal answers the requester's Reveal, clicked in the offer or typed as
// /reset-password reveal R-…: a window (modal) opens at once with the
// click's trigger, saying the reset is running; the service then claims the
// request, resets, and hands the passwords to the window, which only the
// clicker sees, while they are looking at it.
//
// The window must exist before anything is reset: Slack exchanges a
// trigger for three seconds only, so when views.open fails (the trigger
// expired, Slack is down) nothing is reset and the user is told to try
// again. When the window cannot be updated after the reset (the user
// closed it), show fails and the service records that the password was
// not shown.
// answerTimeout bounds the answer to a Reveal once the service is done.
const answerTimeout = 30 * time.Second

func (a *Adapter) reveal(ctx context.Context, actor bot.Actor, id, trigger string, to dest) {
	view, err := a.openView(ctx, "open the window for the password of "+id, trigger, resettingWindow(id))
	if err != nil {
		a.log.Error("slack: the window for Reveal did not open; nothing was reset", "request", id, "user", actor.UserID,
			"err", bot.ErrorMessage(err))
		a.reply(ctx, to, fmt.Sprintf("The window for %s's password could not be opened (%s). Nothing was reset: press Reveal again.",
			id, bot.ErrorMessage(err)))
		return
	}
	shown := false
	err = a.bot.Reveal(ctx, actor, id, func(ctx context.Context, results []bot.UserResult) error {
		shown = true
		return a.showView(ctx, "show the new password of "+id, view, passwordWindow(id, results))
	})
	// The answer says how the click ended however long the reset took: it
	// gets a time of its own, not what is left of the click's.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), answerTimeout)
	defer cancel()
	switch {
	case err == nil:
	case !shown: // refused, or the reset failed: the window says why
		if uerr := a.updateView(ctx, "answer Reveal", view, refusedWindow(id, bot.ErrorMessage(err))); uerr != nil {
			a.reply(ctx, to, bot.ErrorMessage(err))
		}
	default: // reset, but the window was gone: say so where the click came from
		a.reply(ctx, to, bot.ErrorMessage(err))
	}
}
