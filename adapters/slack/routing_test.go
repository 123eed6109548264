package slack_test

import (
	"testing"
	"time"

	"resetbot/bot"
)

// TestCardsRoutedPerAccount: an account's channels.slack receives its
// cards; an account without one uses approvals_channel.
func TestCardsRoutedPerAccount(t *testing.T) {
	e := newEnv(t)
	req := bot.Request{ID: "R-ROUTE2", Account: "team-db", Users: []string{"app_user"}, Requester: "alice",
		State: bot.StatePending, Approvals: 1, CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	for _, tc := range []struct {
		name, want string
		channels   map[bot.Platform]string
	}{
		{"OwnChannel", "C0DBTEAM", map[bot.Platform]string{bot.PlatformSlack: "C0DBTEAM", bot.PlatformDiscord: "790"}},
		{"Default", approvalsChannel, map[bot.Platform]string{bot.PlatformDiscord: "790"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req.ID = "R-" + map[string]string{"OwnChannel": "ROUTE2", "Default": "ROUTE3"}[tc.name]
			acct := accounts[0]
			acct.Channels = tc.channels
			ref, err := e.ad.Card(e.ctx(), req, acct, "")
			if err != nil {
				t.Fatalf("Card: %v", err)
			}
			if m, ok := e.slack.Message(ref); !ok || m.Channel != tc.want {
				t.Errorf("card %s: posted in %q, want %q", ref, m.Channel, tc.want)
			}
		})
	}
}
