package bot_test

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/approvals"
	"resetbot/bot"
	"resetbot/internal/redistest"
)

// Exactly once while the chat is slow and the store blinks: the Reveal
// claim is re-checked right before the cloud call, renewed while the reset
// runs, and finished through a blip; no chat call holds the reset back.

// watched is a replica's store, watched by the test: every Hold it answers
// goes to holds; while gate is set, Hold waits for it to close; every
// Finish that fails goes to finishErrs.
type watched struct {
	*approvals.Store
	mu         sync.Mutex
	gate       chan struct{}
	holding    chan struct{}
	holds      chan bot.Claim
	finishErrs chan error
	holdErrs   chan error
}

func newWatched() *watched {
	return &watched{holding: make(chan struct{}, 64), holds: make(chan bot.Claim, 64), finishErrs: make(chan error, 64), holdErrs: make(chan error, 64)}
}

// wrap makes the service's store the watched one.
func (w *watched) wrap(o *bot.Options) {
	w.Store = o.Store.(*approvals.Store)
	o.Store = w
}

func (w *watched) Hold(ctx context.Context, c bot.Claim, lease time.Duration) (bot.Claim, error) {
	w.mu.Lock()
	gate := w.gate
	w.mu.Unlock()
	if gate != nil {
		nonBlocking(w.holding)
		select {
		case <-gate:
		case <-ctx.Done():
			return bot.Claim{}, ctx.Err()
		}
	}
	nc, err := w.Store.Hold(ctx, c, lease)
	if err != nil {
		select {
		case w.holdErrs <- err:
		default:
		}
		return nc, err
	}
	select {
	case w.holds <- nc:
	default:
	}
	return nc, nil
}

func (w *watched) Finish(ctx context.Context, c bot.Claim, st bot.State, outcome string) (bot.Request, error) {
	r, err := w.Store.Finish(ctx, c, st, outcome)
	if err != nil {
		select {
		case w.finishErrs <- err:
		default:
		}
	}
	return r, err
}

func nonBlocking(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// retryAfterCards is a platform whose card updates of a request being reset
// at the Reveal click wait
// as Slack's chat.update did under 429 with Retry-After: 45, for longer
// than any lease, unless their context ends first.
type retryAfterCards struct {
	bot.Notifier
	waiting chan struct{}
}

func (n retryAfterCards) Card(ctx context.Context, req bot.Request, acct bot.Account, ref string) (string, error) {
	if ref != "" && req.State == bot.StateExecuting && strings.HasPrefix(req.Outcome, "resetting now") {
		nonBlocking(n.waiting)
		<-ctx.Done()
		return "", bot.Errorf(bot.EUNAVAILABLE, "Slack asked to wait 45s (429)")
	}
	return n.Notifier.Card(ctx, req, acct, ref)
}

func withRetryAfter(waiting chan struct{}) func(*bot.Options) {
	return func(o *bot.Options) {
		for i, n := range o.Notifiers {
			o.Notifiers[i] = retryAfterCards{Notifier: n, waiting: waiting}
		}
	}
}

func withLease(d time.Duration) func(*bot.Options) { return func(o *bot.Options) { o.Lease = d } }

// wait waits for c, or fails the test.
func wait[T any](t *testing.T, ctx context.Context, what string, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-ctx.Done():
		t.Fatalf("waiting for %s: %v", what, ctx.Err())
	}
	var zero T
	return zero
}

// noAudit fails the test when id's audit log has an event saying text.
func (e *env) noAudit(id, text string) {
	e.t.Helper()
	evs, err := e.store.AuditLog(e.ctx, bot.AuditQuery{RequestID: id})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, ev := range evs {
		if strings.Contains(ev.Detail, text) {
			e.t.Errorf("audit of %s: %s by %s says %q; want nothing saying %q", id, ev.Kind, ev.Actor, ev.Detail, text)
		}
	}
}

// The sequence, two replicas and a short lease: the card update at
// the click waits past the lease, as Slack's Retry-After did. The reset is
// not held back by it, the lease is renewed while the reset runs (past
// the lease's length), the other replica takes nothing over, and the
// request ends succeeded with one cloud call and one password shown.
func TestServiceRevealSlowChatOneReset(t *testing.T) {
	const lease = 1500 * time.Millisecond
	waiting := make(chan struct{}, 8)
	w := newWatched()
	e := newEnv(t, withLease(lease), withRetryAfter(waiting), w.wrap)
	client2, _ := redistest.Client(t)
	svc2, _ := e.newService(client2, withLease(lease), withRetryAfter(waiting))
	e.runExecutor(svc2, "exec2")
	id := e.offered(e.svc)

	resetting, release := make(chan struct{}, 1), make(chan struct{})
	e.prov.mu.Lock()
	e.prov.gate = func() { nonBlocking(resetting); <-release }
	e.prov.mu.Unlock()
	var s show
	errc := make(chan error, 1)
	go func() { errc <- e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, s.fn) }()
	select {
	case <-resetting:
	case err := <-errc:
		t.Fatalf("Reveal ended before the reset: %v", err)
	case <-e.ctx.Done():
		t.Fatal("waiting for the reset to start while a card update waits")
	}
	wait(t, e.ctx, "the card update at the click", waiting)
	// 1.8 leases pass during the reset; each step waits for a renewal made
	// after it, so the lease never runs out unless renewal is broken.
	for step := 0; step < 3; step++ {
		e.clock.Advance(lease * 6 / 10)
		want := e.clock.Now().Add(lease)
		for {
			c := wait(t, e.ctx, "a renewal of the lease", w.holds)
			if !c.Until.Before(want) {
				break
			}
		}
	}
	close(release)
	if err := wait(t, e.ctx, "Reveal's answer", errc); err != nil {
		t.Fatalf("Reveal: %v", err)
	}
	if n := e.prov.calls.Load(); n != 1 {
		t.Errorf("cloud calls: got %d, want 1", n)
	}
	if s.calls != 1 || len(s.all()) != 1 {
		t.Errorf("shows: got %d calls, %d results; want the password shown once", s.calls, len(s.all()))
	}
	if req := e.wantState(id, bot.StateSucceeded); req.Outcome != "reset app_user" {
		t.Errorf("outcome: got %q, want reset app_user", req.Outcome)
	}
	e.wantAudit(id, "delivered", "system", "at the Reveal click")
	e.noAudit(id, "outcome unknown")
	e.noAudit(id, "taken over")
}

// A claim lost between the click and the cloud call (the replica stalled
// past its lease, and another took the request over, offering it again:
// nothing was reset) calls no cloud and shows nothing; the requester is
// told the button works again, and the click to click Reveal again.
func TestServiceRevealLostClaimNoReset(t *testing.T) {
	const lease = 1500 * time.Millisecond
	w := newWatched()
	e := newEnv(t, withLease(lease), w.wrap)
	client2, _ := redistest.Client(t)
	svc2, _ := e.newService(client2, withLease(lease))
	e.runExecutor(svc2, "exec2")
	id := e.offered(e.svc)

	gate := make(chan struct{})
	w.mu.Lock()
	w.gate = gate
	w.mu.Unlock()
	var s show
	errc := make(chan error, 1)
	go func() { errc <- e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, s.fn) }()
	wait(t, e.ctx, "the check before the cloud call", w.holding)
	e.clock.Advance(lease + time.Second)
	if err := e.chat.waitFor(e.ctx, "the takeover", told("alice", id, "did not go through")); err != nil {
		t.Fatal(err)
	}
	close(gate)
	err := wait(t, e.ctx, "Reveal's answer", errc)
	if bot.ErrorCode(err) != bot.EUNAVAILABLE || !strings.Contains(bot.ErrorMessage(err), "click Reveal again") {
		t.Errorf("Reveal: got %v, want %s saying to click Reveal again", err, bot.EUNAVAILABLE)
	}
	if n := e.prov.calls.Load(); n != 0 || s.calls != 0 {
		t.Errorf("cloud calls, shows: %d, %d; want 0", n, s.calls)
	}
	e.wantState(id, bot.StateOffered)
	e.wantAudit(id, "executing", "system", "before its reset began; nothing was reset")
}

// A claim whose lease ran out right before the cloud call, with no other
// process there to take it over, calls no cloud, and the request says at
// once that nothing was reset: not "outcome unknown" from a later takeover.
func TestServiceRevealLeaseRanOutNoTakeover(t *testing.T) {
	const lease = 1500 * time.Millisecond
	w := newWatched()
	e := newEnv(t, withLease(lease), w.wrap)
	id := e.offered(e.svc)

	gate := make(chan struct{})
	w.mu.Lock()
	w.gate = gate
	w.mu.Unlock()
	var s show
	errc := make(chan error, 1)
	go func() { errc <- e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, s.fn) }()
	wait(t, e.ctx, "the check before the cloud call", w.holding)
	e.clock.Advance(lease + time.Second)
	close(gate)
	err := wait(t, e.ctx, "Reveal's answer", errc)
	if bot.ErrorCode(err) != bot.ECONFLICT {
		t.Errorf("Reveal: got %v, want %s", err, bot.ECONFLICT)
	}
	if n := e.prov.calls.Load(); n != 0 || s.calls != 0 {
		t.Errorf("cloud calls, shows: %d, %d; want 0", n, s.calls)
	}
	if req := e.wantState(id, bot.StateFailed); req.Outcome != "not reset: the bot's hold on the request ran out right before the reset; ask again" {
		t.Errorf("outcome: got %q, want it to say nothing was reset", req.Outcome)
	}
	e.noAudit(id, "outcome unknown")
}

// proxy stands between a replica and Redis; down cuts every connection and
// refuses new ones, as a Redis restart does, without losing Redis's data.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]bool
}

func startProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { _ = ln.Close(); p.setDown(true) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			down := p.down
			p.mu.Unlock()
			if down {
				_ = c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
			go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
		}
	}()
	return p
}

func (p *proxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			_ = c.Close()
		}
		p.conns = map[net.Conn]bool{}
	}
}

// A Redis blip as the reset finishes: Finish is tried again until it
// lands, so the delivered reset ends succeeded and audited as delivered,
// not "outcome unknown" after a takeover.
func TestServiceRevealFinishThroughBlip(t *testing.T) {
	shared, prefix := redistest.Client(t)
	p := startProxy(t, shared.Options().Addr)
	client := redis.NewClient(&redis.Options{Addr: p.ln.Addr().String()})
	t.Cleanup(func() { _ = client.Close() })
	w := newWatched()
	e := newEnvOn(t, client, prefix, w.wrap)
	id := e.offered(e.svc)
	show := func(context.Context, []bot.UserResult) error {
		p.setDown(true) // the store goes away as the password is shown
		return nil
	}
	errc := make(chan error, 1)
	go func() { errc <- e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, show) }()
	if err := wait(t, e.ctx, "a Finish failing in the blip", w.finishErrs); bot.ErrorCode(err) != bot.EUNAVAILABLE {
		t.Fatalf("Finish in the blip: got %v, want %s", err, bot.EUNAVAILABLE)
	}
	p.setDown(false)
	if err := wait(t, e.ctx, "Reveal's answer", errc); err != nil {
		t.Fatalf("Reveal: %v", err)
	}
	if req := e.wantState(id, bot.StateSucceeded); req.Outcome != "reset app_user" {
		t.Errorf("outcome: got %q, want reset app_user", req.Outcome)
	}
	e.wantAudit(id, "delivered", "system", "at the Reveal click")
	e.wantAudit(id, "succeeded", "system", "reset app_user")
	e.noAudit(id, "outcome unknown")
	if n := e.prov.calls.Load(); n != 1 {
		t.Errorf("cloud calls: got %d, want 1", n)
	}
}

// A Redis blip right before the cloud call (a Sentinel failover takes
// seconds): the check of the claim is tried again while the lease lasts,
// and the reset runs once it holds, instead of failing a request whose
// asking again would need a new approval.
func TestServiceRevealCheckThroughBlip(t *testing.T) {
	shared, prefix := redistest.Client(t)
	p := startProxy(t, shared.Options().Addr)
	client := redis.NewClient(&redis.Options{Addr: p.ln.Addr().String(), MaxRetries: -1})
	t.Cleanup(func() { _ = client.Close() })
	w := newWatched()
	e := newEnvOn(t, client, prefix, w.wrap)
	id := e.offered(e.svc)
	gate := make(chan struct{})
	w.mu.Lock()
	w.gate = gate
	w.mu.Unlock()
	var s show
	errc := make(chan error, 1)
	go func() { errc <- e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, s.fn) }()
	wait(t, e.ctx, "the check before the cloud call", w.holding)
	p.setDown(true)
	close(gate)
	if err := wait(t, e.ctx, "a check failing in the blip", w.holdErrs); bot.ErrorCode(err) != bot.EUNAVAILABLE {
		t.Fatalf("the check in the blip: got %v, want %s", err, bot.EUNAVAILABLE)
	}
	if n := e.prov.calls.Load(); n != 0 {
		t.Fatalf("cloud calls during the blip: got %d, want 0", n)
	}
	p.setDown(false)
	if err := wait(t, e.ctx, "Reveal's answer", errc); err != nil {
		t.Fatalf("Reveal: %v", err)
	}
	if req := e.wantState(id, bot.StateSucceeded); req.Outcome != "reset app_user" {
		t.Errorf("outcome: got %q, want reset app_user", req.Outcome)
	}
	if n := e.prov.calls.Load(); n != 1 || s.calls != 1 {
		t.Errorf("cloud calls, shows: %d, %d; want 1, 1", n, s.calls)
	}
}

// An answer that may have reached the platform (a timeout after sending)
// is never sent again: the password is not shown twice, and the request
// says "delivery unknown".
func TestServiceRevealShowUnknownNotRetried(t *testing.T) {
	e := newEnv(t)
	id := e.offered(e.svc)
	s := show{err: bot.Errorf(bot.EUNKNOWN, "Slack took the answer but did not confirm it in time")}
	err := e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, s.fn)
	want := "delivery unknown for " + id + ": reset app_user, and the answer with the new password may or may not have reached you (Slack took the answer but did not confirm it in time); it is never sent twice: if you did not see it, ask again"
	if bot.ErrorCode(err) != bot.EUNKNOWN || bot.ErrorMessage(err) != want {
		t.Errorf("Reveal:\n got %v\nwant %s: %s", err, bot.EUNKNOWN, want)
	}
	if s.calls != 1 {
		t.Errorf("shows: got %d, want 1 (never sent twice)", s.calls)
	}
	req := e.wantState(id, bot.StateFailed)
	want = "delivery unknown: reset app_user at alice's Reveal click; the answer with the new password may or may not have reached alice (Slack took the answer but did not confirm it in time), and it is never sent twice; ask again"
	if req.Outcome != want {
		t.Errorf("outcome:\n got %q\nwant %q", req.Outcome, want)
	}
	e.wantAudit(id, "delivery_failed", "system", "delivery unknown, not sent again")
}

// An offer that may have been delivered is not sent again: the request
// stays offered, the requester is told how to reveal without the button,
// and the text fallback reveals it.
func TestServiceOfferUnknownNotResent(t *testing.T) {
	e := newEnv(t)
	e.chat.offerErr = bot.Errorf(bot.EUNKNOWN, "Discord did not confirm the direct message in time")
	e.runExecutor(e.svc, "exec")
	id := e.ask(as("alice", bot.PlatformDiscord), "prod-db locked out")
	e.mustDo(as("bob", bot.PlatformSlack), "approve "+id)
	if err := e.chat.waitFor(e.ctx, "the requester told", told("alice", id, "may not have reached you")); err != nil {
		t.Fatal(err)
	}
	e.wantTold("alice", id, "type /reset-password reveal "+id+" before 10:00 UTC")
	if n := e.chat.count("offer", nil); n != 1 {
		t.Errorf("offers sent: got %d, want 1", n)
	}
	e.wantState(id, bot.StateOffered)
	e.wantAudit(id, "chat_error", "system", "delivery unknown, not sent again")
	var s show
	if err := e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, s.fn); err != nil {
		t.Fatalf("Reveal by the text fallback: %v", err)
	}
	e.wantState(id, bot.StateSucceeded)
}

// One offer stuck in a slow chat call delays no other request's offer.
func TestServiceOffersInAPool(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	e.chat.mu.Lock()
	e.chat.offerGate = func(req bot.Request) {
		if req.Account == "prod-db" {
			<-release
		}
	}
	e.chat.mu.Unlock()
	defer close(release)
	e.runExecutor(e.svc, "exec")
	slow := e.ask(as("alice", bot.PlatformDiscord), "prod-db locked out")
	e.mustDo(as("bob", bot.PlatformSlack), "approve "+slow)
	e.wantEventually(slow, bot.StateOffered)
	fast := e.ask(as("sam", bot.PlatformSlack), "hpc:u1 locked out")
	e.mustDo(as("bob", bot.PlatformSlack), "approve "+fast)
	e.mustDo(as("carol", bot.PlatformSlack), "approve "+fast)
	e.waitOffer(fast)
	if n := e.chat.count("offer", func(s shown) bool { return s.Request.ID == slow }); n != 0 {
		t.Errorf("the slow offer was sent before its release")
	}
}

// wantEventually waits until id is in state want.
func (e *env) wantEventually(id string, want bot.State) {
	e.t.Helper()
	if err := e.chat.waitFor(e.ctx, id+" "+string(want), func([]shown) bool {
		r, err := e.store.Get(e.ctx, id)
		return err == nil && r.State == want
	}); err != nil {
		e.t.Fatal(err)
	}
}
