package slack_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"resetbot/bot"
	"resetbot/internal/testkit"
)

// TestRemindersAndEscalationInTheThread: the whole bot, two replicas on
// one Redis, a hand-moved clock: the reminder is one reply in the card's
// thread mentioning alice and bob (who may approve), never dave (who
// asked); the escalation is one more, mentioning carol, and the card says
// "escalated to carol".
func TestRemindersAndEscalationInTheThread(t *testing.T) {
	clock := testkit.NewClock(time.Now())
	accts := slices.Clone(accounts)
	accts[0].RemindAfter, accts[0].RemindBackoff = 10*time.Minute, 2
	accts[0].EscalateAfter, accts[0].EscalateTo = 20*time.Minute, []string{"carol"}
	opts := []envOption{withClock(clock), func(c *envConfig) { c.accounts = accts }}
	e := newEnv(t, opts...)
	_, other, _ := e.replica(opts...)
	id := e.ask(dave, "prod-db locked out")
	card := e.request(id).Refs[bot.Ref(bot.RefCard, bot.PlatformSlack)]
	if card == "" {
		t.Fatalf("%s has no card", id)
	}
	sweep := func() {
		var wg sync.WaitGroup
		for _, svc := range []*bot.Service{e.svc, other, e.svc, other} {
			wg.Go(func() { svc.Sweep(e.ctx()) })
		}
		wg.Wait()
	}

	clock.Advance(10 * time.Minute)
	sweep()
	replies := e.slack.Replies(card)
	if len(replies) != 1 {
		t.Fatalf("replies in the card's thread after 10m: %d, want 1: %+v", len(replies), replies)
	}
	r := replies[0]
	if !strings.Contains(r.Text, "<@"+alice+">") || !strings.Contains(r.Text, "<@"+bob+">") || strings.Contains(r.Text, dave) ||
		!strings.Contains(r.Text, id+" still needs approval (reminder 1)") {
		t.Errorf("reminder: %q, want alice and bob mentioned, not dave, and what it is about", r.Text)
	}

	clock.Advance(10 * time.Minute)
	sweep()
	replies = e.slack.Replies(card)
	if len(replies) != 2 {
		t.Fatalf("replies after 20m: %d, want 2 (the escalation; the next reminder is at 30m)", len(replies))
	}
	if esc := replies[1].Text; !strings.HasPrefix(esc, "<@"+carol+">") || !strings.Contains(esc, "escalated to carol") {
		t.Errorf("escalation reply: %q, want carol mentioned first", esc)
	}
	m, _ := e.slack.Message(card)
	if !strings.Contains(m.Blocks, "escalated to carol") {
		t.Errorf("card after the escalation: %s, want it to say escalated to carol", m.Blocks)
	}
	// carol approves, toward the one rule.
	if _, _, hook := e.command(carol, "approve "+id); !strings.Contains(e.slack.Reply(e.ctx(), hook), "You approved "+id) {
		t.Errorf("carol's approval was not taken")
	}
	if got := e.request(id).State; got != bot.StateOffered && got != bot.StateApproved && got != bot.StateExecuting {
		t.Errorf("after carol: %s, want approved", got)
	}
	clock.Advance(time.Hour)
	sweep()
	if n := len(e.slack.Replies(card)); n != 2 {
		t.Errorf("replies once approved: %d, want still 2", n)
	}
}
