package bot_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"resetbot/bot"
	"resetbot/internal/redistest"
)

// withReminders gives vault (withRules) a TTL of 8h, reminders from 10m
// on, each twice as long after the one before, and, when escalate is set,
// an escalation to eng-managers (mgr, and ivy, who asks) after 20m.
func withReminders(escalate bool) func(*bot.Options) {
	return func(o *bot.Options) {
		withRules(o)
		o.People = append(o.People, bot.Person{Name: "mgr", Slack: "U0MGR", Discord: "8001", Groups: []string{"eng-managers"}})
		for i, p := range o.People {
			if p.Name == "ivy" {
				o.People[i].Groups = append(slices.Clone(p.Groups), "eng-managers")
			}
		}
		for i, a := range o.Accounts {
			if a.Name != "vault" {
				continue
			}
			a.TTL = 8 * time.Hour
			a.RemindAfter, a.RemindBackoff = 10*time.Minute, 2
			if escalate {
				a.EscalateAfter, a.EscalateTo = 20*time.Minute, []string{"eng-managers"}
			}
			o.Accounts[i] = a
		}
	}
}

// replicas are svc and two more services on clients of their own.
func (e *env) replicas(mods ...func(*bot.Options)) []*bot.Service {
	svcs := []*bot.Service{e.svc}
	for range 2 {
		client, _ := redistest.Client(e.t)
		svc, _ := e.newService(client, mods...)
		svcs = append(svcs, svc)
	}
	return svcs
}

// sweepAll runs Sweep on every service at once.
func (e *env) sweepAll(svcs []*bot.Service) {
	var wg sync.WaitGroup
	for _, svc := range svcs {
		wg.Go(func() { svc.Sweep(e.ctx) })
	}
	wg.Wait()
}

// reminders are the replies posted under id's cards so far.
func (e *env) reminders(id string) []shown {
	var out []shown
	for _, s := range e.chat.all() {
		if s.Kind == "remind" && s.Request.ID == id {
			out = append(out, s)
		}
	}
	return out
}

// TestRemindersExactlyOnce: three replicas sweep at once, again and again,
// while a hand-moved clock passes each reminder's time: each reminder is
// one reply under each platform's card, mentioning only who may still
// approve, at 10m, then 20m and 40m after the one before; none once the
// request is approved.
func TestRemindersExactlyOnce(t *testing.T) {
	mod := withReminders(false)
	e := newEnv(t, mod)
	svcs := e.replicas(mod)
	id := e.ask(asRuled("ivy", bot.PlatformSlack), "vault locked out")
	if req := e.get(id); req.Reminders == nil || !req.Reminders.Next.Equal(req.CreatedAt.Add(10*time.Minute)) {
		t.Fatalf("reminders of the request: %+v, want the first at 10m", req.Reminders)
	}

	steps := []struct {
		advance time.Duration
		want    int // reminders sent in all, per platform
	}{
		{9 * time.Minute, 0},
		{time.Minute, 1}, // 10m
		{19 * time.Minute, 1},
		{time.Minute, 2}, // 30m: 20m after the first
		{39 * time.Minute, 2},
		{time.Minute, 3}, // 70m: 40m after the second
	}
	for _, st := range steps {
		e.clock.Advance(st.advance)
		for range 3 {
			e.sweepAll(svcs)
		}
		got := e.reminders(id)
		if len(got) != 2*st.want {
			t.Fatalf("at %s: %d replies under the cards, want %d (one per platform and reminder): %+v",
				e.clock.Now().Sub(e.get(id).CreatedAt), len(got), 2*st.want, got)
		}
	}
	first := e.reminders(id)[0]
	if strings.Contains(","+first.Audience+",", ",ivy,") || !strings.Contains(first.Audience, "dana") || !strings.Contains(first.Audience, "sec-9") {
		t.Errorf("first reminder mentions %q: want every eligible voter (dana, sec-9…), never ivy who asked", first.Audience)
	}
	if !strings.Contains(first.Text, "reminder 1") || !strings.Contains(first.Text, "db-approvers 0/1 · security 0/1") {
		t.Errorf("first reminder says %q, want its number and the progress", first.Text)
	}
	for _, s := range e.reminders(id) {
		if !strings.HasPrefix(s.Ref, string(s.Platform)+"/card-") {
			t.Errorf("reminder on %s under %q, want under that platform's card", s.Platform, s.Ref)
		}
	}
	e.wantAudit(id, bot.EventReminded, "system", "reminder 3 of at most 5")

	// dana fills db-approvers: the next reminder mentions security only.
	e.mustDo(asRuled("dana", bot.PlatformSlack), "approve "+id)
	e.clock.Advance(80 * time.Minute) // 150m: 80m after the third
	e.sweepAll(svcs)
	got := e.reminders(id)
	if len(got) != 8 {
		t.Fatalf("after the fourth: %d replies, want 8", len(got))
	}
	last := got[len(got)-1].Audience
	if strings.Contains(last, "dana") || strings.Contains(last, "dba-") || !strings.Contains(last, "sean") || strings.Contains(last, "pat") == false {
		t.Errorf("fourth reminder mentions %q: want the security people who have not voted (pat, sean, sec-…), no db-approver", last)
	}

	// Approved: no reminder ever again.
	e.mustDo(asRuled("sean", bot.PlatformDiscord), "approve "+id)
	e.wantState(id, bot.StateApproved)
	e.clock.Advance(4 * time.Hour)
	e.sweepAll(svcs)
	if got := len(e.reminders(id)); got != 8 {
		t.Errorf("after the approval: %d replies, want still 8", got)
	}
}

// TestRemindersStop: at most five reminders; none after a cancel, none
// after the expiry.
func TestRemindersStop(t *testing.T) {
	t.Run("AtMostFive", func(t *testing.T) {
		mod := func(o *bot.Options) {
			withReminders(false)(o)
			for i := range o.Accounts {
				if o.Accounts[i].Name == "vault" {
					o.Accounts[i].RemindBackoff, o.Accounts[i].TTL = 1, 24*time.Hour
				}
			}
		}
		e := newEnv(t, mod)
		id := e.ask(asRuled("ivy", bot.PlatformSlack), "vault locked out")
		for range 12 {
			e.clock.Advance(10 * time.Minute)
			e.svc.Sweep(e.ctx)
		}
		if got := len(e.reminders(id)); got != 2*bot.MaxReminders {
			t.Errorf("replies after 2h of reminders every 10m: %d, want %d", got, 2*bot.MaxReminders)
		}
		if req := e.get(id); req.Reminders.Sent != bot.MaxReminders || !req.Reminders.Next.IsZero() {
			t.Errorf("reminders: %+v, want %d sent and none next", req.Reminders, bot.MaxReminders)
		}
	})
	t.Run("NotAfterCancel", func(t *testing.T) {
		e := newEnv(t, withReminders(true))
		id := e.ask(asRuled("ivy", bot.PlatformSlack), "vault locked out")
		e.mustDo(asRuled("ivy", bot.PlatformSlack), "cancel "+id)
		e.clock.Advance(time.Hour)
		e.svc.Sweep(e.ctx)
		if got := e.reminders(id); len(got) != 0 {
			t.Errorf("replies under a cancelled request's cards: %+v", got)
		}
		if req := e.get(id); req.Escalated() != "" {
			t.Errorf("a cancelled request was escalated: %+v", req.Escalation)
		}
	})
	t.Run("NotAfterExpiry", func(t *testing.T) {
		mod := func(o *bot.Options) {
			withReminders(false)(o)
			for i := range o.Accounts {
				if o.Accounts[i].Name == "vault" {
					o.Accounts[i].TTL = 15 * time.Minute
				}
			}
		}
		e := newEnv(t, mod)
		id := e.ask(asRuled("ivy", bot.PlatformSlack), "vault locked out")
		e.clock.Advance(10 * time.Minute)
		e.svc.Sweep(e.ctx)
		e.clock.Advance(time.Hour) // the second would be at 30m, after the expiry
		e.svc.Sweep(e.ctx)
		e.wantState(id, bot.StateExpired)
		if got := len(e.reminders(id)); got != 2 {
			t.Errorf("replies: %d, want 2 (the first reminder, on each platform)", got)
		}
	})
}

// TestEscalation: after escalate_after, eng-managers may approve toward any
// rule; they are mentioned under the cards, the cards say so, the requester
// is told, it is audited; ivy, who asks and is a manager, is never among
// them.
func TestEscalation(t *testing.T) {
	mod := withReminders(true)
	e := newEnv(t, mod)
	svcs := e.replicas(mod)
	e.runExecutor(e.svc, "only")
	id := e.ask(asRuled("ivy", bot.PlatformSlack), "vault locked out")
	if req := e.get(id); req.Escalation == nil || !slices.Equal(req.Escalation.People, []string{"mgr"}) {
		t.Fatalf("escalation: %+v, want mgr alone (never ivy, who asks)", req.Escalation)
	}
	mgr := bot.Actor{Platform: bot.PlatformSlack, UserID: "U0MGR"}
	refused(t, e.do(mgr, "approve "+id), bot.EFORBIDDEN, "once it is escalated to eng-managers, at 09:50 UTC")
	e.mustDo(asRuled("dana", bot.PlatformSlack), "approve "+id)

	e.clock.Advance(20 * time.Minute)
	e.sweepAll(svcs)
	req := e.wantState(id, bot.StatePending)
	if req.Escalated() != "eng-managers" {
		t.Fatalf("after 20m: escalation %+v, want done", req.Escalation)
	}
	var pings []shown
	for _, s := range e.reminders(id) {
		if strings.Contains(s.Text, "escalated to eng-managers") {
			pings = append(pings, s)
		}
	}
	if len(pings) != 2 || pings[0].Audience != "mgr" {
		t.Errorf("escalation replies: %+v, want one per platform mentioning mgr alone", pings)
	}
	e.wantTold("ivy", id, id+" was escalated to eng-managers")
	e.wantAudit(id, bot.EventEscalated, "system", "escalated to eng-managers")
	var card *bot.Request
	for _, s := range e.chat.all() {
		if s.Kind == "card" && s.Request.ID == id {
			card = &s.Request
		}
	}
	if card == nil || card.Escalated() != "eng-managers" {
		t.Errorf("last card shown: %+v, want it escalated", card)
	}
	if s := e.mustDo(asRuled("ivy", bot.PlatformSlack), "status "+id); !strings.Contains(s.Text, "may still approve: pat, mgr, sean, sue") || !strings.Contains(s.Text, "escalated to eng-managers") {
		t.Errorf("status after the escalation: %q, want mgr among who may still approve, and the escalation", s.Text)
	}
	// A second sweep escalates nothing more.
	e.sweepAll(svcs)
	if n := countAudit(e, id, bot.EventEscalated); n != 1 {
		t.Errorf("escalated events: %d, want 1", n)
	}
	// mgr counts toward security.
	if r := e.mustDo(mgr, "approve "+id); r.Request.State != bot.StateApproved {
		t.Errorf("mgr's approval left %s %s, want approved", id, r.Request.State)
	}
	e.wantAudit(id, bot.EventApproved, "mgr", "db-approvers 1/1 · security 1/1")
	e.waitOffer(id)
}

// TestEscalationApprovesAtOnce: when an escalation lets approvals already
// given count toward another rule, the escalation approves the request,
// once, across three replicas.
func TestEscalationApprovesAtOnce(t *testing.T) {
	mod := func(o *bot.Options) {
		withReminders(true)(o)
		for i := range o.Accounts {
			if o.Accounts[i].Name == "vault" {
				o.Accounts[i].EscalateTo = []string{"db-approvers"}
			}
		}
	}
	e := newEnv(t, mod)
	svcs := e.replicas(mod)
	for i, svc := range svcs {
		e.runExecutor(svc, fmt.Sprintf("replica-%d", i))
	}
	id := e.ask(asRuled("ivy", bot.PlatformSlack), "vault locked out")
	e.mustDo(asRuled("dana", bot.PlatformSlack), "approve "+id)
	e.mustDo(asRuled("dba-0", bot.PlatformDiscord), "approve "+id)
	e.wantState(id, bot.StatePending) // both count toward db-approvers only
	e.clock.Advance(20 * time.Minute)
	for range 3 {
		e.sweepAll(svcs)
	}
	e.waitOffer(id)
	if n := countAudit(e, id, bot.EventApproved); n != 1 {
		t.Errorf("approved events: %d, want 1", n)
	}
	e.wantAudit(id, bot.EventApproved, "system", "after the escalation")
	if got := e.chat.count("offer", nil); got != 1 {
		t.Errorf("offers: %d, want 1", got)
	}
	e.wantTold("ivy", id, "the approvals it had now suffice")
}

func countAudit(e *env, id string, kind bot.EventKind) int {
	e.t.Helper()
	events, err := e.store.AuditLog(e.ctx, bot.AuditQuery{RequestID: id})
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, ev := range events {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}
