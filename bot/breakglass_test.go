package bot_test

import (
	"strings"
	"testing"
	"time"

	"resetbot/adapters/pagerduty"
	"resetbot/adapters/pagerduty/pdtest"
	"resetbot/bot"
)

// withBreakGlass lets alice (eng-oncall) break the glass on prod-db, its
// review due in 4h, at most 2 a day; and, when pd is set, auto-approves on
// hpc whoever PagerDuty says is on call for PPOLICY1 at level 1 while
// PSERVICE1 has an open incident. alice is PALICE1, bob PBOB1 and sam
// PSAM1 in PagerDuty.
func withBreakGlass(pd *pdtest.Server) func(*bot.Options) {
	return func(o *bot.Options) {
		for i, p := range o.People {
			switch p.Name {
			case "alice":
				o.People[i].Groups = append(append([]string{}, p.Groups...), "eng-oncall")
				o.People[i].PagerDuty = "PALICE1"
			case "bob":
				o.People[i].PagerDuty = "PBOB1"
			case "sam":
				o.People[i].PagerDuty = "PSAM1"
			}
		}
		for i, a := range o.Accounts {
			switch a.Name {
			case "prod-db":
				a.BreakGlass = &bot.BreakGlass{Who: []string{"eng-oncall"}, ReviewWithin: 4 * time.Hour,
					PerPerson: bot.Limit{N: 2, Window: 24 * time.Hour}}
			case "hpc":
				a.OnCall = &bot.OnCallPolicy{EscalationPolicy: "PPOLICY1", Levels: []int{1}, IncidentOn: []string{"PSERVICE1"}}
			}
			o.Accounts[i] = a
		}
		if pd != nil {
			oc, err := pagerduty.New(pagerduty.Options{Token: "pd-token", APIURL: pd.URL, Timeout: 500 * time.Millisecond, CacheFor: time.Nanosecond})
			if err != nil {
				panic(err)
			}
			o.OnCall = oc
		}
	}
}

// glassed has alice break the glass on prod-db and waits for the offer.
func (e *env) glassed() string {
	e.t.Helper()
	e.runExecutor(e.svc, "exec")
	r := e.mustDo(as("alice", bot.PlatformDiscord), "break-glass prod-db INC-42 the primary is down")
	id := r.Request.ID
	e.waitOffer(id)
	return id
}

// TestBreakGlass: alice breaks the glass: no vote, offered at once, the
// cards marked with the incident, the skipped approvers mentioned under
// them; the refusals change nothing and are audited.
func TestBreakGlass(t *testing.T) {
	e := newEnv(t, withBreakGlass(nil))
	id := e.glassed()
	req := e.wantState(id, bot.StateOffered)
	if rv := req.Review; rv == nil || rv.Kind != bot.ReviewBreakGlass || rv.Incident != "INC-42" || rv.State != bot.ReviewOpen ||
		!rv.Due.Equal(req.CreatedAt.Add(4*time.Hour)) {
		t.Fatalf("review: %+v", req.Review)
	}
	if len(req.Votes) != 0 {
		t.Errorf("votes on a break-glass request: %+v", req.Votes)
	}
	for _, pl := range []bot.Platform{bot.PlatformSlack, bot.PlatformDiscord} {
		if c := e.lastCard(id, pl); !c.Reviewable() || c.Review.Incident != "INC-42" {
			t.Errorf("%s card: %+v, want the open review with the incident", pl, c.Review)
		}
	}
	rs := e.reminders(id)
	if len(rs) != 2 {
		t.Fatalf("replies under the cards: %d, want one per platform", len(rs))
	}
	for _, r := range rs {
		if r.Audience != "sam,bob,carol,dave,erin,frank" || !strings.Contains(r.Text, "BREAK-GLASS") || !strings.Contains(r.Text, "INC-42") {
			t.Errorf("reply under the %s card: %q to %q, want every approver but alice mentioned, with the incident", r.Platform, r.Text, r.Audience)
		}
	}
	e.wantAudit(id, bot.EventBreakGlass, "alice", "prod-db: the primary is down")
	e.wantAudit(id, bot.EventApproved, "alice", "break-glass for INC-42")
	if !strings.Contains(e.metrics.String(), string(bot.EventBreakGlass)) {
		t.Errorf("metrics: %s, want break_glass counted", e.metrics)
	}

	// the Reveal path as for any approval
	sh := &show{}
	if err := e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, sh.fn); err != nil {
		t.Fatalf("Reveal: %v", err)
	}
	if got := e.wantState(id, bot.StateSucceeded); !got.Reviewable() {
		t.Errorf("the review closed with the reset: %+v", got.Review)
	}
}

func TestBreakGlassRefused(t *testing.T) {
	e := newEnv(t, withBreakGlass(nil))
	cases := []struct {
		name, who, text, code, says string
	}{
		{"NotInWho", "sam", "break-glass prod-db INC-1 urgent", bot.EFORBIDDEN, "only eng-oncall may"},
		{"NoBreakGlass", "alice", "break-glass hpc INC-1 urgent", bot.EFORBIDDEN, "hpc has no break-glass"},
		{"UnknownAccount", "alice", "break-glass nope INC-1 urgent", bot.EFORBIDDEN, "no account"},
		{"NoIncident", "alice", "break-glass prod-db urgent", bot.EINVALID, "an account, an incident reference and a reason"},
		{"BadIncident", "alice", "break-glass prod-db " + strings.Repeat("I", 65) + " urgent", bot.EINVALID, "longer than 64"},
		{"Stranger", "", "break-glass prod-db INC-1 urgent", bot.EFORBIDDEN, "not in resetbot's list"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := bot.Actor{Platform: bot.PlatformSlack, UserID: "U0NOBODY"}
			if tc.who != "" {
				a = as(tc.who, bot.PlatformSlack)
			}
			refused(t, e.do(a, tc.text), tc.code, tc.says)
		})
	}
	if open, _ := e.store.Open(e.ctx, "alice"); len(open) != 0 {
		t.Errorf("refusals created requests: %+v", open)
	}
	if n := len(e.chat.all()); n != 0 {
		t.Errorf("refusals showed %d things on the chat", n)
	}
	evs, err := e.store.AuditLog(e.ctx, bot.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var sam bool
	for _, ev := range evs {
		if ev.Kind == bot.EventRefused && ev.Actor == "sam" && ev.Incident == "INC-1" && strings.Contains(ev.Detail, "break-glass on prod-db refused") {
			sam = true
		}
	}
	if !sam {
		t.Errorf("sam's refusal is not audited with its incident: %+v", evs)
	}

	// per person: 2 a day
	e.runExecutor(e.svc, "exec")
	for range 2 {
		id := e.mustDo(as("alice", bot.PlatformSlack), "break-glass prod-db INC-2 again").Request.ID
		e.waitOffer(id)
		e.mustDo(as("alice", bot.PlatformSlack), "cancel "+id)
	}
	refused(t, e.do(as("alice", bot.PlatformSlack), "break-glass prod-db INC-3 third"), bot.ERATELIMIT, "broken the glass on prod-db 2 times within 24h")
}

// TestReview: confirm, reject (before and after the Reveal) and overdue,
// with a hand-moved clock; the requester cannot review their own; the
// rotation resets again and shows the password to nobody, retried with
// backoff while the cloud fails.
func TestReview(t *testing.T) {
	t.Run("Confirm", func(t *testing.T) {
		e := newEnv(t, withBreakGlass(nil))
		id := e.glassed()
		for who, code := range map[string]string{"alice": bot.EFORBIDDEN, "mallory": bot.EFORBIDDEN, "bob": ""} {
			if err := e.svc.CheckReview(e.ctx, as(who, bot.PlatformDiscord), id); bot.ErrorCode(err) != code && (code != "" || err != nil) {
				t.Errorf("CheckReview(%s): %v, want %q", who, err, code)
			}
		}
		refused(t, e.do(as("alice", bot.PlatformDiscord), "confirm "+id), bot.EFORBIDDEN, "another approver must review it")
		refused(t, e.do(as("mallory", bot.PlatformSlack), "confirm "+id), bot.EFORBIDDEN, "you may not review")
		r := e.mustDo(as("bob", bot.PlatformSlack), "confirm "+id)
		if rv := r.Request.Review; rv.State != bot.ReviewConfirmed || rv.By != "bob" {
			t.Errorf("after bob's confirmation: %+v", rv)
		}
		refused(t, e.do(as("carol", bot.PlatformSlack), "reject "+id), bot.ECONFLICT, "already confirmed by bob")
		if err := e.svc.CheckReview(e.ctx, as("carol", bot.PlatformDiscord), id); bot.ErrorCode(err) != bot.ECONFLICT {
			t.Errorf("CheckReview after the confirmation: %v, want a conflict", err)
		}
		e.wantTold("alice", id, "bob confirmed")
		e.wantAudit(id, bot.EventConfirmed, "bob", "")
		e.clock.Advance(5 * time.Hour)
		e.svc.Sweep(e.ctx)
		if got := e.get(id); got.Review.State != bot.ReviewConfirmed || got.State != bot.StateOffered && got.State != bot.StateExpired {
			t.Errorf("a confirmed review after its deadline: %s %+v", got.State, got.Review)
		}
		if calls := e.prov.calls.Load(); calls != 0 {
			t.Errorf("cloud calls: %d, want none (never revealed)", calls)
		}
	})
	t.Run("RejectBeforeReveal", func(t *testing.T) {
		e := newEnv(t, withBreakGlass(nil))
		id := e.glassed()
		r := e.mustDo(as("bob", bot.PlatformSlack), "reject "+id+" no such incident")
		if r.Request.State != bot.StateDenied || !strings.Contains(r.Text, "Nothing was reset") {
			t.Errorf("reply: %q, state %s", r.Text, r.Request.State)
		}
		e.waitWithdrawn(id, bot.StateDenied)
		sh := &show{}
		if err := e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, sh.fn); bot.ErrorCode(err) != bot.ECONFLICT {
			t.Errorf("Reveal after the rejection: %v, want a conflict", err)
		}
		e.svc.Sweep(e.ctx)
		if calls := e.prov.calls.Load(); calls != 0 {
			t.Errorf("cloud calls: %d, want none", calls)
		}
		e.wantTold("alice", id, "rejected by bob: no such incident")
	})
	t.Run("RejectAfterRevealRotatesExactlyOnceOverThreeServices", func(t *testing.T) {
		e := newEnv(t, withBreakGlass(nil))
		svcs := e.replicas(withBreakGlass(nil))
		id := e.glassed()
		sh := &show{}
		if err := e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, sh.fn); err != nil {
			t.Fatal(err)
		}
		shownPW := sh.all()[0].Password.Value()
		r := e.mustDo(as("carol", bot.PlatformDiscord), "reject "+id)
		if !r.Request.Exposed() {
			t.Fatalf("after the rejection: %+v", r.Request.Review.Rotation)
		}
		// the cloud fails the first attempt
		e.prov.mu.Lock()
		e.prov.err = bot.Errorf(bot.EPROVIDER, "the cloud API is down")
		e.prov.mu.Unlock()
		for range 3 {
			e.sweepAll(svcs)
		}
		if calls := e.prov.calls.Load(); calls != 2 { // the Reveal, then one attempt
			t.Fatalf("cloud calls after the first sweeps: %d, want 2", calls)
		}
		got := e.get(id)
		if !got.Exposed() || got.Review.Rotation.Error != "the cloud API is down" {
			t.Fatalf("after the failed attempt: %+v", got.Review.Rotation)
		}
		if c := e.lastCard(id, bot.PlatformSlack); !c.Exposed() || c.Review.Rotation.Error == "" {
			t.Errorf("the card does not show the failing rotation: %+v", c.Review)
		}
		e.wantTold("alice", id, "the one you were shown still works")
		e.prov.mu.Lock()
		e.prov.err = nil
		e.prov.mu.Unlock()
		e.clock.Advance(30 * time.Second)
		for range 3 {
			e.sweepAll(svcs)
		}
		if calls := e.prov.calls.Load(); calls != 3 {
			t.Fatalf("cloud calls after the backoff: %d, want 3 (one more attempt, once over three services)", calls)
		}
		got = e.get(id)
		if got.Exposed() || got.Review.Rotation.State != bot.RotationDone {
			t.Fatalf("after the second attempt: %+v", got.Review.Rotation)
		}
		e.wantTold("alice", id, "no longer works")
		e.wantAudit(id, bot.EventRotated, "system", "nobody has it")
		e.wantAudit(id, bot.EventRotationFailed, "system", "the cloud API is down")

		// locked until a normal approved reset
		refused(t, e.do(as("alice", bot.PlatformSlack), "break-glass prod-db INC-43 again"), bot.EFORBIDDEN, "prod-db is locked")

		// neither password, the shown one nor the rotated one, is anywhere
		// but in the answer to alice's click
		pws := e.prov.generated()
		if len(pws) != 2 || pws[0] != shownPW {
			t.Fatalf("passwords made: %d, want the shown one and the rotated one", len(pws))
		}
		places := map[string]string{
			"redis": redisDump(t, e), "audit": auditDump(t, e), "log": e.log.String(),
			"metrics": e.metrics.String(), "chat": chatDump(e),
		}
		if !strings.Contains(places["audit"], string(bot.EventRotated)) || !strings.Contains(places["chat"], "INC-42") {
			t.Fatal("the dumps miss the rotation: the scan is broken")
		}
		for _, pw := range pws {
			for where, text := range places {
				if strings.Contains(text, pw) {
					t.Errorf("a password shows in the %s", where)
				}
			}
		}
	})
	t.Run("Overdue", func(t *testing.T) {
		e := newEnv(t, withBreakGlass(nil))
		id := e.glassed()
		sh := &show{}
		if err := e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, sh.fn); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(4*time.Hour - time.Minute)
		e.svc.Sweep(e.ctx)
		if got := e.get(id); !got.Reviewable() {
			t.Fatalf("before the deadline: %+v", got.Review)
		}
		e.clock.Advance(time.Minute)
		e.svc.Sweep(e.ctx)
		got := e.get(id)
		if got.Review.State != bot.ReviewOverdue || got.Review.Rotation.State != bot.RotationDone {
			t.Errorf("after the deadline: %+v %+v", got.Review, got.Review.Rotation)
		}
		if calls := e.prov.calls.Load(); calls != 2 {
			t.Errorf("cloud calls: %d, want the Reveal and the rotation", calls)
		}
		e.wantTold("alice", id, "not confirmed by")
		e.wantAudit(id, bot.EventOverdue, "system", "")
		refused(t, e.do(as("bob", bot.PlatformSlack), "confirm "+id), bot.ECONFLICT, "nobody confirmed it in time")
	})
}

// onCallEnv is an env whose PagerDuty emulator has alice on call for
// PPOLICY1 at level 1 and sam at level 2, PSERVICE1 with a triggered
// incident.
func onCallEnv(t *testing.T) (*env, *pdtest.Server) {
	pd := pdtest.New(t, "pd-token")
	pd.SetOnCall(pdtest.OnCall{User: "PALICE1", EscalationPolicy: "PPOLICY1", Level: 1, Schedule: "PSCHED1"},
		pdtest.OnCall{User: "PSAM1", EscalationPolicy: "PPOLICY1", Level: 2})
	pd.SetIncidents(pdtest.Incident{ID: "PINC1", Number: 1234, Status: pdtest.Triggered, Service: "PSERVICE1"})
	return newEnv(t, withBreakGlass(pd)), pd
}

// TestOnCall: alice, on call at level 1 with an open incident, is
// approved by PagerDuty; otherwise, or with PagerDuty down or slow, the
// vote stays open and the card says why.
func TestOnCall(t *testing.T) {
	t.Run("Matched", func(t *testing.T) {
		e, _ := onCallEnv(t)
		e.runExecutor(e.svc, "exec")
		r := e.mustDo(as("alice", bot.PlatformSlack), "hpc:u1 the batch is down")
		id := r.Request.ID
		e.waitOffer(id)
		got := e.get(id)
		if rv := got.Review; rv == nil || rv.Kind != bot.ReviewOnCall || !strings.Contains(rv.Detail, "level 1") ||
			!strings.Contains(rv.Detail, "PSCHED1") || !strings.Contains(rv.Incident, "1234") {
			t.Fatalf("review: %+v", got.Review)
		}
		e.wantAudit(id, bot.EventApproved, bot.ActorPagerDuty, "on call")
		if !strings.Contains(r.Text, "PagerDuty approved") {
			t.Errorf("reply: %q", r.Text)
		}
	})
	for _, tc := range []struct {
		name  string
		setup func(*pdtest.Server)
		who   string
		says  string // the reply, and, with notice, the card
		card  bool
	}{
		{"NotOnCall", func(pd *pdtest.Server) { pd.SetOnCall() }, "alice", "not on call for PPOLICY1 at level 1", false},
		{"WrongLevel", func(*pdtest.Server) {}, "sam", "not at level 1", false},
		{"NoIncident", func(pd *pdtest.Server) {
			pd.SetIncidents(pdtest.Incident{ID: "PINC1", Number: 1234, Status: pdtest.Resolved, Service: "PSERVICE1"})
		}, "alice", "no triggered or acknowledged incident", false},
		{"PagerDutyDown", func(pd *pdtest.Server) { pd.Fail("", 500, 0) }, "alice", "PagerDuty answered 500", true},
		{"PagerDutySlow", func(pd *pdtest.Server) { pd.Delay(2 * time.Second) }, "alice", "PagerDuty did not answer", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, pd := onCallEnv(t)
			tc.setup(pd)
			r := e.mustDo(as(tc.who, bot.PlatformSlack), "hpc:u1 the batch is down")
			got := e.wantState(r.Request.ID, bot.StatePending)
			if got.Review != nil {
				t.Errorf("auto-approved: %+v", got.Review)
			}
			if !strings.Contains(r.Text, tc.says) {
				t.Errorf("reply %q, want it to say %q", r.Text, tc.says)
			}
			if tc.card && (!strings.Contains(got.Notice, tc.says) || !strings.Contains(e.lastCard(got.ID, bot.PlatformDiscord).Notice, tc.says)) {
				t.Errorf("notice on the request and its card: %q, want %q", got.Notice, tc.says)
			}
			// the vote stays open
			e.mustDo(as("carol", bot.PlatformSlack), "approve "+got.ID)
			if got := e.mustDo(as("dave", bot.PlatformSlack), "approve "+got.ID); got.Request.State != bot.StateApproved {
				t.Errorf("after two approvals: %s", got.Request.State)
			}
		})
	}
}

// TestOnCallInReminders: reminders of an account with on_call mention who
// is on call now, besides who may still approve.
func TestOnCallInReminders(t *testing.T) {
	pd := pdtest.New(t, "pd-token")
	pd.SetOnCall(pdtest.OnCall{User: "PBOB1", EscalationPolicy: "PPOLICY1", Level: 1})
	mod := func(o *bot.Options) {
		withBreakGlass(pd)(o)
		for i, a := range o.Accounts {
			if a.Name == "hpc" {
				a.RemindAfter, a.RemindBackoff = 2*time.Minute, 1
				a.Approvers = []string{"carol", "dave"}
				o.Accounts[i] = a
			}
		}
	}
	e := newEnv(t, mod)
	id := e.ask(as("alice", bot.PlatformSlack), "hpc:u1 the batch is down")
	e.clock.Advance(2 * time.Minute)
	e.svc.Sweep(e.ctx)
	rs := e.reminders(id)
	if len(rs) != 2 || rs[0].Audience != "carol,dave,bob" {
		t.Fatalf("reminders: %+v, want carol and dave, and bob who is on call", rs)
	}
}
