package main

import (
	"bufio"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

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

func TestPlaygroundAskApproveReveal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var stderr strings.Builder
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"resetbot", "playground"}, func(string) string { return "" }, inR, outW, &stderr)
		outW.Close()
	}()
	var shown testkit.Log // everything the playground printed
	out := readLines(io.TeeReader(outR, &shown))

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
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"resetbot", "playground"}, func(string) string { return "" }, inR, outW, io.Discard)
		outW.Close()
	}()
	return inW, readLines(outR), errc
}
