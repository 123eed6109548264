package console

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"resetbot/adapters/chat"
	"resetbot/bot"
)

// Adapter reads typed lines and prints the bot's messages. It is a
// bot.Notifier for the console platform.
type Adapter struct {
	mu    sync.Mutex // one line at a time on out
	out   io.Writer
	bot   chat.Service
	clock bot.Clock
}

var _ bot.Notifier = (*Adapter)(nil)

// New makes an adapter printing to out.
func New(out io.Writer, clock bot.Clock) *Adapter {
	if clock == nil {
		clock = bot.SystemClock{}
	}
	return &Adapter{out: out, clock: clock}
}

// Attach gives the adapter the service; call it before Run. The console
// uses Handle alone: typed text is its only input.
func (a *Adapter) Attach(s chat.Service) { a.bot = s }

// Platform is the console.
func (a *Adapter) Platform() bot.Platform { return bot.PlatformConsole }

// Run reads lines "person> command" from in until it ends or ctx does. It
// returns the IDs of the requests the lines touched, so that the caller can
// wait for their execution before it exits.
func (a *Adapter) Run(ctx context.Context, in io.Reader) ([]string, error) {
	var ids []string
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 64*1024)
	for sc.Scan() {
		if ctx.Err() != nil {
			return ids, nil
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		who, text, ok := strings.Cut(line, ">")
		who = strings.TrimSpace(who)
		if !ok || who == "" || strings.ContainsAny(who, " \t") {
			a.printf("[console] write lines as: <person>> <command>, e.g. alice> /reset-password demo-tdsql locked out")
			continue
		}
		cmd, err := bot.Parse(text)
		var r bot.Reply
		if err != nil {
			r = bot.Reply{Text: bot.ErrorMessage(err), Err: err}
		} else {
			r = a.bot.Handle(ctx, bot.Actor{Platform: bot.PlatformConsole, UserID: who}, cmd)
		}
		a.printf("[ephemeral to %s] %s", who, r.Text)
		if r.Request != nil && r.Request.ID != "" {
			ids = append(ids, r.Request.ID)
		}
	}
	if err := sc.Err(); err != nil {
		return ids, fmt.Errorf("read console input: %w", err)
	}
	return ids, nil
}

// Card prints the approval card to the approvals channel. Its reference is
// the request ID: the console has no message to edit, so updates print anew.
func (a *Adapter) Card(_ context.Context, req bot.Request, acct bot.Account, ref string) (string, error) {
	var b strings.Builder
	verb := "new request"
	if ref != "" {
		verb = "update"
	}
	fmt.Fprintf(&b, "[#approvals] %s %s: %s asks to reset %s (%s %s %s; users %s) because %q. %s",
		verb, req.ID, req.Requester, acct.Name, acct.Provider, acct.Region, acct.Resource(),
		strings.Join(req.Users, ", "), req.Reason, stateLine(req))
	for _, v := range req.Votes {
		verb := "approved"
		if !v.Approve {
			verb = "denied"
		}
		fmt.Fprintf(&b, "\n[#approvals]   %s %s at %s on %s", v.Person, verb, v.At.Format("15:04:05"), v.Platform)
	}
	if req.State == bot.StatePending {
		fmt.Fprintf(&b, "\n[#approvals]   buttons: [Approve] [Deny]  (type: <approver>> approve %s)", req.ID)
	}
	a.printf("%s", b.String())
	return req.ID, nil
}

func stateLine(r bot.Request) string {
	switch r.State {
	case bot.StatePending:
		return fmt.Sprintf("Pending: %d of %d approvals, expires %s.", r.Approved(), r.Approvals, r.ExpiresAt.Format("15:04:05 MST"))
	case bot.StateSucceeded, bot.StateFailed, bot.StateDenied:
		if r.Outcome != "" {
			return fmt.Sprintf("State: %s (%s).", r.State, r.Outcome)
		}
	}
	return fmt.Sprintf("State: %s.", r.State)
}

// Notify prints a line that only person would see.
func (a *Adapter) Notify(_ context.Context, p bot.Person, _ bot.Request, text string) error {
	a.printf("[ephemeral to %s] %s", p.Name, text)
	return nil
}

// Deliver prints the passwords, marked as seen by the requester alone.
func (a *Adapter) Deliver(_ context.Context, p bot.Person, req bot.Request, results []bot.UserResult) error {
	for _, r := range results {
		if r.Err != nil {
			a.printf("[ephemeral to %s] %s %s user %s: not reset: %s", p.Name, req.ID, req.Account, r.User, bot.ErrorMessage(r.Err))
			continue
		}
		a.printf("[ephemeral to %s] %s new password for %s user %s: %s", p.Name, req.ID, req.Account, r.User, r.Password.Value())
	}
	return nil
}

// CanDeliver is true: the console prints a password the moment it is made.
func (a *Adapter) CanDeliver(bot.Request) bool { return true }

// Offer is never called, since CanDeliver is always true: the console has
// no Reveal offer.
func (a *Adapter) Offer(_ context.Context, _ bot.Person, req bot.Request) (string, error) {
	return "", bot.Errorf(bot.EUNAVAILABLE, "the console has no Reveal offer (request %s): its passwords are printed at once", req.ID)
}

// Withdraw is never called, since Offer makes no offer.
func (a *Adapter) Withdraw(_ context.Context, req bot.Request, _ string) error {
	return bot.Errorf(bot.EUNAVAILABLE, "the console has no Reveal offer to withdraw (request %s)", req.ID)
}

func (a *Adapter) printf(format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fmt.Fprintf(a.out, a.clock.Now().Format("15:04:05")+" "+format+"\n", args...)
}

// Settle waits until none of ids is approved or executing, or timeout
// passes, so that a playground fed from a file shows every delivery before
// it exits.
func Settle(ctx context.Context, get func(ctx context.Context, id string) (bot.Request, error), ids []string, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for _, id := range ids {
		for {
			r, err := get(ctx, id)
			if err != nil || (r.State != bot.StateApproved && r.State != bot.StateExecuting) {
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}
}
