package discord_test

import (
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"resetbot/adapters/discord/discordtest"
	"resetbot/bot"
)

// TestRemindersAndEscalationUnderTheCard: two services with reminders and
// an escalation on prod-db share the store, the clock and the adapter: the
// reminder is one reply under the card mentioning alice and bob (who may
// approve), never carol (who asked); the escalation one more mentioning
// dave, and the card says "escalated to dave".
func TestRemindersAndEscalationUnderTheCard(t *testing.T) {
	e := newEnv(t)
	accts := slices.Clone(accounts)
	accts[0].RemindAfter, accts[0].RemindBackoff = 10*time.Minute, 2
	accts[0].EscalateAfter, accts[0].EscalateTo = 20*time.Minute, []string{"dave"}
	var svcs []*bot.Service
	for range 2 {
		svc, err := bot.New(bot.Options{Store: e.store, Providers: e.providers(), Notifiers: []bot.Notifier{e.ad},
			People: people, Accounts: accts, Clock: e.clock, Log: slog.New(slog.NewTextHandler(e.logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		svcs = append(svcs, svc)
	}
	r := svcs[0].HandleText(e.ctx, bot.Actor{Platform: bot.PlatformDiscord, UserID: carol}, "prod-db locked out")
	if r.Err != nil {
		t.Fatalf("ask: %v", r.Err)
	}
	id := r.Request.ID
	got, err := e.store.Get(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	card := got.Refs[bot.Ref(bot.RefCard, bot.PlatformDiscord)]
	if card == "" {
		t.Fatalf("%s has no card", id)
	}
	sweep := func() {
		var wg sync.WaitGroup
		for _, svc := range append(svcs, svcs...) {
			wg.Go(func() { svc.Sweep(e.ctx) })
		}
		wg.Wait()
	}
	replies := func() []discordtest.Call {
		var out []discordtest.Call
		for _, c := range e.fake.Calls() {
			if isReply(card)(c) && c.Status == 200 {
				out = append(out, c)
			}
		}
		return out
	}

	e.clock.Advance(10 * time.Minute)
	sweep()
	rs := replies()
	if len(rs) != 1 {
		t.Fatalf("replies under the card after 10m: %d, want 1", len(rs))
	}
	// unescaped is a reply's words as Discord shows them.
	unescaped := func(c discordtest.Call) string { return strings.ReplaceAll(content(c), `\`, "") }
	if c := unescaped(rs[0]); !strings.HasPrefix(c, "<@"+alice+"> <@"+bob+"> ") || strings.Contains(c, carol) ||
		!strings.Contains(c, id+" still needs approval (reminder 1)") {
		t.Errorf("reminder: %q, want alice and bob mentioned, not carol", c)
	}

	e.clock.Advance(10 * time.Minute)
	sweep()
	rs = replies()
	if len(rs) != 2 {
		t.Fatalf("replies after 20m: %d, want 2 (the escalation)", len(rs))
	}
	if c := unescaped(rs[1]); !strings.HasPrefix(c, "<@"+dave+"> ") || !strings.Contains(c, "escalated to dave") {
		t.Errorf("escalation reply: %q, want dave mentioned first", c)
	}
	msg, ok := e.fake.Message(card)
	if !ok || !strings.Contains(toJSON(msg), "escalated to dave") {
		t.Errorf("card after the escalation: %v, want it to say escalated to dave", msg)
	}
	// dave approves, counting toward the one rule.
	r = svcs[1].HandleText(e.ctx, bot.Actor{Platform: bot.PlatformDiscord, UserID: dave}, "approve "+id)
	if r.Err != nil || r.Request.State != bot.StateApproved {
		t.Fatalf("dave's approval: %q, %v", r.Text, r.Err)
	}
	e.clock.Advance(time.Hour)
	sweep()
	if n := len(replies()); n != 2 {
		t.Errorf("replies once approved: %d, want still 2", n)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
