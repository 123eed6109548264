package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Break-glass and on-call resets skip the vote and are reviewed
// afterwards: an approver confirms them, or rejects them, and a rejected
// or overdue one has its password reset again, to one nobody sees
// (rotate), its account locked until a normal approved reset.

// breakGlass runs `break-glass <account>[:<users>] <incident> <reason>`.
func (s *Service) breakGlass(ctx context.Context, a Actor, p Person, cmd Command) Reply {
	acct, ok := s.accounts[cmd.Account]
	var refusal *Error
	switch {
	case !ok:
		refusal = Errorf(EFORBIDDEN, "there is no account %q: `/reset-password list` shows the accounts you may ask for", cmd.Account)
	case acct.BreakGlass == nil:
		refusal = Errorf(EFORBIDDEN, "%s has no break-glass: ask for a normal reset, which approvers vote on (/reset-password %s <reason>)", acct.Name, acct.Name)
	case !p.In(acct.BreakGlass.Who):
		refusal = Errorf(EFORBIDDEN, "you may not break the glass on %s: only %s may; ask for a normal reset, which approvers vote on",
			acct.Name, strings.Join(acct.BreakGlass.Who, ", "))
	}
	if refusal == nil {
		if _, err := ParseIncident(cmd.Incident); err != nil {
			refusal = err.(*Error)
		}
	}
	if refusal == nil {
		if _, err := PickUsers(acct, cmd.Users); err != nil {
			refusal = err.(*Error)
		}
	}
	if refusal != nil {
		s.refuseBreakGlass(ctx, a, p.Name, cmd.Account, cmd.Incident, refusal.Message)
		return fail(refusal)
	}
	users, _ := PickUsers(acct, cmd.Users)
	req := s.newRequest(acct, a, p, users, cmd.Reason)
	req.Reminders, req.Escalation = nil, nil
	req.Review = &Review{Kind: ReviewBreakGlass, Incident: cmd.Incident, State: ReviewOpen,
		Due: req.CreatedAt.Add(acct.BreakGlass.ReviewWithin), PerPerson: acct.BreakGlass.PerPerson}
	created, err := s.create(ctx, req)
	if err != nil {
		return s.createFailed(ctx, err)
	}
	s.metrics.Event(EventBreakGlass)
	s.metrics.Event(EventApproved)
	s.metrics.Decided(StateApproved, 0)
	s.skippedVote(ctx, created, acct)
	return Reply{Request: &created, Text: fmt.Sprintf("%s: BREAK-GLASS reset of %s (%s) for %s, without a vote. "+
		"The bot is sending you a direct message with a Reveal button, valid for %s: the password is reset when you press it. "+
		"An approver must confirm it by %s; rejected, or not confirmed by then, the password is reset again and shown to nobody.",
		created.ID, acct.Name, strings.Join(created.Users, ", "), cmd.Incident, shortDuration(acct.RevealWithin), timeOfDay(created.Review.Due))}
}

// refuseBreakGlass audits a refused break-glass by person (a platform user
// ID when they are not in config) on account, with its incident.
func (s *Service) refuseBreakGlass(ctx context.Context, a Actor, person, account, incident, why string) {
	e := Event{Kind: EventRefused, Actor: person, Platform: a.Platform, Incident: incident,
		Detail: "break-glass on " + account + " refused: " + why}
	if person == "" {
		e.Actor, e.Stranger = string(a.Platform)+":"+a.UserID, true
	}
	s.audit(ctx, e)
}

// RefuseBreakGlass audits a break-glass that an adapter refused before it
// reached Handle (a form or options it could not read): every refused
// break-glass is in the audit log, whichever way it was typed.
func (s *Service) RefuseBreakGlass(ctx context.Context, a Actor, account, incident, why string) {
	p, _ := s.Person(a.Platform, a.UserID)
	s.refuseBreakGlass(ctx, a, p.Name, account, incident, why)
}

// onCall asks PagerDuty whether p is on call for acct now, and returns the
// review that auto-approves req when they are; else nil, and, when
// PagerDuty could not tell, the notice the cards show.
func (s *Service) onCall(ctx context.Context, acct Account, p Person, now time.Time) (*Review, string, string) {
	if acct.OnCall == nil || s.oncall == nil || p.PagerDuty == "" {
		return nil, "", ""
	}
	m, err := s.oncall.Check(ctx, *acct.OnCall, p.PagerDuty)
	if err != nil {
		s.log.Error("PagerDuty on-call look-up", "account", acct.Name, "err", err)
		return nil, fmt.Sprintf("No on-call auto-approval: %s. Approvers vote as usual.", ErrorMessage(err)), ""
	}
	if !m.OnCall {
		return nil, "", m.Why
	}
	detail := fmt.Sprintf("%s is on call for escalation policy %s at level %d", p.Name, acct.OnCall.EscalationPolicy, m.Level)
	if m.Schedule != "" {
		detail += " (schedule " + m.Schedule + ")"
	}
	if m.Incident != "" {
		detail += ", incident " + m.Incident
	}
	within := DefaultReviewWithin
	if acct.BreakGlass != nil && acct.BreakGlass.ReviewWithin > 0 {
		within = acct.BreakGlass.ReviewWithin
	}
	incident := m.Incident
	if incident == "" {
		incident = "on call " + acct.OnCall.EscalationPolicy
	}
	return &Review{Kind: ReviewOnCall, Incident: incident, Detail: detail, State: ReviewOpen, Due: now.Add(within)}, "", ""
}

// skippedVote shows a request that skipped the vote: its cards, and a
// reply under them that mentions the approvers it skipped, who review it.
func (s *Service) skippedVote(ctx context.Context, req Request, acct Account) {
	s.postCards(ctx, req)
	if cur, err := s.store.Get(ctx, req.ID); err == nil {
		req = cur // with the cards' references
	}
	how := "BREAK-GLASS: " + req.Requester + " reset " + req.Account + " without a vote"
	if req.Review.Kind == ReviewOnCall {
		how = "BREAK-GLASS, on call: PagerDuty approved " + req.Requester + "'s reset of " + req.Account + " (" + req.Review.Detail + ")"
	}
	s.replyUnderCards(ctx, req, s.reviewers(req), fmt.Sprintf("%s, for %s: %q. Review it by %s: Confirm, or Reject to have the password reset again, to one nobody sees.",
		how, req.Review.Incident, req.Reason, timeOfDay(req.Review.Due)))
}

// reviewers are the people who may review req: its approvers, anyone its
// rules admit, never its requester. (escalate_to is not among them: an
// escalation admits its people only after escalate_after, and a reset
// without a vote is reviewed by those it skipped.)
func (s *Service) reviewers(req Request) []Person {
	var out []Person
	for _, p := range s.people {
		if p.Name != req.Requester && len(req.RulesOf(p.Name, nil)) > 0 {
			out = append(out, p)
		}
	}
	return out
}

// mayReview reports whether p, acting as a, may review req: whether one
// of its rules admits them, by name or by a Discord role.
func (s *Service) mayReview(p Person, a Actor, req Request) bool {
	return len(req.RulesOf(p.Name, discordRoles(a))) > 0
}

// CheckReview tells whether actor may review request id now, without
// reviewing: adapters ask it before opening a form (Reject's reason) that
// would otherwise be refused only once filled in. The refusal, an *Error
// with the codes of Handle's reviews, is audited as an attempt.
func (s *Service) CheckReview(ctx context.Context, a Actor, id string) error {
	p, ok := s.Person(a.Platform, a.UserID)
	if !ok {
		return s.stranger(ctx, a, id, "to review")
	}
	req, err := s.store.Get(ctx, id)
	if err != nil {
		return s.failed(ctx, "get "+id, err).Err
	}
	var refusal *Error
	switch {
	case req.Review == nil:
		refusal = Errorf(ECONFLICT, "%s was approved by a vote: there is nothing to review", id)
	case req.Requester == p.Name:
		refusal = Errorf(EFORBIDDEN, "you asked for %s: another approver must review it", id)
	case !s.mayReview(p, a, req):
		refusal = notReviewer(req)
	case !req.Reviewable():
		refusal = Errorf(ECONFLICT, "the review of %s is closed: %s", id, ReviewText(req))
	}
	if refusal != nil {
		s.audit(ctx, Event{Kind: EventRefused, RequestID: id, Actor: p.Name, Platform: a.Platform, Detail: refusal.Message})
		return refusal
	}
	return nil
}

// notReviewer is the refusal of a review by someone who may not review
// req.
func notReviewer(req Request) *Error {
	return Errorf(EFORBIDDEN, "you may not review %s: its approvers review it (%s)", req.ID, needs(req.Rules))
}

// review runs confirm and reject.
func (s *Service) review(ctx context.Context, a Actor, p Person, cmd Command) Reply {
	req, err := s.store.Get(ctx, cmd.ID)
	if err != nil {
		return s.failed(ctx, "get "+cmd.ID, err)
	}
	if req.Requester != p.Name && !s.mayReview(p, a, req) {
		refusal := notReviewer(req)
		s.audit(ctx, Event{Kind: EventRefused, RequestID: req.ID, Actor: p.Name, Platform: a.Platform, Detail: refusal.Message})
		return fail(refusal)
	}
	confirm := cmd.Kind == KindConfirm
	id := req.ID
	req, err = s.store.Review(ctx, id, p.Name, a.Platform, confirm, cmd.Reason)
	s.oweIfUnconfirmed(ctx, id, err)
	if err != nil {
		return s.failed(ctx, "review "+cmd.ID, err)
	}
	if confirm {
		s.metrics.Event(EventConfirmed)
		s.showCards(ctx, req)
		s.tell(ctx, req, fmt.Sprintf("%s: %s confirmed your %s reset of %s.", req.ID, p.Name, req.Review.Kind, req.Account))
		return Reply{Request: &req, Text: fmt.Sprintf("You confirmed %s: %s's %s reset of %s stands.", req.ID, req.Requester, req.Review.Kind, req.Account)}
	}
	s.metrics.Event(EventRejected)
	s.undone(ctx, req)
	return Reply{Request: &req, Text: fmt.Sprintf("You rejected %s. %s", req.ID, undoText(req))}
}

// undone shows a review that rejected a reset or ran out; the rotation,
// when the password must be reset again, is the sweeper's (Due claims it
// at once).
func (s *Service) undone(ctx context.Context, req Request) {
	if req.State == StateDenied {
		// the review ended the request: its offer goes too
		s.metrics.Event(EventDenied)
		s.updateCards(ctx, req)
	} else {
		s.showCards(ctx, req)
	}
	how := "rejected by " + req.Review.By + because(req.Review.Reason)
	if req.Review.State == ReviewOverdue {
		how = "not confirmed by " + timeOfDay(req.Review.Due)
	}
	s.tell(ctx, req, fmt.Sprintf("%s: your %s reset of %s was %s. %s", req.ID, req.Review.Kind, req.Account, how, undoText(req)))
}

// undoText says what a rejected or overdue review does to the password.
func undoText(req Request) string {
	rot := req.Review.Rotation
	switch {
	case rot == nil || rot.State == RotationNone:
		return "Nothing was reset, so nothing is undone."
	case rot.State == RotationDone:
		return fmt.Sprintf("The password was reset again at %s; nobody has it. %s is locked until a normal approved reset.", timeOfDay(rot.At), req.Account)
	}
	return fmt.Sprintf("The password that was shown is being reset again, to one nobody sees; %s is locked until a normal approved reset.", req.Account)
}

// maxRotations is how many rotations one sweep runs at once: each waits
// on a cloud call, and all must be done well within the attempt's lease.
const maxRotations = 4

// rotateAll runs the rotation attempts Due claimed, a few at once.
func (s *Service) rotateAll(ctx context.Context, due []Timer) {
	slots := make(chan struct{}, maxRotations)
	var wg sync.WaitGroup
	for _, t := range due {
		if t.Rotate == 0 {
			continue
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			s.rotate(ctx, t.Request, t.Rotate)
		})
	}
	wg.Wait()
}

// rotate resets req's password again, to one it shows nobody, and records
// how it went: attempt is the one Due claimed. A failure is retried by a
// later sweep, with backoff; the cards say the password is still exposed.
func (s *Service) rotate(ctx context.Context, req Request, attempt int) {
	errText := ""
	acct, prov, ok := s.target(req)
	if !ok {
		errText = fmt.Sprintf("account %s is no longer configured", req.Account)
	} else {
		rctx, cancel := context.WithTimeout(ctx, s.lease)
		results, outcome, err := s.reset(rctx, req, acct, prov)
		cancel()
		for i := range results {
			results[i].Password = Secret{} // shown to nobody
		}
		if err != nil || strings.Contains(outcome, "not reset:") {
			errText = outcome
		}
	}
	if ctx.Err() != nil {
		return // shutting down: the attempt is claimed again later
	}
	rotated, err := s.store.Rotated(ctx, req.ID, attempt, errText)
	if err != nil {
		s.log.Error("record the rotation", "request", req.ID, "attempt", attempt, "err", err)
		return
	}
	if errText != "" {
		s.metrics.Event(EventRotationFailed)
		s.log.Error("rotation failed", "request", req.ID, "attempt", attempt, "err", errText)
		s.showCards(ctx, rotated)
		if attempt == 1 {
			s.tell(ctx, rotated, fmt.Sprintf("%s: resetting the password of %s again failed (%s); the one you were shown still works until it succeeds. The bot keeps trying.",
				req.ID, req.Account, errText))
		}
		return
	}
	s.metrics.Event(EventRotated)
	s.showCards(ctx, rotated)
	s.tell(ctx, rotated, fmt.Sprintf("%s: the password of %s you were shown no longer works: it was reset again, to one nobody has. %s is locked until a normal approved reset.",
		req.ID, req.Account, req.Account))
}

// ApprovedBy names who approved req: its approvers, or, for a request that
// skipped the vote, how it did.
func ApprovedBy(req Request) string {
	if rv := req.Review; rv != nil {
		if rv.Kind == ReviewOnCall {
			return "PagerDuty (" + req.Requester + " is on call)"
		}
		return "break-glass (" + req.Requester + ", " + rv.Incident + "; reviewed afterwards)"
	}
	return approvers(req)
}

// onCallNow are the people PagerDuty says are on call now for acct's
// policy, for reminders to mention; none when it has no on_call or
// PagerDuty cannot tell.
func (s *Service) onCallNow(ctx context.Context, acct Account, except string) []Person {
	if acct.OnCall == nil || s.oncall == nil {
		return nil
	}
	ids, err := s.oncall.Who(ctx, *acct.OnCall)
	if err != nil {
		s.log.Error("PagerDuty on-call look-up", "account", acct.Name, "err", err)
		return nil
	}
	var out []Person
	for _, p := range s.people {
		if p.PagerDuty != "" && p.Name != except && slices.Contains(ids, p.PagerDuty) {
			out = append(out, p)
		}
	}
	return out
}
