package approvals_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"resetbot/approvals"
	"resetbot/bot"
	"resetbot/internal/redistest"
	"resetbot/internal/testkit"
)

// server is a kind of Redis the conformance suite runs against.
type server struct {
	name string
	// addr returns the address of a server the test may use.
	addr func(t *testing.T) string
	// client, when set, returns a new client of the server (a Cluster's or
	// a Sentinel setup's, for which addr is not enough); nil: a client of
	// addr.
	client func(t *testing.T) redis.UniversalClient
	// replicas is how many replicas the stores wait for (Options.Replicas).
	replicas int
}

// deployments are the Redis setups users run besides one node: a real
// Cluster and a real Sentinel setup, made of the same redis-server.
func deployments() []server {
	return []server{
		{name: "Cluster", client: func(t *testing.T) redis.UniversalClient {
			c, _ := redistest.ClusterClient(t)
			return c
		}},
		{name: "Sentinel", client: func(t *testing.T) redis.UniversalClient {
			c, _ := redistest.SharedSentinel(t).Client(t)
			return c
		}, replicas: 1},
	}
}

func servers() []server {
	return []server{
		{name: "RedisServer", addr: func(t *testing.T) string { return redistest.Addr(t) }},
		{name: "Miniredis", addr: func(t *testing.T) string { return miniredis.RunT(t).Addr() }},
	}
}

// suiteCase is one case of a conformance suite.
type suiteCase struct {
	name string
	run  func(t *testing.T, e *env)
}

// runSuite runs every case of a conformance suite, in parallel, on each
// of srvs, each case with an env of its own.
func runSuite(t *testing.T, srvs []server, suite []suiteCase) {
	for _, srv := range srvs {
		t.Run(srv.name, func(t *testing.T) {
			for _, tc := range suite {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, newEnv(t, srv))
				})
			}
		})
	}
}

// env is one test's view of a server: a key prefix of its own, a clock, a
// raw client to look at keys, and a store.
type env struct {
	t      *testing.T
	srv    server
	addr   string
	prefix string
	clock  *testkit.Clock
	raw    redis.UniversalClient
	store  *approvals.Store
}

func newEnv(t *testing.T, srv server) *env {
	t.Helper()
	e := &env{
		t:      t,
		srv:    srv,
		prefix: "test:" + t.Name() + ":" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":",
		clock:  testkit.NewClock(time.Date(2030, 1, 2, 9, 30, 0, 0, time.UTC)),
	}
	if srv.client != nil {
		e.raw = srv.client(t)
	} else {
		e.addr = srv.addr(t)
		e.raw = redis.NewClient(&redis.Options{Addr: e.addr})
	}
	t.Cleanup(func() {
		// The shared redis-server outlives the test: leave nothing behind.
		// (A Cluster's client scans one node, which holds them all: they
		// share one hash slot.)
		ctx := context.Background()
		iter := e.raw.Scan(ctx, 0, globEscape("{"+e.prefix+"}")+"*", 1000).Iterator()
		for iter.Next(ctx) {
			e.raw.Del(ctx, iter.Val())
		}
		_ = e.raw.Close()
	})
	e.store = e.newStore()
	return e
}

func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// newStore returns another store on a client of its own, as another process
// would have.
func (e *env) newStore() *approvals.Store {
	c := e.newClient()
	return approvals.New(c, approvals.Options{Prefix: e.prefix, Clock: e.clock, Poll: 50 * time.Millisecond,
		Replicas: e.srv.replicas})
}

// newClient is a new client of the test's server, closed when the test ends.
func (e *env) newClient() redis.UniversalClient {
	var c redis.UniversalClient
	if e.srv.client != nil {
		c = e.srv.client(e.t)
	} else {
		c = redis.NewClient(&redis.Options{Addr: e.addr})
	}
	e.t.Cleanup(func() { _ = c.Close() })
	return c
}

func (e *env) key(name string) string { return "{" + e.prefix + "}" + name }

// request is a pending request of requester for account, due in 30 minutes.
func (e *env) request(id, requester, account string, approvals int) bot.Request {
	return bot.Request{
		ID:        id,
		Account:   account,
		Users:     []string{"app_user"},
		Reason:    "locked out during the incident",
		Requester: requester,
		Platform:  bot.PlatformSlack,
		Approvals: approvals,
		ExpiresAt: e.clock.Now().Add(30 * time.Minute),
	}
}

func (e *env) mustCreate(req bot.Request) bot.Request {
	e.t.Helper()
	got, err := e.store.Create(ctx(e.t), req, bot.Limit{})
	if err != nil {
		e.t.Fatalf("Create(%s): %v", req.ID, err)
	}
	return got
}

func (e *env) mustVote(id, person string, approve bool) bot.Request {
	e.t.Helper()
	got, err := e.store.Vote(ctx(e.t), id, bot.Vote{Person: person, Platform: bot.PlatformDiscord, Approve: approve})
	if err != nil {
		e.t.Fatalf("Vote(%s, %s): %v", id, person, err)
	}
	return got
}

// approved creates a request needing one approval and approves it.
func (e *env) approved(id, requester string) bot.Request {
	e.t.Helper()
	e.mustCreate(e.request(id, requester, "acct-"+id, 1))
	r := e.mustVote(id, "bob", true)
	if r.State != bot.StateApproved {
		e.t.Fatalf("state after the approval: got %s, want approved", r.State)
	}
	return r
}

func (e *env) mustGet(id string) bot.Request {
	e.t.Helper()
	r, err := e.store.Get(ctx(e.t), id)
	if err != nil {
		e.t.Fatalf("Get(%s): %v", id, err)
	}
	return r
}

func (e *env) events(id string) []bot.Event {
	e.t.Helper()
	evs, err := e.store.AuditLog(ctx(e.t), bot.AuditQuery{RequestID: id})
	if err != nil {
		e.t.Fatalf("AuditLog: %v", err)
	}
	return evs
}

// mustNext claims the next request for consumer, or fails the test.
func (e *env) mustNext(s *approvals.Store, consumer string, lease time.Duration) bot.Claim {
	e.t.Helper()
	c, err := s.Next(ctx(e.t), consumer, lease)
	if err != nil {
		e.t.Fatalf("Next(%s): %v", consumer, err)
	}
	return c
}

// wantNothingNext checks that Next finds nothing to claim while it polls a
// few times.
func (e *env) wantNothingNext(s *approvals.Store, consumer string, lease time.Duration) {
	e.t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	got, err := s.Next(c, consumer, lease)
	if !errors.Is(err, context.DeadlineExceeded) {
		e.t.Fatalf("Next: got claim of %q, err %v; want nothing to claim", got.Request.ID, err)
	}
}

// ctx is a context for one call, bounded so that a hung call fails the test.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// wantError checks err is a *bot.Error with code and returns it.
func wantError(t *testing.T, err error, code string) *bot.Error {
	t.Helper()
	var be *bot.Error
	if !errors.As(err, &be) {
		t.Fatalf("got error %v, want a *bot.Error with code %s", err, code)
	}
	if be.Code != code {
		t.Fatalf("got code %s (%q), want %s", be.Code, be.Message, code)
	}
	return be
}

// findEvent returns the first event of kind by actor.
func findEvent(evs []bot.Event, kind bot.EventKind, actor string) (bot.Event, bool) {
	for _, ev := range evs {
		if ev.Kind == kind && ev.Actor == actor {
			return ev, true
		}
	}
	return bot.Event{}, false
}

func kinds(evs []bot.Event) string {
	var k []string
	for _, ev := range evs {
		k = append(k, string(ev.Kind)+"/"+ev.Actor)
	}
	return fmt.Sprint(k)
}

// msTime is t at the store's resolution, as the store returns it.
func msTime(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()) }

// onCommand signals seen whenever its client sends the command name.
type onCommand struct {
	name string
	seen chan<- struct{}
}

func (h onCommand) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h onCommand) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == h.name {
			select {
			case h.seen <- struct{}{}:
			default:
			}
		}
		return next(ctx, cmd)
	}
}

func (h onCommand) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
