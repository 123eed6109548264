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
