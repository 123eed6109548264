package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"resetbot/approvals"
	"resetbot/bot"
	"resetbot/internal/redistest"
	"resetbot/internal/testkit"
)

func TestAuditPrintsJSONLines(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.Client(t)
	store := approvals.New(rdb, approvals.Options{Prefix: prefix})
	now := time.Now().UTC().Truncate(time.Millisecond)
	for i, id := range []string{"R-AAAAAA", "R-BBBBBB"} {
		_, err := store.Create(ctx, bot.Request{ID: id, Account: []string{"prod-db", "other-db"}[i], Users: []string{"app_user"}, Reason: "locked out",
			Requester: "alice", Platform: bot.PlatformSlack, Approvals: 1, ExpiresAt: now.Add(time.Hour)}, bot.Limit{})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.Vote(ctx, "R-AAAAAA", bot.Vote{Person: "bob", Platform: bot.PlatformDiscord, Approve: true}); err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, strings.NewReplacer("%REDIS%", redistest.Addr(t), "%PREFIX%", prefix).Replace(serveYAML))

	var out, errOut strings.Builder
	args := []string{"resetbot", "audit", "--config", path, "--request", "r-aaaaaa", "--since", "1h"}
	if err := run(ctx, args, serveEnv, nil, &out, &errOut); err != nil {
		t.Fatalf("audit: %v\n%s", err, errOut.String())
	}
	var kinds []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var e bot.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		if e.RequestID != "R-AAAAAA" {
			t.Errorf("event of %s printed with --request R-AAAAAA", e.RequestID)
		}
		if e.Time.IsZero() || e.Actor == "" {
			t.Errorf("event %+v lacks its time or actor", e)
		}
		kinds = append(kinds, string(e.Kind))
	}
	if got, want := strings.Join(kinds, ","), "requested,voted,approved"; got != want {
		t.Errorf("events = %s, want %s", got, want)
	}

	// A flood of refusals by one person leaves the request's history
	// whole, and shows as a few lines and a count.
	flooder := approvals.New(rdb, approvals.Options{Prefix: prefix, Clock: testkit.NewClock(now)})
	const flood = 2000
	for i := range flood {
		if err := flooder.Audit(ctx, bot.Event{Kind: bot.EventRefused, Actor: "mallory", Detail: fmt.Sprintf("asked for unknown account nosuch-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	out.Reset()
	if err := run(ctx, args, serveEnv, nil, &out, &errOut); err != nil {
		t.Fatalf("audit after the flood: %v\n%s", err, errOut.String())
	}
	if got, want := strings.Count(out.String(), "\n"), 3; got != want {
		t.Errorf("audit --request after the flood: %d lines, want %d:\n%s", got, want, out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"resetbot", "audit", "--config", path}, serveEnv, nil, &out, &errOut); err != nil {
		t.Fatalf("audit: %v\n%s", err, errOut.String())
	}
	var mallory, counted int
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var e bot.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		if e.Actor == "mallory" {
			mallory++
			counted += max(e.Count, 1)
		}
	}
	if mallory > 11 || counted != flood {
		t.Errorf("mallory's refusals: %d lines standing for %d, want at most 11 standing for %d", mallory, counted, flood)
	}

	out.Reset()
	if err := run(ctx, []string{"resetbot", "audit", "--config", path, "--request", "nope"}, serveEnv, nil, &out, &errOut); err == nil {
		t.Error("audit accepted a malformed request ID")
	}
}

// TestAuditBreakGlass: --break-glass lists the resets that skipped the
// vote, break-glass and approved by PagerDuty, each once with its
// incident and where its review stands, read from the request, or from
// the audit log once Redis no longer holds the request; and not the
// requests approved by a vote. It combines with --request.
func TestAuditBreakGlass(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.Client(t)
	start := time.Now().UTC().Truncate(time.Minute)
	clock := testkit.NewClock(start)
	store := approvals.New(rdb, approvals.Options{Prefix: prefix, Clock: clock, Poll: 50 * time.Millisecond})
	create := func(id, requester, account string, rv *bot.Review) {
		t.Helper()
		req := bot.Request{ID: id, Account: account, Users: []string{"app_user"}, Reason: "db down",
			Requester: requester, Platform: bot.PlatformSlack, Approvals: 1, CreatedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour), Review: rv}
		if _, err := store.Create(ctx, req, bot.Limit{}); err != nil {
			t.Fatalf("create %s: %v", id, err)
		}
	}
	glass := func(incident string, within time.Duration) *bot.Review {
		return &bot.Review{Kind: bot.ReviewBreakGlass, Incident: incident, State: bot.ReviewOpen, Due: clock.Now().Add(within)}
	}
	// revealed takes id through its offer and its requester's Reveal, as
	// the executor and the click do.
	revealed := func(id, requester string) {
		t.Helper()
		c, err := store.Next(ctx, "w1", time.Minute)
		if err != nil || c.Request.ID != id {
			t.Fatalf("claimed %s (%v), want %s", c.Request.ID, err, id)
		}
		if _, err := store.Offer(ctx, c, clock.Now().Add(30*time.Minute), "offered"); err != nil {
			t.Fatal(err)
		}
		rc, err := store.ClaimReveal(ctx, id, requester, bot.PlatformSlack, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Finish(ctx, rc, bot.StateSucceeded, "reset app_user"); err != nil {
			t.Fatal(err)
		}
	}
	review := func(id string, confirm bool, reason string) {
		t.Helper()
		if _, err := store.Review(ctx, id, "bob", bot.PlatformDiscord, confirm, reason); err != nil {
			t.Fatalf("review %s: %v", id, err)
		}
	}

	create("R-BGCNF2", "alice", "db-confirmed", glass("INC-41", 4*time.Hour))
	revealed("R-BGCNF2", "alice")
	review("R-BGCNF2", true, "")

	create("R-BGRTD2", "alice", "db-rotated", glass("INC-42", 4*time.Hour))
	revealed("R-BGRTD2", "alice")
	review("R-BGRTD2", false, "no such incident")

	create("R-BGXPS3", "alice", "db-exposed", glass("INC-43", 4*time.Hour))
	revealed("R-BGXPS3", "alice")
	review("R-BGXPS3", false, "")

	create("R-BGGNE4", "alice", "db-gone", glass("INC-44", 4*time.Hour))
	revealed("R-BGGNE4", "alice")
	review("R-BGGNE4", true, "")

	// Not revealed, and nobody reviews it in its minute.
	create("R-BGVRD5", "alice", "db-overdue", glass("INC-45", time.Minute))
	if c, err := store.Next(ctx, "w1", time.Minute); err != nil || c.Request.ID != "R-BGVRD5" {
		t.Fatalf("claimed %s (%v), want R-BGVRD5", c.Request.ID, err)
	}

	create("R-PDCAN2", "carol", "db-oncall", &bot.Review{Kind: bot.ReviewOnCall, Incident: "#1234 PT4KHLK", State: bot.ReviewOpen,
		Detail: "carol is on call for escalation policy PPOLICY1 at level 1", Due: clock.Now().Add(4 * time.Hour)})

	create("R-VTD222", "alice", "db-voted", nil)
	if _, err := store.Vote(ctx, "R-VTD222", bot.Vote{Person: "bob", Platform: bot.PlatformSlack, Approve: true}); err != nil {
		t.Fatal(err)
	}

	// The sweeper's work: R-BGVRD5 is overdue; the rotation of R-BGRTD2
	// succeeds, that of R-BGXPS3 fails.
	clock.Advance(2 * time.Minute)
	due, err := store.Due(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rotated := map[string]bool{}
	for _, tm := range due {
		if tm.Rotate == 0 {
			continue
		}
		errText := ""
		if tm.Request.ID == "R-BGXPS3" {
			errText = "the cloud API did not answer"
		}
		if _, err := store.Rotated(ctx, tm.Request.ID, tm.Rotate, errText); err != nil {
			t.Fatal(err)
		}
		rotated[tm.Request.ID] = true
	}
	if !rotated["R-BGRTD2"] || !rotated["R-BGXPS3"] {
		t.Fatalf("rotations claimed: %v, want R-BGRTD2 and R-BGXPS3", rotated)
	}
	gone, err := rdb.Del(ctx, "{"+prefix+"}req:R-BGGNE4").Result()
	if err != nil || gone != 1 {
		t.Fatalf("deleting R-BGGNE4 from Redis: %d keys, %v", gone, err)
	}

	path := writeConfig(t, strings.NewReplacer("%REDIS%", redistest.Addr(t), "%PREFIX%", prefix).Replace(serveYAML))
	audit := func(args ...string) map[string]skippedVote {
		t.Helper()
		var out, errOut strings.Builder
		if err := run(ctx, append([]string{"resetbot", "audit", "--config", path, "--break-glass"}, args...), serveEnv, nil, &out, &errOut); err != nil {
			t.Fatalf("audit --break-glass %v: %v\n%s", args, err, errOut.String())
		}
		got := map[string]skippedVote{}
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			if line == "" {
				continue
			}
			var l skippedVote
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				t.Fatalf("line %q is not JSON: %v", line, err)
			}
			if _, dup := got[l.RequestID]; dup {
				t.Errorf("%s listed twice", l.RequestID)
			}
			got[l.RequestID] = l
		}
		return got
	}
	at := func(d time.Duration) string { return start.Add(d).Format("2006-01-02 15:04 UTC") }

	got := audit("--since", "1h")
	for _, tt := range []struct {
		id, requester, account, incident string
		kind                             bot.ReviewKind
		state                            bot.ReviewState
		review                           string
		exposed                          bool
	}{
		{"R-BGCNF2", "alice", "db-confirmed", "INC-41", bot.ReviewBreakGlass, bot.ReviewConfirmed,
			"confirmed by bob at " + at(0), false},
		{"R-BGRTD2", "alice", "db-rotated", "INC-42", bot.ReviewBreakGlass, bot.ReviewRejected,
			`rejected by bob at ` + at(0) + `: no such incident; rotated at ` + at(2*time.Minute) + `, nobody has the password; db-rotated locked until a normal approved reset`, false},
		{"R-BGXPS3", "alice", "db-exposed", "INC-43", bot.ReviewBreakGlass, bot.ReviewRejected,
			"rejected by bob at " + at(0) + "; STILL EXPOSED (rotation failing: the cloud API did not answer; next try " + at(2*time.Minute+30*time.Second) + ")", true},
		{"R-BGGNE4", "alice", "db-gone", "INC-44", bot.ReviewBreakGlass, "",
			"the request is no longer in Redis; its audit events: confirmed by bob at " + at(0), false},
		{"R-BGVRD5", "alice", "db-overdue", "INC-45", bot.ReviewBreakGlass, bot.ReviewOverdue,
			"overdue: not confirmed by " + at(time.Minute) + "; nothing to undo: it was never revealed", false},
		{"R-PDCAN2", "carol", "db-oncall", "#1234 PT4KHLK", bot.ReviewOnCall, bot.ReviewOpen,
			"open, due " + at(4*time.Hour), false},
	} {
		t.Run(tt.id, func(t *testing.T) {
			l, ok := got[tt.id]
			if !ok {
				t.Fatalf("not listed; listed: %v", keys(got))
			}
			if l.Requester != tt.requester || l.Account != tt.account || l.Incident != tt.incident || l.Kind != tt.kind {
				t.Errorf("got requester %q, account %q, incident %q, kind %q; want %q, %q, %q, %q",
					l.Requester, l.Account, l.Incident, l.Kind, tt.requester, tt.account, tt.incident, tt.kind)
			}
			if l.ReviewState != tt.state || l.Review != tt.review || l.Exposed != tt.exposed {
				t.Errorf("review: got %s %q exposed=%v,\nwant %s %q exposed=%v", l.ReviewState, l.Review, l.Exposed, tt.state, tt.review, tt.exposed)
			}
			if l.Time.Before(start) || l.Time.After(start.Add(time.Minute)) {
				t.Errorf("time %s, want the approval's, at %s", l.Time, start)
			}
		})
	}
	if l := got["R-PDCAN2"]; !strings.Contains(l.Detail, "on call for escalation policy PPOLICY1 at level 1") || l.Reason != "db down" {
		t.Errorf("on-call detail %q, reason %q", l.Detail, l.Reason)
	}
	if _, ok := got["R-VTD222"]; ok || len(got) != 6 {
		t.Errorf("listed %v, want the six that skipped the vote, not R-VTD222", keys(got))
	}

	if got := audit("--request", "R-BGXPS3"); len(got) != 1 || !got["R-BGXPS3"].Exposed {
		t.Errorf("--request R-BGXPS3 --break-glass listed %v, want R-BGXPS3 alone, exposed", got)
	}
	if got := audit("--request", "R-VTD222"); len(got) != 0 {
		t.Errorf("--request R-VTD222 --break-glass listed %v, want nothing: it was voted on", keys(got))
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
