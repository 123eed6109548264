package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"resetbot/adapters/auditwebhook"
	"resetbot/bot"
	"resetbot/internal/testkit"
)

// lineReader hands the test each line the program prints, so the test can
// answer the way a person at the console would.
type lineReader struct{ lines chan string }

func readLines(r io.Reader) *lineReader {
	lr := &lineReader{lines: make(chan string, 1000)}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lr.lines <- sc.Text()
		}
		close(lr.lines)
	}()
	return lr
}

// waitFor returns the first line matching re, failing the test at the deadline.
func (lr *lineReader) waitFor(ctx context.Context, t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	for {
		select {
		case l, ok := <-lr.lines:
			if !ok {
				t.Fatalf("output ended before a line matching %s", re) // stderr is in the caller
			}
			if m := re.FindStringSubmatch(l); m != nil {
				return m
			}
		case <-ctx.Done():
			t.Fatalf("no line matching %s before the deadline", re)
		}
	}
}

// waitAll returns, for each of res, the first line matching it, in
// whatever order the lines come: the bot's answer, its cards and its
// direct messages are printed by different goroutines. It fails the test
// at the deadline.
func (lr *lineReader) waitAll(ctx context.Context, t *testing.T, res ...*regexp.Regexp) [][]string {
	t.Helper()
	got := make([][]string, len(res))
	left := len(res)
	for left > 0 {
		select {
		case l, ok := <-lr.lines:
			if !ok {
				t.Fatalf("output ended before lines matching %s", missing(res, got))
			}
			for i, re := range res {
				if got[i] == nil {
					if m := re.FindStringSubmatch(l); m != nil {
						got[i] = m
						left--
					}
				}
			}
		case <-ctx.Done():
			t.Fatalf("no lines matching %s before the deadline", missing(res, got))
		}
	}
	return got
}

func missing(res []*regexp.Regexp, got [][]string) []string {
	var out []string
	for i, re := range res {
		if got[i] == nil {
			out = append(out, re.String())
		}
	}
	return out
}

func TestPlaygroundAskApproveReveal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	inW, out, done, shown, stderr := watchPlayground(ctx)

	io.WriteString(inW, "alice> /reset-password demo-tdsql locked out\n")
	id := out.waitFor(ctx, t, regexp.MustCompile(`\[ephemeral to alice\] (R-[0-9A-Z]{6}): asked to reset demo-tdsql`))[1]

	io.WriteString(inW, "alice> approve "+id+"\n")
	out.waitFor(ctx, t, regexp.MustCompile(`\[ephemeral to alice\] you are not an approver`))

	io.WriteString(inW, "bob> approve "+id+"\n")
	// Nothing is reset at approval: alice is offered a Reveal button in a
	// direct message, and only her click resets and shows the password.
	out.waitFor(ctx, t, regexp.MustCompile(`\[DM to alice\] `+id+` approved by bob: press Reveal until`))
	out.waitFor(ctx, t, regexp.MustCompile(`\[DM to alice\]   button: \[Reveal\]  \(type: alice> reveal `+id+`\)`))
	io.WriteString(inW, "carol> reveal "+id+"\n")
	out.waitFor(ctx, t, regexp.MustCompile(`\[ephemeral to carol\] only alice, who asked, can reveal `+id))
	io.WriteString(inW, "alice> reveal "+id+"\n")
	var passwords []string
	pw := out.waitFor(ctx, t, regexp.MustCompile(`\[ephemeral to alice\] `+id+` new password for user app_user: (\S+)`))[1]
	passwords = append(passwords, pw)
	out.waitFor(ctx, t, regexp.MustCompile(`\[DM to alice\] `+id+`: the Reveal button is gone; the request succeeded: reset app_user`))

	// Every other sample account resets through its real provider and the
	// emulator, with the users the account lists.
	for acct, users := range map[string][]string{
		"demo-cam": {"demo-operator"}, "demo-ciam": {"user-0001"}, "demo-tcr": {"ci-robot"}, "demo-ehpc": {"hpc1", "hpc2"},
	} {
		io.WriteString(inW, "alice> /reset-password "+acct+" incident 42\n")
		id := out.waitFor(ctx, t, regexp.MustCompile(`\[ephemeral to alice\] (R-[0-9A-Z]{6}): asked to reset `+acct))[1]
		io.WriteString(inW, "carol> approve "+id+"\n")
		out.waitFor(ctx, t, regexp.MustCompile(`\[DM to alice\]   button: \[Reveal\]  \(type: alice> reveal `+id+`\)`))
		io.WriteString(inW, "alice> reveal "+id+"\n")
		for range users {
			m := out.waitFor(ctx, t, regexp.MustCompile(`\[ephemeral to alice\] `+id+` new password for user (\S+): (\S+)`))
			passwords = append(passwords, m[2])
		}
	}
	for _, pw := range passwords {
		if len(pw) < 8 {
			t.Errorf("delivered password %q is shorter than 8", pw)
		}
	}
	inW.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("playground ended with %v, want nil at end of input", err)
		}
	case <-ctx.Done():
		t.Fatal("playground did not end at end of input")
	}
	for range out.lines { // read to the end, so that shown holds every line
	}
	for _, pw := range passwords {
		if strings.Contains(stderr.String(), pw) {
			t.Error("a password appeared on stderr")
		}
		if n := strings.Count(shown.String(), pw); n != 1 {
			t.Errorf("a password was printed %d times, want once: in the answer to its Reveal", n)
		}
	}
}

func TestPlaygroundBadLinesChangeNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	in := strings.NewReader("no prompt here\nalice> /reset-password\nalice> /reset-password demo-tdsql\nmallory> list\nalice> status\n")
	var out, stderr strings.Builder
	if err := run(ctx, []string{"resetbot", "playground"}, func(string) string { return "" }, in, &out, &stderr); err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, want := range []string{
		"write lines as: <person>> <command>",
		"Usage:",
		"a reason is required. Write:",
		"you are not in resetbot's list of people",
		"You have no open requests.",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "[#approvals]") {
		t.Errorf("a bad line posted an approval card:\n%s", out.String())
	}
}

// TestPlaygroundTwoRules: demo-prod needs one approval from approvers and
// one from security; the card shows each rule's progress, and the offer
// comes only once both hold.
func TestPlaygroundTwoRules(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	inW, out, done := startPlayground(ctx)
	io.WriteString(inW, "alice> /reset-password demo-prod deploy broke the login\n")
	id := out.waitFor(ctx, t, regexp.MustCompile(`\[ephemeral to alice\] (R-[0-9A-Z]{6}): asked to reset demo-prod`))[1]
	io.WriteString(inW, "bob> approve "+id+"\n")
	out.waitFor(ctx, t, regexp.MustCompile(`update `+id+`: .*Pending: approvers 1/1 · security 0/1`))
	io.WriteString(inW, "carol> approve "+id+"\n") // a second approver fills no rule
	out.waitFor(ctx, t, regexp.MustCompile(`\[ephemeral to carol\] You approved `+id+`\. It is now pending\.`))
	io.WriteString(inW, "dave> approve "+id+"\n")
	out.waitFor(ctx, t, regexp.MustCompile(`\[DM to alice\] `+id+` approved by `))
	inW.Close()
	if err := <-done; err != nil {
		t.Fatalf("playground: %v", err)
	}
}

// TestPlaygroundReminderAndEscalation: a demo-prod request nobody from
// security approves gets a reminder under its card within a minute,
// mentioning dave alone (approvers is filled), then is escalated to
// managers, whom erin fills.
func TestPlaygroundReminderAndEscalation(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	inW, out, done := startPlayground(ctx)
	io.WriteString(inW, "alice> /reset-password demo-prod deploy broke the login\n")
	id := out.waitFor(ctx, t, regexp.MustCompile(`\[ephemeral to alice\] (R-[0-9A-Z]{6}): asked to reset demo-prod`))[1]
	io.WriteString(inW, "erin> approve "+id+"\n")
	out.waitFor(ctx, t, regexp.MustCompile(`\[ephemeral to erin\] .*you may approve `+id+` once it is escalated to managers`))
	io.WriteString(inW, "bob> approve "+id+"\n")
	out.waitFor(ctx, t, regexp.MustCompile(`↳ reply under `+id+`: @dave `+id+` still needs approval \(reminder 1\)`))
	out.waitFor(ctx, t, regexp.MustCompile(`↳ reply under `+id+`: @erin `+id+` was escalated to managers`))
	out.waitFor(ctx, t, regexp.MustCompile(`\[ephemeral to alice\] `+id+` was escalated to managers`))
	io.WriteString(inW, "erin> approve "+id+"\n")
	out.waitFor(ctx, t, regexp.MustCompile(`\[DM to alice\] `+id+` approved by bob, erin`))
	inW.Close()
	if err := <-done; err != nil {
		t.Fatalf("playground: %v", err)
	}
}

// startPlayground runs the playground until its input ends: the test types
// into in, reads out, and gets run's error from done.
func startPlayground(ctx context.Context) (in *io.PipeWriter, out *lineReader, done <-chan error) {
	in, out, done, _, _ = watchPlayground(ctx)
	return in, out, done
}

// watchPlayground is startPlayground that also keeps everything the
// playground printed (shown, as out reads it) and its stderr, for a test
// that scans them.
func watchPlayground(ctx context.Context) (in *io.PipeWriter, out *lineReader, done <-chan error, shown, stderr *testkit.Log) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	shown, stderr = &testkit.Log{}, &testkit.Log{}
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"resetbot", "playground"}, func(string) string { return "" }, inR, outW, stderr)
		outW.Close()
	}()
	return inW, readLines(io.TeeReader(outR, shown)), errc, shown, stderr
}

// TestPlaygroundBreakGlassRejected: alice breaks the glass on demo-cam and
// reveals the password at once; she cannot review her own reset; bob
// rejects it, and the sweeper resets the password again, to one nobody
// sees, and locks demo-cam. The password alice saw is printed once, in
// the answer to her Reveal, and nowhere else.
func TestPlaygroundBreakGlassRejected(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	inW, out, done, shown, stderr := watchPlayground(ctx)
	out.waitFor(ctx, t, regexp.MustCompile(`demo-cam has break-glass for alice`))
	out.waitFor(ctx, t, regexp.MustCompile(`alice> /reset-password break-glass demo-cam INC-42 db down`))

	io.WriteString(inW, "alice> /reset-password break-glass demo-cam INC-42 db down\n")
	m := out.waitAll(ctx, t,
		regexp.MustCompile(`\[ephemeral to alice\] (R-[0-9A-Z]{6}): BREAK-GLASS reset of demo-cam \(demo-operator\) for INC-42, without a vote`),
		regexp.MustCompile(`\[#approvals\] new request (R-[0-9A-Z]{6}): alice asks to reset demo-cam `),
		regexp.MustCompile(`^\[#approvals\]   BREAK-GLASS for INC-42: review by \d\d:\d\d UTC`),
		regexp.MustCompile(`↳ reply under (R-[0-9A-Z]{6}): @bob @carol BREAK-GLASS: alice reset demo-cam without a vote, for INC-42: "db down"`),
		regexp.MustCompile(`\[DM to alice\]   button: \[Reveal\]  \(type: alice> reveal (R-[0-9A-Z]{6})\)`),
	)
	id := m[0][1]
	for _, i := range []int{1, 3, 4} {
		if m[i][1] != id {
			t.Fatalf("line %q is about %s, want %s", m[i][0], m[i][1], id)
		}
	}

	io.WriteString(inW, "alice> confirm "+id+"\n")
	out.waitFor(ctx, t, regexp.MustCompile(`\[ephemeral to alice\] .*you asked for `+id+`: another approver must review it`))

	io.WriteString(inW, "alice> reveal "+id+"\n")
	pw := out.waitFor(ctx, t, regexp.MustCompile(`\[ephemeral to alice\] `+id+` new password for user demo-operator: (\S+)`))[1]

	io.WriteString(inW, "bob> reject "+id+" not an incident\n")
	out.waitAll(ctx, t,
		regexp.MustCompile(`\[ephemeral to bob\] You rejected `+id+`\.`),
		regexp.MustCompile(`\[ephemeral to alice\] `+id+`: your break-glass reset of demo-cam was rejected by bob`),
		// The sweeper's rotation, within a second or so.
		regexp.MustCompile(`\[ephemeral to alice\] `+id+`: the password of demo-cam you were shown no longer works: it was reset again, to one nobody has`),
		regexp.MustCompile(`^\[#approvals\]   BREAK-GLASS for INC-42: rejected by bob.*; the password was reset again at \d\d:\d\d UTC, nobody has it; demo-cam is locked`),
	)

	io.WriteString(inW, "alice> /reset-password break-glass demo-cam INC-43 still down\n")
	out.waitFor(ctx, t, regexp.MustCompile(`\[ephemeral to alice\] .*demo-cam is locked: the review of `+id+` rejected its reset`))

	inW.Close()
	if err := <-done; err != nil {
		t.Fatalf("playground: %v\n%s", err, stderr.String())
	}
	for range out.lines { // read to the end, so that shown holds every line
	}
	if n := strings.Count(shown.String(), pw); n != 1 {
		t.Errorf("the password alice revealed was printed %d times, want once: in the answer to her Reveal", n)
	}
	if strings.Contains(stderr.String(), pw) {
		t.Error("the password alice revealed appears on stderr")
	}
	if n := strings.Count(shown.String(), "new password for user demo-operator"); n != 1 {
		t.Errorf("%d passwords of demo-operator shown, want 1: the rotated one is shown to nobody", n)
	}
}

// TestPlaygroundOnCallApprovedByPagerDuty: carol, on call in the
// PagerDuty emulator while demo-tcr's service has an incident, asks for a
// normal reset of demo-tcr: PagerDuty approves it, she reveals it at once,
// and bob confirms it afterwards. Her password is printed once.
func TestPlaygroundOnCallApprovedByPagerDuty(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	inW, out, done, shown, stderr := watchPlayground(ctx)
	out.waitFor(ctx, t, regexp.MustCompile(`demo-tcr has on-call: carol is on call`))

	io.WriteString(inW, "carol> /reset-password demo-tcr pipeline stuck\n")
	const why = `carol is on call for escalation policy PDEMOPOLICY at level 1 \(schedule PDEMOSCHED\), incident #42 PDEMOINC`
	m := out.waitAll(ctx, t,
		regexp.MustCompile(`\[ephemeral to carol\] (R-[0-9A-Z]{6}): you are on call \(`+why+`\), so PagerDuty approved the reset of demo-tcr \(ci-robot\) without a vote`),
		regexp.MustCompile(`^\[#approvals\]   BREAK-GLASS, on call \(approved by PagerDuty: `+why+`\) for #42 PDEMOINC: review by`),
		regexp.MustCompile(`↳ reply under (R-[0-9A-Z]{6}): @bob BREAK-GLASS, on call: PagerDuty approved carol's reset of demo-tcr`),
		regexp.MustCompile(`\[DM to carol\] (R-[0-9A-Z]{6}) approved by PagerDuty \(carol is on call\): press Reveal`),
	)
	id := m[0][1]
	if m[2][1] != id || m[3][1] != id {
		t.Fatalf("lines about %s and %s, want %s", m[2][1], m[3][1], id)
	}

	io.WriteString(inW, "carol> reveal "+id+"\n")
	pw := out.waitFor(ctx, t, regexp.MustCompile(`\[ephemeral to carol\] `+id+` new password for user ci-robot: (\S+)`))[1]

	io.WriteString(inW, "bob> confirm "+id+"\n")
	out.waitAll(ctx, t,
		regexp.MustCompile(`\[ephemeral to bob\] You confirmed `+id+`: carol's on-call reset of demo-tcr stands\.`),
		regexp.MustCompile(`\[ephemeral to carol\] `+id+`: bob confirmed your on-call reset of demo-tcr\.`),
		regexp.MustCompile(`^\[#approvals\]   BREAK-GLASS, on call .*: confirmed by bob at \d\d:\d\d UTC`),
	)

	inW.Close()
	if err := <-done; err != nil {
		t.Fatalf("playground: %v\n%s", err, stderr.String())
	}
	for range out.lines {
	}
	if n := strings.Count(shown.String(), pw); n != 1 {
		t.Errorf("carol's password was printed %d times, want once: in the answer to her Reveal", n)
	}
	if strings.Contains(stderr.String(), pw) || strings.Contains(stderr.String(), playgroundPagerDutyToken) {
		t.Error("stderr shows carol's password or the PagerDuty token")
	}
}

// TestPlaygroundSendsTheAuditLogToItsSIEMAndServesMetrics: the playground's
// banner names its /metrics URL and its SIEM receiver; a reset asked,
// approved and revealed at the console moves resetbot_events_total from
// zero, and each of its audit events is posted, signed, to the receiver,
// which prints it as a [SIEM] line with the request's ID. No line, on
// stdout or stderr, holds the revealed password but the answer to the
// Reveal.
func TestPlaygroundSendsTheAuditLogToItsSIEMAndServesMetrics(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	inW, out, done, shown, stderr := watchPlayground(ctx)
	addr := out.waitFor(ctx, t, regexp.MustCompile(`^Metrics: curl http://(127\.0\.0\.1:\d+)/metrics$`))[1]
	out.waitFor(ctx, t, regexp.MustCompile(`^SIEM: the audit log is posted, signed, to a receiver at http://127\.0\.0\.1:\d+/siem`))
	before := mustScrape(t, addr)
	for _, kind := range []bot.EventKind{bot.EventRequested, bot.EventApproved, bot.EventDelivered} {
		if v, ok := before.value("resetbot_events_total", "event", string(kind)); !ok || v != 0 {
			t.Errorf("resetbot_events_total{event=%q} at start = %v (present %v), want 0", kind, v, ok)
		}
	}

	io.WriteString(inW, "alice> /reset-password demo-tdsql locked out\n")
	id := out.waitFor(ctx, t, regexp.MustCompile(`\[ephemeral to alice\] (R-[0-9A-Z]{6}): asked to reset demo-tdsql`))[1]
	io.WriteString(inW, "bob> approve "+id+"\n")
	out.waitFor(ctx, t, regexp.MustCompile(`\[DM to alice\]   button: \[Reveal\]  \(type: alice> reveal `+id+`\)`))
	io.WriteString(inW, "alice> reveal "+id+"\n")
	pw := out.waitFor(ctx, t, regexp.MustCompile(`\[ephemeral to alice\] `+id+` new password for user app_user: (\S+)`))[1]

	// The delivery is counted just after the answer to the Reveal.
	for {
		s := mustScrape(t, addr)
		requested, _ := s.value("resetbot_events_total", "event", string(bot.EventRequested))
		approved, _ := s.value("resetbot_events_total", "event", string(bot.EventApproved))
		delivered, _ := s.value("resetbot_events_total", "event", string(bot.EventDelivered))
		if requested >= 1 && approved >= 1 && delivered >= 1 {
			if v, _ := s.value("resetbot_cloud_api_calls_total", "provider", "tencent.tdsql", "result", "ok"); v < 1 {
				t.Errorf("resetbot_cloud_api_calls_total{provider=tencent.tdsql,result=ok} = %v after a reset, want >= 1", v)
			}
			for _, v := range s.labelValues() {
				if strings.Contains(v, pw) || strings.Contains(v, id) {
					t.Errorf("a label of /metrics holds the password or the request ID: %q", v)
				}
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("resetbot_events_total: requested %v, approved %v, delivered %v; want each >= 1", requested, approved, delivered)
		case <-time.After(20 * time.Millisecond):
		}
	}

	// At the end of its input the playground waits for the SIEM to take
	// every event, so the output then holds every [SIEM] line.
	inW.Close()
	if err := <-done; err != nil {
		t.Fatalf("playground: %v\n%s", err, stderr.String())
	}
	for range out.lines {
	}
	for _, want := range []string{
		"[SIEM] requested " + id + " by alice (console)",
		"[SIEM] approved " + id + " by bob (console)",
		"[SIEM] delivered " + id + " by ",
	} {
		if !strings.Contains(shown.String(), want) {
			t.Errorf("no line %q in the output:\n%s", want, shown.String())
		}
	}
	for _, l := range strings.Split(shown.String(), "\n") {
		if strings.Contains(l, "[SIEM]") && (strings.Contains(l, pw) || strings.Contains(l, "refused")) {
			t.Errorf("SIEM line %q holds the password or a refused delivery", l)
		}
	}
	if n := strings.Count(shown.String(), pw); n != 1 {
		t.Errorf("the password was printed %d times, want once: in the answer to the Reveal", n)
	}
	if strings.Contains(stderr.String(), pw) {
		t.Error("the password appears on stderr")
	}
}

// TestPlaygroundSIEMRefusesADeliveryNotSignedWithItsSecret: the
// playground's receiver checks each POST as a SIEM must: signed with
// another secret, or with an old timestamp, it is refused (401) and
// printed as refused, not as an event; signed right, it is taken.
func TestPlaygroundSIEMRefusesADeliveryNotSignedWithItsSecret(t *testing.T) {
	secret := bot.NewSecret("the-playground-secret-for-this-test")
	var out testkit.Log
	h := siemReceiver(secret, &out)
	body := []byte(`{"id":"1-0","event":"requested","request":"R-AAAAAA","actor":"alice","platform":"console"}`)
	post := func(s bot.Secret, at time.Time) int {
		ts := strconv.FormatInt(at.Unix(), 10)
		req := httptest.NewRequest(http.MethodPost, "/siem", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(auditwebhook.HeaderTimestamp, ts)
		req.Header.Set(auditwebhook.HeaderSignature, auditwebhook.Sign(s, ts, body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := post(bot.NewSecret("another-secret-of-sixteen"), time.Now()); code != http.StatusUnauthorized {
		t.Errorf("signed with another secret: %d, want 401", code)
	}
	if code := post(secret, time.Now().Add(-time.Hour)); code != http.StatusUnauthorized {
		t.Errorf("signed an hour ago: %d, want 401", code)
	}
	if strings.Contains(out.String(), "requested R-AAAAAA") || strings.Count(out.String(), "[SIEM] refused a delivery") != 2 {
		t.Errorf("after two bad deliveries the receiver printed:\n%s", out.String())
	}
	if code := post(secret, time.Now()); code != http.StatusNoContent {
		t.Errorf("signed right: %d, want 204", code)
	}
	if !strings.Contains(out.String(), "[SIEM] requested R-AAAAAA by alice (console)\n") {
		t.Errorf("the event taken is not printed:\n%s", out.String())
	}
}
