package bot_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/approvals"
	"resetbot/bot"
	"resetbot/internal/redistest"
)

// Every way an offer ends, at the service: revealed, expired, cancelled,
// refused by the cloud, reset but not shown, the bot stopped mid-reset; and
// the offer that could not be made. Each ends with the offer withdrawn and
// every card showing the same end.

// offered has alice ask for prod-db on Discord and bob approve it on Slack,
// and waits for the offer.
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
	if err := e.chat.waitFor(e.ctx, "the offer of "+id, func(all []shown) bool {
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

// waitWithdrawn waits for the offer of id to be withdrawn showing state:
// the service withdraws it when the request ends, or, when it ended before
// the offer's reference was kept, once it is.
func (e *env) waitWithdrawn(id string, state bot.State) {
	e.t.Helper()
	if err := e.chat.waitFor(e.ctx, "the offer of "+id+" withdrawn as "+string(state), withdrawn(id, state)); err != nil {
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

// show collects what Reveal hands to be shown: the click's answer.
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

func (s *show) all() []bot.UserResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]bot.UserResult(nil), s.results...)
}

// TestServiceReveal: an approval is offered, not executed; the requester's
// click, and only hers, resets, and the password goes to show alone.
func TestServiceReveal(t *testing.T) {
	e := newEnv(t)
	id := e.offered(e.svc)
	req := e.wantState(id, bot.StateOffered)
	if !req.RevealBy.Equal(e.clock.Now().Add(30 * time.Minute)) {
		t.Errorf("reveal by: got %v, want the clock + 30m", req.RevealBy)
	}
	if want := "approved, waiting for alice to reveal until 10:00 UTC"; !strings.HasPrefix(req.Outcome, want) {
		t.Errorf("outcome: got %q, want it to start %q", req.Outcome, want)
	}
	if n := e.prov.calls.Load(); n != 0 {
		t.Fatalf("provider calls before the click: got %d, want 0", n)
	}
	for _, pl := range []bot.Platform{bot.PlatformSlack, bot.PlatformDiscord} {
		if c := e.lastCard(id, pl); c.State != bot.StateOffered || c.RevealBy.IsZero() || c.Outcome != req.Outcome {
			t.Errorf("%s card: got %s, reveal by %v, %q; want the offer shown", pl, c.State, c.RevealBy, c.Outcome)
		}
	}
	var offer shown
	for _, s := range e.chat.all() {
		if s.Kind == "offer" {
			offer = s
		}
	}
	if offer.Platform != bot.PlatformDiscord || offer.Audience != "alice" || offer.Request.State != bot.StateOffered || !offer.Request.RevealBy.Equal(req.RevealBy) {
		t.Errorf("offer: got %+v, want one to alice on discord, with its deadline", offer)
	}
	e.wantAudit(id, "offered", "system", "waiting for alice to reveal")
	e.wantTold("alice", id, id+" was approved by bob. Nothing is reset yet: the bot is sending you a direct message with a Reveal button, valid for 30m.")
	e.wantTold("alice", id, "/reset-password reveal "+id)
	want := id + " prod-db (app_user) by alice: offered — approved by bob, waiting for alice to press Reveal in the bot's direct message (or type /reset-password reveal " + id + ") until 10:00 UTC; nothing is reset before that"
	if r := e.mustDo(as("alice", bot.PlatformDiscord), "status "+id); r.Text != want {
		t.Errorf("status:\n got %q\nwant %q", r.Text, want)
	}
	if r := e.mustDo(as("alice", bot.PlatformSlack), "status"); !strings.Contains(r.Text, want) {
		t.Errorf("alice's open requests: got %q, want %q", r.Text, want)
	}

	var s show
	err := e.svc.Reveal(e.ctx, as("bob", bot.PlatformDiscord), id, s.fn)
	if bot.ErrorCode(err) != bot.EFORBIDDEN || bot.ErrorMessage(err) != "only alice, who asked, can reveal "+id {
		t.Errorf("bob's Reveal: got %v, want forbidden", err)
	}
	e.wantAudit(id, "refused", "bob", "only alice, who asked, can reveal")
	err = e.svc.Reveal(e.ctx, bot.Actor{Platform: bot.PlatformDiscord, UserID: "999"}, id, s.fn)
	if bot.ErrorCode(err) != bot.EFORBIDDEN {
		t.Errorf("a stranger's Reveal: got %v, want forbidden", err)
	}
	e.wantAudit(id, "refused", "discord:999", "unknown person tried reveal")
	// Typed as a command, reveal is Reveal's: Handle's answer cannot show
	// a password, so it points to the button and resets nothing.
	r := e.do(as("alice", bot.PlatformDiscord), "/reset-password reveal "+strings.ToLower(id))
	refused(t, r, bot.EINVALID, "press the Reveal button in the bot's direct message about "+id)
	if n := e.prov.calls.Load(); n != 0 || s.calls != 0 {
		t.Fatalf("provider calls, shows after the refusals: %d, %d; want 0", n, s.calls)
	}
	e.wantState(id, bot.StateOffered)

	if err := e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, s.fn); err != nil {
		t.Fatalf("alice's Reveal: %v", err)
	}
	pws := e.prov.generated()
	if s.calls != 1 || len(s.results) != 1 || s.results[0].User != "app_user" || s.results[0].Password.Value() != pws[0] {
		t.Errorf("shown: %d calls, %+v; want the new password of app_user once", s.calls, s.results)
	}
	req = e.wantState(id, bot.StateSucceeded)
	if req.Outcome != "reset app_user" {
		t.Errorf("outcome: got %q, want reset app_user", req.Outcome)
	}
	e.wantAudit(id, "executing", "alice", "Reveal pressed")
	e.wantAudit(id, "delivered", "system", "at the Reveal click")
	e.wantCardState(id, bot.StateSucceeded)
	e.wantTold("alice", id, id+" done: reset app_user.")
	e.waitWithdrawn(id, bot.StateSucceeded)
	err = e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, s.fn)
	if bot.ErrorCode(err) != bot.ECONFLICT || bot.ErrorMessage(err) != id+" is already succeeded: nothing is left to reveal" {
		t.Errorf("a click after the reveal: got %v, want a conflict saying it succeeded", err)
	}
	if n := e.prov.calls.Load(); n != 1 {
		t.Errorf("provider calls: got %d, want 1", n)
	}

	places := map[string]string{"redis": redisDump(t, e), "audit": auditDump(t, e), "log": e.log.String(),
		"metrics": e.metrics.String(), "chat": chatDump(e)}
	for where, text := range places {
		if strings.Contains(text, pws[0]) {
			t.Errorf("the password shows in the %s", where)
		}
	}
}

// TestServiceRevealAfterDeadline: the requester's click at RevealBy is
// refused and audited, nothing is reset, and the sweep expires the offer.
func TestServiceRevealAfterDeadline(t *testing.T) {
	e := newEnv(t)
	id := e.offered(e.svc)
	e.clock.Advance(30 * time.Minute)
	var s show
	err := e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, s.fn)
	if bot.ErrorCode(err) != bot.ECONFLICT || bot.ErrorMessage(err) != "the Reveal button of "+id+" has expired; nothing was reset: ask again" {
		t.Errorf("a click at the deadline: got %v, want a conflict saying it expired", err)
	}
	e.wantAudit(id, "refused", "alice", "has expired")
	if n := e.prov.calls.Load(); n != 0 || s.calls != 0 {
		t.Errorf("provider calls, shows: %d, %d; want 0", n, s.calls)
	}
	e.svc.Sweep(e.ctx)
	req := e.wantState(id, bot.StateExpired)
	if want := "expired: alice did not press Reveal in time; nothing was reset"; req.Outcome != want {
		t.Errorf("outcome: got %q, want %q", req.Outcome, want)
	}
	e.wantTold("alice", id, id+" expired: alice did not press Reveal in time; nothing was reset.")
	e.wantCardState(id, bot.StateExpired)
	e.wantAudit(id, "expired", "system", "nothing was reset")
	e.waitWithdrawn(id, bot.StateExpired)
}

// TestServiceRevealNotShown: the reset ran, but the click's answer could
// not take the password. The request does not say it succeeded: it fails
// as "outcome unknown", tells the requester to ask again, and is audited as
// delivery_failed.
func TestServiceRevealNotShown(t *testing.T) {
	e := newEnv(t)
	id := e.offered(e.svc)
	s := show{err: bot.Errorf(bot.EUNAVAILABLE, "Discord is having trouble")}
	err := e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, s.fn)
	want := "outcome unknown for " + id + ": reset app_user, but the new password could not be shown to you (Discord is having trouble); ask again"
	if bot.ErrorCode(err) != bot.EUNKNOWN || bot.ErrorMessage(err) != want {
		t.Errorf("Reveal:\n got %v\nwant %s: %s", err, bot.EUNKNOWN, want)
	}
	if s.calls != 3 || e.prov.calls.Load() != 1 {
		t.Errorf("shows: %d, resets: %d; want 3 tries to show one reset", s.calls, e.prov.calls.Load())
	}
	req := e.wantState(id, bot.StateFailed)
	want = "outcome unknown: reset app_user at alice's Reveal click, but the new password may not have reached alice (Discord is having trouble); ask again"
	if req.Outcome != want {
		t.Errorf("outcome:\n got %q\nwant %q", req.Outcome, want)
	}
	e.wantAudit(id, "delivery_failed", "system", "Discord is having trouble")
	e.wantAudit(id, "failed", "system", "outcome unknown")
	events, err := e.store.AuditLog(e.ctx, bot.AuditQuery{RequestID: id})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events {
		if ev.Kind == "succeeded" || ev.Kind == "delivered" {
			t.Errorf("audit: %+v, want no success of a password nobody saw", ev)
		}
	}
	e.wantTold("alice", id, id+" failed: outcome unknown")
	e.wantCardState(id, bot.StateFailed)
	e.waitWithdrawn(id, bot.StateFailed)
	if !strings.Contains(e.metrics.String(), "delivery_failed") {
		t.Errorf("metrics: got %q, want delivery_failed counted", e.metrics.String())
	}
}

// TestServiceRevealFails: a reset refused by the cloud at the click fails
// the request, and the click's answer says what the cloud said.
func TestServiceRevealFails(t *testing.T) {
	e := newEnv(t)
	id := e.offered(e.svc)
	e.prov.mu.Lock()
	e.prov.err = bot.Errorf(bot.EPROVIDER, "the instance tdsql3-d8fffc3c does not exist")
	e.prov.mu.Unlock()
	var s show
	err := e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, s.fn)
	if bot.ErrorCode(err) != bot.EPROVIDER || bot.ErrorMessage(err) != id+" failed: the instance tdsql3-d8fffc3c does not exist" {
		t.Errorf("Reveal: got %v, want the cloud's refusal", err)
	}
	if s.calls != 0 {
		t.Errorf("shows: got %d, want 0", s.calls)
	}
	req := e.wantState(id, bot.StateFailed)
	if req.Outcome != "the instance tdsql3-d8fffc3c does not exist" {
		t.Errorf("outcome: got %q, want the cloud's refusal", req.Outcome)
	}
	e.wantTold("alice", id, id+" failed: the instance tdsql3-d8fffc3c does not exist")
	e.wantCardState(id, bot.StateFailed)
	e.waitWithdrawn(id, bot.StateFailed)
}

// TestServiceOfferUndeliverable: an offer that cannot be sent fails the
// request at once, unreset.
func TestServiceOfferUndeliverable(t *testing.T) {
	e := newEnv(t)
	e.chat.offerErr = bot.Errorf(bot.EFORBIDDEN, "alice does not accept direct messages")
	id := e.offered(e.svc)
	if err := e.chat.waitFor(e.ctx, "failed", told("alice", id, "failed")); err != nil {
		t.Fatal(err)
	}
	req := e.wantState(id, bot.StateFailed)
	want := "not reset: the Reveal button could not be sent to alice on discord (alice does not accept direct messages); ask again"
	if req.Outcome != want {
		t.Errorf("outcome:\n got %q\nwant %q", req.Outcome, want)
	}
	if n := e.prov.calls.Load(); n != 0 {
		t.Errorf("provider calls: got %d, want 0", n)
	}
	e.wantAudit(id, "chat_error", "system", "Reveal button")
	e.wantCardState(id, bot.StateFailed)
	var s show
	if err := e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, s.fn); bot.ErrorCode(err) != bot.ECONFLICT {
		t.Errorf("a click on the failed offer: got %v, want a conflict", err)
	}
}

// TestServiceRevealStale: a replica that claimed the click, began the
// cloud call (its Hold with Calling) and died leaves the request to the
// executors, which fail it as "outcome unknown" without calling the cloud
// again.
func TestServiceRevealStale(t *testing.T) {
	e := newEnv(t)
	id := e.offered(e.svc)
	deadClient, _ := redistest.Client(t)
	dead := approvals.New(deadClient, approvals.Options{Prefix: e.prefix, Clock: e.clock})
	claim, err := dead.ClaimReveal(e.ctx, id, "alice", bot.PlatformDiscord, 50*time.Millisecond)
	if err != nil {
		t.Fatalf("the dead replica's claim: %v", err)
	}
	claim.Calling = true
	if claim, err = dead.Hold(e.ctx, claim, 50*time.Millisecond); err != nil {
		t.Fatalf("the dead replica's Hold before its cloud call: %v", err)
	}
	e.clock.Advance(time.Second)
	if err := e.chat.waitFor(e.ctx, "failed", told("alice", id, "failed")); err != nil {
		t.Fatal(err)
	}
	req := e.wantState(id, bot.StateFailed)
	want := "outcome unknown for prod-db: the bot stopped during the reset at alice's Reveal click, so the password may have changed without being shown; ask again"
	if req.Outcome != want {
		t.Errorf("outcome:\n got %q\nwant %q", req.Outcome, want)
	}
	if n := e.prov.calls.Load(); n != 0 {
		t.Errorf("provider calls: got %d, want 0", n)
	}
	e.wantAudit(id, "executing", "system", "outcome unknown")
	e.wantCardState(id, bot.StateFailed)
	e.waitWithdrawn(id, bot.StateFailed)
	// The dead replica coming back cannot overwrite the result.
	if _, err := dead.Finish(e.ctx, claim, bot.StateSucceeded, "reset app_user"); bot.ErrorCode(err) != bot.ECONFLICT {
		t.Errorf("the dead replica's Finish: got %v, want %s", err, bot.ECONFLICT)
	}
	e.wantState(id, bot.StateFailed)
	if n := e.client.ZCard(e.ctx, "{"+e.prefix+"}leases").Val(); n != 0 {
		t.Errorf("leases: got %d, want 0", n)
	}
}

// TestServiceRevealDiedBeforeTheCall: a replica that claimed the click and
// died before its cloud call reset nothing: the executors offer the
// request again, not "outcome unknown"; the requester is told that the
// Reveal button they have works again (no second one), and their next
// click resets it.
func TestServiceRevealDiedBeforeTheCall(t *testing.T) {
	e := newEnv(t)
	e.runExecutor(e.svc, "exec")
	id := e.offered(e.svc)
	deadClient, _ := redistest.Client(t)
	dead := approvals.New(deadClient, approvals.Options{Prefix: e.prefix, Clock: e.clock})
	if _, err := dead.ClaimReveal(e.ctx, id, "alice", bot.PlatformDiscord, 50*time.Millisecond); err != nil {
		t.Fatalf("the dead replica's claim: %v", err)
	}
	e.clock.Advance(time.Second)
	if err := e.chat.waitFor(e.ctx, "the takeover", told("alice", id, "did not go through")); err != nil {
		t.Fatal(err)
	}
	e.wantState(id, bot.StateOffered)
	e.wantAudit(id, "executing", "system", "before its reset began; nothing was reset")
	e.noAudit(id, "outcome unknown")
	if !offers(id, 1)(e.chat.all()) {
		t.Errorf("offers of %s: want still one (its button works again), not a second", id)
	}
	var s show
	if err := e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, s.fn); err != nil {
		t.Fatalf("the click on the new offer: %v", err)
	}
	e.wantState(id, bot.StateSucceeded)
	if n := e.prov.calls.Load(); n != 1 || s.calls != 1 {
		t.Errorf("cloud calls, shows: %d, %d; want 1, 1", n, s.calls)
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
	e := newEnvOn(t, client, "down:")
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

// TestServiceOfferCancelled: the requester withdraws an offer; nothing is
// reset, the button goes, the cards say so, and a later click is refused.
func TestServiceOfferCancelled(t *testing.T) {
	e := newEnv(t)
	id := e.offered(e.svc)
	if withdrawn(id, bot.StateOffered)(e.chat.all()) {
		t.Fatalf("an open offer was withdrawn")
	}
	refused(t, e.do(as("bob", bot.PlatformSlack), "cancel "+id), bot.EFORBIDDEN, "only alice")
	r := e.mustDo(as("alice", bot.PlatformSlack), "cancel "+id)
	if r.Text != id+" is cancelled." {
		t.Errorf("reply: got %q", r.Text)
	}
	req := e.wantState(id, bot.StateCancelled)
	if req.Outcome != "cancelled by alice" {
		t.Errorf("outcome: got %q", req.Outcome)
	}
	if got, want := bot.Summary(req), id+" prod-db (app_user) by alice: cancelled — cancelled by alice"; got != want {
		t.Errorf("Summary, as the withdrawn offer says it:\n got %q\nwant %q", got, want)
	}
	e.wantCardState(id, bot.StateCancelled)
	e.wantAudit(id, "cancelled", "alice", "")
	e.waitWithdrawn(id, bot.StateCancelled)
	var s show
	err := e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, s.fn)
	if bot.ErrorCode(err) != bot.ECONFLICT || !strings.Contains(bot.ErrorMessage(err), "cancelled") {
		t.Errorf("a click after the cancel: got %v, want a conflict saying it was cancelled", err)
	}
	if n := e.prov.calls.Load(); n != 0 {
		t.Errorf("provider calls: got %d, want 0", n)
	}
}
