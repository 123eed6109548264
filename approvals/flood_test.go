package approvals_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/approvals"
	"resetbot/bot"
)

// A known person's flood of refusals is collapsed into a count and capped
// apart from the decisions: the history of a completed request survives
// it whole, and AuditLog still shows every event in the order written.
func TestRefusalFloodKeepsHistory(t *testing.T) {
	for _, srv := range servers() {
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, srv)
			c := redis.NewClient(&redis.Options{Addr: e.addr})
			t.Cleanup(func() { _ = c.Close() })
			const burst, window = 3, time.Minute
			opts := approvals.WithAuditCaps(approvals.Options{Prefix: e.prefix, Clock: e.clock, Poll: 50 * time.Millisecond}, 20, 10)
			s := approvals.New(c, approvals.WithRefusalLimits(opts, 10, burst, window))
			e.store = s

			// A completed request, with a refusal of its own on the way.
			e.approved("R-DONE01", "alice")
			if _, err := s.Vote(ctx(t), "R-DONE01", bot.Vote{Person: "bob", Approve: true}); bot.ErrorCode(err) != bot.ECONFLICT {
				t.Fatalf("late vote: got %v, want a conflict", err)
			}
			claim := e.mustNext(s, "exec-1", time.Minute)
			if _, err := s.Offer(ctx(t), claim, e.clock.Now().Add(time.Hour), "offered"); err != nil {
				t.Fatal(err)
			}
			reveal, err := s.ClaimReveal(ctx(t), "R-DONE01", "alice", bot.PlatformSlack, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Finish(ctx(t), reveal, bot.StateSucceeded, "reset app_user"); err != nil {
				t.Fatal(err)
			}
			const history = "requested/alice voted/bob approved/bob refused/bob executing/system offered/system executing/alice succeeded/system"
			if got := kinds(e.events("R-DONE01")); got != "["+history+"]" {
				t.Fatalf("history before the flood: got %s, want [%s]", got, history)
			}

			// The flood: mallory, in config but no approver, refused again
			// and again, through Audit (the service's refusals) and through
			// the scripts' own (votes on a request that is not there), in
			// two windows.
			flood := func(n int) {
				t.Helper()
				for i := range n {
					if i%2 == 0 {
						if err := s.Audit(ctx(t), bot.Event{Kind: bot.EventRefused, Actor: "mallory", Platform: bot.PlatformSlack,
							Detail: fmt.Sprintf("asked for unknown account nosuch-%d", i)}); err != nil {
							t.Fatal(err)
						}
					} else if _, err := s.Vote(ctx(t), "R-NOSUCH", bot.Vote{Person: "mallory", Approve: true}); bot.ErrorCode(err) != bot.ENOTFOUND {
						t.Fatalf("vote on nothing: got %v, want not found", err)
					}
				}
			}
			flood(2000)
			e.clock.Advance(window)
			flood(1000)
			e.clock.Advance(time.Millisecond)
			e.mustCreate(e.request("R-AFTER1", "carol", "prod-db", 1))

			if got := kinds(e.events("R-DONE01")); got != "["+history+"]" {
				t.Errorf("history after the flood: got %s, want [%s]", got, history)
			}
			if n := e.raw.XLen(ctx(t), e.key("audit")).Val(); n != 8 {
				t.Errorf("decisions' stream: %d entries, want the 8 decisions", n)
			}
			if n := e.raw.XLen(ctx(t), e.key("audit:refusals")).Val(); n != 1+2*(burst+1) {
				t.Errorf("refusals' stream: %d entries, want %d (bob's, and mallory's %d in full and one summary per window)", n, 1+2*(burst+1), burst)
			}
			if ttl := e.raw.PTTL(ctx(t), e.key("refusals:mallory")).Val(); ttl <= 0 || ttl > window {
				t.Errorf("mallory's refusal counter: TTL %v, want at most the window %v", ttl, window)
			}

			evs, err := s.AuditLog(ctx(t), bot.AuditQuery{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i, ev := range evs {
				if i > 0 && !idBefore(evs[i-1].ID, ev.ID) {
					t.Errorf("event %d (%s) listed after %s", i, ev.ID, evs[i-1].ID)
				}
				if ev.Actor != "mallory" {
					got = append(got, string(ev.Kind)+"/"+ev.Actor)
					continue
				}
				if ev.Count > 0 {
					got = append(got, fmt.Sprintf("%s/%s/%d/%s", ev.Kind, ev.Actor, ev.Count, ev.Detail))
				} else {
					got = append(got, string(ev.Kind)+"/"+ev.Actor+"/"+ev.Detail)
				}
			}
			want := strings.Fields(history) // their order, as written
			want = append(want,
				"refused/mallory/asked for unknown account nosuch-0",
				"refused/mallory/there is no request R-NOSUCH",
				"refused/mallory/asked for unknown account nosuch-2",
				"refused/mallory/1997/… and 1997 more refusals by mallory",
				"refused/mallory/asked for unknown account nosuch-0",
				"refused/mallory/there is no request R-NOSUCH",
				"refused/mallory/asked for unknown account nosuch-2",
				"refused/mallory/997/… and 997 more refusals by mallory",
				"requested/carol")
			if g, w := strings.Join(got, "\n"), strings.Join(want, "\n"); g != w {
				t.Errorf("AuditLog:\n%s\nwant:\n%s", g, w)
			}
		})
	}
}

// However many people refuse, their refusals are capped apart: the
// decisions stay.
func TestRefusalsCappedApart(t *testing.T) {
	for _, srv := range servers() {
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, srv)
			c := redis.NewClient(&redis.Options{Addr: e.addr})
			t.Cleanup(func() { _ = c.Close() })
			opts := approvals.WithAuditCaps(approvals.Options{Prefix: e.prefix, Clock: e.clock}, 20, 10)
			s := approvals.New(c, approvals.WithRefusalLimits(opts, 10, 3, time.Minute))
			e.store = s
			e.mustCreate(e.request("R-KEEP01", "alice", "prod-db", 1))
			const people = 1000
			for i := range people {
				if err := s.Audit(ctx(t), bot.Event{Kind: bot.EventRefused, Actor: fmt.Sprintf("p%d", i), Detail: "not a requester of prod-db"}); err != nil {
					t.Fatal(err)
				}
			}
			if n := e.raw.XLen(ctx(t), e.key("audit:refusals")).Val(); n == 0 || n > 300 {
				t.Errorf("refusals' stream: %d entries, want some, capped near 10 (trimmed by whole nodes)", n)
			}
			if got := kinds(e.events("R-KEEP01")); got != "[requested/alice]" {
				t.Errorf("history: got %s, want [requested/alice]", got)
			}
		})
	}
}

// idBefore reports whether stream ID a comes before b.
func idBefore(a, b string) bool {
	am, as, _ := strings.Cut(a, "-")
	bm, bs, _ := strings.Cut(b, "-")
	an, _ := strconv.ParseUint(am, 10, 64)
	bn, _ := strconv.ParseUint(bm, 10, 64)
	if an != bn {
		return an < bn
	}
	aq, _ := strconv.ParseUint(as, 10, 64)
	bq, _ := strconv.ParseUint(bs, 10, 64)
	return aq < bq
}

// An audit stream ahead of the shared sequence (an earlier version of the
// bot wrote it, while audit:last was behind) still takes the next event,
// after its newest.
func TestAuditStreamAheadOfSequence(t *testing.T) {
	for _, srv := range servers() {
		t.Run(srv.name, func(t *testing.T) {
			e := newEnv(t, srv)
			e.mustCreate(e.request("R-SEQ001", "alice", "prod-db", 1))
			ahead := strconv.FormatInt(e.clock.Now().Add(time.Second).UnixMilli(), 10) + "-5"
			if err := e.raw.XAdd(ctx(t), &redis.XAddArgs{Stream: e.key("audit"), ID: ahead,
				Values: []any{"event", "voted", "request", "R-SEQ001", "actor", "bob"}}).Err(); err != nil {
				t.Fatal(err)
			}
			if _, err := e.store.Cancel(ctx(t), "R-SEQ001", "alice", bot.PlatformSlack); err != nil {
				t.Fatal(err)
			}
			evs := e.events("R-SEQ001")
			if got := kinds(evs); got != "[requested/alice voted/bob cancelled/alice]" {
				t.Fatalf("audit: got %s, want the cancel after the entry ahead", got)
			}
			if !idBefore(ahead, evs[2].ID) {
				t.Errorf("cancel's ID %s, want after %s", evs[2].ID, ahead)
			}
		})
	}
}
