package discord_test

import (
	"testing"

	"resetbot/adapters/discord/discordtest"
)

func TestAnnounce(t *testing.T) {
	posts := func(ch string) func(discordtest.Call) bool {
		return func(c discordtest.Call) bool { return c.Method == "POST" && c.Path == "channels/"+ch+"/messages" }
	}
	t.Run("InTheApprovalsChannelPingingNobody", func(t *testing.T) {
		e := newEnv(t)
		if err := e.ad.Announce(e.ctx, "", "the store lost its data @everyone: ask again"); err != nil {
			t.Fatalf("Announce: %v", err)
		}
		c := e.fake.Wait(e.ctx, "the notice", posts(approvalsCh))
		if got := c.Body["content"]; got != "the store lost its data @everyone: ask again" && got != `the store lost its data \@everyone: ask again` {
			t.Errorf("content: got %q", got)
		}
		am, _ := c.Body["allowed_mentions"].(map[string]any)
		if parse, ok := am["parse"].([]any); !ok || len(parse) != 0 {
			t.Errorf("allowed_mentions: got %v, want parse empty: nobody pinged", c.Body["allowed_mentions"])
		}
	})
	t.Run("InAnAccountsChannel", func(t *testing.T) {
		e := newEnv(t)
		if err := e.ad.Announce(e.ctx, teamCh, "notice"); err != nil {
			t.Fatalf("Announce: %v", err)
		}
		if n := e.fake.Count(posts(teamCh)); n != 1 {
			t.Errorf("posts in %s: got %d, want 1", teamCh, n)
		}
	})
	t.Run("RetriedAfterA500PostedOnce", func(t *testing.T) {
		e := newEnv(t)
		e.fake.SetFault(discordtest.FaultFirst(1, posts(approvalsCh), &discordtest.Fault{Status: 500, Body: `{"message": "oops"}`}))
		if err := e.ad.Announce(e.ctx, "", "notice"); err != nil {
			t.Fatalf("Announce: %v", err)
		}
		if n := e.fake.Count(func(c discordtest.Call) bool { return posts(approvalsCh)(c) && c.Status == 200 }); n != 1 {
			t.Errorf("notices posted: got %d, want 1", n)
		}
	})
}
