package bot

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Options are what a Service is made of. cmd/resetbot fills them in.
type Options struct {
	Store     Store
	Providers map[ProviderKey]Provider // by provider key ("tencent.cam"); a key may repeat a value
	Notifiers []Notifier               // one per configured chat platform
	People    []Person
	Accounts  []Account
	Limit     Limit // per requester; zero: 10 an hour

	Clock   Clock     // nil: the wall clock
	Rand    io.Reader // request IDs; nil: crypto/rand
	Log     Logger    // nil: discard
	Metrics Metrics   // nil: none

	// Lease is how long an executor holds a request before another process
	// may take it over as stale. It must exceed a provider call's timeout
	// with its retries. Zero: 2 minutes.
	Lease time.Duration
}

// Metrics counts what the service does; cmd/resetbot backs it with
// Prometheus. Labels never carry a password.
type Metrics interface {
	Event(kind EventKind)                                     // an audit event
	Execution(provider ProviderKey, d time.Duration, ok bool) // one provider call
}

// Service runs resets end to end: it checks policy, keeps state in the
// Store, executes approved requests through Providers and tells people
// through Notifiers.
type Service struct {
	store     Store
	providers map[ProviderKey]Provider
	notifiers map[Platform]Notifier
	platforms []Platform // configured, in a stable order
	people    []Person
	accounts  map[string]Account
	limit     Limit
	clock     Clock
	lease     time.Duration
	log       Logger
	metrics   Metrics

	randMu sync.Mutex
	rand   io.Reader
}

// New checks opts and makes a Service.
func New(opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("bot: no store")
	}
	s := &Service{
		store:     opts.Store,
		providers: opts.Providers,
		notifiers: map[Platform]Notifier{},
		people:    opts.People,
		accounts:  map[string]Account{},
		limit:     opts.Limit,
		clock:     opts.Clock,
		lease:     opts.Lease,
		log:       opts.Log,
		metrics:   opts.Metrics,
		rand:      opts.Rand,
	}
	if s.limit.N == 0 {
		s.limit = Limit{N: 10, Window: time.Hour}
	}
	if s.clock == nil {
		s.clock = SystemClock{}
	}
	if s.lease == 0 {
		s.lease = 2 * time.Minute
	}
	if s.log == nil {
		s.log = discard{}
	}
	if s.metrics == nil {
		s.metrics = noMetrics{}
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	for _, n := range opts.Notifiers {
		if _, dup := s.notifiers[n.Platform()]; dup {
			return nil, fmt.Errorf("bot: two notifiers for %s", n.Platform())
		}
		s.notifiers[n.Platform()] = n
		s.platforms = append(s.platforms, n.Platform())
	}
	for _, a := range opts.Accounts {
		if _, ok := s.providers[a.Provider]; !ok {
			return nil, fmt.Errorf("bot: account %s: no provider %s", a.Name, a.Provider)
		}
		if a.Approvals < 1 {
			a.Approvals = 1
		}
		if a.TTL <= 0 {
			a.TTL = 30 * time.Minute
		}
		s.accounts[a.Name] = a
	}
	return s, nil
}

// Actor is who sent a command, as the adapter saw them.
type Actor struct {
	Platform Platform
	UserID   string   // the platform's user ID
	Roles    []string // Discord role IDs, where known
	// Refs are stored on a request this actor creates (a Discord
	// interaction token, for the password's delivery).
	Refs map[RefKey]string
}

// Reply is the answer to a command, shown to its sender alone.
type Reply struct {
	Text    string
	Request *Request // the request the command was about, if any
	Err     error    // set when the command was refused or failed; Text says why
}

// Person finds who a platform user is.
func (s *Service) Person(p Platform, userID string) (Person, bool) {
	if userID == "" {
		return Person{}, false
	}
	for _, per := range s.people {
		switch {
		case p == PlatformSlack && per.Slack == userID,
			p == PlatformDiscord && per.Discord == userID,
			p == PlatformConsole && per.Name == userID:
			return per, true
		}
	}
	return Person{}, false
}

// Account returns a configured account.
func (s *Service) Account(name string) (Account, bool) {
	a, ok := s.accounts[name]
	return a, ok
}

// AccountsFor returns the accounts person may ask for, by name.
func (s *Service) AccountsFor(p Person) []Account {
	var out []Account
	for _, a := range s.accounts {
		if p.In(a.Requesters) {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// HandleText parses text and runs it: what adapters call for typed commands.
func (s *Service) HandleText(ctx context.Context, a Actor, text string) Reply {
	cmd, err := Parse(text)
	if err != nil {
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
		return Reply{Text: Usage}
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
	}
	return fail(Errorf(EINVALID, "unknown command. %s", Usage))
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
	acct := s.accounts[req.Account]
	if req.Requester != p.Name && !s.mayApprove(p, a, acct) {
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
	now := s.clock.Now().UTC().Truncate(time.Millisecond)
	req := Request{
		Account:   acct.Name,
		Users:     users,
		Reason:    cmd.Reason,
		Requester: p.Name,
		Platform:  a.Platform,
		State:     StatePending,
		Approvals: acct.Approvals,
		CreatedAt: now,
		UpdatedAt: now,
		ExpiresAt: now.Add(acct.TTL),
		Refs:      a.Refs,
	}
	for try := 0; ; try++ {
		if req.ID, err = s.newID(); err != nil {
			return s.failed(ctx, "make a request ID", err)
		}
		created, err := s.store.Create(ctx, req, s.limit)
		var e *Error
		if errors.As(err, &e) && e.Code == ECONFLICT && try < 3 {
			continue // the ID was taken: another try with a new one
		}
		if err != nil {
			if errors.As(err, &e) && e.Code == EDUPLICATE {
				return Reply{Text: e.Message, Err: err, Request: &Request{ID: e.ID}}
			}
			return s.failed(ctx, "create a request", err)
		}
		req = created
		break
	}
	s.metrics.Event(EventRequested)
	s.postCards(ctx, req)
	return Reply{Request: &req, Text: fmt.Sprintf("%s: asked to reset %s (%s). Waiting for %s from %s; expires %s.",
		req.ID, acct.Name, strings.Join(req.Users, ", "), plural(req.Approvals, "approval"),
		strings.Join(acct.Approvers, ", "), req.ExpiresAt.Format("15:04 MST"))}
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
	if !s.mayApprove(p, a, acct) {
		s.audit(ctx, Event{Kind: EventRefused, RequestID: req.ID, Actor: p.Name, Platform: a.Platform,
			Detail: "not an approver of " + req.Account})
		return fail(Errorf(EFORBIDDEN, "you are not an approver of %s", req.Account))
	}
	v := Vote{Person: p.Name, Platform: a.Platform, Approve: cmd.Kind == KindApprove, Reason: cmd.Reason,
		At: s.clock.Now().UTC().Truncate(time.Millisecond)}
	req, err = s.store.Vote(ctx, cmd.ID, v)
	if err != nil {
		return s.failed(ctx, "vote on "+cmd.ID, err)
	}
	s.metrics.Event(EventVoted)
	s.updateCards(ctx, req)
	switch req.State {
	case StateApproved:
		next := "resetting now."
		if closed, o := s.closedWindow(req); closed && o != nil {
			next = "the bot can no longer show you the password here, so it will send you a Reveal button: the reset runs when you press it."
		}
		s.tell(ctx, req, fmt.Sprintf("%s was approved by %s; %s", req.ID, approvers(req), next))
	case StateDenied:
		s.tell(ctx, req, fmt.Sprintf("%s was denied by %s%s.", req.ID, p.Name, because(v.Reason)))
	default:
		s.tell(ctx, req, fmt.Sprintf("%s: %s approved (%d of %d).", req.ID, p.Name, req.Approved(), req.Approvals))
	}
	verb := "approved"
	if !v.Approve {
		verb = "denied"
	}
	return Reply{Request: &req, Text: fmt.Sprintf("You %s %s. It is now %s.", verb, req.ID, req.State)}
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
	case !s.mayApprove(p, a, s.accounts[req.Account]):
		refusal = Errorf(EFORBIDDEN, "you are not an approver of %s", req.Account)
	case req.Requester == p.Name:
		refusal = Errorf(EFORBIDDEN, "you cannot deny your own request; cancel it instead")
	case req.State != StatePending:
		refusal = Errorf(ECONFLICT, "%s is already %s", req.ID, req.State)
	case !s.clock.Now().Before(req.ExpiresAt):
		refusal = Errorf(ECONFLICT, "%s has expired", req.ID)
	default:
		if _, voted := req.VoteOf(p.Name); voted {
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
	if err != nil {
		return s.failed(ctx, "cancel "+id, err)
	}
	s.metrics.Event(EventCancelled)
	s.updateCards(ctx, req)
	return Reply{Request: &req, Text: req.ID + " is cancelled."}
}

// RunExecutor executes approved requests until ctx ends. consumer names this
// process in the queue; every process must use its own.
func (s *Service) RunExecutor(ctx context.Context, consumer string) error {
	for {
		c, err := s.store.Next(ctx, consumer, s.lease)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			s.log.Error("take the next request", "err", err)
			select { // the store is down: wait a little, then try again
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		// A reset under way finishes even when shutdown begins: cutting it
		// off would leave its outcome unknown. Providers bound each call.
		s.Execute(context.WithoutCancel(ctx), c)
	}
}

// Execute runs one claimed request: the provider call, the delivery, the
// final state. Exported for tests and the playground's step-by-step mode.
func (s *Service) Execute(ctx context.Context, c Claim) {
	req := c.Request
	if c.Stale {
		s.finish(ctx, c, StateFailed, fmt.Sprintf("outcome unknown for %s: the bot stopped during the reset; check the account before asking again", req.Account))
		return
	}
	acct, prov, ok := s.target(req)
	if !ok {
		s.finish(ctx, c, StateFailed, fmt.Sprintf("account %s is no longer configured", req.Account))
		return
	}
	if closed, o := s.closedWindow(req); closed {
		if o != nil {
			s.offer(ctx, c, acct, o)
			return
		}
		s.finish(ctx, c, StateFailed, fmt.Sprintf("not reset: the approval came after %s stopped letting the bot show %s the password privately; ask again and have it approved sooner",
			req.Platform, req.Requester))
		return
	}
	s.updateCards(ctx, req)
	results, outcome, ok := s.reset(ctx, req, acct, prov)
	if !ok {
		s.finish(ctx, c, StateFailed, outcome)
		return
	}
	var err error
	if n, ok := s.notifiers[req.Platform]; ok {
		p, _ := s.personByName(req.Requester)
		err = s.retry(ctx, func() error { return n.Deliver(ctx, p, req, results) })
	} else {
		err = Errorf(EUNAVAILABLE, "%s is not configured, so the password cannot reach %s", req.Platform, req.Requester)
	}
	s.finish(ctx, c, StateSucceeded, s.delivered(ctx, req, outcome, "", err))
}

// closedWindow reports whether req's password could no longer be shown on
// the platform where it was asked, and what can offer it there instead (nil
// when nothing can).
func (s *Service) closedWindow(req Request) (bool, Notifier) {
	n, ok := s.notifiers[req.Platform]
	if !ok || n.CanDeliver(req) {
		return false, nil
	}
	return true, n
}

// target is the account of req and its provider, while both are configured.
func (s *Service) target(req Request) (Account, Provider, bool) {
	acct, ok := s.accounts[req.Account]
	prov := s.providers[acct.Provider]
	return acct, prov, ok && prov != nil
}

// reset calls the provider for req. It returns the results and the outcome
// to record, and false when no user was reset.
func (s *Service) reset(ctx context.Context, req Request, acct Account, prov Provider) ([]UserResult, string, bool) {
	start := s.clock.Now()
	results, err := prov.Reset(ctx, acct, req.Users)
	s.metrics.Execution(acct.Provider, s.clock.Now().Sub(start), err == nil)
	if err != nil {
		s.log.Error("reset failed", "request", req.ID, "account", acct.Name, "err", err)
		return nil, ErrorMessage(err), false
	}
	var done, failed []string
	for _, r := range results {
		if r.Err != nil {
			failed = append(failed, r.User+": "+ErrorMessage(r.Err))
		} else {
			done = append(done, r.User)
		}
	}
	if len(done) == 0 {
		if len(failed) == 0 {
			failed = []string{"the cloud API reported no user as reset"}
		}
		return results, strings.Join(failed, "; "), false
	}
	outcome := "reset " + strings.Join(done, ", ")
	if len(failed) > 0 {
		outcome += "; not reset: " + strings.Join(failed, "; ")
	}
	return results, outcome, true
}

// delivered audits whether the passwords reached the requester (err is the
// delivery's error) and returns the outcome to record.
func (s *Service) delivered(ctx context.Context, req Request, outcome, how string, err error) string {
	if err != nil {
		s.log.Error("deliver password", "request", req.ID, "err", err)
		s.audit(ctx, Event{Kind: EventDeliveryFailed, RequestID: req.ID, Actor: "system", Platform: req.Platform, Detail: ErrorMessage(err)})
		return outcome + "; the new password could not be delivered: ask again"
	}
	s.audit(ctx, Event{Kind: EventDelivered, RequestID: req.ID, Actor: "system", Platform: req.Platform,
		Detail: "to " + req.Requester + how})
	s.metrics.Event(EventDelivered)
	return outcome
}

// retry calls a chat API through fn, again after a pause while it answers
// EUNAVAILABLE: a hiccup should not lose a password that now exists.
func (s *Service) retry(ctx context.Context, fn func() error) error {
	const tries = 3
	var err error
	for try := 0; try < tries; try++ {
		if err = fn(); err == nil || ErrorCode(err) != EUNAVAILABLE || try == tries-1 {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(try+1) * 500 * time.Millisecond):
		}
	}
	return err
}

// offer leaves a claimed request approved, unreset, and asks its requester
// to press Reveal within the account's TTL: the reset runs at that click
// (Reveal), when the password can be shown.
func (s *Service) offer(ctx context.Context, c Claim, acct Account, o Notifier) {
	req := c.Request
	by := s.clock.Now().Add(acct.TTL).UTC().Truncate(time.Millisecond)
	outcome := fmt.Sprintf("not reset yet: waiting for %s to press Reveal in a direct message on %s, until %s",
		req.Requester, req.Platform, by.Format("15:04 MST"))
	offered, err := s.store.Offer(ctx, c, by, outcome)
	if err != nil {
		// Nothing was reset. Fail it now, if the claim still holds, rather
		// than leave it to a takeover that would call its outcome unknown.
		s.log.Error("offer Reveal", "request", req.ID, "err", err)
		if ErrorCode(err) != ECONFLICT {
			s.finish(ctx, c, StateFailed, fmt.Sprintf("not reset: the approval came after %s stopped letting the bot show %s the password on the request, and the Reveal offer could not be recorded (%s); ask again",
				req.Platform, req.Requester, ErrorMessage(err)))
		}
		return
	}
	s.metrics.Event(EventOffered)
	s.updateCards(ctx, offered)
	p, _ := s.personByName(req.Requester)
	var ref string
	err = s.retry(ctx, func() error {
		var err error
		ref, err = o.Offer(ctx, p, offered)
		return err
	})
	if err != nil {
		s.chatFault(ctx, offered, req.Platform, "send "+req.Requester+" the Reveal button", err)
		s.finish(ctx, c, StateFailed, fmt.Sprintf("not reset: the approval came after %s stopped letting the bot show %s the password on the request, and the Reveal button could not be sent (%s); ask again",
			req.Platform, req.Requester, ErrorMessage(err)))
		return
	}
	if err := s.store.SetRef(ctx, req.ID, Ref(RefOffer, req.Platform), ref); err != nil {
		s.log.Error("remember the Reveal offer", "request", req.ID, "err", err)
		return
	}
	// Ended (cancelled) while the offer was on its way: nothing else will
	// withdraw it.
	if cur, err := s.store.Get(ctx, req.ID); err == nil && cur.State.Terminal() {
		s.withdrawOffer(ctx, cur)
	}
}

// withdrawOffer takes the Reveal button off a request's offer once the
// request has ended, so that no dead button stays in a direct message.
func (s *Service) withdrawOffer(ctx context.Context, req Request) {
	ref := req.Refs[Ref(RefOffer, req.Platform)]
	o, ok := s.notifiers[req.Platform]
	if ref == "" || !ok || !req.State.Terminal() {
		return
	}
	if err := o.Withdraw(ctx, req, ref); err != nil {
		s.chatFault(ctx, req, req.Platform, "take the Reveal button off the offer", err)
	}
}

// Reveal runs the reset of a request waiting for Reveal, at its requester's
// click, and hands the new passwords to show, which displays them to a
// alone (and returns an error if it could not). The passwords exist only
// during this call. Errors are *Error: ENOTFOUND, EFORBIDDEN (a is not the
// requester), ECONFLICT (the request is not waiting for Reveal, or its time
// is up), EUNAVAILABLE (the store is down, or show failed after the reset),
// or EPROVIDER when the reset failed.
func (s *Service) Reveal(ctx context.Context, a Actor, id string, show func(context.Context, []UserResult) error) error {
	p, ok := s.Person(a.Platform, a.UserID)
	if !ok {
		return s.stranger(ctx, a, id, "reveal")
	}
	c, err := s.store.ClaimReveal(ctx, id, p.Name, a.Platform, s.lease)
	if err != nil {
		return s.failed(ctx, "reveal "+id, err).Err
	}
	// A reset under way finishes even if the click's context ends.
	ctx = context.WithoutCancel(ctx)
	req := c.Request
	acct, prov, ok := s.target(req)
	if !ok {
		outcome := fmt.Sprintf("account %s is no longer configured", req.Account)
		s.finish(ctx, c, StateFailed, outcome)
		return Errorf(ECONFLICT, "%s failed: %s", id, outcome)
	}
	s.updateCards(ctx, req)
	results, outcome, ok := s.reset(ctx, req, acct, prov)
	if !ok {
		s.finish(ctx, c, StateFailed, outcome)
		return Errorf(EPROVIDER, "%s failed: %s", id, outcome)
	}
	err = s.retry(ctx, func() error { return show(ctx, results) })
	s.finish(ctx, c, StateSucceeded, s.delivered(ctx, req, outcome, ", at the Reveal click", err))
	if err != nil {
		return Errorf(EUNAVAILABLE, "%s was reset, but the new password could not be shown (%s): ask again", id, ErrorMessage(err))
	}
	return nil
}

func (s *Service) finish(ctx context.Context, c Claim, state State, outcome string) {
	req, err := s.store.Finish(ctx, c, state, outcome)
	if err != nil {
		s.log.Error("finish request", "request", c.Request.ID, "state", state, "err", err)
		return
	}
	s.metrics.Event(EventKind(state))
	s.updateCards(ctx, req)
	if state == StateSucceeded {
		s.tell(ctx, req, fmt.Sprintf("%s done: %s.", req.ID, req.Outcome))
	} else {
		s.tell(ctx, req, fmt.Sprintf("%s failed: %s", req.ID, req.Outcome))
	}
}

// RunSweeper expires overdue requests every interval until ctx ends.
func (s *Service) RunSweeper(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.Sweep(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Sweep expires overdue requests once and tells everyone concerned.
func (s *Service) Sweep(ctx context.Context) {
	reqs, err := s.store.ExpireDue(ctx)
	if err != nil {
		s.log.Error("expire requests", "err", err)
		return
	}
	for _, r := range reqs {
		s.metrics.Event(EventExpired)
		s.updateCards(ctx, r)
		s.tell(ctx, r, fmt.Sprintf("%s %s.", r.ID, r.Outcome))
	}
}

func (s *Service) postCards(ctx context.Context, req Request) {
	acct := s.accounts[req.Account]
	for _, pl := range s.platforms {
		ref, err := s.notifiers[pl].Card(ctx, req, acct, "")
		if err != nil {
			s.chatFault(ctx, req, pl, "post the approval card", err)
			continue
		}
		if err := s.store.SetRef(ctx, req.ID, Ref(RefCard, pl), ref); err != nil {
			s.log.Error("remember card", "request", req.ID, "err", err)
		}
	}
}

// updateCards shows req's current state on every platform's card.
//
// Each adapter drops an update older than one it showed, but it knows only
// its own process's updates: a replica's slow edit of an older state can
// land after another replica's newer one. So, once its edits are done, the
// service reads the request again and shows it again when it has moved on
// meanwhile: whichever edit lands last, its sender then sees the newest
// state and shows it.
func (s *Service) updateCards(ctx context.Context, req Request) {
	acct := s.accounts[req.Account]
	for round := 1; ; round++ {
		for _, pl := range s.platforms {
			ref := req.Refs[Ref(RefCard, pl)]
			if ref == "" {
				continue // never posted (the chat API was down): nothing to update
			}
			if _, err := s.notifiers[pl].Card(ctx, req, acct, ref); err != nil {
				s.chatFault(ctx, req, pl, "update the approval card", err)
			}
		}
		if round == 3 || req.Version().Final() { // nothing newer can come
			break
		}
		cur, err := s.store.Get(ctx, req.ID)
		if err != nil || !req.Version().Before(cur.Version()) {
			break
		}
		req = cur
	}
	s.withdrawOffer(ctx, req)
}

// tell sends the requester a status line on the platform they asked from.
func (s *Service) tell(ctx context.Context, req Request, text string) {
	n, ok := s.notifiers[req.Platform]
	if !ok {
		return
	}
	p, _ := s.personByName(req.Requester)
	if err := n.Notify(ctx, p, req, text); err != nil {
		s.chatFault(ctx, req, req.Platform, "notify "+req.Requester, err)
	}
}

func (s *Service) chatFault(ctx context.Context, req Request, pl Platform, what string, err error) {
	s.log.Error(what, "request", req.ID, "platform", pl, "err", err)
	s.audit(ctx, Event{Kind: EventChatError, RequestID: req.ID, Actor: "system", Platform: pl,
		Detail: "could not " + what + ": " + ErrorMessage(err)})
}

func (s *Service) personByName(name string) (Person, bool) {
	for _, p := range s.people {
		if p.Name == name {
			return p, true
		}
	}
	return Person{Name: name}, false
}

func (s *Service) audit(ctx context.Context, e Event) {
	if e.Time.IsZero() {
		e.Time = s.clock.Now().UTC()
	}
	if err := s.store.Audit(ctx, e); err != nil {
		s.log.Error("audit", "event", e.Kind, "err", err)
	}
	if e.Kind == EventRefused {
		s.metrics.Event(e.Kind)
	}
}

// failed turns an error into a reply; internal errors are logged and shown
// only as a reference.
func (s *Service) failed(ctx context.Context, what string, err error) Reply {
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		if e.Code == EUNAVAILABLE {
			s.log.Error(what, "err", err)
		}
		return fail(err)
	}
	s.log.Error(what, "err", err)
	return fail(Errorf(EINTERNAL, "internal error while trying to %s: the bot's log has the details", what))
}

func fail(err error) Reply { return Reply{Text: ErrorMessage(err), Err: err} }

// newID makes a request ID like R-7F3K9Q, without modulo bias.
func (s *Service) newID() (string, error) {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	return NewID(s.rand)
}

// NewID makes a request ID from rnd.
func NewID(rnd io.Reader) (string, error) {
	const n = byte(len(IDAlphabet))
	limit := 256 - 256%int(n) // bytes at or above limit would favour the first letters
	out := []byte(idPrefix)
	var buf [16]byte
	for len(out) < len(idPrefix)+idLength {
		if _, err := io.ReadFull(rnd, buf[:]); err != nil {
			return "", fmt.Errorf("read random bytes: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < len(idPrefix)+idLength {
				out = append(out, IDAlphabet[b%n])
			}
		}
	}
	return string(out), nil
}

// Summary is one line about a request, safe for anyone who may see it.
func Summary(r Request) string {
	s := fmt.Sprintf("%s %s (%s) by %s: %s", r.ID, r.Account, strings.Join(r.Users, ", "), r.Requester, r.State)
	switch r.State {
	case StatePending:
		s += fmt.Sprintf(", %d of %d approvals, expires %s", r.Approved(), r.Approvals, r.ExpiresAt.Format("15:04 MST"))
	case StateApproved, StateOffered, StateSucceeded, StateFailed, StateDenied, StateExpired:
		if r.Outcome != "" {
			s += " — " + r.Outcome
		}
	}
	return s
}

func approvers(r Request) string {
	var names []string
	for _, v := range r.Votes {
		if v.Approve {
			names = append(names, v.Person)
		}
	}
	return strings.Join(names, ", ")
}

func because(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

type discard struct{}

func (discard) Info(string, ...any)  {}
func (discard) Error(string, ...any) {}

type noMetrics struct{}

func (noMetrics) Event(EventKind)                            {}
func (noMetrics) Execution(ProviderKey, time.Duration, bool) {}
