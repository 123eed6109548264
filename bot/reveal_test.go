package bot_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/approvals"
	"resetbot/bot"
	"resetbot/internal/redistest"
)

// lateChat is Discord once the requester's interaction token has run out:
// nothing can be delivered, and an offer with a Reveal button is all the bot
// can send.
type lateChat struct {
	notifier
	offerErr error
}

var _ bot.Notifier = lateChat{}

func (lateChat) CanDeliver(bot.Request) bool { return false }

func (n lateChat) Offer(_ context.Context, p bot.Person, req bot.Request) (string, error) {
	n.chat.record(shown{Kind: "offer", Platform: n.platform, Audience: p.Name, Request: req})
	if n.offerErr != nil {
		return "", n.offerErr
	}
	return "dm/" + req.ID, nil
}

func (n lateChat) Withdraw(_ context.Context, req bot.Request, ref string) error {
	n.chat.record(shown{Kind: "withdraw", Platform: n.platform, Audience: req.Requester, Ref: ref, Request: req})
	return nil
}

// withdrawn reports whether the offer of id was withdrawn showing state.
func withdrawn(id string, state bot.State) func([]shown) bool {
	return func(all []shown) bool {
		for _, s := range all {
			if s.Kind == "withdraw" && s.Request.ID == id && s.Ref == "dm/"+id && s.Request.State == state {
				return true
			}
		}
		return false
	}
}

func late(offerErr error) func(*bot.Options) {
	return func(o *bot.Options) {
		for i, n := range o.Notifiers {
			if nt, ok := n.(notifier); ok && nt.platform == bot.PlatformDiscord {
				o.Notifiers[i] = lateChat{notifier: nt, offerErr: offerErr}
			}
		}
	}
}

// offered has alice ask for prod-db on Discord and bob approve it too late
// for delivery, and waits for the offer.
func (e *env) offered(svc *bot.Service) string {
	e.t.Helper()
	e.runExecutor(svc, "exec")
	id := e.ask(as("alice", bot.PlatformDiscord), "prod-db locked out")
	e.mustDo(as("bob", bot.PlatformSlack), "approve "+id)
	e.waitOffer(id)
	return id
}

// waitOffer waits for the offer of id.
func (e *env) waitOffer(id string) {
	e.t.Helper()
	if err := e.chat.waitFor(e.ctx, "the offer", func(all []shown) bool {
		for _, s := range all {
			if s.Kind == "offer" && s.Request.ID == id {
				return true
			}
		}
		return false
	}); err != nil {
		e.t.Fatal(err)
	}
}

// lastCard is the request as the last card update on pl showed it.
func (e *env) lastCard(id string, pl bot.Platform) bot.Request {
	var last bot.Request
	for _, s := range e.chat.all() {
		if s.Kind == "card" && s.Request.ID == id && s.Platform == pl {
			last = s.Request
		}
	}
	return last
}

// show collects what Reveal hands to be shown.
type show struct {
	mu      sync.Mutex
	calls   int
	results []bot.UserResult
	err     error
}

func (s *show) fn(_ context.Context, r []bot.UserResult) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.results = append(s.results, r...)
	return s.err
}

// TestServiceReveal: a late approval is offered, not executed; the
// requester's click, and only hers, resets once however many replicas
// receive clicks, and the password goes to show alone.
func TestServiceReveal(t *testing.T) {
	e := newEnv(t, late(nil))
	id := e.offered(e.svc)
	req := e.wantState(id, bot.StateOffered)
	if !req.RevealBy.Equal(e.clock.Now().Add(30*time.Minute)) || !strings.Contains(req.Outcome, "press Reveal") {
		t.Errorf("offered request: reveal by %v, outcome %q; want the clock + 30m, saying it waits for Reveal", req.RevealBy, req.Outcome)
	}
	if n := e.prov.calls.Load(); n != 0 {
		t.Fatalf("provider calls before the click: got %d, want 0", n)
	}
	for _, pl := range []bot.Platform{bot.PlatformSlack, bot.PlatformDiscord} {
		if c := e.lastCard(id, pl); c.State != bot.StateOffered || c.RevealBy.IsZero() || !strings.Contains(c.Outcome, "press Reveal") {
			t.Errorf("%s card: got %s, reveal by %v, %q; want the offer shown", pl, c.State, c.RevealBy, c.Outcome)
		}
	}
	e.wantAudit(id, "offered", "system", "press Reveal")
	e.wantTold("alice", id, "send you a Reveal button")
	if r := e.mustDo(as("alice", bot.PlatformDiscord), "status "+id); !strings.Contains(r.Text, "press Reveal") {
		t.Errorf("status: got %q, want it waiting for Reveal", r.Text)
	}

	var s show
	err := e.svc.Reveal(e.ctx, as("bob", bot.PlatformDiscord), id, s.fn)
	if bot.ErrorCode(err) != bot.EFORBIDDEN || !strings.Contains(bot.ErrorMessage(err), "only alice") {
		t.Errorf("bob's Reveal: got %v, want forbidden", err)
	}
	err = e.svc.Reveal(e.ctx, bot.Actor{Platform: bot.PlatformDiscord, UserID: "999"}, id, s.fn)
	if bot.ErrorCode(err) != bot.EFORBIDDEN {
		t.Errorf("a stranger's Reveal: got %v, want forbidden", err)
	}

	svcs := []*bot.Service{e.svc}
	for range 2 {
		client, _ := redistest.Client(t)
		svc, _ := e.newService(client, late(nil))
		svcs = append(svcs, svc)
	}
	const clicks = 30
	errs := make(chan error, clicks)
	var wg sync.WaitGroup
	for i := range clicks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- svcs[i%len(svcs)].Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, s.fn)
		}()
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch bot.ErrorCode(err) {
		case "":
			ok++
		case bot.ECONFLICT:
		default:
			t.Errorf("a click got %v, want success or a conflict", err)
		}
	}
	if ok != 1 || s.calls != 1 || e.prov.calls.Load() != 1 {
		t.Fatalf("clicks that reset: %d, shows: %d, provider calls: %d; want 1 each", ok, s.calls, e.prov.calls.Load())
	}
	pws := e.prov.generated()
	if len(s.results) != 1 || s.results[0].Password.Value() != pws[0] {
		t.Errorf("shown: got %+v, want the new password of app_user", s.results)
	}
	req = e.wantState(id, bot.StateSucceeded)
	if req.Outcome != "reset app_user" {
		t.Errorf("outcome: got %q, want reset app_user", req.Outcome)
	}
	e.wantAudit(id, "executing", "alice", "Reveal pressed")
	e.wantAudit(id, "delivered", "system", "Reveal")
	e.wantCardState(id, bot.StateSucceeded)
	e.wantTold("alice", id, "done")
	if !withdrawn(id, bot.StateSucceeded)(e.chat.all()) {
		t.Errorf("the offer was not withdrawn after the reveal")
	}
	err = e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, s.fn)
	if bot.ErrorCode(err) != bot.ECONFLICT || !strings.Contains(bot.ErrorMessage(err), "succeeded") {
		t.Errorf("a click after the reveal: got %v, want a conflict saying it succeeded", err)
	}

	var chat strings.Builder
	for _, sh := range e.chat.all() {
		b, _ := json.Marshal(sh)
		chat.Write(b)
		fmt.Fprintf(&chat, "%+v\n", sh)
	}
	places := map[string]string{"redis": redisDump(t, e), "audit": auditDump(t, e), "log": e.log.String(),
		"metrics": e.metrics.String(), "chat": chat.String()}
	for where, text := range places {
		if strings.Contains(text, pws[0]) {
			t.Errorf("the password shows in the %s", where)
		}
	}
}

// TestServiceRevealNotShown: when the click's answer cannot take the
// password, the request records it, and says to ask again.
func TestServiceRevealNotShown(t *testing.T) {
	e := newEnv(t, late(nil))
	id := e.offered(e.svc)
	s := show{err: bot.Errorf(bot.EUNAVAILABLE, "Discord is having trouble")}
	err := e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, s.fn)
	if bot.ErrorCode(err) != bot.EUNAVAILABLE || !strings.Contains(bot.ErrorMessage(err), "could not be shown") {
		t.Errorf("Reveal: got %v, want EUNAVAILABLE saying the password could not be shown", err)
	}
	if s.calls != 3 || e.prov.calls.Load() != 1 {
		t.Errorf("shows: %d, resets: %d; want 3 tries to show one reset", s.calls, e.prov.calls.Load())
	}
	req := e.wantState(id, bot.StateSucceeded)
	if !strings.Contains(req.Outcome, "could not be delivered") {
		t.Errorf("outcome: got %q, want it to say the password was not delivered", req.Outcome)
	}
	e.wantAudit(id, "delivery_failed", "system", "Discord is having trouble")
}

// TestServiceRevealFails: a reset refused by the cloud at the click fails
// the request and says why.
func TestServiceRevealFails(t *testing.T) {
	e := newEnv(t, late(nil))
	id := e.offered(e.svc)
	e.prov.mu.Lock()
	e.prov.err = bot.Errorf(bot.EPROVIDER, "the instance tdsql3-d8fffc3c does not exist")
	e.prov.mu.Unlock()
	var s show
	err := e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, s.fn)
	if bot.ErrorCode(err) != bot.EPROVIDER || !strings.Contains(bot.ErrorMessage(err), "does not exist") {
		t.Errorf("Reveal: got %v, want the cloud's refusal", err)
	}
	if s.calls != 0 {
		t.Errorf("shows: got %d, want 0", s.calls)
	}
	e.wantState(id, bot.StateFailed)
	e.wantTold("alice", id, "failed")
}

// TestServiceOfferUndeliverable: an offer that cannot be sent fails the
// request at once, unreset.
func TestServiceOfferUndeliverable(t *testing.T) {
	e := newEnv(t, late(bot.Errorf(bot.EFORBIDDEN, "alice does not accept direct messages")))
	id := e.offered(e.svc)
	if err := e.chat.waitFor(e.ctx, "failed", told("alice", id, "failed")); err != nil {
		t.Fatal(err)
	}
	req := e.wantState(id, bot.StateFailed)
	if !strings.Contains(req.Outcome, "Reveal button could not be sent") || !strings.Contains(req.Outcome, "direct messages") {
		t.Errorf("outcome: got %q, want it to say the offer could not be sent, and why", req.Outcome)
	}
	if n := e.prov.calls.Load(); n != 0 {
		t.Errorf("provider calls: got %d, want 0", n)
	}
	e.wantAudit(id, "chat_error", "system", "Reveal button")
}

// TestServiceRevealStale: a replica that claimed the click and died leaves
// the request to the executors, which fail it as "outcome unknown" without
// calling the cloud again.
func TestServiceRevealStale(t *testing.T) {
	e := newEnv(t, late(nil))
	id := e.offered(e.svc)
	deadClient, _ := redistest.Client(t)
	dead := approvals.New(deadClient, approvals.Options{Prefix: e.prefix, Clock: e.clock})
	if _, err := dead.ClaimReveal(e.ctx, id, "alice", bot.PlatformDiscord, 50*time.Millisecond); err != nil {
		t.Fatalf("the dead replica's claim: %v", err)
	}
	e.clock.Advance(time.Second)
	if err := e.chat.waitFor(e.ctx, "failed", told("alice", id, "failed")); err != nil {
		t.Fatal(err)
	}
	req := e.wantState(id, bot.StateFailed)
	if !strings.Contains(req.Outcome, "outcome unknown") {
		t.Errorf("outcome: got %q, want outcome unknown", req.Outcome)
	}
	if n := e.prov.calls.Load(); n != 0 {
		t.Errorf("provider calls: got %d, want 0", n)
	}
}

// TestServiceRevealRedisDown: a click while Redis is down gets a clear
// answer and resets nothing.
func TestServiceRevealRedisDown(t *testing.T) {
	srv, err := redistest.Start()
	if err != nil {
		t.Fatalf("no redis-server of the test's own: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1}) // fail fast while it is down
	t.Cleanup(func() { _ = client.Close() })
	e := newEnvOn(t, client, "down:", late(nil))
	id := e.offered(e.svc)
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	var s show
	err = e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, s.fn)
	if bot.ErrorCode(err) != bot.EUNAVAILABLE || !strings.Contains(strings.ToLower(bot.ErrorMessage(err)), "redis") {
		t.Errorf("Reveal with Redis down: got %v, want EUNAVAILABLE naming Redis", err)
	}
	if n := e.prov.calls.Load(); n != 0 || s.calls != 0 {
		t.Errorf("provider calls: %d, shows: %d; want 0", n, s.calls)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Reveal waited out its context instead of failing")
	}
}

// TestServiceOfferWithdrawn: an offer that ends without a reveal (expired,
// cancelled) loses its button.
func TestServiceOfferWithdrawn(t *testing.T) {
	e := newEnv(t, late(nil))
	expiring := e.offered(e.svc)
	e.waitOfferRef(expiring)
	if withdrawn(expiring, bot.StateOffered)(e.chat.all()) {
		t.Fatalf("an open offer was withdrawn")
	}
	e.clock.Advance(30 * time.Minute)
	e.svc.Sweep(e.ctx)
	e.wantState(expiring, bot.StateExpired)
	if !withdrawn(expiring, bot.StateExpired)(e.chat.all()) {
		t.Errorf("the expired offer was not withdrawn")
	}

	id := e.ask(as("alice", bot.PlatformDiscord), "prod-db locked out again")
	e.mustDo(as("bob", bot.PlatformSlack), "approve "+id)
	e.waitOffer(id)
	e.waitOfferRef(id)
	e.mustDo(as("alice", bot.PlatformDiscord), "cancel "+id)
	if !withdrawn(id, bot.StateCancelled)(e.chat.all()) {
		t.Errorf("the cancelled offer was not withdrawn")
	}
	if n := e.prov.calls.Load(); n != 0 {
		t.Errorf("provider calls: got %d, want 0", n)
	}
}

// waitOfferRef waits for the offer's reference, stored just after the offer
// was sent.
func (e *env) waitOfferRef(id string) {
	e.t.Helper()
	for e.get(id).Refs[bot.Ref(bot.RefOffer, bot.PlatformDiscord)] == "" {
		select {
		case <-e.ctx.Done():
			e.t.Fatal("the offer's reference was never stored")
		case <-time.After(10 * time.Millisecond):
		}
	}
}
