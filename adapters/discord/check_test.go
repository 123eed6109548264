package discord_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"resetbot/adapters/chat"
	"resetbot/adapters/discord"
	"resetbot/adapters/discord/discordtest"
	"resetbot/bot"
)

const (
	roleBot   = "8881" // the bot's role
	voiceCh   = "791"
	hiddenCh  = "792" // hidden from @everyone, shown to the bot's member
	closedCh  = "793" // hidden from @everyone
	newsCh    = "794"
	missingCh = "999"

	// what cards and reminders need
	canPost = discordgo.PermissionViewChannel | discordgo.PermissionSendMessages |
		discordgo.PermissionEmbedLinks | discordgo.PermissionReadMessageHistory
)

// server is a guild where the bot may post in approvalsCh, hiddenCh and
// newsCh; its role is denied Send Messages in teamCh; voiceCh is a voice
// channel and closedCh is hidden from everyone.
func server(bot ...discordtest.Member) discordtest.Guild {
	if len(bot) == 0 {
		bot = []discordtest.Member{{UserID: discordtest.BotUserID, Roles: []string{roleBot}}}
	}
	return discordtest.Guild{
		ID: guildID, OwnerID: alice,
		Roles: []discordtest.Role{
			{ID: guildID, Name: "@everyone", Permissions: discordgo.PermissionViewChannel | discordgo.PermissionReadMessageHistory},
			{ID: roleBot, Name: "resetbot", Permissions: discordgo.PermissionSendMessages | discordgo.PermissionEmbedLinks},
			{ID: roleOps, Name: "ops", Permissions: discordgo.PermissionAdministrator},
		},
		Channels: []discordtest.GuildChannel{
			{ID: approvalsCh, Name: "approvals", Type: discordtest.ChannelText},
			{ID: teamCh, Name: "db-team", Type: discordtest.ChannelText, Overwrites: []discordtest.Overwrite{
				{ID: roleBot, Type: discordtest.OverwriteRole, Deny: discordgo.PermissionSendMessages}}},
			{ID: voiceCh, Name: "standup", Type: discordtest.ChannelVoice},
			{ID: hiddenCh, Name: "private", Type: discordtest.ChannelText, Overwrites: []discordtest.Overwrite{
				{ID: guildID, Type: discordtest.OverwriteRole, Deny: discordgo.PermissionViewChannel},
				{ID: discordtest.BotUserID, Type: discordtest.OverwriteMember, Allow: discordgo.PermissionViewChannel}}},
			{ID: closedCh, Name: "closed", Type: discordtest.ChannelText, Overwrites: []discordtest.Overwrite{
				{ID: guildID, Type: discordtest.OverwriteRole, Deny: discordgo.PermissionViewChannel}}},
			{ID: newsCh, Name: "news", Type: discordtest.ChannelNews},
		},
		Members: append([]discordtest.Member{{UserID: alice}}, bot...),
	}
}

// TestCheckChannels: Discord's answers, turned into one problem per
// channel where the bot cannot post cards, in the order asked, once each.
func TestCheckChannels(t *testing.T) {
	all := []string{approvalsCh, missingCh, teamCh, approvalsCh, voiceCh, hiddenCh, closedCh, newsCh, missingCh}
	inGuild := []chat.ChannelProblem{
		{Channel: missingCh, Problem: "no such channel in guild " + guildID},
		{Channel: teamCh, Problem: "the bot lacks Send Messages there"},
		{Channel: voiceCh, Problem: "not a text channel (a voice channel)"},
		{Channel: closedCh, Problem: "the bot lacks View Channel, Send Messages, Embed Links and Read Message History there"},
	}
	for _, tc := range []struct {
		name   string
		guild  discordtest.Guild
		noID   bool // no guild_id: each channel is looked up
		asked  []string
		want   []chat.ChannelProblem
		exactn bool // the problems' text is compared whole
	}{
		{name: "Guild", guild: server(), asked: all, want: inGuild},
		{name: "Writable", guild: server(), asked: []string{approvalsCh, hiddenCh, newsCh}},
		{name: "Nothing", guild: server()},
		{name: "WithoutGuildID", guild: server(), noID: true, asked: all, want: []chat.ChannelProblem{
			{Channel: missingCh, Problem: "no such channel"}, inGuild[1], inGuild[2], inGuild[3]}},
		{name: "Administrator", guild: server(discordtest.Member{UserID: discordtest.BotUserID, Roles: []string{roleOps}}),
			asked: []string{approvalsCh, teamCh, closedCh}},
		{name: "MemberOverwriteDenies", guild: func() discordtest.Guild {
			g := server()
			g.Channels[0].Overwrites = []discordtest.Overwrite{
				{ID: roleBot, Type: discordtest.OverwriteRole, Allow: canPost},
				{ID: discordtest.BotUserID, Type: discordtest.OverwriteMember, Deny: discordgo.PermissionEmbedLinks}}
			return g
		}(), asked: []string{approvalsCh}, want: []chat.ChannelProblem{
			{Channel: approvalsCh, Problem: "the bot lacks Embed Links there"}}},
		{name: "RoleOverwriteAllows", guild: func() discordtest.Guild {
			g := server()
			g.Channels[1].Overwrites = append(g.Channels[1].Overwrites,
				discordtest.Overwrite{ID: roleBot, Type: discordtest.OverwriteRole, Allow: discordgo.PermissionSendMessages})
			g.Channels[1].Overwrites[0].Deny = 0
			g.Channels[4].Overwrites = append(g.Channels[4].Overwrites,
				discordtest.Overwrite{ID: roleBot, Type: discordtest.OverwriteRole, Allow: discordgo.PermissionViewChannel})
			return g
		}(), asked: []string{teamCh, closedCh}},
		{name: "TimedOut", guild: server(discordtest.Member{UserID: discordtest.BotUserID, Roles: []string{roleBot},
			TimedOutUntil: newClock().Now().Add(time.Hour)}), asked: []string{approvalsCh}, want: []chat.ChannelProblem{
			{Channel: approvalsCh, Problem: "the bot lacks Send Messages and Embed Links there (it is timed out until 2025-03-04T10:00:00Z)"}},
			exactn: true},
		{name: "TimeoutOver", guild: server(discordtest.Member{UserID: discordtest.BotUserID, Roles: []string{roleBot},
			TimedOutUntil: newClock().Now().Add(-time.Minute)}), asked: []string{approvalsCh}},
		{name: "BotNotInGuild", guild: server(discordtest.Member{UserID: "7777"}), asked: []string{approvalsCh, teamCh},
			want: []chat.ChannelProblem{
				{Channel: approvalsCh, Problem: "the bot is not in guild " + guildID},
				{Channel: teamCh, Problem: "the bot is not in guild " + guildID}}},
		{name: "UnknownGuild", guild: discordtest.Guild{ID: otherGuild}, asked: []string{approvalsCh},
			want: []chat.ChannelProblem{{Channel: approvalsCh, Problem: "the bot is not in guild " + guildID}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBare(t, func(o *discord.Options) {
				if tc.noID {
					o.GuildID = ""
				}
			})
			b.fake.SetGuild(tc.guild)
			got, err := b.ad.CheckChannels(b.ctx, tc.asked)
			if err != nil {
				t.Fatalf("CheckChannels: %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("problems: got %v, want %v", got, tc.want)
			}
			for i := range got {
				same := strings.HasPrefix(got[i].Problem, tc.want[i].Problem)
				if tc.exactn {
					same = got[i].Problem == tc.want[i].Problem
				}
				if got[i].Channel != tc.want[i].Channel || !same {
					t.Errorf("problem %d: got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
			if n := b.fake.Count(func(c discordtest.Call) bool { return c.Method != "GET" }); n != 0 {
				t.Errorf("calls that are not reads: got %d, want none (asking posts nothing)", n)
			}
		})
	}
}

// TestCheckChannelsCannotAsk: a refused bot token, or a Discord out of
// reach, is an error that says so, not a problem of each channel.
func TestCheckChannelsCannotAsk(t *testing.T) {
	t.Run("TokenRefused", func(t *testing.T) {
		b := newBare(t, func(o *discord.Options) { o.BotToken = "stolen-and-revoked" })
		b.fake.SetGuild(server())
		got, err := b.ad.CheckChannels(b.ctx, []string{approvalsCh})
		if err == nil || !strings.Contains(err.Error(), "refused the bot token") || !strings.Contains(err.Error(), "discord.bot_token") {
			t.Fatalf("CheckChannels: got %v, %v; want an error saying the bot token is refused", got, err)
		}
		if got != nil {
			t.Errorf("problems: got %v, want none with the error", got)
		}
		if n := b.fake.Count(func(c discordtest.Call) bool { return c.Status == 401 }); n != 1 {
			t.Errorf("calls refused: got %d, want 1 (a refused token is not tried again)", n)
		}
	})
	t.Run("Unreachable", func(t *testing.T) {
		dead := httptest.NewServer(nil)
		url := dead.URL + "/api/v10/"
		dead.Close()
		b := newBare(t, func(o *discord.Options) { o.APIURL = url })
		got, err := b.ad.CheckChannels(b.ctx, []string{approvalsCh})
		if err == nil || !strings.Contains(err.Error(), "cannot reach Discord") {
			t.Fatalf("CheckChannels: got %v, %v; want an error saying Discord is out of reach", got, err)
		}
	})
	t.Run("NothingAsked", func(t *testing.T) {
		b := newBare(t)
		got, err := b.ad.CheckChannels(b.ctx, []string{"", " "})
		if err != nil || got != nil {
			t.Fatalf("CheckChannels of nothing: got %v, %v; want nothing", got, err)
		}
		if n := len(b.fake.Calls()); n != 0 {
			t.Errorf("calls: got %d, want none", n)
		}
	})
}

// TestCheckChannelsThenPost: a channel of the guild where CheckChannels
// finds no problem takes the account's cards.
func TestCheckChannelsThenPost(t *testing.T) {
	b := newBare(t)
	b.fake.SetGuild(server())
	problems, err := b.ad.CheckChannels(b.ctx, []string{newsCh})
	if err != nil || len(problems) != 0 {
		t.Fatalf("CheckChannels: got %v, %v; want no problem", problems, err)
	}
	acct := accounts[0]
	acct.Channels = map[bot.Platform]string{bot.PlatformDiscord: newsCh}
	ref, err := b.ad.Card(b.ctx, pendingRequest("R-NEWS22"), acct, "")
	if err != nil || !strings.HasPrefix(ref, newsCh+"/") {
		t.Fatalf("Card: got %q, %v; want the card in %s", ref, err, newsCh)
	}
}
