package bot

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sort"
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
	// OnCall tells who is on call (PagerDuty), for accounts with an
	// on_call policy; nil: no on-call auto-approval.
	OnCall OnCall

	Clock   Clock     // nil: the wall clock
	Rand    io.Reader // request IDs; nil: crypto/rand
	Log     Logger    // nil: discard
	Metrics Metrics   // nil: none

	// Lease is how long an executor holds a request before another process
	// may take it over as stale. It must exceed a provider call's timeout
	// with its retries. Zero: 2 minutes.
	Lease time.Duration

	// Workers is how many requests one executor (RunExecutor) handles at
	// once. Zero: 4.
	Workers int

	// DataLost, when set, is called each time the service finds that the
	// store lost its data (Store.Epoch); cmd/resetbot counts it.
	DataLost func()
}

// Metrics counts what the service does; cmd/resetbot backs it with
// Prometheus. Labels never carry a password, nor anything a person typed.
type Metrics interface {
	Event(kind EventKind)                                     // an audit event
	Execution(provider ProviderKey, d time.Duration, ok bool) // one provider call
	// Decided: a request was decided (StateApproved, StateDenied, or
	// StateExpired unapproved) d after it was asked. Requests that skip
	// the vote (break-glass, on call) are decided at once.
	Decided(decision State, d time.Duration)
	// Revealed: a requester was shown a new password d after their
	// request was approved.
	Revealed(d time.Duration)
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
	workers   int
	log       Logger
	metrics   Metrics
	oncall    OnCall

	randMu sync.Mutex
	rand   io.Reader

	dataLost func()
	upkeep   upkeep // the store's epoch, and the sweeper's chores (epoch.go)
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
		workers:   opts.Workers,
		log:       opts.Log,
		metrics:   opts.Metrics,
		oncall:    opts.OnCall,
		rand:      opts.Rand,
		dataLost:  opts.DataLost,
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
	if s.workers <= 0 {
		s.workers = 4
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
		if a.RevealWithin <= 0 {
			a.RevealWithin = 30 * time.Minute
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
	// interaction token, for ephemeral status updates while it lasts).
	Refs map[RefKey]string
	// RefsFor is how long Refs can be used (Discord's interaction token:
	// 15 minutes); the store keeps them no longer, and drops them when the
	// request ends. 0: as long as the request.
	RefsFor time.Duration
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

func (s *Service) personByName(name string) (Person, bool) {
	for _, p := range s.people {
		if p.Name == name {
			return p, true
		}
	}
	return Person{Name: name}, false
}

// event is e with its time set, when unset, from the service's clock.
func (s *Service) event(e Event) Event {
	if e.Time.IsZero() {
		e.Time = s.clock.Now().UTC()
	}
	return e
}

func (s *Service) audit(ctx context.Context, e Event) {
	e = s.event(e)
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
	err = s.vanished(ctx, err)
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

type discard struct{}

func (discard) Info(string, ...any)  {}
func (discard) Error(string, ...any) {}

type noMetrics struct{}

func (noMetrics) Event(EventKind)                            {}
func (noMetrics) Execution(ProviderKey, time.Duration, bool) {}
func (noMetrics) Decided(State, time.Duration)               {}
func (noMetrics) Revealed(time.Duration)                     {}
