package discordtest_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"resetbot/adapters/discord/discordtest"
)

// ids lists the IDs of a page of messages.
func ids(page []map[string]any) []string {
	var out []string
	for _, m := range page {
		s, _ := m["id"].(string)
		out = append(out, s)
	}
	return out
}

// TestChannelMessages: GET channels/{id}/messages answers as Discord
// documents it: IDs are snowflakes of the time each message was made;
// pages are newest first whether they come after or before an ID; limit
// is 1-100, 50 by default; each message names its author; and a channel
// the bot cannot see is refused, one whose history it cannot read is
// empty.
func TestChannelMessages(t *testing.T) {
	f := newFake(t)
	var posted []string // oldest first
	for i := range 60 {
		st, m := f.do("POST", "channels/789/messages", map[string]any{"content": fmt.Sprint("m", i)})
		if st != 200 {
			t.Fatalf("post: got %d %v", st, m)
		}
		posted = append(posted, m["id"].(string))
		if a, _ := m["author"].(map[string]any); a["id"] != discordtest.BotUserID {
			t.Fatalf("author of the bot's message: got %v, want %s", m["author"], discordtest.BotUserID)
		}
		f.clock.Advance(time.Second)
	}
	first, _ := strconv.ParseUint(posted[0], 10, 64)
	if got := time.UnixMilli(int64(first>>22) + discordtest.Epoch).UTC(); !got.Equal(time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("the first message's ID says it was made at %s, want 09:00:00", got)
	}

	t.Run("NewestByDefault", func(t *testing.T) {
		st, page := f.list("channels/789/messages")
		if st != 200 || len(page) != 50 || page[0]["id"] != posted[59] || page[49]["id"] != posted[10] {
			t.Errorf("got %d, %d messages from %v to %v; want the newest 50, newest first", st, len(page), page[0]["id"], page[len(page)-1]["id"])
		}
	})
	t.Run("AfterIsTheOldestAfterNewestFirst", func(t *testing.T) {
		_, page := f.list("channels/789/messages?limit=3&after=" + posted[4])
		if got, want := fmt.Sprint(ids(page)), fmt.Sprint([]string{posted[7], posted[6], posted[5]}); got != want {
			t.Errorf("after the 5th: got %s, want %s", got, want)
		}
		after := discordtest.Snowflake(time.Date(2025, 3, 4, 9, 0, 30, 0, time.UTC).Add(-time.Millisecond))
		_, page = f.list("channels/789/messages?limit=2&after=" + after)
		if got, want := fmt.Sprint(ids(page)), fmt.Sprint([]string{posted[31], posted[30]}); got != want {
			t.Errorf("after a snowflake of 09:00:29.999: got %s, want %s", got, want)
		}
	})
	t.Run("BeforeIsTheNewestBeforeNewestFirst", func(t *testing.T) {
		_, page := f.list("channels/789/messages?limit=3&before=" + posted[4])
		if got, want := fmt.Sprint(ids(page)), fmt.Sprint([]string{posted[3], posted[2], posted[1]}); got != want {
			t.Errorf("before the 5th: got %s, want %s", got, want)
		}
	})
	t.Run("LimitBounds", func(t *testing.T) {
		for _, q := range []string{"limit=0", "limit=101", "limit=x", "after=1&before=2"} {
			if st, _ := f.list("channels/789/messages?" + q); st != 400 {
				t.Errorf("%s: got %d, want 400", q, st)
			}
		}
		if st, page := f.list("channels/789/messages?limit=100"); st != 200 || len(page) != 60 {
			t.Errorf("limit=100: got %d with %d messages, want all 60", st, len(page))
		}
	})
	t.Run("OtherAuthors", func(t *testing.T) {
		id := f.srv.PostAs("789", "1001", map[string]any{"content": "hi"})
		_, page := f.list("channels/789/messages?limit=1")
		if a, _ := page[0]["author"].(map[string]any); page[0]["id"] != id || a["id"] != "1001" || a["bot"] != false {
			t.Errorf("a person's message: got %v, want %s by 1001", page[0], id)
		}
	})
	t.Run("Unreadable", func(t *testing.T) {
		const guild, bots = "500", "600"
		g := discordtest.Guild{ID: guild, Roles: []discordtest.Role{{ID: guild, Permissions: 1<<10 | 1<<16}, {ID: bots}},
			Channels: []discordtest.GuildChannel{
				{ID: "700"},
				{ID: "701", Overwrites: []discordtest.Overwrite{{ID: bots, Type: discordtest.OverwriteRole, Deny: 1 << 10}}},
				{ID: "702", Overwrites: []discordtest.Overwrite{{ID: discordtest.BotUserID, Type: discordtest.OverwriteMember, Deny: 1 << 16}}},
			},
			Members: []discordtest.Member{{UserID: discordtest.BotUserID, Roles: []string{bots}}}}
		f.srv.SetGuild(g)
		for _, ch := range []string{"700", "701", "702"} {
			f.srv.PostAs(ch, "1001", map[string]any{"content": "hi"})
		}
		tests := []struct {
			path   string
			status int
			n      int
		}{
			{"channels/700/messages", 200, 1},
			{"channels/701/messages", 403, 0}, // no View Channel: 50001
			{"channels/702/messages", 200, 0}, // no Read Message History: no messages
			{"channels/999/messages", 404, 0},
		}
		for _, tt := range tests {
			if st, page := f.list(tt.path); st != tt.status || len(page) != tt.n {
				t.Errorf("%s: got %d with %d messages, want %d with %d", tt.path, st, len(page), tt.status, tt.n)
			}
		}
		g.Members = nil
		f.srv.SetGuild(g)
		if st, _ := f.list("channels/700/messages"); st != 403 {
			t.Errorf("a guild the bot left: got %d, want 403", st)
		}
	})
}

// TestNonceWindow: a repeated post with the same enforced nonce returns the
// first message within the window, and makes a second one after it.
func TestNonceWindow(t *testing.T) {
	f := newFake(t)
	f.srv.SetNonceWindow(time.Minute)
	body := map[string]any{"content": "card", "nonce": "card-R-1", "enforce_nonce": true}
	_, m1 := f.do("POST", "channels/789/messages", body)
	f.clock.Advance(59 * time.Second)
	_, m2 := f.do("POST", "channels/789/messages", body)
	if m1["id"] == nil || m2["id"] != m1["id"] {
		t.Errorf("within the window: got %v then %v, want the same message", m1["id"], m2["id"])
	}
	f.clock.Advance(time.Second)
	_, m3 := f.do("POST", "channels/789/messages", body)
	if m3["id"] == nil || m3["id"] == m1["id"] {
		t.Errorf("after the window: got %v, want a second message", m3["id"])
	}
	if n := len(f.srv.Messages("789")); n != 2 {
		t.Errorf("messages: got %d, want 2", n)
	}
}
