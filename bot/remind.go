package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// timers are the reminders and escalation of a request by requester for
// acct, asked at now: nil for what the account does not have. Reminders
// that would come after the expiry are none; so is an escalation.
func (s *Service) timers(acct Account, requester string, now time.Time) (*Reminders, *Escalation) {
	var rm *Reminders
	var esc *Escalation
	if acct.RemindAfter > 0 && acct.RemindAfter < acct.TTL {
		rm = &Reminders{After: acct.RemindAfter, Backoff: max(acct.RemindBackoff, 1), Next: now.Add(acct.RemindAfter)}
	}
	if acct.EscalateAfter > 0 && acct.EscalateAfter < acct.TTL && len(acct.EscalateTo) > 0 {
		esc = &Escalation{To: slices.Clone(acct.EscalateTo), People: []string{}, At: now.Add(acct.EscalateAfter)}
		for _, p := range s.people {
			if EscalatesTo(acct, p, requester) {
				esc.People = append(esc.People, p.Name)
			}
		}
	}
	return rm, esc
}

// EscalatesTo reports whether p may approve acct's requests by requester
// once they are escalated: p is named by escalate_to, and is not the
// requester. check-config proves policies with the same rule.
func EscalatesTo(acct Account, p Person, requester string) bool {
	return p.Name != requester && p.In(acct.EscalateTo)
}

// notYet is the refusal of a vote by someone the request's escalation will
// admit, before it does; nil for anyone else.
func notYet(req Request, person string) *Error {
	e := req.Escalation
	if e == nil || e.Done || !slices.Contains(e.People, person) {
		return nil
	}
	return Errorf(EFORBIDDEN, "you may approve %s once it is escalated to %s, at %s; until then it needs %s",
		req.ID, strings.Join(e.To, ", "), timeOfDay(e.At), needs(req.Rules))
}

// remind claims the reminders and escalations that are due (Store.Due,
// once across every replica) and sends them: each a reply under the
// request's cards that mentions who may still approve. It shows the
// reviews that became overdue, and runs the rotations claimed.
func (s *Service) remind(ctx context.Context) {
	due, err := s.store.Due(ctx)
	if err != nil && ctx.Err() == nil {
		s.log.Error("claim due reminders", "err", err)
	}
	defer s.rotateAll(ctx, due)
	for _, t := range due {
		req := t.Request
		if t.Overdue {
			s.metrics.Event(EventOverdue)
			s.undone(ctx, req)
		}
		if t.Escalated {
			s.escalated(ctx, req)
		}
		if t.Reminder > 0 && req.State == StatePending {
			s.metrics.Event(EventReminded)
			who := req.MayStillApprove()
			if t.Escalated {
				// the escalation's reply, just sent, pinged its people
				who = slices.DeleteFunc(who, func(p string) bool { return slices.Contains(req.Escalation.People, p) })
			}
			// With nobody to name (only holders of Discord roles may still
			// approve), the reminder still goes under the cards, unmentioning.
			people := s.withOnCall(ctx, req, s.peopleNamed(who))
			s.replyUnderCards(ctx, req, people, fmt.Sprintf("%s still needs approval (reminder %d): %s asks to reset %s because %q. %s so far; expires %s.",
				req.ID, t.Reminder, req.Requester, req.Account, req.Reason, ProgressText(req.Progress()), timeOfDay(req.ExpiresAt)))
		}
	}
}

// escalated shows that req was escalated: on its cards, in a reply under
// them that mentions the people it was escalated to who have not voted,
// and to the requester.
func (s *Service) escalated(ctx context.Context, req Request) {
	s.metrics.Event(EventEscalated)
	if req.State == StateApproved {
		s.metrics.Event(EventApproved)
		s.metrics.Decided(StateApproved, req.UpdatedAt.Sub(req.CreatedAt))
	}
	s.updateCards(ctx, req)
	to := req.Escalated()
	var waiting []string
	for _, name := range req.Escalation.People {
		if _, voted := req.voteOf(name); !voted {
			waiting = append(waiting, name)
		}
	}
	if people := s.withOnCall(ctx, req, s.peopleNamed(waiting)); len(people) > 0 && req.State == StatePending {
		s.replyUnderCards(ctx, req, people, fmt.Sprintf("%s was escalated to %s: it was not approved in time, and you may approve it now. %s asks to reset %s because %q. %s so far; expires %s.",
			req.ID, to, req.Requester, req.Account, req.Reason, ProgressText(req.Progress()), timeOfDay(req.ExpiresAt)))
	}
	switch req.State {
	case StatePending:
		s.tell(ctx, req, fmt.Sprintf("%s was escalated to %s: they may approve it too now.", req.ID, to))
	case StateApproved:
		s.tell(ctx, req, fmt.Sprintf("%s was escalated to %s, and the approvals it had now suffice. ", req.ID, to)+
			approvedNotice(req, s.accounts[req.Account]))
	}
}

// replyUnderCards posts text under req's card on every platform it was
// posted on, mentioning people.
func (s *Service) replyUnderCards(ctx context.Context, req Request, people []Person, text string) {
	for _, pl := range s.platforms {
		ref := req.Refs[Ref(RefCard, pl)]
		if ref == "" {
			continue // never posted: nothing to reply under
		}
		if err := s.notifiers[pl].Remind(ctx, req, ref, people, text); err != nil {
			s.chatFault(ctx, req, pl, "reply under the approval card", err)
		}
	}
}

// withOnCall is people and, when req's account has an on_call policy,
// whoever PagerDuty says is on call for it now (never the requester).
func (s *Service) withOnCall(ctx context.Context, req Request, people []Person) []Person {
	for _, p := range s.onCallNow(ctx, s.accounts[req.Account], req.Requester) {
		if !slices.ContainsFunc(people, func(q Person) bool { return q.Name == p.Name }) {
			people = append(people, p)
		}
	}
	return people
}

// peopleNamed are the people of config with these names, in their order.
func (s *Service) peopleNamed(names []string) []Person {
	out := make([]Person, 0, len(names))
	for _, n := range names {
		if p, ok := s.personByName(n); ok {
			out = append(out, p)
		}
	}
	return out
}
