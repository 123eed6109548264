package approvals_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"resetbot/bot"
)

// TestStoreTimers is the conformance suite of reminders and escalation
// (Store.Due), run against the real redis-server and against miniredis.
func TestStoreTimers(t *testing.T) {
	runSuite(t, append(servers(), deployments()...), []suiteCase{
		{"StoredAndReadBack", testTimersStored},
		{"ScheduleWithBackoffAtMostFive", testTimersSchedule},
		{"EachReminderOnceAcrossStores", testTimersOnce},
		{"NoneOnceNotPending", testTimersNotPending},
		{"NoneAfterExpiry", testTimersExpiry},
		{"LateSweeperSendsOne", testTimersLate},
		{"EscalationAdmitsToEveryRule", testTimersEscalation},
		{"EscalationApprovesWithApprovalsGiven", testTimersEscalationApproves},
		{"InvalidRefused", testTimersInvalid},
	})
}

// timed is a request of alice with two rules, reminders every after (times
// backoff), and, when escalateAfter is set, an escalation to managers
// (erin) then.
func (e *env) timed(id string, after time.Duration, backoff float64, escalateAfter time.Duration) bot.Request {
	e.t.Helper()
	req := e.request(id, "alice", "acct-"+id, 1)
	req.ExpiresAt = e.clock.Now().Add(8 * time.Hour)
	req.Rules = []bot.RequestRule{rule("db", 1, "bob", "carol"), rule("security", 1, "dave")}
	if after > 0 {
		req.Reminders = &bot.Reminders{After: after, Backoff: backoff, Next: e.clock.Now().Add(after)}
	}
	if escalateAfter > 0 {
		req.Escalation = &bot.Escalation{To: []string{"managers"}, People: []string{"erin"}, At: e.clock.Now().Add(escalateAfter)}
	}
	return e.mustCreate(req)
}

func (e *env) due() []bot.Timer {
	e.t.Helper()
	got, err := e.store.Due(ctx(e.t))
	if err != nil {
		e.t.Fatalf("Due: %v", err)
	}
	return got
}

func testTimersStored(t *testing.T, e *env) {
	got := e.timed("R-TIME01", 10*time.Minute, 1.5, 20*time.Minute)
	want := bot.Reminders{After: 10 * time.Minute, Backoff: 1.5, Next: e.clock.Now().Add(10 * time.Minute)}
	if rm := got.Reminders; rm == nil || rm.After != want.After || rm.Backoff != want.Backoff || rm.Sent != 0 || !rm.Next.Equal(want.Next) {
		t.Errorf("reminders: got %+v, want %+v", got.Reminders, want)
	}
	if e := got.Escalation; e == nil || !slices.Equal(e.To, []string{"managers"}) || !slices.Equal(e.People, []string{"erin"}) || e.Done {
		t.Errorf("escalation: got %+v", got.Escalation)
	}
	plain := e.mustCreate(e.request("R-TIME02", "alice", "other", 1))
	if plain.Reminders != nil || plain.Escalation != nil {
		t.Errorf("a request without timers: got %+v, %+v", plain.Reminders, plain.Escalation)
	}
	if n := len(e.due()); n != 0 {
		t.Errorf("Due at once: %d, want none", n)
	}
}

func testTimersSchedule(t *testing.T, e *env) {
	e.timed("R-TIME03", 10*time.Minute, 2, 0)
	// 10m, then 20m, 40m, 80m, 160m after the one before; no sixth.
	var at []time.Duration
	start := e.clock.Now()
	for range 48 * 2 { // 8h in 5m steps
		e.clock.Advance(5 * time.Minute)
		for _, tm := range e.due() {
			at = append(at, e.clock.Now().Sub(start))
			if tm.Reminder != len(at) || tm.Escalated {
				t.Errorf("timer %+v: want reminder %d", tm, len(at))
			}
		}
	}
	want := []time.Duration{10 * time.Minute, 30 * time.Minute, 70 * time.Minute, 150 * time.Minute, 310 * time.Minute}
	if !slices.Equal(at, want) {
		t.Errorf("reminders at %v, want %v", at, want)
	}
	e.wantAuditDetail("R-TIME03", bot.EventReminded, "reminder 5 of at most 5")
}

func testTimersOnce(t *testing.T, e *env) {
	for _, id := range []string{"R-ONCE01", "R-ONCE02", "R-ONCE03"} {
		e.timed(id, 10*time.Minute, 1, 0)
	}
	e.clock.Advance(10 * time.Minute)
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for range 20 {
		s := e.newStore()
		wg.Go(func() {
			timers, err := s.Due(ctx(t))
			if err != nil {
				t.Errorf("Due: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, tm := range timers {
				got[tm.Request.ID] += tm.Reminder
			}
		})
	}
	wg.Wait()
	if len(got) != 3 || got["R-ONCE01"] != 1 || got["R-ONCE02"] != 1 || got["R-ONCE03"] != 1 {
		t.Errorf("reminders claimed by 20 concurrent callers: %v, want reminder 1 of each request once", got)
	}
}

func testTimersNotPending(t *testing.T, e *env) {
	e.timed("R-GONE01", 10*time.Minute, 1, 10*time.Minute)
	e.timed("R-GONE02", 10*time.Minute, 1, 10*time.Minute)
	if _, err := e.store.Cancel(ctx(t), "R-GONE01", "alice", bot.PlatformSlack); err != nil {
		t.Fatal(err)
	}
	e.mustVote("R-GONE02", "bob", true)
	if r := e.mustVote("R-GONE02", "dave", true); r.State != bot.StateApproved {
		t.Fatalf("R-GONE02: %s, want approved", r.State)
	}
	e.clock.Advance(time.Hour)
	if got := e.due(); len(got) != 0 {
		t.Errorf("Due on requests no longer pending: %+v", got)
	}
	if n, _ := e.raw.ZCard(ctx(t), e.key("timers")).Result(); n != 0 {
		t.Errorf("timers left: %d, want none", n)
	}
}

func testTimersExpiry(t *testing.T, e *env) {
	req := e.request("R-EXP001", "alice", "prod-db", 1)
	req.Rules = []bot.RequestRule{rule("db", 1, "bob")}
	req.Reminders = &bot.Reminders{After: 10 * time.Minute, Backoff: 1, Next: e.clock.Now().Add(10 * time.Minute)}
	e.mustCreate(req) // expires at 30m
	e.clock.Advance(10 * time.Minute)
	if got := e.due(); len(got) != 1 {
		t.Fatalf("at 10m: %d timers, want 1", len(got))
	}
	e.clock.Advance(10 * time.Minute)
	got := e.due()
	if len(got) != 1 {
		t.Fatalf("at 20m: %d timers, want 1", len(got))
	}
	// The third would be at 30m, the expiry: none is scheduled.
	if rm := got[0].Request.Reminders; rm == nil || rm.Sent != 2 || !rm.Next.IsZero() {
		t.Errorf("after the second reminder: %+v, want 2 sent and none next", rm)
	}
	if n := e.raw.ZCard(ctx(t), e.prefix+"timers").Val(); n != 0 {
		t.Errorf("timers left after the last reminder before the expiry: %d, want 0", n)
	}
	e.clock.Advance(10 * time.Minute)
	if got := e.due(); len(got) != 0 {
		t.Errorf("at the expiry: %+v, want none", got)
	}
}

// testTimersLate: a sweeper that comes back after an hour sends the one
// reminder that is due then, not every one it missed, and the next is
// scheduled from now.
func testTimersLate(t *testing.T, e *env) {
	e.timed("R-LATE01", 10*time.Minute, 1, 0)
	e.clock.Advance(time.Hour)
	got := e.due()
	if len(got) != 1 || got[0].Reminder != 1 {
		t.Fatalf("an hour late: %+v, want reminder 1 alone", got)
	}
	if rm := got[0].Request.Reminders; rm == nil || !rm.Next.Equal(e.clock.Now().Add(10*time.Minute)) {
		t.Errorf("next reminder: %+v, want 10m from now", rm)
	}
	if again := e.due(); len(again) != 0 {
		t.Errorf("at once again: %+v, want none", again)
	}
	e.clock.Advance(10 * time.Minute)
	if got := e.due(); len(got) != 1 || got[0].Reminder != 2 {
		t.Errorf("10m later: %+v, want reminder 2", got)
	}
}

func testTimersEscalation(t *testing.T, e *env) {
	e.timed("R-ESC001", 0, 0, 20*time.Minute)
	if _, err := e.store.Vote(ctx(t), "R-ESC001", bot.Vote{Person: "erin", Approve: true}); bot.ErrorCode(err) != bot.EFORBIDDEN {
		t.Errorf("erin before the escalation: got %v, want EFORBIDDEN", err)
	}
	e.mustVote("R-ESC001", "bob", true)
	e.clock.Advance(19 * time.Minute)
	if got := e.due(); len(got) != 0 {
		t.Fatalf("before 20m: %+v", got)
	}
	e.clock.Advance(time.Minute)
	got := e.due()
	if len(got) != 1 || !got[0].Escalated || got[0].Reminder != 0 {
		t.Fatalf("at 20m: %+v, want one escalation", got)
	}
	req := got[0].Request
	if req.State != bot.StatePending || req.Escalated() != "managers" {
		t.Errorf("escalated request: %s, %q", req.State, req.Escalated())
	}
	for _, r := range req.Rules {
		if !slices.Contains(r.People, "erin") {
			t.Errorf("rule %s after the escalation: %v, want erin in it", r.Name, r.People)
		}
	}
	if got := e.due(); len(got) != 0 {
		t.Errorf("escalated twice: %+v", got)
	}
	e.wantAuditDetail("R-ESC001", bot.EventEscalated, "escalated to managers")
	if r := e.mustVote("R-ESC001", "erin", true); r.State != bot.StateApproved {
		t.Errorf("after erin: %s (%s), want approved", r.State, bot.ProgressText(r.Progress()))
	}
}

func testTimersEscalationApproves(t *testing.T, e *env) {
	req := e.request("R-ESC002", "alice", "prod-db", 1)
	req.ExpiresAt = e.clock.Now().Add(time.Hour)
	req.Rules = []bot.RequestRule{rule("db", 1, "bob", "carol"), rule("security", 1, "dave")}
	req.Escalation = &bot.Escalation{To: []string{"db"}, People: []string{"bob", "carol"}, At: e.clock.Now().Add(20 * time.Minute)}
	e.mustCreate(req)
	e.mustVote("R-ESC002", "bob", true)
	if r := e.mustVote("R-ESC002", "carol", true); r.State != bot.StatePending {
		t.Fatalf("bob and carol before the escalation: %s, want pending (both count toward db only)", r.State)
	}
	e.clock.Advance(20 * time.Minute)
	got := e.due()
	if len(got) != 1 || got[0].Request.State != bot.StateApproved {
		t.Fatalf("escalation: %+v, want it to approve", got)
	}
	if !bot.Satisfied(got[0].Request.Progress()) {
		t.Errorf("progress: %s", bot.ProgressText(got[0].Request.Progress()))
	}
	e.wantAuditDetail("R-ESC002", bot.EventApproved, "after the escalation")
	// It is on the queue: an executor claims it.
	claim, err := e.store.Next(ctx(t), "exec", time.Minute)
	if err != nil || claim.Request.ID != "R-ESC002" {
		t.Errorf("Next: %+v, %v; want R-ESC002", claim.Request.ID, err)
	}
}

func testTimersInvalid(t *testing.T, e *env) {
	req := e.request("R-BAD001", "alice", "prod-db", 1)
	req.Escalation = &bot.Escalation{To: []string{"bad\tname"}, People: []string{"x"}, At: e.clock.Now()}
	if _, err := e.store.Create(ctx(t), req, bot.Limit{}); bot.ErrorCode(err) != bot.EINVALID {
		t.Errorf("a tab in a name: got %v, want EINVALID", err)
	}
	req.Escalation = &bot.Escalation{People: []string{"x"}, At: e.clock.Now()}
	if _, err := e.store.Create(ctx(t), req, bot.Limit{}); bot.ErrorCode(err) != bot.EINVALID {
		t.Errorf("nobody to escalate to: got %v, want EINVALID", err)
	}
}

// wantAuditDetail checks that id's audit log has an event of kind whose
// detail is detail or contains it.
func (e *env) wantAuditDetail(id string, kind bot.EventKind, detail string) {
	e.t.Helper()
	events, err := e.store.AuditLog(ctx(e.t), bot.AuditQuery{RequestID: id})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, ev := range events {
		if ev.Kind == kind && strings.Contains(ev.Detail, detail) {
			return
		}
	}
	e.t.Errorf("%s: no %s event saying %q in %+v", id, kind, detail, events)
}
