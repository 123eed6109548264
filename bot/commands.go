package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// HandleText parses text and runs it: what adapters call for typed commands.
func (s *Service) HandleText(ctx context.Context, a Actor, text string) Reply {
	cmd, err := Parse(text)
	if err != nil {
		// every refused break-glass is audited, a malformed one too
		f := Fields(text)
		if len(f) > 0 && strings.EqualFold(f[0], commandName) {
			f = f[1:]
		}
		if len(f) > 0 && strings.EqualFold(f[0], string(KindBreakGlass)) {
			account := ""
			if len(f) > 1 {
				account, _, _ = strings.Cut(f[1], ":")
			}
			s.RefuseBreakGlass(ctx, a, account, "", ErrorMessage(err))
		}
		return fail(err)
	}
	return s.Handle(ctx, a, cmd)
}

// Handle runs one command for actor.
func (s *Service) Handle(ctx context.Context, a Actor, cmd Command) Reply {
	p, ok := s.Person(a.Platform, a.UserID)
	if !ok {
		return fail(s.stranger(ctx, a, cmd.ID, string(cmd.Kind)))
	}
	switch cmd.Kind {
	case KindEmpty, KindHelp:
		return Reply{Text: usage}
	case KindList:
		return s.list(p)
	case KindStatus:
		return s.status(ctx, a, p, cmd.ID)
	case KindAsk:
		return s.ask(ctx, a, p, cmd)
	case KindApprove, KindDeny:
		return s.vote(ctx, a, p, cmd)
	case KindCancel:
		return s.cancel(ctx, a, p, cmd.ID)
	case KindBreakGlass:
		return s.breakGlass(ctx, a, p, cmd)
	case KindConfirm, KindReject:
		return s.review(ctx, a, p, cmd)
	case KindReveal:
		// Its answer would have to show the password, and a Reply is not
		// that answer: adapters route it to Reveal.
		return fail(Errorf(EINVALID, "%s: press the Reveal button in the bot's direct message about %s; its answer shows you the new password, privately",
			cmd.ID, cmd.ID))
	}
	return fail(Errorf(EINVALID, "unknown command. %s", usage))
}

// stranger audits an attempt by someone who is not in config and returns
// its refusal.
func (s *Service) stranger(ctx context.Context, a Actor, id, tried string) error {
	s.audit(ctx, Event{Kind: EventRefused, RequestID: id, Actor: string(a.Platform) + ":" + a.UserID, Stranger: true,
		Platform: a.Platform, Detail: "unknown person tried " + tried})
	return Errorf(EFORBIDDEN, "you are not in resetbot's list of people: ask an admin to add your %s user ID %s", a.Platform, a.UserID)
}

func (s *Service) list(p Person) Reply {
	accts := s.AccountsFor(p)
	if len(accts) == 0 {
		return Reply{Text: "You may not ask for any account's reset."}
	}
	var b strings.Builder
	b.WriteString("Accounts you may ask for:")
	for _, a := range accts {
		fmt.Fprintf(&b, "\n• %s (%s %s, %s)", a.Name, a.Provider, a.Region, strings.Join(a.Users, ", "))
	}
	return Reply{Text: b.String()}
}

func (s *Service) status(ctx context.Context, a Actor, p Person, id string) Reply {
	if id == "" {
		reqs, err := s.store.Open(ctx, p.Name)
		if err != nil {
			return s.failed(ctx, "list open requests", err)
		}
		if len(reqs) == 0 {
			return Reply{Text: "You have no open requests."}
		}
		var b strings.Builder
		b.WriteString("Your open requests:")
		for _, r := range reqs {
			b.WriteString("\n• " + Summary(r))
		}
		return Reply{Text: b.String()}
	}
	req, err := s.store.Get(ctx, id)
	if err != nil {
		return s.failed(ctx, "get "+id, err)
	}
	if req.Requester != p.Name && !s.mayVote(p, a, req) {
		return fail(Errorf(ENOTFOUND, "no request %s that you asked for or may approve", id))
	}
	return Reply{Text: Summary(req), Request: &req}
}

func (s *Service) ask(ctx context.Context, a Actor, p Person, cmd Command) Reply {
	acct, ok := s.accounts[cmd.Account]
	if !ok || !p.In(acct.Requesters) {
		detail := "asked for unknown account " + cmd.Account
		if ok {
			detail = "not a requester of " + cmd.Account
		}
		s.audit(ctx, Event{Kind: EventRefused, Actor: p.Name, Platform: a.Platform, Detail: detail})
		return fail(Errorf(EFORBIDDEN, "you may not ask for %q: `/reset-password list` shows the accounts you may ask for", cmd.Account))
	}
	users, err := PickUsers(acct, cmd.Users)
	if err != nil {
		return fail(err)
	}
	req := s.newRequest(acct, a, p, users, cmd.Reason)
	review, notice, notOnCall := s.onCall(ctx, acct, p, req.CreatedAt)
	req.Notice = notice
	if review != nil {
		onCall := req
		onCall.Reminders, onCall.Escalation, onCall.Review = nil, nil, review
		created, err := s.create(ctx, onCall)
		if err == nil {
			s.metrics.Event(EventRequested)
			s.metrics.Event(EventApproved)
			s.metrics.Decided(StateApproved, 0)
			s.skippedVote(ctx, created, acct)
			return Reply{Request: &created, Text: fmt.Sprintf("%s: you are on call (%s), so PagerDuty approved the reset of %s (%s) without a vote. "+
				"The bot is sending you a direct message with a Reveal button, valid for %s. An approver must confirm it by %s; rejected, or not confirmed by then, the password is reset again and shown to nobody.",
				created.ID, review.Detail, acct.Name, strings.Join(created.Users, ", "), shortDuration(acct.RevealWithin), timeOfDay(review.Due))}
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != EFORBIDDEN || e.ID == "" {
			return s.createFailed(ctx, err)
		}
		// locked by a rejected review: approvers vote, as the lock asks
		req.Notice = "No on-call auto-approval: " + e.Message + "."
	}
	created, err := s.create(ctx, req)
	if err != nil {
		return s.createFailed(ctx, err)
	}
	req = created
	req.Approvals = Needed(req.Rules)
	s.metrics.Event(EventRequested)
	s.postCards(ctx, req)
	text := fmt.Sprintf("%s: asked to reset %s (%s). Waiting for %s; expires %s.",
		req.ID, acct.Name, strings.Join(req.Users, ", "), needs(req.Rules), req.ExpiresAt.Format("15:04 MST"))
	switch {
	case req.Notice != "":
		text += " " + req.Notice
	case notOnCall != "":
		text += " No on-call auto-approval: " + notOnCall + "."
	}
	return Reply{Request: &req, Text: text}
}

// newRequest is a pending request by p, acting as a, to reset users of
// acct, asked now.
func (s *Service) newRequest(acct Account, a Actor, p Person, users []string, reason string) Request {
	now := s.clock.Now().UTC().Truncate(time.Millisecond)
	req := Request{
		Account:   acct.Name,
		Users:     users,
		Reason:    reason,
		Requester: p.Name,
		Platform:  a.Platform,
		State:     StatePending,
		Rules:     RequestRules(acct, s.people, p.Name),
		CreatedAt: now,
		UpdatedAt: now,
		ExpiresAt: now.Add(acct.TTL),
		Refs:      a.Refs,
		RefsFor:   a.RefsFor,
	}
	req.Reminders, req.Escalation = s.timers(acct, p.Name, now)
	return req
}

// create stores req under a new ID, trying another when the ID is taken.
func (s *Service) create(ctx context.Context, req Request) (Request, error) {
	for try := 0; ; try++ {
		var err error
		if req.ID, err = s.newID(); err != nil {
			return Request{}, fmt.Errorf("make a request ID: %w", err)
		}
		created, err := s.store.Create(ctx, req, s.limit)
		s.oweIfUnconfirmed(ctx, req.ID, err)
		var e *Error
		if errors.As(err, &e) && e.Code == ECONFLICT && try < 3 {
			continue // the ID was taken: another try with a new one
		}
		return created, err
	}
}

// createFailed is the answer to an ask the store refused or failed.
func (s *Service) createFailed(ctx context.Context, err error) Reply {
	var e *Error
	if errors.As(err, &e) {
		switch e.Code {
		case EDUPLICATE:
			return Reply{Text: e.Message, Err: err, Request: &Request{ID: e.ID}}
		case EFORBIDDEN, ERATELIMIT:
			return fail(err)
		}
	}
	return s.failed(ctx, "create a request", err)
}

// PickUsers checks the users a requester named against the account, and
// returns the users to reset: all of the account's when none is named.
func PickUsers(acct Account, named []string) ([]string, error) {
	if len(named) == 0 {
		return append([]string(nil), acct.Users...), nil
	}
	if !acct.Selectable {
		return nil, Errorf(EINVALID, "account %s resets %s only: leave out the users. Write: /reset-password %s <reason>",
			acct.Name, strings.Join(acct.Users, ", "), acct.Name)
	}
	for i, u := range named {
		if !slices.Contains(acct.Users, u) {
			return nil, Errorf(EINVALID, "account %s has no user %q: its users are %s", acct.Name, u, strings.Join(acct.Users, ", "))
		}
		if slices.Contains(named[:i], u) {
			return nil, Errorf(EINVALID, "user %q is named twice", u)
		}
	}
	return named, nil
}

// mayVote reports whether p, acting as a, may vote on req: whether one of
// the rules req recorded admits them, as the store's vote script decides.
// A request without recorded rules (an earlier version's) takes the
// account's approvers as they stand.
//
// The requester is in none of their request's rules; they may vote in the
// sense that their vote reaches the store, whose refusal says it is their
// own, when the account's rules name them.
func (s *Service) mayVote(p Person, a Actor, req Request) bool {
	acct := s.accounts[req.Account]
	if len(req.Rules) == 0 {
		return s.mayApprove(p, a, acct)
	}
	if p.Name == req.Requester {
		for _, r := range RequestRules(acct, []Person{p}, "") {
			if r.Admits(p.Name, discordRoles(a)) {
				return true
			}
		}
		return false
	}
	return len(req.RulesOf(p.Name, discordRoles(a))) > 0
}

// discordRoles are the roles a's vote carries: a rule admits holders of a
// Discord role only when they act from Discord.
func discordRoles(a Actor) []string {
	if a.Platform != PlatformDiscord {
		return nil
	}
	return a.Roles
}

func (s *Service) mayApprove(p Person, a Actor, acct Account) bool {
	if p.In(acct.Approvers) {
		return true
	}
	if a.Platform == PlatformDiscord {
		for _, r := range a.Roles {
			for _, ar := range acct.ApproverRoles {
				if r == ar {
					return true
				}
			}
		}
	}
	return false
}

func (s *Service) vote(ctx context.Context, a Actor, p Person, cmd Command) Reply {
	req, err := s.store.Get(ctx, cmd.ID)
	if err != nil {
		return s.failed(ctx, "get "+cmd.ID, err)
	}
	acct := s.accounts[req.Account]
	if !s.mayVote(p, a, req) {
		refusal := notYet(req, p.Name)
		if refusal == nil {
			refusal = NotApprover(req)
		}
		s.audit(ctx, Event{Kind: EventRefused, RequestID: req.ID, Actor: p.Name, Platform: a.Platform, Detail: refusal.Message})
		return fail(refusal)
	}
	v := Vote{Person: p.Name, Platform: a.Platform, Approve: cmd.Kind == KindApprove, Reason: cmd.Reason,
		At: s.clock.Now().UTC().Truncate(time.Millisecond), Roles: discordRoles(a)}
	req, err = s.store.Vote(ctx, cmd.ID, v)
	s.oweIfUnconfirmed(ctx, cmd.ID, err)
	if err != nil {
		return s.failed(ctx, "vote on "+cmd.ID, err)
	}
	s.metrics.Event(EventVoted)
	switch req.State {
	case StateApproved:
		s.metrics.Event(EventApproved)
		s.metrics.Decided(req.State, v.At.Sub(req.CreatedAt))
	case StateDenied:
		s.metrics.Event(EventDenied)
		s.metrics.Decided(req.State, v.At.Sub(req.CreatedAt))
	}
	s.updateCards(ctx, req)
	switch req.State {
	case StateApproved:
		s.tell(ctx, req, approvedNotice(req, acct))
	case StateDenied:
		s.tell(ctx, req, fmt.Sprintf("%s was denied by %s%s.", req.ID, p.Name, because(v.Reason)))
	default:
		s.tell(ctx, req, fmt.Sprintf("%s: %s approved (%s).", req.ID, p.Name, ProgressText(req.Progress())))
	}
	verb := "approved"
	if !v.Approve {
		verb = "denied"
	}
	return Reply{Request: &req, Text: fmt.Sprintf("You %s %s. It is now %s.", verb, req.ID, req.State)}
}

// approvedNotice tells the requester what comes after the approval.
func approvedNotice(req Request, acct Account) string {
	return fmt.Sprintf("%s was approved by %s. Nothing is reset yet: the bot is sending you a direct message with a Reveal button, valid for %s. "+
		"Press it (or type /reset-password reveal %s) when you are ready: the password is reset then, and shown to you alone.",
		req.ID, ApprovedBy(req), shortDuration(acct.RevealWithin), req.ID)
}

// CheckVote tells whether actor may vote on request id now, without voting:
// adapters ask it before opening a form (Deny's reason) that would
// otherwise be refused only once filled in. The refusal, an *Error with the
// codes of Handle's votes, is audited as an attempt.
func (s *Service) CheckVote(ctx context.Context, a Actor, id string) error {
	p, ok := s.Person(a.Platform, a.UserID)
	if !ok {
		return s.stranger(ctx, a, id, "to vote")
	}
	req, err := s.store.Get(ctx, id)
	if err != nil {
		return s.failed(ctx, "get "+id, err).Err
	}
	var refusal *Error
	switch {
	case !s.mayVote(p, a, req):
		if refusal = notYet(req, p.Name); refusal == nil {
			refusal = NotApprover(req)
		}
	case req.Requester == p.Name:
		refusal = Errorf(EFORBIDDEN, "you cannot deny your own request; cancel it instead")
	case req.State != StatePending:
		refusal = Errorf(ECONFLICT, "%s is already %s", req.ID, req.State)
	case !s.clock.Now().Before(req.ExpiresAt):
		refusal = Errorf(ECONFLICT, "%s has expired", req.ID)
	default:
		if _, voted := req.voteOf(p.Name); voted {
			refusal = Errorf(EFORBIDDEN, "you already voted on %s", req.ID)
		}
	}
	if refusal != nil {
		s.audit(ctx, Event{Kind: EventRefused, RequestID: id, Actor: p.Name, Platform: a.Platform, Detail: refusal.Message})
		return refusal
	}
	return nil
}

func (s *Service) cancel(ctx context.Context, a Actor, p Person, id string) Reply {
	req, err := s.store.Cancel(ctx, id, p.Name, a.Platform)
	s.oweIfUnconfirmed(ctx, id, err)
	if err != nil {
		return s.failed(ctx, "cancel "+id, err)
	}
	s.metrics.Event(EventCancelled)
	s.updateCards(ctx, req)
	return Reply{Request: &req, Text: req.ID + " is cancelled."}
}
