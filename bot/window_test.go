package bot_test

import (
	"context"
	"strings"
	"testing"

	"resetbot/bot"
)

// closedWindow is a chat whose private delivery window has passed.
type closedWindow struct{ notifier }

func (closedWindow) CanDeliver(bot.Request) bool { return false }

func TestServiceNoResetWhenPasswordCannotBeShown(t *testing.T) {
	e := newEnv(t)
	e.svc, e.store = e.newService(e.client, func(o *bot.Options) {
		o.Notifiers = []bot.Notifier{newNotifier(bot.PlatformSlack, e.chat), closedWindow{newNotifier(bot.PlatformDiscord, e.chat)}}
	})
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	go e.svc.RunExecutor(ctx, "window")

	id := e.ask(as("alice", bot.PlatformDiscord), "prod-db locked out")
	e.mustDo(as("bob", bot.PlatformSlack), "approve "+id)
	if err := e.chat.waitFor(e.ctx, "the failure notice", told("alice", id, "not reset")); err != nil {
		t.Fatal(err)
	}
	req := e.wantState(id, bot.StateFailed)
	if !strings.Contains(req.Outcome, "ask again") {
		t.Errorf("outcome = %q, want it to say to ask again", req.Outcome)
	}
	if got := e.prov.calls.Load(); got != 0 {
		t.Errorf("provider calls = %d, want 0: the password could not have been shown", got)
	}
	if got := e.chat.count("deliver", func(shown) bool { return true }); got != 0 {
		t.Errorf("deliveries = %d, want 0", got)
	}
}
