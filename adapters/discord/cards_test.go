package discord_test

import (
	"strings"
	"testing"
	"time"

	"resetbot/adapters/discord/discordtest"
	"resetbot/bot"
)

// TestCardEscalated: a pending card that was escalated says to whom,
// beside the rules' progress; before escalation it does not, and once the
// request ended it still does (as on Slack: it says why an escalated
// person's approval counted).
func TestCardEscalated(t *testing.T) {
	b := newBare(t)
	req := pendingRequest("R-ESC222")
	req.Rules = []bot.RequestRule{{Name: "db-approvers", Count: 1, People: []string{"bob"}},
		{Name: "security", Count: 1, People: []string{"dave"}}}
	req.Approvals = 2
	req.Votes = []bot.Vote{{Person: "bob", Approve: true, Platform: bot.PlatformDiscord, At: req.CreatedAt}}
	req.Escalation = &bot.Escalation{To: []string{"eng-managers"}, People: []string{"carol"}, At: req.CreatedAt.Add(20 * time.Minute)}

	ref, err := b.ad.Card(b.ctx, req, accounts[0], "")
	if err != nil {
		t.Fatalf("Card: %v", err)
	}
	post := b.fake.Wait(b.ctx, "the card", isCardPost)
	if txt := embedText(post); strings.Contains(txt, "escalated") ||
		!strings.Contains(txt, "db-approvers 1/1 · security 0/1") || !strings.Contains(txt, "waiting for 1 more") {
		t.Errorf("card before escalation: got %s, want the rules' progress, 1 more, and no escalation", txt)
	}

	req.Escalation.Done = true
	req.UpdatedAt = req.UpdatedAt.Add(20 * time.Minute)
	if _, err := b.ad.Card(b.ctx, req, accounts[0], ref); err != nil {
		t.Fatalf("Card: %v", err)
	}
	edit := b.fake.Wait(b.ctx, "the escalated card", func(c discordtest.Call) bool {
		return isCardEdit(c) && strings.Contains(embedText(c), "escalated to eng-managers")
	})
	if txt := embedText(edit); !strings.Contains(txt, `db-approvers 1/1 · security 0/1\nescalated to eng-managers`) {
		t.Errorf("escalated card: got %s, want the escalation beside the rules' progress", txt)
	}

	req.State = bot.StateDenied
	req.UpdatedAt = req.UpdatedAt.Add(time.Minute)
	if _, err := b.ad.Card(b.ctx, req, accounts[0], ref); err != nil {
		t.Fatalf("Card: %v", err)
	}
	denied := b.fake.Wait(b.ctx, "the denied card", cardState("Denied"))
	if txt := embedText(denied); !strings.Contains(txt, "escalated to eng-managers") {
		t.Errorf("denied card: got %s, want the escalation kept once the request ended", txt)
	}
}
