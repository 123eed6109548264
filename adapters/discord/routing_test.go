package discord_test

import (
	"strings"
	"testing"
	"time"

	"resetbot/bot"
)

// TestCardsRoutedPerAccount: an account's channels.discord receives its
// cards; an account without one uses approvals_channel.
func TestCardsRoutedPerAccount(t *testing.T) {
	e := newEnv(t)
	req := bot.Request{ID: "R-ROUTE2", Account: "prod-db", Users: []string{"app_user"}, Requester: "alice",
		State: bot.StatePending, Approvals: 1, CreatedAt: e.clock.Now(), ExpiresAt: e.clock.Now().Add(time.Hour)}
	for _, tc := range []struct {
		name, want string
		channels   map[bot.Platform]string
	}{
		{"OwnChannel", teamCh, map[bot.Platform]string{bot.PlatformDiscord: teamCh, bot.PlatformSlack: "C0DBTEAM"}},
		{"Default", approvalsCh, map[bot.Platform]string{bot.PlatformSlack: "C0DBTEAM"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req.ID = "R-" + map[string]string{"OwnChannel": "ROUTE2", "Default": "ROUTE3"}[tc.name]
			acct := accounts[0]
			acct.Channels = tc.channels
			ref, err := e.ad.Card(e.ctx, req, acct, "")
			if err != nil {
				t.Fatalf("Card: %v", err)
			}
			if ch, _, _ := strings.Cut(ref, "/"); ch != tc.want {
				t.Errorf("card %s: posted in %q, want %q", ref, ch, tc.want)
			}
		})
	}
}
