package console

import (
	"context"
	"fmt"
	"resetbot/bot"
	"strings"
)

// Card prints the approval card to the approvals channel. Its reference is
// the request ID: the console has no message to edit, so updates print anew.
func (a *Adapter) Card(_ context.Context, req bot.Request, acct bot.Account, ref string) (string, error) {
	var b strings.Builder
	verb := "new request"
	if ref != "" {
		verb = "update"
	}
	fmt.Fprintf(&b, "[#approvals] %s %s: %s asks to reset %s (%s %s %s; users %s) because %q. %s",
		verb, req.ID, req.Requester, acct.Name, acct.Provider, acct.Region, acct.Resource(),
		strings.Join(req.Users, ", "), req.Reason, stateLine(req))
	for _, v := range req.Votes {
		verb := "approved"
		if !v.Approve {
			verb = "denied"
		}
		fmt.Fprintf(&b, "\n[#approvals]   %s %s at %s on %s", v.Person, verb, v.At.Format("15:04:05"), v.Platform)
	}
	if req.State == bot.StatePending {
		fmt.Fprintf(&b, "\n[#approvals]   buttons: [Approve] [Deny]  (type: <approver>> approve %s)", req.ID)
	}
	a.printf("%s", b.String())
	return req.ID, nil
}

func stateLine(r bot.Request) string {
	switch r.State {
	case bot.StatePending:
		return fmt.Sprintf("Pending: %d of %d approvals, expires %s.", r.Approved(), r.Approvals, r.ExpiresAt.Format("15:04:05 MST"))
	case bot.StateSucceeded, bot.StateFailed, bot.StateDenied:
		if r.Outcome != "" {
			return fmt.Sprintf("State: %s (%s).", r.State, r.Outcome)
		}
	}
	return fmt.Sprintf("State: %s.", r.State)
}

// Notify prints a line that only person would see.
func (a *Adapter) Notify(_ context.Context, p bot.Person, _ bot.Request, text string) error {
	a.printf("[ephemeral to %s] %s", p.Name, text)
	return nil
}

// Deliver prints the passwords, marked as seen by the requester alone.
func (a *Adapter) Deliver(_ context.Context, p bot.Person, req bot.Request, results []bot.UserResult) error {
	for _, r := range results {
		if r.Err != nil {
			a.printf("[ephemeral to %s] %s %s user %s: not reset: %s", p.Name, req.ID, req.Account, r.User, bot.ErrorMessage(r.Err))
			continue
		}
		a.printf("[ephemeral to %s] %s new password for %s user %s: %s", p.Name, req.ID, req.Account, r.User, r.Password.Value())
	}
	return nil
}

// CanDeliver is true: the console prints a password the moment it is made.
func (a *Adapter) CanDeliver(bot.Request) bool { return true }

// Offer is never called, since CanDeliver is always true: the console has
// no Reveal offer.
func (a *Adapter) Offer(_ context.Context, _ bot.Person, req bot.Request) (string, error) {
	return "", bot.Errorf(bot.EUNAVAILABLE, "the console has no Reveal offer (request %s): its passwords are printed at once", req.ID)
}

// Withdraw is never called, since Offer makes no offer.
func (a *Adapter) Withdraw(_ context.Context, req bot.Request, _ string) error {
	return bot.Errorf(bot.EUNAVAILABLE, "the console has no Reveal offer to withdraw (request %s)", req.ID)
}
