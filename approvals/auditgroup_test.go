package approvals_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"resetbot/approvals"
	"resetbot/bot"
)

const group = "siem"

func (e *env) audit(ev bot.Event) {
	e.t.Helper()
	if err := e.store.Audit(context.Background(), ev); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) readGroup(stream, consumer string, minIdle time.Duration) []bot.Event {
	e.t.Helper()
	evs, err := e.store.ReadAuditGroup(context.Background(), group, stream, consumer, 100, minIdle, 0)
	if err != nil {
		e.t.Fatalf("ReadAuditGroup(%s, %s): %v", stream, consumer, err)
	}
	return evs
}

func (e *env) lag() (int64, time.Duration) {
	e.t.Helper()
	n, age, err := e.store.AuditGroupLag(context.Background(), group)
	if err != nil {
		e.t.Fatal(err)
	}
	return n, age
}

func details(evs []bot.Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.Detail)
	}
	return strings.Join(s, ",")
}

func ids(evs []bot.Event) []string {
	var s []string
	for _, e := range evs {
		s = append(s, e.ID)
	}
	return s
}

func TestAuditGroup(t *testing.T) {
	for _, srv := range append(servers(), deployments()...) {
		t.Run(srv.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, srv)
			if n, age := e.lag(); n != 0 || age != 0 {
				t.Fatalf("lag of an empty log: %d, %s; want 0, 0", n, age)
			}
			e.audit(bot.Event{Kind: bot.EventRequested, RequestID: "R-AAAAAA", Actor: "alice", Detail: "d1"})
			e.audit(bot.Event{Kind: bot.EventRefused, Actor: "carol", Detail: "r1"})
			e.audit(bot.Event{Kind: bot.EventRefused, Actor: "slack:U0X", Detail: "s1", Stranger: true})
			e.clock.Advance(time.Minute)
			e.audit(bot.Event{Kind: bot.EventApproved, RequestID: "R-AAAAAA", Actor: "bob", Detail: "d2"})
			e.clock.Advance(time.Hour)

			t.Run("LagBeforeAnyRead", func(t *testing.T) {
				if n, age := e.lag(); n != 4 || age != time.Hour+time.Minute {
					t.Errorf("lag: %d events, oldest %s; want 4, 1h1m", n, age)
				}
			})
			t.Run("EachStreamApart", func(t *testing.T) {
				for stream, want := range map[string]string{"audit": "d1,d2", "audit:refusals": "r1", "audit:strangers": "s1"} {
					got := e.readGroup(stream, "a", time.Hour)
					if details(got) != want {
						t.Errorf("%s: got %s, want %s", stream, details(got), want)
					}
					if stream == "audit:strangers" && !got[0].Stranger {
						t.Errorf("a stranger's refusal read without Stranger")
					}
				}
				if n, _ := e.lag(); n != 4 {
					t.Errorf("lag with all pending: %d, want 4", n)
				}
			})
			t.Run("PendingAgainUntilAcked", func(t *testing.T) {
				if got := details(e.readGroup("audit", "a", time.Hour)); got != "d1,d2" {
					t.Errorf("read again: got %q, want the pending d1,d2", got)
				}
				if got := e.readGroup("audit", "b", time.Hour); len(got) != 0 {
					t.Errorf("another consumer got %s, held by a", details(got))
				}
				first := e.readGroup("audit", "a", time.Hour)[0]
				if err := e.store.AckAudit(ctx, group, "audit", first.ID); err != nil {
					t.Fatal(err)
				}
				if got := details(e.readGroup("audit", "a", time.Hour)); got != "d2" {
					t.Errorf("after acking d1: got %q, want d2", got)
				}
				if n, age := e.lag(); n != 3 || age != time.Hour+time.Minute {
					t.Errorf("lag: %d, %s; want 3, 1h1m (r1 is the oldest left)", n, age)
				}
			})
			t.Run("ClaimedFromAnIdleConsumer", func(t *testing.T) {
				held, err := e.store.TouchAudit(ctx, group, "audit:refusals", "a", e.readGroup("audit:refusals", "a", time.Hour)[0].ID)
				if err != nil || len(held) != 1 {
					t.Fatalf("TouchAudit by its holder: %v, %v; want it held", held, err)
				}
				var got []bot.Event
				deadline := time.Now().Add(5 * time.Second)
				for len(got) == 0 && time.Now().Before(deadline) {
					got = e.readGroup("audit:refusals", "b", time.Millisecond)
				}
				if details(got) != "r1" {
					t.Fatalf("b claimed %q, want r1 once a left it idle", details(got))
				}
				if held, err := e.store.TouchAudit(ctx, group, "audit:refusals", "a", got[0].ID); err != nil || len(held) != 0 {
					t.Errorf("TouchAudit by a after b claimed it: %v, %v; want none held", held, err)
				}
				if err := e.store.LeaveAuditGroup(ctx, group, "b"); err != nil {
					t.Fatal(err)
				}
				if got := details(e.readGroup("audit:refusals", "b", time.Hour)); got != "r1" {
					t.Errorf("b left with r1 pending; then read %q, want r1 still its own", got)
				}
			})
			t.Run("LeaveOnlyWithNothingPending", func(t *testing.T) {
				for _, s := range []string{"audit", "audit:refusals", "audit:strangers"} {
					evs := e.readGroup(s, "a", time.Hour)
					evs = append(evs, e.readGroup(s, "b", time.Hour)...)
					if err := e.store.AckAudit(ctx, group, s, ids(evs)...); err != nil {
						t.Fatal(err)
					}
				}
				if n, age := e.lag(); n != 0 || age != 0 {
					t.Errorf("lag with everything acked: %d, %s; want 0, 0", n, age)
				}
				for _, c := range []string{"a", "b"} {
					if err := e.store.LeaveAuditGroup(ctx, group, c); err != nil {
						t.Fatal(err)
					}
				}
				cs, err := e.raw.XInfoConsumers(ctx, e.key("audit"), group).Result()
				if err != nil || len(cs) != 0 {
					t.Errorf("consumers after both left: %v, %v; want none", cs, err)
				}
			})
		})
	}
}

// TestAuditGroupSummaryRewritten: a refusals summary deleted while pending
// (written again with a higher count) is dropped, and its new entry read.
func TestAuditGroupSummaryRewritten(t *testing.T) {
	for _, srv := range append(servers(), deployments()...) {
		t.Run(srv.name, func(t *testing.T) {
			e := newEnv(t, srv)
			for i := range 11 {
				e.audit(bot.Event{Kind: bot.EventRefused, Actor: "mallory", Detail: fmt.Sprint(i)})
			}
			first := e.readGroup("audit:refusals", "a", time.Hour)
			if len(first) != 11 || first[10].Count != 1 {
				t.Fatalf("read %d refusals (last count %d), want 10 and a summary of 1", len(first), first[len(first)-1].Count)
			}
			e.audit(bot.Event{Kind: bot.EventRefused, Actor: "mallory", Detail: "11"})
			again := e.readGroup("audit:refusals", "a", time.Hour)
			if len(again) != 10 {
				t.Fatalf("pending read: %d events, want the 10 refusals without the deleted summary", len(again))
			}
			if err := e.store.AckAudit(context.Background(), group, "audit:refusals", ids(again)...); err != nil {
				t.Fatal(err)
			}
			next := e.readGroup("audit:refusals", "a", time.Hour)
			if len(next) != 1 || next[0].Count != 2 {
				t.Fatalf("then read %+v, want the summary of 2", next)
			}
			if err := e.store.AckAudit(context.Background(), group, "audit:refusals", next[0].ID); err != nil {
				t.Fatal(err)
			}
			if n, _ := e.lag(); n != 0 {
				t.Errorf("lag: %d, want 0", n)
			}
		})
	}
}

// TestAuditGroupLagOfAGroupMadeBeforeAnyEvent: a group made on empty
// streams (a Sender's first read, before anything was written) is behind
// by nothing, then by each event written after, on miniredis too, which
// names such a group's place "0" rather than "0-0".
func TestAuditGroupLagOfAGroupMadeBeforeAnyEvent(t *testing.T) {
	for _, srv := range servers() {
		t.Run(srv.name, func(t *testing.T) {
			e := newEnv(t, srv)
			for _, stream := range e.store.AuditStreams() {
				e.readGroup(stream, "a", time.Hour)
			}
			if n, age := e.lag(); n != 0 || age != 0 {
				t.Errorf("lag of a new group on an empty log: %d, %s; want 0, 0", n, age)
			}
			e.audit(bot.Event{Kind: bot.EventRequested, RequestID: "R-AAAAAA", Actor: "alice", Detail: "d1"})
			if n, _ := e.lag(); n != 1 {
				t.Errorf("lag after one event: %d, want 1", n)
			}
		})
	}
}

// TestAuditGroupLost: Redis losing the group (and the log) is not an
// error: the next read makes the group again and reads what is new.
func TestAuditGroupLost(t *testing.T) {
	for _, srv := range append(servers(), deployments()...) {
		t.Run(srv.name, func(t *testing.T) {
			e := newEnv(t, srv)
			e.audit(bot.Event{Kind: bot.EventRequested, Actor: "alice", Detail: "before"})
			e.readGroup("audit", "a", time.Hour)
			e.raw.Del(context.Background(), e.key("audit"), e.key("audit:last"))
			if n, _ := e.lag(); n != 0 {
				t.Errorf("lag of a lost log: %d, want 0", n)
			}
			e.audit(bot.Event{Kind: bot.EventRequested, Actor: "alice", Detail: "after"})
			if got := details(e.readGroup("audit", "a", time.Hour)); got != "after" {
				t.Errorf("read %q, want after", got)
			}
		})
	}
}

// TestFollowAudit: following from a time gives every event from then on,
// each once, in the order written, across the three streams and across
// pages.
func TestFollowAudit(t *testing.T) {
	for _, srv := range append(servers(), deployments()...) {
		t.Run(srv.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, srv)
			e.audit(bot.Event{Kind: bot.EventRequested, Actor: "alice", Detail: "old"})
			e.clock.Advance(time.Second)
			from := e.clock.Now()
			const n = 1300 // more than a page of one stream
			for i := range n {
				ev := bot.Event{Kind: bot.EventRequested, Actor: "alice"}
				if i%5 == 4 {
					ev = bot.Event{Kind: bot.EventRefused, Actor: fmt.Sprintf("slack:U%d", i), Stranger: true}
				}
				ev.Detail = fmt.Sprint(i)
				e.audit(ev)
			}
			end, err := e.store.AuditEnd(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got, _, err := e.store.FollowAudit(ctx, end, 0); err != nil || len(got) != 0 {
				t.Fatalf("from the end: %d events, %v; want none", len(got), err)
			}
			cur := approvals.AuditCursorAt(from)
			var got []bot.Event
			for range 10 {
				evs, next, err := e.store.FollowAudit(ctx, cur, 0)
				if err != nil {
					t.Fatal(err)
				}
				got, cur = append(got, evs...), next
			}
			if len(got) != n {
				t.Fatalf("followed %d events, want %d", len(got), n)
			}
			for i, ev := range got {
				if ev.Detail != fmt.Sprint(i) || ev.Stranger != (i%5 == 4) {
					t.Fatalf("event %d: %+v, want detail %d", i, ev, i)
				}
			}
			e.audit(bot.Event{Kind: bot.EventApproved, Actor: "bob", Detail: "new"})
			if evs, _, err := e.store.FollowAudit(ctx, end, time.Second); err != nil || details(evs) != "new" {
				t.Errorf("from the end taken before it: %q, %v; want new alone", details(evs), err)
			}
		})
	}
}
