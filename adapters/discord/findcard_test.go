package discord_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"resetbot/adapters/discord"
	"resetbot/adapters/discord/discordtest"
	"resetbot/bot"
)

func isHistoryRead(ch string) func(discordtest.Call) bool {
	return func(c discordtest.Call) bool { return c.Method == "GET" && c.Path == "channels/"+ch+"/messages" }
}

func isWhoAmI(c discordtest.Call) bool { return c.Method == "GET" && c.Path == "users/@me" }

// fill has the bot post n messages in ch that are no card.
func (b *bare) fill(ch string, n int) {
	for i := range n {
		b.fake.PostAs(ch, discordtest.BotUserID, map[string]any{"content": fmt.Sprint("announcement ", i)})
	}
}

// post posts req's card with Card and returns its reference.
func (b *bare) post(t *testing.T, req bot.Request, acct bot.Account) string {
	t.Helper()
	ref, err := b.ad.Card(b.ctx, req, acct, "")
	if err != nil {
		t.Fatalf("Card(%s): %v", req.ID, err)
	}
	return ref
}

// TestFindCard: FindCard finds the card the bot posted for a request in
// the card's channel, reading it forward from a little before the request
// was made, a page of 100 at a time, within a bound of pages; it takes no
// other request's card, no card older than its request, and no message
// by anyone but the bot; and when the bot may not read the channel it
// says there is none, so that the card is posted, while any other failure
// to read is an error.
func TestFindCard(t *testing.T) {
	acct := accounts[0]

	t.Run("Found", func(t *testing.T) {
		b := newBare(t)
		b.post(t, pendingRequest("R-OTHER1"), acct)
		ref := b.post(t, pendingRequest("R-FIND01"), acct)
		b.post(t, pendingRequest("R-OTHER2"), acct)
		got, err := b.ad.FindCard(b.ctx, pendingRequest("R-FIND01"), acct)
		if err != nil || got != ref {
			t.Fatalf("FindCard: got %q, %v; want %q", got, err, ref)
		}
		read := b.fake.Wait(b.ctx, "the channel read", isHistoryRead(approvalsCh))
		created := pendingRequest("R-FIND01").CreatedAt
		if q := read.Query; q.Get("limit") != "100" || q.Get("after") != discordtest.Snowflake(created.Add(-2*time.Minute)) ||
			q.Has("before") || q.Has("around") {
			t.Errorf("the read's query: got %v, want limit=100 and after= the snowflake of 2 minutes before the request", q)
		}
	})

	t.Run("FoundAcrossPages", func(t *testing.T) {
		b := newBare(t)
		b.fill(approvalsCh, 150)
		ref := b.post(t, pendingRequest("R-FIND01"), acct)
		got, err := b.ad.FindCard(b.ctx, pendingRequest("R-FIND01"), acct)
		if err != nil || got != ref {
			t.Errorf("FindCard: got %q, %v; want %q", got, err, ref)
		}
		if n := b.fake.Count(isHistoryRead(approvalsCh)); n != 2 {
			t.Errorf("pages read: got %d, want 2 (the card is the 151st message)", n)
		}
	})

	t.Run("EveryShapeOfCard", func(t *testing.T) {
		b := newBare(t)
		glass := pendingRequest("R-GLASS1")
		glass.State = bot.StateOffered
		glass.Review = &bot.Review{Kind: bot.ReviewBreakGlass, Incident: "INC-1", State: bot.ReviewOpen, Due: glass.CreatedAt.Add(4 * time.Hour)}
		ended := pendingRequest("R-ENDED1")
		ended.State = bot.StateDenied // posted once it had ended: no buttons
		for _, req := range []bot.Request{glass, ended} {
			ref := b.post(t, req, acct)
			if got, err := b.ad.FindCard(b.ctx, req, acct); err != nil || got != ref {
				t.Errorf("FindCard(%s, %s): got %q, %v; want %q", req.ID, req.State, got, err, ref)
			}
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		b := newBare(t)
		b.post(t, pendingRequest("R-OTHER1"), acct)
		old := b.post(t, pendingRequest("R-FIND01"), acct)
		if got, err := b.ad.FindCard(b.ctx, pendingRequest("R-NEVER1"), acct); err != nil || got != "" {
			t.Errorf("FindCard of a request never posted, beside another's card: got %q, %v; want none", got, err)
		}
		later := pendingRequest("R-FIND01")
		later.CreatedAt = later.CreatedAt.Add(time.Hour) // made after its card: not that request's
		if got, err := b.ad.FindCard(b.ctx, later, acct); err != nil || got != "" {
			t.Errorf("FindCard of a card (%s) older than its request: got %q, %v; want none", old, got, err)
		}
	})

	t.Run("OnlyTheBotsOwn", func(t *testing.T) {
		b := newBare(t)
		// A person pastes the card, buttons and all.
		req := pendingRequest("R-FIND01")
		model, _ := b.fake.Message(b.post(t, pendingRequest("R-MODEL1"), acct))
		raw, _ := json.Marshal(model)
		var copied map[string]any
		_ = json.Unmarshal([]byte(strings.ReplaceAll(string(raw), "R-MODEL1", req.ID)), &copied)
		fake := b.fake.PostAs(approvalsCh, alice, copied)
		if got, err := b.ad.FindCard(b.ctx, req, acct); err != nil || got != "" {
			t.Errorf("FindCard with only a person's copy (%s) of the card: got %q, %v; want none", fake, got, err)
		}
		ref := b.post(t, req, acct)
		if got, err := b.ad.FindCard(b.ctx, req, acct); err != nil || got != ref {
			t.Errorf("FindCard with a person's copy before the card: got %q, %v; want the bot's card %q", got, err, ref)
		}
		if n := b.fake.Count(isWhoAmI); n != 1 {
			t.Errorf("GET users/@me: got %d calls, want 1 (the bot's ID is remembered)", n)
		}
	})

	t.Run("Bounded", func(t *testing.T) {
		b := newBare(t)
		b.fill(approvalsCh, 500)
		b.post(t, pendingRequest("R-FIND01"), acct)
		if got, err := b.ad.FindCard(b.ctx, pendingRequest("R-FIND01"), acct); err != nil || got != "" {
			t.Errorf("FindCard of a card past the pages read: got %q, %v; want none", got, err)
		}
		if n := b.fake.Count(isHistoryRead(approvalsCh)); n != 5 {
			t.Errorf("pages read: got %d, want 5, the bound", n)
		}
		if !strings.Contains(b.logs.String(), "stopped looking for a card") {
			t.Errorf("the log does not say the look-up stopped at its bound:\n%s", b.logs)
		}
	})

	t.Run("AccountsChannel", func(t *testing.T) {
		b := newBare(t)
		team := acct
		team.Channels = map[bot.Platform]string{bot.PlatformDiscord: teamCh}
		b.post(t, pendingRequest("R-FIND01"), acct) // a card of the same ID elsewhere is not it
		ref := b.post(t, pendingRequest("R-FIND01"), team)
		if got, err := b.ad.FindCard(b.ctx, pendingRequest("R-FIND01"), team); err != nil || got != ref || !strings.HasPrefix(got, teamCh+"/") {
			t.Errorf("FindCard in the account's channel: got %q, %v; want %q", got, err, ref)
		}
	})

	t.Run("CannotRead", func(t *testing.T) {
		const bots = "888"
		guild := func(ow discordtest.Overwrite) discordtest.Guild {
			return discordtest.Guild{ID: guildID,
				Roles:    []discordtest.Role{{ID: guildID, Permissions: 1<<10 | 1<<11 | 1<<14 | 1<<16}, {ID: bots}},
				Channels: []discordtest.GuildChannel{{ID: approvalsCh, Overwrites: []discordtest.Overwrite{ow}}},
				Members:  []discordtest.Member{{UserID: discordtest.BotUserID, Roles: []string{bots}}}}
		}
		tests := []struct {
			name  string
			setup func(*bare)
			acct  bot.Account
			code  string // "" with no error: found none
		}{
			{"NoViewChannel", func(b *bare) {
				b.fake.SetGuild(guild(discordtest.Overwrite{ID: bots, Type: discordtest.OverwriteRole, Deny: 1 << 10}))
			}, acct, ""},
			{"NoReadMessageHistory", func(b *bare) { // Discord answers no messages
				b.fake.SetGuild(guild(discordtest.Overwrite{ID: discordtest.BotUserID, Type: discordtest.OverwriteMember, Deny: 1 << 16}))
			}, acct, ""},
			{"MissingPermissions", func(b *bare) {
				b.fake.SetFault(discordtest.FaultFirst(1, isHistoryRead(approvalsCh),
					&discordtest.Fault{Status: 403, Body: `{"message": "Missing Permissions", "code": 50013}`}))
			}, acct, ""},
			{"UnknownChannel", func(*bare) {}, func() bot.Account {
				a := acct
				a.Channels = map[bot.Platform]string{bot.PlatformDiscord: "999"}
				return a
			}(), bot.EUNAVAILABLE},
			{"ServerError", func(b *bare) {
				b.fake.SetFault(func(c discordtest.Call) *discordtest.Fault {
					if isHistoryRead(approvalsCh)(c) {
						return &discordtest.Fault{Status: 503, Body: `{"message": "unavailable", "code": 0}`}
					}
					return nil
				})
			}, acct, bot.EUNAVAILABLE},
			{"WhoAmIFails", func(b *bare) {
				b.fake.SetFault(func(c discordtest.Call) *discordtest.Fault {
					if isWhoAmI(c) {
						return &discordtest.Fault{Status: 503, Body: `{"message": "unavailable", "code": 0}`}
					}
					return nil
				})
			}, acct, bot.EUNAVAILABLE},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				b := newBare(t, func(o *discord.Options) { o.MaxRetryWait = 50 * time.Millisecond })
				req := pendingRequest("R-FIND01")
				b.post(t, req, acct)
				tt.setup(b)
				got, err := b.ad.FindCard(b.ctx, req, tt.acct)
				if got != "" || bot.ErrorCode(err) != tt.code || (tt.code == "") != (err == nil) {
					t.Errorf("FindCard: got %q, %v; want none, with code %q", got, err, tt.code)
				}
				if tt.code == "" && tt.name != "NoReadMessageHistory" && !strings.Contains(b.logs.String(), "cannot read the approval channel") {
					t.Errorf("the log does not say the channel cannot be read:\n%s", b.logs)
				}
			})
		}
	})
}
