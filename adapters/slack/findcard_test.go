package slack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"resetbot/adapters/slack/slacktest"
	"resetbot/bot"
)

// TestFindCard: a card carries its request's ID in its metadata, and
// FindCard finds it in the card's channel, paging through the history
// since the request was made, within a bound; it finds nothing where there
// is no card, and fails, rather than say there is none, when it cannot
// read the channel (unless the app lacks the scope to: then the card is
// posted, as before the look-up).
func TestFindCard(t *testing.T) {
	posted := func(t *testing.T, f *slacktest.Server, n int) (*slacktest.Server, []string) {
		ad := newAdapter(t, f)
		var refs []string
		for i := range n {
			refs = append(refs, postCard(t, ad, pending(fmt.Sprintf("R-FIND%02d", i))))
		}
		return f, refs
	}

	t.Run("CardCarriesMetadata", func(t *testing.T) {
		f, refs := posted(t, slacktest.NewServer(t, botToken, appToken), 1)
		var meta struct {
			EventType string         `json:"event_type"`
			Payload   map[string]any `json:"event_payload"`
		}
		post := f.CallsOf("chat.postMessage")[0]
		if err := json.Unmarshal([]byte(post.Get("metadata")), &meta); err != nil ||
			meta.EventType != "resetbot_card" || meta.Payload["request_id"] != "R-FIND00" {
			t.Errorf("the card's metadata: %q, want event_type resetbot_card naming R-FIND00", post.Get("metadata"))
		}
		if m, _ := f.Message(refs[0]); m.Metadata == nil || m.Metadata.EventPayload["request_id"] != "R-FIND00" {
			t.Errorf("Slack keeps the card with metadata %+v, want it to name R-FIND00", m.Metadata)
		}
	})

	t.Run("FoundAcrossPages", func(t *testing.T) {
		f, refs := posted(t, slacktest.NewServer(t, botToken, appToken), 12)
		f.PageLimit(5)
		ad := newAdapter(t, f)
		got, err := ad.FindCard(testCtx(t), pending("R-FIND01"), accounts[0])
		if err != nil || got != refs[1] {
			t.Errorf("FindCard(R-FIND01): got %q, %v; want %q", got, err, refs[1])
		}
		if n := len(f.CallsOf("conversations.history")); n != 3 {
			t.Errorf("conversations.history calls: got %d, want 3 (pages of 5, the card on the third)", n)
		}
		for _, c := range f.CallsOf("conversations.history") {
			if c.Get("include_all_metadata") != "1" || c.Get("oldest") == "" || c.Get("channel") != approvalsChannel {
				t.Errorf("conversations.history: %v, want include_all_metadata=1, an oldest, the approvals channel", c.Form)
			}
		}
	})

	t.Run("NoneFound", func(t *testing.T) {
		f, _ := posted(t, slacktest.NewServer(t, botToken, appToken), 3)
		ad := newAdapter(t, f)
		if got, err := ad.FindCard(testCtx(t), pending("R-NEVER1"), accounts[0]); err != nil || got != "" {
			t.Errorf("FindCard of a request never posted: got %q, %v; want none", got, err)
		}
		later := pending("R-FIND00")
		later.CreatedAt = time.Now().Add(time.Hour) // asked after its card: not the same request
		if got, err := ad.FindCard(testCtx(t), later, accounts[0]); err != nil || got != "" {
			t.Errorf("FindCard of a card older than its request: got %q, %v; want none", got, err)
		}
	})

	t.Run("OnlyTheBotsOwn", func(t *testing.T) {
		f := slacktest.NewServer(t, botToken, appToken)
		// another app posted a message carrying the same metadata
		f.PostAsApp(approvalsChannel, "BOTHER", "a copy", &slacktest.Metadata{
			EventType: "resetbot_card", EventPayload: map[string]any{"request_id": "R-FIND00"}})
		ad := newAdapter(t, f)
		if got, err := ad.FindCard(testCtx(t), pending("R-FIND00"), accounts[0]); err != nil || got != "" {
			t.Errorf("FindCard with only another app's copy: got %q, %v; want none", got, err)
		}
		ref := postCard(t, ad, pending("R-FIND00"))
		if got, err := ad.FindCard(testCtx(t), pending("R-FIND00"), accounts[0]); err != nil || got != ref {
			t.Errorf("FindCard with the bot's card too: got %q, %v; want %q", got, err, ref)
		}
		if n := len(f.CallsOf("auth.test")); n != 1 {
			t.Errorf("auth.test calls: got %d, want 1 (the bot's ID is asked once)", n)
		}
	})

	t.Run("AccountsChannel", func(t *testing.T) {
		f := slacktest.NewServer(t, botToken, appToken)
		ad := newAdapter(t, f)
		acct := accounts[0]
		acct.Channels = map[bot.Platform]string{bot.PlatformSlack: "C0DBTEAM"}
		ref, err := ad.Card(testCtx(t), pending("R-TEAM01"), acct, "")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := ad.FindCard(testCtx(t), pending("R-TEAM01"), acct); err != nil || got != ref || !strings.HasPrefix(got, "C0DBTEAM/") {
			t.Errorf("FindCard in the account's channel: got %q, %v; want %q", got, err, ref)
		}
	})

	t.Run("Bounded", func(t *testing.T) {
		f, _ := posted(t, slacktest.NewServer(t, botToken, appToken), 8)
		f.PageLimit(1)
		ad := newAdapter(t, f)
		if got, err := ad.FindCard(testCtx(t), pending("R-FIND00"), accounts[0]); err != nil || got != "" {
			t.Errorf("FindCard of a card past the pages read: got %q, %v; want none", got, err)
		}
		if n := len(f.CallsOf("conversations.history")); n != 5 {
			t.Errorf("conversations.history calls: got %d, want 5, the bound", n)
		}
	})

	t.Run("CannotRead", func(t *testing.T) {
		tests := []struct {
			name  string
			setup func(*slacktest.Server)
			code  string // "" with no error: found none
		}{
			{"NotInChannel", func(f *slacktest.Server) { f.AddChannel(slacktest.Channel{ID: approvalsChannel}) }, bot.EINTERNAL},
			{"ServerError", func(f *slacktest.Server) {
				f.Fail("conversations.history", slacktest.Fault{Status: http.StatusServiceUnavailable})
			}, bot.EUNAVAILABLE},
			{"RateLimited", func(f *slacktest.Server) {
				f.Fail("conversations.history", slacktest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "60", Err: "ratelimited"})
			}, bot.EUNAVAILABLE},
			{"MissingScope", func(f *slacktest.Server) {
				f.Fail("conversations.history", slacktest.Fault{Err: "missing_scope"})
			}, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f, _ := posted(t, slacktest.NewServer(t, botToken, appToken), 1)
				tt.setup(f)
				ad := newAdapter(t, f)
				// Short: the retries of a 503 end where their wait would outlast it.
				ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
				defer cancel()
				got, err := ad.FindCard(ctx, pending("R-FIND00"), accounts[0])
				if got != "" || bot.ErrorCode(err) != tt.code || (tt.code == "") != (err == nil) {
					t.Errorf("FindCard: got %q, %v; want none, with code %q", got, err, tt.code)
				}
			})
		}
	})
}
