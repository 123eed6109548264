package approvals_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/approvals"
	"resetbot/bot"
)

// offered claims an approved request and offers it for Reveal within 30
// minutes.
func (e *env) offered(id, requester string) (bot.Claim, bot.Request) {
	e.t.Helper()
	e.approved(id, requester)
	c := e.mustNext(e.store, "exec-1", time.Minute)
	got, err := e.store.Offer(ctx(e.t), c, e.clock.Now().Add(30*time.Minute), "waiting for "+requester+" to press Reveal")
	if err != nil {
		e.t.Fatalf("Offer(%s): %v", id, err)
	}
	return c, got
}

func testOfferWaitsForReveal(t *testing.T, e *env) {
	_, got := e.offered("R-OFFR01", "alice")
	by := msTime(e.clock.Now().Add(30 * time.Minute))
	if got.State != bot.StateOffered || !got.RevealBy.Equal(by) || !strings.Contains(got.Outcome, "press Reveal") {
		t.Fatalf("after Offer: got %s, reveal by %v, %q; want offered, reveal by %v, saying so", got.State, got.RevealBy, got.Outcome, by)
	}
	if again := e.mustGet("R-OFFR01"); !again.RevealBy.Equal(by) {
		t.Errorf("Get: reveal by %v, want %v", again.RevealBy, by)
	}
	if n := e.raw.XLen(ctx(t), e.key("queue")).Val(); n != 0 {
		t.Errorf("queue length after Offer: got %d, want 0", n)
	}
	if _, ok := findEvent(e.events("R-OFFR01"), "offered", "system"); !ok {
		t.Errorf("audit: got %s, want offered", kinds(e.events("R-OFFR01")))
	}
	// Not handed to another executor, not even after the claim's lease, nor
	// through a queue entry read before Offer removed it.
	e.clock.Advance(2 * time.Minute)
	e.wantNothingNext(e.newStore(), "exec-2", time.Minute)
	if err := e.raw.XAdd(ctx(t), &redis.XAddArgs{Stream: e.key("queue"), Values: []any{"request", "R-OFFR01"}}).Err(); err != nil {
		t.Fatal(err)
	}
	// (exec-2's abandoned read may take the entry; a 1ms lease lets exec-3
	// reclaim it from there at once.)
	e.wantNothingNext(e.newStore(), "exec-3", time.Millisecond)
	if got := e.mustGet("R-OFFR01"); got.State != bot.StateOffered || got.RevealBy.IsZero() {
		t.Errorf("after a stray queue entry: got %s, reveal by %v; want still waiting for Reveal", got.State, got.RevealBy)
	}
	if open, err := e.store.Open(ctx(t), "alice"); err != nil || len(open) != 1 {
		t.Errorf("Open while waiting for Reveal: got %d, %v; want 1", len(open), err)
	}
}

func testClaimReveal(t *testing.T, e *env) {
	first, _ := e.offered("R-RVL001", "alice")
	e.clock.Advance(time.Minute)
	c, err := e.store.ClaimReveal(ctx(t), "R-RVL001", "alice", bot.PlatformDiscord, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if c.Request.State != bot.StateExecuting || c.Stale || c.Token == "" || c.Token == first.Token || !c.Request.RevealBy.IsZero() {
		t.Fatalf("claim: got %+v, want executing, fresh, with a new token", c)
	}
	if want := "resetting now, at alice's Reveal click"; c.Request.Outcome != want {
		t.Errorf("outcome while the reset runs: got %q, want %q", c.Request.Outcome, want)
	}
	if ev, ok := findEvent(e.events("R-RVL001"), "executing", "alice"); !ok || ev.Platform != bot.PlatformDiscord {
		t.Errorf("audit: got %s, want executing by alice on discord", kinds(e.events("R-RVL001")))
	}
	if _, err := e.store.Finish(ctx(t), first, bot.StateSucceeded, "x"); bot.ErrorCode(err) != bot.ECONFLICT {
		t.Errorf("Finish with the executor's old claim: got %v, want conflict", err)
	}
	_, err = e.store.ClaimReveal(ctx(t), "R-RVL001", "alice", bot.PlatformDiscord, time.Minute)
	if be := wantError(t, err, bot.ECONFLICT); !strings.Contains(be.Message, "being reset") {
		t.Errorf("second click: got %q, want it being reset", be.Message)
	}
	got, err := e.store.Finish(ctx(t), c, bot.StateSucceeded, "reset app_user")
	if err != nil || got.State != bot.StateSucceeded {
		t.Fatalf("Finish: got %s, %v", got.State, err)
	}
	_, err = e.store.ClaimReveal(ctx(t), "R-RVL001", "alice", bot.PlatformDiscord, time.Minute)
	if be := wantError(t, err, bot.ECONFLICT); !strings.Contains(be.Message, "succeeded") {
		t.Errorf("click after success: got %q, want it succeeded", be.Message)
	}
}

func testClaimRevealRequesterOnly(t *testing.T, e *env) {
	e.offered("R-RVL002", "alice")
	_, err := e.store.ClaimReveal(ctx(t), "R-RVL002", "bob", bot.PlatformDiscord, time.Minute)
	if be := wantError(t, err, bot.EFORBIDDEN); !strings.Contains(be.Message, "only alice") {
		t.Errorf("message: got %q", be.Message)
	}
	if _, ok := findEvent(e.events("R-RVL002"), "refused", "bob"); !ok {
		t.Errorf("audit: got %s, want bob's refusal", kinds(e.events("R-RVL002")))
	}
	_, err = e.store.ClaimReveal(ctx(t), "R-NOPE99", "alice", bot.PlatformDiscord, time.Minute)
	wantError(t, err, bot.ENOTFOUND)
	if got := e.mustGet("R-RVL002"); got.State != bot.StateOffered {
		t.Errorf("state: got %s, want offered", got.State)
	}
}

func testClaimRevealNeedsOffer(t *testing.T, e *env) {
	e.mustCreate(e.request("R-RVL003", "alice", "acct-3", 1))
	_, err := e.store.ClaimReveal(ctx(t), "R-RVL003", "alice", bot.PlatformDiscord, time.Minute)
	wantError(t, err, bot.ECONFLICT) // pending
	e.mustVote("R-RVL003", "bob", true)
	_, err = e.store.ClaimReveal(ctx(t), "R-RVL003", "alice", bot.PlatformDiscord, time.Minute)
	if be := wantError(t, err, bot.ECONFLICT); !strings.Contains(be.Message, "on its way") { // approved and queued, not offered
		t.Errorf("click before the offer: got %q, want the button on its way", be.Message)
	}
	c := e.mustNext(e.store, "exec-1", time.Minute)
	if c.Request.ID != "R-RVL003" {
		t.Errorf("Next: got %q, want the queued request", c.Request.ID)
	}
	// Claimed from the queue, being offered: still not to be revealed, and
	// not "being reset" either.
	_, err = e.store.ClaimReveal(ctx(t), "R-RVL003", "alice", bot.PlatformDiscord, time.Minute)
	if be := wantError(t, err, bot.ECONFLICT); !strings.Contains(be.Message, "on its way") {
		t.Errorf("click while the offer is made: got %q, want the button on its way", be.Message)
	}
	if got := e.mustGet("R-RVL003"); got.State != bot.StateExecuting {
		t.Errorf("state: got %s, want executing (the executor's claim)", got.State)
	}
}

func testRevealExpires(t *testing.T, e *env) {
	e.offered("R-RVL004", "alice")
	e.clock.Advance(30*time.Minute - time.Millisecond)
	if got, err := e.store.ExpireDue(ctx(t)); err != nil || len(got) != 0 {
		t.Fatalf("ExpireDue before the deadline: got %d, %v", len(got), err)
	}
	e.clock.Advance(time.Millisecond)
	_, err := e.store.ClaimReveal(ctx(t), "R-RVL004", "alice", bot.PlatformDiscord, time.Minute)
	if be := wantError(t, err, bot.ECONFLICT); !strings.Contains(be.Message, "expired") {
		t.Errorf("click at the deadline: got %q, want expired", be.Message)
	}
	got, err := e.store.ExpireDue(ctx(t))
	if err != nil || len(got) != 1 || got[0].State != bot.StateExpired || !strings.Contains(got[0].Outcome, "did not press Reveal") {
		t.Fatalf("ExpireDue: got %+v, %v; want R-RVL004 expired, saying Reveal was not pressed", got, err)
	}
	if open, err := e.store.Open(ctx(t), "alice"); err != nil || len(open) != 0 {
		t.Errorf("Open after the expiry: got %d, %v; want none", len(open), err)
	}
	if ev, ok := findEvent(e.events("R-RVL004"), "expired", "system"); !ok || !strings.Contains(ev.Detail, "Reveal") {
		t.Errorf("audit: got %s, want expired about Reveal", kinds(e.events("R-RVL004")))
	}
}

func testCancelOffered(t *testing.T, e *env) {
	e.offered("R-RVL005", "alice")
	_, err := e.store.Cancel(ctx(t), "R-RVL005", "bob", bot.PlatformDiscord)
	wantError(t, err, bot.EFORBIDDEN)
	got, err := e.store.Cancel(ctx(t), "R-RVL005", "alice", bot.PlatformDiscord)
	if err != nil || got.State != bot.StateCancelled || !got.RevealBy.IsZero() {
		t.Fatalf("Cancel: got %s, reveal by %v, %v; want cancelled", got.State, got.RevealBy, err)
	}
	_, err = e.store.ClaimReveal(ctx(t), "R-RVL005", "alice", bot.PlatformDiscord, time.Minute)
	wantError(t, err, bot.ECONFLICT)
	e.clock.Advance(time.Hour)
	if got, err := e.store.ExpireDue(ctx(t)); err != nil || len(got) != 0 {
		t.Errorf("ExpireDue after the cancel: got %d, %v; want none", len(got), err)
	}
}

// The executor's claim can still fail an offered request (the offer could
// not be sent), but not after Offer lost its claim to another executor.
func testFinishOffered(t *testing.T, e *env) {
	c, _ := e.offered("R-RVL006", "alice")
	got, err := e.store.Finish(ctx(t), c, bot.StateFailed, "the Reveal button could not be sent")
	if err != nil || got.State != bot.StateFailed || !got.RevealBy.IsZero() {
		t.Fatalf("Finish of the offer: got %s, reveal by %v, %v; want failed", got.State, got.RevealBy, err)
	}
	e.clock.Advance(time.Hour)
	if got, err := e.store.ExpireDue(ctx(t)); err != nil || len(got) != 0 {
		t.Errorf("ExpireDue after the failure: got %d, %v; want none", len(got), err)
	}

	e.approved("R-RVL007", "alice")
	first := e.mustNext(e.store, "exec-1", time.Minute)
	e.clock.Advance(time.Minute)
	e.mustNext(e.newStore(), "exec-2", time.Minute) // takes it over as stale
	_, err = e.store.Offer(ctx(t), first, e.clock.Now().Add(time.Hour), "x")
	wantError(t, err, bot.ECONFLICT)
}

// Many clicks on one Reveal, from several processes: one claim.
func testConcurrentReveal(t *testing.T, e *env) {
	e.offered("R-RVL008", "alice")
	stores := []*approvals.Store{e.store, e.newStore(), e.newStore()}
	var mu sync.Mutex
	won := 0
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := stores[i%len(stores)].ClaimReveal(ctx(t), "R-RVL008", "alice", bot.PlatformDiscord, time.Minute)
			if err == nil {
				mu.Lock()
				won++
				mu.Unlock()
			} else if bot.ErrorCode(err) != bot.ECONFLICT {
				t.Errorf("ClaimReveal: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("claims: got %d, want 1", won)
	}
}

// Every transition raises Rev by one, whichever process makes it, so that
// cards can be ordered across replicas.
func testRevCounts(t *testing.T, e *env) {
	var revs []int64
	note := func(r bot.Request) { revs = append(revs, r.Rev) }
	note(e.mustCreate(e.request("R-REV001", "alice", "acct-rev", 2)))
	note(e.mustVote("R-REV001", "bob", true))
	note(e.mustVote("R-REV001", "carol", true)) // approves
	c := e.mustNext(e.newStore(), "exec-1", time.Minute)
	note(c.Request)
	offered, err := e.store.Offer(ctx(t), c, e.clock.Now().Add(time.Hour), "waiting")
	if err != nil {
		t.Fatal(err)
	}
	note(offered)
	rc, err := e.newStore().ClaimReveal(ctx(t), "R-REV001", "alice", bot.PlatformDiscord, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	note(rc.Request)
	done, err := e.store.Finish(ctx(t), rc, bot.StateSucceeded, "reset app_user")
	if err != nil {
		t.Fatal(err)
	}
	note(done)
	for i, r := range revs {
		if r != int64(i+1) {
			t.Fatalf("revs: got %v, want 1 to %d", revs, len(revs))
		}
	}
	if got := e.mustGet("R-REV001"); got.Rev != int64(len(revs)) {
		t.Errorf("Get: rev %d, want %d", got.Rev, len(revs))
	}
}

// Refusals of strangers go to a stream of their own with its own cap: a
// flood of them leaves the real history whole, and AuditLog still shows
// both, in order.
func testStrangerAudit(t *testing.T, e *env) {
	c := e.newClient()
	s := approvals.New(c, approvals.WithAuditCaps(approvals.Options{Prefix: e.prefix, Clock: e.clock}, 1000, 10))
	audit := func(ev bot.Event) {
		t.Helper()
		if err := s.Audit(ctx(t), ev); err != nil {
			t.Fatal(err)
		}
	}
	audit(bot.Event{Kind: "requested", RequestID: "R-AUD001", Actor: "alice", Detail: "first"})
	e.clock.Advance(time.Millisecond)
	const flood = 1000
	for i := range flood {
		audit(bot.Event{Kind: "refused", Actor: "slack:U0SPAM", Detail: "unknown person tried list " + strconv.Itoa(i), Stranger: true})
	}
	e.clock.Advance(time.Millisecond)
	audit(bot.Event{Kind: "approved", RequestID: "R-AUD001", Actor: "bob", Detail: "last"})

	if n := e.raw.XLen(ctx(t), e.key("audit")).Val(); n != 2 {
		t.Errorf("main audit stream: %d entries, want the 2 real events", n)
	}
	if n := e.raw.XLen(ctx(t), e.key("audit:strangers")).Val(); n == 0 || n > 200 {
		t.Errorf("strangers' stream: %d entries, want some, capped near 10 (trimmed by whole nodes)", n)
	}
	evs, err := s.AuditLog(ctx(t), bot.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) < 3 || evs[0].Detail != "first" || evs[len(evs)-1].Detail != "last" {
		t.Fatalf("AuditLog: %d events, first %+v, last %+v; want the real ones around the strangers'", len(evs), evs[0], evs[len(evs)-1])
	}
	for _, ev := range evs[1 : len(evs)-1] {
		if !ev.Stranger || ev.Actor != "slack:U0SPAM" {
			t.Errorf("between the real events: %+v, want a stranger's refusal", ev)
			break
		}
	}
	if last := evs[len(evs)-2].Detail; last != "unknown person tried list "+strconv.Itoa(flood-1) {
		t.Errorf("newest stranger's refusal: %q, want the last one written", last)
	}
	id := func(s string) [2]uint64 {
		ms, seq, _ := strings.Cut(s, "-")
		a, _ := strconv.ParseUint(ms, 10, 64)
		b, _ := strconv.ParseUint(seq, 10, 64)
		return [2]uint64{a, b}
	}
	for i := 1; i < len(evs); i++ {
		p, c := id(evs[i-1].ID), id(evs[i].ID)
		if c[0] < p[0] || c[0] == p[0] && c[1] < p[1] {
			t.Errorf("AuditLog out of order at %d: %s after %s", i, evs[i].ID, evs[i-1].ID)
			break
		}
	}
}

// legacyOffered leaves id as an earlier version of the bot wrote an offer:
// state approved, with the Reveal deadline in the reveal field.
func (e *env) legacyOffered(id, requester string) (bot.Claim, time.Time) {
	e.t.Helper()
	c, _ := e.offered(id, requester)
	by := msTime(e.clock.Now().Add(30 * time.Minute))
	if err := e.raw.HSet(ctx(e.t), e.key("req:"+id), "state", "approved").Err(); err != nil {
		e.t.Fatal(err)
	}
	return c, by
}

// A request offered before the offered state had a name (approved with a
// reveal field) goes on as an offered one across the upgrade: shown as
// offered, revealed by its requester, expired at its deadline, cancelled,
// or failed by the claim that offered it.
func testLegacyOffer(t *testing.T, e *env) {
	_, by := e.legacyOffered("R-OLD001", "alice")
	if got := e.mustGet("R-OLD001"); got.State != bot.StateOffered || !got.RevealBy.Equal(by) {
		t.Errorf("Get: got %s, reveal by %v; want offered, reveal by %v", got.State, got.RevealBy, by)
	}
	c, err := e.store.ClaimReveal(ctx(t), "R-OLD001", "alice", bot.PlatformDiscord, time.Minute)
	if err != nil || c.Request.State != bot.StateExecuting {
		t.Errorf("ClaimReveal: got %s, %v; want executing", c.Request.State, err)
	}

	e.legacyOffered("R-OLD002", "alice")
	if got, err := e.store.Cancel(ctx(t), "R-OLD002", "alice", bot.PlatformDiscord); err != nil || got.State != bot.StateCancelled {
		t.Errorf("Cancel: got %s, %v; want cancelled", got.State, err)
	}

	first, _ := e.legacyOffered("R-OLD003", "alice")
	if got, err := e.store.Finish(ctx(t), first, bot.StateFailed, "the Reveal button could not be sent"); err != nil || got.State != bot.StateFailed {
		t.Errorf("Finish with the offering claim: got %s, %v; want failed", got.State, err)
	}

	e.legacyOffered("R-OLD004", "alice")
	e.clock.Advance(30 * time.Minute)
	got, err := e.store.ExpireDue(ctx(t))
	if err != nil || len(got) != 1 || got[0].ID != "R-OLD004" || got[0].State != bot.StateExpired {
		t.Errorf("ExpireDue at the deadline: got %+v, %v; want R-OLD004 expired", got, err)
	}
	if open, err := e.store.Open(ctx(t), "alice"); err != nil || len(open) != 1 || open[0].ID != "R-OLD001" {
		t.Errorf("Open: got %+v, %v; want only R-OLD001, being reset", open, err)
	}
}
