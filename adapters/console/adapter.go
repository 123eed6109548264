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
		actor := bot.Actor{Platform: bot.PlatformConsole, UserID: who}
		var r bot.Reply
		switch {
		case err != nil:
			r = bot.Reply{Text: bot.ErrorMessage(err), Err: err}
		case cmd.Kind == bot.KindReveal:
			// The answer to the requester's Reveal is the one place the
			// password is printed.
			if err := a.bot.Reveal(ctx, actor, cmd.ID, func(_ context.Context, results []bot.UserResult) error {
				a.show(who, cmd.ID, results)
				return nil
			}); err != nil {
				r = bot.Reply{Text: bot.ErrorMessage(err), Err: err}
			} else {
				r = bot.Reply{Text: cmd.ID + " revealed.", Request: &bot.Request{ID: cmd.ID}}
			}
		default:
			r = a.bot.Handle(ctx, actor, cmd)
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
