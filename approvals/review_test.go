package approvals_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"resetbot/bot"
)

// TestStoreReview is the conformance suite of requests that skip the vote
// (break-glass, on call), their review and the rotation that undoes a
// rejected one, run against the real redis-server and against miniredis.
func TestStoreReview(t *testing.T) {
	runSuite(t, append(servers(), deployments()...), []suiteCase{
		{"BreakGlassSkipsTheVote", testReviewBreakGlass},
		{"OnCallApprovedByPagerDuty", testReviewOnCall},
		{"PerPersonLimit", testReviewPerPerson},
		{"ConfirmOnce", testReviewConfirm},
		{"RejectBeforeTheReveal", testReviewRejectUnrevealed},
		{"RejectAfterTheResetRotatesOnceAndLocks", testReviewRotation},
		{"OverdueOnceAcrossStores", testReviewOverdue},
		{"LostAttemptClaimedAgain", testReviewLostAttempt},
		{"RejectDuringTheResetWaitsForIt", testReviewWhileResetting},
		{"LockEndsOtherUnrevealedResets", testReviewLockEndsOthers},
		{"NormalResetSupersedesTheRotation", testReviewSuperseded},
		{"FailedResetRotatedOnlyWhenMaybeShown", testReviewFailedReset},
	})
}

// glass is a break-glass request of alice on account, its review due in
// 4 hours, at most 2 per person and day.
func (e *env) glass(id, account string) bot.Request {
	req := e.request(id, "alice", account, 1)
	req.Rules = []bot.RequestRule{rule("db", 1, "bob", "carol")}
	req.Review = &bot.Review{Kind: bot.ReviewBreakGlass, Incident: "INC-42", State: bot.ReviewOpen,
		Due: e.clock.Now().Add(4 * time.Hour), PerPerson: bot.Limit{N: 2, Window: 24 * time.Hour}}
	return req
}

// revealed takes the approved request id through its offer and its
// requester's Reveal to succeeded, as the executor and the click do.
func (e *env) revealed(id string) bot.Request {
	e.t.Helper()
	return e.revealedAs(id, bot.StateSucceeded, false)
}

// revealedAs is revealed, finishing as state, maybe having shown the
// password.
func (e *env) revealedAs(id string, state bot.State, maybeShown bool) bot.Request {
	e.t.Helper()
	c := e.mustNext(e.store, "w1", time.Minute)
	if c.Request.ID != id {
		e.t.Fatalf("claimed %s, want %s", c.Request.ID, id)
	}
	if _, err := e.store.Offer(ctx(e.t), c, e.clock.Now().Add(30*time.Minute), "offered"); err != nil {
		e.t.Fatalf("Offer: %v", err)
	}
	rc, err := e.store.ClaimReveal(ctx(e.t), id, c.Request.Requester, bot.PlatformSlack, time.Minute)
	if err != nil {
		e.t.Fatalf("ClaimReveal: %v", err)
	}
	rc.MaybeShown = maybeShown
	r, err := e.store.Finish(ctx(e.t), rc, state, "reset app_user")
	if err != nil {
		e.t.Fatalf("Finish: %v", err)
	}
	return r
}

// dueOver has n stores, each on a client of its own, claim the due timers
// at once, and returns all they claimed.
func (e *env) dueOver(n int) []bot.Timer {
	var mu sync.Mutex
	var all []bot.Timer
	var wg sync.WaitGroup
	for range n {
		s := e.newStore()
		wg.Go(func() {
			ts, err := s.Due(ctx(e.t))
			if err != nil {
				e.t.Errorf("Due: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			all = append(all, ts...)
		})
	}
	wg.Wait()
	return all
}

func (e *env) review(id, person string, confirm bool, reason string) (bot.Request, error) {
	return e.store.Review(ctx(e.t), id, person, bot.PlatformDiscord, confirm, reason)
}

// rotations claims the due timers once and returns the rotation attempts
// and overdue reviews among them, by request.
func (e *env) rotations() (rotate map[string]int, overdue map[string]bool) {
	rotate, overdue = map[string]int{}, map[string]bool{}
	for _, tm := range e.due() {
		if tm.Rotate > 0 {
			rotate[tm.Request.ID] = tm.Rotate
		}
		if tm.Overdue {
			overdue[tm.Request.ID] = true
		}
	}
	return rotate, overdue
}

func testReviewBreakGlass(t *testing.T, e *env) {
	got := e.mustCreate(e.glass("R-GLAS01", "prod-db"))
	if got.State != bot.StateApproved {
		t.Fatalf("state: got %s, want approved at once", got.State)
	}
	rv := got.Review
	if rv == nil || rv.Kind != bot.ReviewBreakGlass || rv.Incident != "INC-42" || rv.State != bot.ReviewOpen ||
		!rv.Due.Equal(msTime(e.clock.Now().Add(4*time.Hour))) || rv.Rotation != nil {
		t.Fatalf("review: got %+v", rv)
	}
	if c := e.mustNext(e.store, "w1", time.Minute); c.Request.ID != "R-GLAS01" {
		t.Errorf("the queue holds %s, want the break-glass request", c.Request.ID)
	}
	evs := e.events("R-GLAS01")
	bg, ok := findEvent(evs, bot.EventBreakGlass, "alice")
	if !ok || bg.Incident != "INC-42" {
		t.Errorf("break_glass event: got %+v in %s", bg, kinds(evs))
	}
	if ap, ok := findEvent(evs, bot.EventApproved, "alice"); !ok || ap.Incident != "INC-42" || !strings.Contains(ap.Detail, "break-glass") {
		t.Errorf("approved event: got %+v in %s", ap, kinds(evs))
	}
	if _, ok := findEvent(evs, bot.EventRequested, "alice"); ok {
		t.Errorf("a break-glass request is audited as break_glass, not requested: %s", kinds(evs))
	}
}

func testReviewOnCall(t *testing.T, e *env) {
	req := e.request("R-CALL01", "alice", "prod-db", 1)
	req.Review = &bot.Review{Kind: bot.ReviewOnCall, Incident: "#1234 PINC1", Detail: "alice is on call for PPOLICY1 at level 1",
		State: bot.ReviewOpen, Due: e.clock.Now().Add(time.Hour)}
	got := e.mustCreate(req)
	if got.State != bot.StateApproved || got.Review == nil || got.Review.Detail != req.Review.Detail {
		t.Fatalf("on-call request: got %s, %+v", got.State, got.Review)
	}
	evs := e.events("R-CALL01")
	ap, ok := findEvent(evs, bot.EventApproved, bot.ActorPagerDuty)
	if !ok || !strings.Contains(ap.Detail, "PPOLICY1 at level 1") || ap.Incident != "#1234 PINC1" {
		t.Errorf("approved by pagerduty: got %+v in %s", ap, kinds(evs))
	}
}

// finished ends the approved break-glass request id as failed, so that
// its requester may ask again.
func (e *env) finished(id string) {
	e.t.Helper()
	c := e.mustNext(e.store, "w1", time.Minute)
	if _, err := e.store.Finish(ctx(e.t), c, bot.StateFailed, "not reset: test"); err != nil || c.Request.ID != id {
		e.t.Fatalf("Finish(%s): claimed %s, %v", id, c.Request.ID, err)
	}
}

func testReviewPerPerson(t *testing.T, e *env) {
	e.mustCreate(e.glass("R-LIMT01", "prod-db"))
	e.finished("R-LIMT01")
	e.mustCreate(e.glass("R-LIMT02", "prod-db"))
	e.finished("R-LIMT02")
	// another account has a count of its own
	e.mustCreate(e.glass("R-LIMT03", "other-db"))

	_, err := e.store.Create(ctx(t), e.glass("R-LIMT04", "prod-db"), bot.Limit{})
	if got := wantError(t, err, bot.ERATELIMIT); !strings.Contains(got.Message, "broken the glass on prod-db 2 times within 24h") {
		t.Errorf("refusal: %q", got.Message)
	}
	if _, err := e.store.Get(ctx(t), "R-LIMT04"); bot.ErrorCode(err) != bot.ENOTFOUND {
		t.Errorf("a refused break-glass request was stored: %v", err)
	}
	all, err := e.store.AuditLog(ctx(t), bot.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	refused, ok := findEvent(all, bot.EventRefused, "alice")
	if !ok || refused.Incident != "INC-42" || !strings.Contains(refused.Detail, "break-glass limit") {
		t.Errorf("the refusal's audit: got %+v, want it with the incident", refused)
	}
	// a day later, one more
	e.clock.Advance(24 * time.Hour)
	e.mustCreate(e.glass("R-LIMT05", "prod-db"))
}

func testReviewConfirm(t *testing.T, e *env) {
	e.mustCreate(e.glass("R-CONF01", "prod-db"))
	_, err := e.review("R-CONF01", "alice", true, "")
	if got := wantError(t, err, bot.EFORBIDDEN); !strings.Contains(got.Message, "another approver must review it") {
		t.Errorf("the requester's own review: %q", got.Message)
	}
	got, err := e.review("R-CONF01", "bob", true, "")
	if err != nil {
		t.Fatalf("confirm: %v", err)
	}
	if rv := got.Review; rv.State != bot.ReviewConfirmed || rv.By != "bob" || rv.At.IsZero() || got.State != bot.StateApproved {
		t.Errorf("after the confirmation: %s %+v", got.State, rv)
	}
	if _, err := e.review("R-CONF01", "bob", true, ""); err != nil {
		t.Errorf("the same confirmation sent again: %v, want it to succeed, changing nothing", err)
	}
	_, err = e.review("R-CONF01", "carol", false, "no incident")
	if got := wantError(t, err, bot.ECONFLICT); !strings.Contains(got.Message, "already confirmed by bob") {
		t.Errorf("a rejection after the confirmation: %q", got.Message)
	}
	evs := e.events("R-CONF01")
	if n := strings.Count(kinds(evs), string(bot.EventConfirmed)); n != 1 {
		t.Errorf("review_confirmed events: %d in %s, want 1", n, kinds(evs))
	}
	if _, ok := findEvent(evs, bot.EventRefused, "alice"); !ok {
		t.Errorf("the requester's own review was not audited: %s", kinds(evs))
	}
	// a request that went through the vote has nothing to review
	e.approved("R-CONF02", "alice")
	_, err = e.review("R-CONF02", "carol", true, "")
	wantError(t, err, bot.ECONFLICT)
}

func testReviewRejectUnrevealed(t *testing.T, e *env) {
	e.mustCreate(e.glass("R-UNRV01", "prod-db"))
	got, err := e.review("R-UNRV01", "bob", false, "no such incident")
	if err != nil {
		t.Fatalf("reject: %v", err)
	}
	rv := got.Review
	if got.State != bot.StateDenied || rv.State != bot.ReviewRejected || rv.Reason != "no such incident" ||
		rv.Rotation == nil || rv.Rotation.State != bot.RotationNone || !strings.Contains(got.Outcome, "nothing was reset") {
		t.Fatalf("rejected before the Reveal: %s %q %+v %+v", got.State, got.Outcome, rv, rv.Rotation)
	}
	e.wantNothingNext(e.store, "w1", time.Minute)
	if n, _ := e.raw.Exists(ctx(t), e.key("lock:prod-db")).Result(); n != 0 {
		t.Errorf("the account was locked, though nothing was reset")
	}
	if rot, _ := e.rotations(); len(rot) != 0 {
		t.Errorf("rotations: %v, want none", rot)
	}
}

func testReviewRotation(t *testing.T, e *env) {
	e.mustCreate(e.glass("R-ROTA01", "prod-db"))
	e.revealed("R-ROTA01")
	got, err := e.review("R-ROTA01", "bob", false, "")
	if err != nil {
		t.Fatalf("reject: %v", err)
	}
	if !got.Exposed() || got.State != bot.StateSucceeded {
		t.Fatalf("after the rejection: %s %+v, want the rotation pending", got.State, got.Review.Rotation)
	}

	// three stores sweep at once: one claims the first attempt
	claims := 0
	for _, tm := range e.dueOver(3) {
		if tm.Rotate > 0 {
			claims++
			if tm.Rotate != 1 {
				t.Errorf("first attempt numbered %d", tm.Rotate)
			}
		}
	}
	if claims != 1 {
		t.Fatalf("rotation attempts claimed by 3 stores: %d, want 1", claims)
	}
	failed, err := e.store.Rotated(ctx(t), "R-ROTA01", 1, "the cloud API is down")
	if err != nil {
		t.Fatalf("Rotated: %v", err)
	}
	if rot := failed.Review.Rotation; rot.State != bot.RotationPending || rot.Error != "the cloud API is down" ||
		!rot.Next.Equal(msTime(e.clock.Now().Add(30*time.Second))) {
		t.Errorf("after a failed attempt: %+v, want pending, the error, the next in 30s", rot)
	}
	if rot, _ := e.rotations(); len(rot) != 0 {
		t.Errorf("claimed before the backoff: %v", rot)
	}
	e.clock.Advance(30 * time.Second)
	rot, _ := e.rotations()
	if rot["R-ROTA01"] != 2 {
		t.Fatalf("after the backoff: %v, want attempt 2", rot)
	}
	done, err := e.store.Rotated(ctx(t), "R-ROTA01", 2, "")
	if err != nil || done.Review.Rotation.State != bot.RotationDone || done.Exposed() {
		t.Fatalf("Rotated(2): %+v, %v", done.Review, err)
	}
	if _, err := e.store.Rotated(ctx(t), "R-ROTA01", 2, ""); err != nil {
		t.Errorf("the same success sent again: %v", err)
	}
	e.clock.Advance(time.Hour)
	if rot, _ := e.rotations(); len(rot) != 0 {
		t.Errorf("claimed after it was done: %v", rot)
	}
	evs := kinds(e.events("R-ROTA01"))
	if strings.Count(evs, string(bot.EventRotationFailed)) != 1 || strings.Count(evs, string(bot.EventRotated)) != 1 {
		t.Errorf("audit: %s, want one rotation_failed and one rotated", evs)
	}

	// locked: no break-glass, no on call, until a normal approved reset
	_, err = e.store.Create(ctx(t), e.glass("R-ROTA02", "prod-db"), bot.Limit{})
	if got := wantError(t, err, bot.EFORBIDDEN); got.ID != "R-ROTA01" || !strings.Contains(got.Message, "prod-db is locked") {
		t.Errorf("break-glass on the locked account: %+v", got)
	}
	normal := e.request("R-ROTA03", "carol", "prod-db", 1)
	e.mustCreate(normal)
	e.mustVote("R-ROTA03", "bob", true)
	c := e.mustNext(e.store, "w1", time.Minute)
	fin, err := e.store.Finish(ctx(t), c, bot.StateSucceeded, "reset app_user")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := e.raw.Exists(ctx(t), e.key("lock:prod-db")).Result(); n != 0 {
		t.Errorf("still locked after a normal approved reset (%s)", fin.State)
	}
	if _, ok := findEvent(e.events("R-ROTA03"), bot.EventSucceeded, "system"); !ok {
		t.Errorf("no succeeded event for the unlocking reset")
	}
	e.mustCreate(e.glass("R-ROTA04", "prod-db"))
}

func testReviewOverdue(t *testing.T, e *env) {
	e.mustCreate(e.glass("R-OVER01", "prod-db"))
	e.revealed("R-OVER01")
	e.mustCreate(e.glass("R-OVER02", "other-db")) // never revealed
	e.clock.Advance(4*time.Hour - time.Second)
	if _, over := e.rotations(); len(over) != 0 {
		t.Fatalf("overdue before the deadline: %v", over)
	}
	e.clock.Advance(time.Second)
	overdue, rotate := map[string]int{}, map[string]int{}
	for _, tm := range e.dueOver(3) {
		if tm.Overdue {
			overdue[tm.Request.ID]++
		}
		if tm.Rotate > 0 {
			rotate[tm.Request.ID]++
		}
	}
	if overdue["R-OVER01"] != 1 || overdue["R-OVER02"] != 1 || rotate["R-OVER01"] != 1 || len(rotate) != 1 {
		t.Errorf("over 3 stores: overdue %v, rotations %v; want each overdue once, R-OVER01 rotated once", overdue, rotate)
	}
	r1, r2 := e.mustGet("R-OVER01"), e.mustGet("R-OVER02")
	if r1.Review.State != bot.ReviewOverdue || r1.Review.By != "system" || !r1.Exposed() {
		t.Errorf("R-OVER01: %+v %+v", r1.Review, r1.Review.Rotation)
	}
	if r2.State != bot.StateDenied || r2.Review.Rotation.State != bot.RotationNone {
		t.Errorf("R-OVER02 (never revealed): %s %+v", r2.State, r2.Review.Rotation)
	}
	if _, err := e.review("R-OVER01", "bob", true, ""); bot.ErrorCode(err) != bot.ECONFLICT {
		t.Errorf("a confirmation after the deadline: %v, want a conflict", err)
	}
}

func testReviewLostAttempt(t *testing.T, e *env) {
	e.mustCreate(e.glass("R-LOST01", "prod-db"))
	e.revealed("R-LOST01")
	if _, err := e.review("R-LOST01", "bob", false, ""); err != nil {
		t.Fatal(err)
	}
	if rot, _ := e.rotations(); rot["R-LOST01"] != 1 {
		t.Fatalf("first attempt: %v", rot)
	}
	// its process dies: nothing is reported
	e.clock.Advance(4 * time.Minute)
	if rot, _ := e.rotations(); len(rot) != 0 {
		t.Fatalf("claimed again within the attempt's lease: %v", rot)
	}
	e.clock.Advance(time.Minute)
	if rot, _ := e.rotations(); rot["R-LOST01"] != 2 {
		t.Fatalf("after the lease: %v, want attempt 2", rot)
	}
	_, err := e.store.Rotated(ctx(t), "R-LOST01", 1, "")
	wantError(t, err, bot.ECONFLICT)
	if r := e.mustGet("R-LOST01"); !r.Exposed() {
		t.Errorf("a stale attempt's report changed the rotation: %+v", r.Review.Rotation)
	}
}

func testReviewWhileResetting(t *testing.T, e *env) {
	e.mustCreate(e.glass("R-WHIL01", "prod-db"))
	c := e.mustNext(e.store, "w1", time.Minute)
	if _, err := e.store.Offer(ctx(t), c, e.clock.Now().Add(30*time.Minute), "offered"); err != nil {
		t.Fatal(err)
	}
	rc, err := e.store.ClaimReveal(ctx(t), "R-WHIL01", "alice", bot.PlatformSlack, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.review("R-WHIL01", "bob", false, "")
	if err != nil || !got.Exposed() || got.State != bot.StateExecuting {
		t.Fatalf("rejected during the reset: %s %+v %v", got.State, got.Review, err)
	}
	if rot, _ := e.rotations(); len(rot) != 0 {
		t.Fatalf("rotated while the reset runs: %v", rot)
	}
	if _, err := e.store.Finish(ctx(t), rc, bot.StateSucceeded, "reset app_user"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(10 * time.Second)
	if rot, _ := e.rotations(); rot["R-WHIL01"] != 1 {
		t.Errorf("after the reset ended: %v, want attempt 1", rot)
	}
}

// offeredGlass creates a break-glass request of requester on account and
// takes it to offered.
func (e *env) offeredGlass(id, requester, account string) {
	e.t.Helper()
	req := e.glass(id, account)
	req.Requester = requester
	e.mustCreate(req)
	c := e.mustNext(e.store, "w1", time.Minute)
	if _, err := e.store.Offer(ctx(e.t), c, e.clock.Now().Add(30*time.Minute), "offered"); err != nil || c.Request.ID != id {
		e.t.Fatalf("Offer(%s): claimed %s, %v", id, c.Request.ID, err)
	}
}

func testReviewLockEndsOthers(t *testing.T, e *env) {
	e.offeredGlass("R-LOCK01", "alice", "prod-db")
	e.offeredGlass("R-LOCK02", "sam", "prod-db")
	rc, err := e.store.ClaimReveal(ctx(t), "R-LOCK02", "sam", bot.PlatformSlack, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Finish(ctx(t), rc, bot.StateSucceeded, "reset app_user"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.review("R-LOCK02", "bob", false, ""); err != nil {
		t.Fatal(err)
	}
	// alice's offer was made before the lock: it is not revealed now
	_, err = e.store.ClaimReveal(ctx(t), "R-LOCK01", "alice", bot.PlatformSlack, time.Minute)
	if got := wantError(t, err, bot.ECONFLICT); !strings.Contains(got.Message, "prod-db is locked") {
		t.Errorf("Reveal on the locked account: %q", got.Message)
	}
	if r := e.mustGet("R-LOCK01"); r.State != bot.StateDenied || !strings.Contains(r.Outcome, "nothing was reset") {
		t.Errorf("alice's request: %s %q, want it ended unrevealed", r.State, r.Outcome)
	}
	// a normal request's Reveal is not held back by the lock
	e.approved("R-LOCK03", "carol")
	req := e.mustGet("R-LOCK03")
	_ = req
}

func testReviewSuperseded(t *testing.T, e *env) {
	e.mustCreate(e.glass("R-SUPR01", "prod-db"))
	e.revealed("R-SUPR01")
	if _, err := e.review("R-SUPR01", "bob", false, ""); err != nil {
		t.Fatal(err)
	}
	if rot, _ := e.rotations(); rot["R-SUPR01"] != 1 {
		t.Fatalf("first attempt: %v", rot)
	}
	if _, err := e.store.Rotated(ctx(t), "R-SUPR01", 1, "the cloud API is down"); err != nil {
		t.Fatal(err)
	}
	// meanwhile carol's normal approved reset of prod-db succeeds
	e.mustCreate(e.request("R-SUPR02", "carol", "prod-db", 1))
	e.mustVote("R-SUPR02", "bob", true)
	c := e.mustNext(e.store, "w1", time.Minute)
	if _, err := e.store.Finish(ctx(t), c, bot.StateSucceeded, "reset app_user"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	if rot, _ := e.rotations(); len(rot) != 0 {
		t.Fatalf("rotation attempts after the normal reset: %v, want none: it would take carol's password away", rot)
	}
	r := e.mustGet("R-SUPR01")
	if r.Exposed() || r.Review.Rotation.State != bot.RotationDone {
		t.Errorf("the rotation after the normal reset: %+v, want done, not needed", r.Review.Rotation)
	}
	if ev, ok := findEvent(e.events("R-SUPR01"), bot.EventRotated, "system"); !ok || !strings.Contains(ev.Detail, "not needed") {
		t.Errorf("audit: %+v", ev)
	}
}

func testReviewFailedReset(t *testing.T, e *env) {
	e.mustCreate(e.glass("R-FAIL01", "prod-db"))
	e.revealedAs("R-FAIL01", bot.StateFailed, false)
	got, err := e.review("R-FAIL01", "bob", false, "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Exposed() || got.Review.Rotation.State != bot.RotationNone {
		t.Errorf("a reset that failed without showing a password: %+v, want nothing to rotate", got.Review.Rotation)
	}
	if n, _ := e.raw.Exists(ctx(t), e.key("lock:prod-db")).Result(); n != 0 {
		t.Errorf("locked after a failed reset")
	}

	e.mustCreate(e.glass("R-FAIL02", "other-db"))
	e.revealedAs("R-FAIL02", bot.StateFailed, true)
	if got, err := e.review("R-FAIL02", "bob", false, ""); err != nil || !got.Exposed() {
		t.Errorf("a failed reset whose password may have been shown: %+v %v, want it rotated", got.Review, err)
	}
}
