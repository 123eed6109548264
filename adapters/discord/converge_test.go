package discord_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"resetbot/adapters/discord"
	"resetbot/adapters/discord/discordtest"
	"resetbot/bot"
)

// cardsOf are the messages in ch that the bot posted as the card of
// request id.
func cardsOf(f *discordtest.Server, ch, id string) []map[string]any {
	var out []map[string]any
	for _, m := range f.Messages(ch) {
		author, _ := m["author"].(map[string]any)
		embeds, _ := m["embeds"].([]any)
		if author["id"] != discordtest.BotUserID || len(embeds) == 0 {
			continue
		}
		if e, _ := embeds[0].(map[string]any); e["title"] == "Password reset "+id {
			out = append(out, m)
		}
	}
	return out
}

// TestLostCardTakenOverAfterTheNonceWindow: Discord posts a card but its
// answer never reaches the bot, and its retries are refused (Discord is
// down), so the card is owed without a reference. The request is denied
// meanwhile. Once Discord is back, later than the few minutes in which
// Discord would return the first message for the card's nonce, the
// sweeper finds the card in the channel and edits it: the request has one
// card, which shows it denied, without buttons.
func TestLostCardTakenOverAfterTheNonceWindow(t *testing.T) {
	e := newEnv(t, func(o *discord.Options) { o.HTTPClient = &http.Client{Timeout: time.Second} })
	const window = 2 * time.Minute
	e.fake.SetNonceWindow(window)
	cardPost := isPostTo("channels/" + approvalsCh + "/messages")
	var down atomic.Bool
	var posts atomic.Int32
	down.Store(true)
	e.fake.SetFault(func(c discordtest.Call) *discordtest.Fault {
		if !down.Load() || !cardPost(c) {
			return nil
		}
		if posts.Add(1) == 1 {
			return &discordtest.Fault{Late: true} // posted; the answer comes after the client gave up
		}
		return &discordtest.Fault{Status: 503, Body: `{"message": "upstream connect error", "code": 0}`}
	})

	r := e.svc.HandleText(e.ctx, bot.Actor{Platform: bot.PlatformDiscord, UserID: carol}, "prod-db locked out")
	if r.Err != nil {
		t.Fatalf("ask: %v", r.Err)
	}
	id := r.Request.ID
	if r := e.svc.HandleText(e.ctx, bot.Actor{Platform: bot.PlatformDiscord, UserID: bob}, "deny "+id+" not now"); r.Err != nil {
		t.Fatalf("deny: %v", r.Err)
	}
	req, err := e.store.Get(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	owed, err := e.redis.ZCard(e.ctx, "{"+e.prefix+"}cards:stale").Result()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cardsOf(e.fake, approvalsCh, id)); n != 1 || owed != 1 || req.Refs[bot.Ref(bot.RefCard, bot.PlatformDiscord)] != "" || req.State != bot.StateDenied {
		t.Fatalf("before Discord is back: %d cards in Discord, %d owed, ref %q, %s; want a card posted without the bot knowing, owed, denied",
			n, owed, req.Refs[bot.Ref(bot.RefCard, bot.PlatformDiscord)], req.State)
	}

	e.clock.Advance(window + 4*time.Minute) // past the nonce's window, and any card's backoff
	down.Store(false)
	for round := 0; ; round++ {
		e.svc.Sweep(e.ctx)
		n, err := e.redis.ZCard(e.ctx, "{"+e.prefix+"}cards:stale").Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if round == 5 {
			t.Fatalf("after %d sweeps with Discord answering, %d cards are still owed", round+1, n)
		}
		e.clock.Advance(6 * time.Minute)
	}

	cards := cardsOf(e.fake, approvalsCh, id)
	if len(cards) != 1 {
		t.Fatalf("cards of %s in Discord: got %d, want 1", id, len(cards))
	}
	card := cards[0]
	req, err = e.store.Get(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := req.Refs[bot.Ref(bot.RefCard, bot.PlatformDiscord)], approvalsCh+"/"+card["id"].(string); got != want {
		t.Errorf("the request's card: got %q, want the one in Discord, %q", got, want)
	}
	embeds, _ := card["embeds"].([]any)
	embed, _ := embeds[0].(map[string]any)
	if d, _ := embed["description"].(string); !strings.Contains(d, "**Denied**") {
		t.Errorf("the card says %q, want it denied", d)
	}
	if rows, _ := card["components"].([]any); len(rows) != 0 {
		t.Errorf("the card has buttons %v, want none once denied", rows)
	}
	if !strings.Contains(e.logs.String(), "took over a card posted before") {
		t.Errorf("the log does not say the card was taken over:\n%s", e.logs)
	}
}
