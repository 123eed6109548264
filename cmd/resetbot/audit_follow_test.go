package main

import (
	"context"
	"encoding/csv"
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

// following runs `resetbot audit --follow` with args until the test ends;
// its output grows in the returned log.
func following(t *testing.T, path string, args ...string) (out *testkit.Log, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out = &testkit.Log{}
	errOut := &testkit.Log{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"resetbot", "audit", "--config", path, "--follow"}, args...), serveEnv, nil, out, errOut)
	}()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("%w: %s", err, errOut)
			}
			return nil
		case <-time.After(10 * time.Second):
			return fmt.Errorf("audit --follow did not stop within 10s of its interruption")
		}
	}
	t.Cleanup(func() { _ = stop() })
	return out, stop
}

// waitOutput waits until cond holds of the output.
func waitOutput(t *testing.T, out *testkit.Log, what string, cond func(string) bool) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond(out.String()) {
		select {
		case <-deadline.C:
			t.Fatalf("waited 10s for %s; the output:\n%s", what, out)
		case <-tick.C:
		}
	}
}

func TestAuditFollowPrintsNewEvents(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.Client(t)
	store := approvals.New(rdb, approvals.Options{Prefix: prefix})
	path := writeConfig(t, strings.NewReplacer("%REDIS%", redistest.Addr(t), "%PREFIX%", prefix).Replace(serveYAML))
	audit := func(e bot.Event) {
		t.Helper()
		if err := store.Audit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	audit(bot.Event{Kind: bot.EventRequested, RequestID: "R-OLDOLD", Actor: "alice", Detail: "before the follow"})

	out, stop := following(t, path)
	// It reads from the moment it starts, which the test cannot see: it
	// writes probes until one shows.
	for i := 0; !strings.Contains(out.String(), "probe"); i++ {
		audit(bot.Event{Kind: bot.EventChatError, Actor: "system", Detail: fmt.Sprintf("probe %d", i)})
		select {
		case <-time.After(20 * time.Millisecond):
		case <-t.Context().Done():
			return
		}
		if i > 500 {
			t.Fatalf("no probe printed after %d; the output:\n%s", i, out)
		}
	}
	audit(bot.Event{Kind: bot.EventRequested, RequestID: "R-AAAAAA", Actor: "alice", Platform: bot.PlatformSlack, Detail: "one"})
	audit(bot.Event{Kind: bot.EventRefused, RequestID: "R-AAAAAA", Actor: "carol", Platform: bot.PlatformSlack, Detail: "two"})
	audit(bot.Event{Kind: bot.EventRefused, Actor: "slack:U0NOBODY", Platform: bot.PlatformSlack, Detail: "three", Stranger: true})
	audit(bot.Event{Kind: bot.EventApproved, RequestID: "R-AAAAAA", Actor: "bob", Platform: bot.PlatformSlack, Detail: "four"})
	waitOutput(t, out, "the four events", func(s string) bool { return strings.Contains(s, `"four"`) })
	if err := stop(); err != nil {
		t.Fatalf("audit --follow: %v", err)
	}

	var details []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var e bot.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		if !strings.HasPrefix(e.Detail, "probe") {
			details = append(details, e.Detail)
		}
		if e.Detail == "three" && !e.Stranger {
			t.Errorf("the stranger's refusal printed without stranger: %s", line)
		}
	}
	if got, want := strings.Join(details, ","), "one,two,three,four"; got != want {
		t.Errorf("printed %s, want %s (in the order written, nothing from before)", got, want)
	}
}

func TestAuditFollowCSV(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.Client(t)
	now := time.Now().Truncate(time.Millisecond)
	store := approvals.New(rdb, approvals.Options{Prefix: prefix})
	path := writeConfig(t, strings.NewReplacer("%REDIS%", redistest.Addr(t), "%PREFIX%", prefix).Replace(serveYAML))
	old := approvals.New(rdb, approvals.Options{Prefix: prefix, Clock: testkit.NewClock(now.Add(-2 * time.Hour))})
	if err := old.Audit(ctx, bot.Event{Kind: bot.EventRequested, RequestID: "R-OLDOLD", Actor: "alice", Detail: "too old"}); err != nil {
		t.Fatal(err)
	}
	if err := store.Audit(ctx, bot.Event{Kind: bot.EventRequested, RequestID: "R-AAAAAA", Actor: "alice", Platform: bot.PlatformSlack,
		Detail: `reason with "quotes", a comma`}); err != nil {
		t.Fatal(err)
	}

	// --since 1h with --follow: the last hour first, then what comes.
	out, stop := following(t, path, "--format", "csv", "--since", "1h", "--request", "R-AAAAAA")
	waitOutput(t, out, "the event of the last hour", func(s string) bool { return strings.Contains(s, "a comma") })
	if err := store.Audit(ctx, bot.Event{Kind: bot.EventApproved, RequestID: "R-AAAAAA", Actor: "bob", Platform: bot.PlatformDiscord, Incident: "INC-7"}); err != nil {
		t.Fatal(err)
	}
	if err := store.Audit(ctx, bot.Event{Kind: bot.EventApproved, RequestID: "R-BBBBBB", Actor: "bob", Detail: "another request"}); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, out, "the approval", func(s string) bool { return strings.Contains(s, "INC-7") })
	if err := stop(); err != nil {
		t.Fatalf("audit --follow: %v", err)
	}
	rows, err := csv.NewReader(strings.NewReader(out.String())).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, out)
	}
	want := [][]string{
		{"time", "event", "request", "actor", "platform", "detail", "incident", "count"},
		{"", "requested", "R-AAAAAA", "alice", "slack", `reason with "quotes", a comma`, "", ""},
		{"", "approved", "R-AAAAAA", "bob", "discord", "", "INC-7", ""},
	}
	if len(rows) != len(want) {
		t.Fatalf("got %d rows, want %d:\n%s", len(rows), len(want), out)
	}
	for i := range want {
		if i > 0 {
			at, err := time.Parse(time.RFC3339Nano, rows[i][0])
			if err != nil || at.Before(now.Add(-time.Minute)) {
				t.Errorf("row %d: time %q, want an RFC 3339 time of the last minute", i, rows[i][0])
			}
			rows[i][0] = ""
		}
		if got := strings.Join(rows[i], "|"); got != strings.Join(want[i], "|") {
			t.Errorf("row %d: got %s, want %s", i, got, strings.Join(want[i], "|"))
		}
	}
}

func TestAuditCSVWithoutFollow(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.Client(t)
	store := approvals.New(rdb, approvals.Options{Prefix: prefix, Clock: testkit.NewClock(time.Now())})
	path := writeConfig(t, strings.NewReplacer("%REDIS%", redistest.Addr(t), "%PREFIX%", prefix).Replace(serveYAML))
	for i := range 12 { // the 11th and 12th become one summary with a count
		if err := store.Audit(ctx, bot.Event{Kind: bot.EventRefused, Actor: "mallory", Detail: fmt.Sprintf("refused %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	var out, errOut strings.Builder
	if err := run(ctx, []string{"resetbot", "audit", "--config", path, "--format", "csv"}, serveEnv, nil, &out, &errOut); err != nil {
		t.Fatalf("audit: %v\n%s", err, errOut.String())
	}
	rows, err := csv.NewReader(strings.NewReader(out.String())).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, out.String())
	}
	if len(rows) != 12 || rows[11][7] != "2" || rows[1][7] != "" || rows[1][5] != "refused 0" {
		t.Errorf("got %d rows, want a header, 10 refusals and a summary counting 2:\n%s", len(rows), out.String())
	}
}

// TestAuditCSVNoFormulas: a cell of what people typed that a spreadsheet
// would run as a formula is written as text.
func TestAuditCSVNoFormulas(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.Client(t)
	store := approvals.New(rdb, approvals.Options{Prefix: prefix, Clock: testkit.NewClock(time.Now())})
	path := writeConfig(t, strings.NewReplacer("%REDIS%", redistest.Addr(t), "%PREFIX%", prefix).Replace(serveYAML))
	if err := store.Audit(ctx, bot.Event{Kind: bot.EventRefused, Actor: "mallory", Incident: "+1", Detail: `=HYPERLINK("http://x","y")`}); err != nil {
		t.Fatal(err)
	}
	var out, errOut strings.Builder
	if err := run(ctx, []string{"resetbot", "audit", "--config", path, "--format", "csv"}, serveEnv, nil, &out, &errOut); err != nil {
		t.Fatalf("audit: %v\n%s", err, errOut.String())
	}
	rows, err := csv.NewReader(strings.NewReader(out.String())).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("not CSV of one event: %v\n%s", err, out.String())
	}
	if rows[1][5] != `'=HYPERLINK("http://x","y")` || rows[1][6] != "'+1" {
		t.Errorf("cells: detail %q, incident %q, want each led by an apostrophe", rows[1][5], rows[1][6])
	}
}

func TestAuditFlagsRefused(t *testing.T) {
	path := writeConfig(t, strings.NewReplacer("%REDIS%", "127.0.0.1:1", "%PREFIX%", "unused:").Replace(serveYAML))
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"FormatUnknown", []string{"--format", "xml"}, `--format must be json or csv, not "xml"`},
		{"BreakGlassFollow", []string{"--break-glass", "--follow"}, "--break-glass prints JSON lines of the resets as they stand: it takes neither --follow nor --format csv"},
		{"BreakGlassCSV", []string{"--break-glass", "--format", "csv"}, "it takes neither --follow nor --format csv"},
		{"SinceNegative", []string{"--follow", "--since", "-1h"}, "--since must be a positive duration"},
		{"Argument", []string{"--follow", "now"}, `audit takes no arguments, only flags: "now" is extra`},
		{"FollowWithValue", []string{"--follow=maybe"}, "invalid boolean value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut strings.Builder
			err := run(context.Background(), append([]string{"resetbot", "audit", "--config", path}, tc.args...), serveEnv, nil, &out, &errOut)
			if err == nil || !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("got %v, stderr %q; want an error saying %q", err, errOut.String(), tc.want)
			}
		})
	}
}
