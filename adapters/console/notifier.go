package console

import (
	"context"
	"fmt"
	"strings"

	"resetbot/bot"
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
	if req.Review != nil {
		fmt.Fprintf(&b, "\n[#approvals]   %s", bot.ReviewText(req))
	}
	if req.Notice != "" {
		fmt.Fprintf(&b, "\n[#approvals]   %s", req.Notice)
	}
	if req.State == bot.StatePending {
		fmt.Fprintf(&b, "\n[#approvals]   buttons: [Approve] [Deny]  (type: <approver>> approve %s)", req.ID)
	}
	if req.Reviewable() {
		fmt.Fprintf(&b, "\n[#approvals]   buttons: [Confirm] [Reject]  (type: <approver>> confirm %s, or reject %s <reason>)", req.ID, req.ID)
	}
	a.printf("%s", b.String())
	return req.ID, nil
}

func stateLine(r bot.Request) string {
	switch r.State {
	case bot.StatePending:
		s := fmt.Sprintf("Pending: %s, expires %s.", bot.ProgressText(r.Progress()), r.ExpiresAt.Format("15:04:05 MST"))
		if e := r.Escalated(); e != "" {
			s += " Escalated to " + e + "."
		}
		return s
	case bot.StateOffered:
		return fmt.Sprintf("State: approved, waiting for %s to reveal (until %s).", r.Requester, r.RevealBy.Format("15:04:05 MST"))
	case bot.StateSucceeded, bot.StateFailed, bot.StateDenied, bot.StateExpired, bot.StateCancelled:
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

// Offer prints the direct message with the Reveal button, which on the
// console is typing `reveal R-…` as the requester. Its reference is the
// request ID.
func (a *Adapter) Offer(_ context.Context, p bot.Person, req bot.Request) (string, error) {
	a.printf("[DM to %s] %s approved by %s: press Reveal until %s to reset %s (%s) and see the new password.\n[DM to %s]   button: [Reveal]  (type: %s> reveal %s)",
		p.Name, req.ID, bot.ApprovedBy(req), req.RevealBy.Format("15:04:05 MST"), req.Account, strings.Join(req.Users, ", "),
		p.Name, p.Name, req.ID)
	return req.ID, nil
}

// Withdraw prints that the offer has ended, and how.
func (a *Adapter) Withdraw(_ context.Context, req bot.Request, _ string) error {
	a.printf("[DM to %s] %s: the Reveal button is gone; the request %s", req.Requester, req.ID, ended(req))
	return nil
}

// show prints the passwords of a Reveal, marked as seen by its clicker alone.
func (a *Adapter) show(who, id string, results []bot.UserResult) {
	for _, r := range results {
		if r.Err != nil {
			a.printf("[ephemeral to %s] %s user %s: not reset: %s", who, id, r.User, bot.ErrorMessage(r.Err))
			continue
		}
		a.printf("[ephemeral to %s] %s new password for user %s: %s", who, id, r.User, r.Password.Value())
	}
}

// ended says how a request ended, for its withdrawn offer.
func ended(r bot.Request) string {
	s := string(r.State)
	if r.State == bot.StateCancelled || r.State == bot.StateDenied {
		s = "was " + s
	}
	if r.Outcome == "" {
		return s + "."
	}
	return s + ": " + r.Outcome + "."
}

// Remind prints a reply under the card of req, mentioning people.
func (a *Adapter) Remind(_ context.Context, req bot.Request, _ string, people []bot.Person, text string) error {
	mentions := make([]string, len(people))
	for i, p := range people {
		mentions[i] = "@" + p.Name
	}
	a.printf("[#approvals]   ↳ reply under %s: %s %s", req.ID, strings.Join(mentions, " "), text)
	return nil
}

// Announce prints text to the approvals channel.
func (a *Adapter) Announce(_ context.Context, _, text string) error {
	a.printf("[#approvals] %s", text)
	return nil
}
