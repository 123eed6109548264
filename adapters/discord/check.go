package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"resetbot/adapters/chat"

	"github.com/bwmarrin/discordgo"
)

// Discord's JSON error codes that say a guild, channel or member is not
// there for the bot: an answer to CheckChannels, not a failure to ask.
const (
	codeUnknownGuild  = 10004
	codeUnknownMember = 10007
)

// needed are the permissions the bot needs in a channel of cards, with
// their names in Discord's client: cards are embeds, and reminders are
// replies, which need Read Message History.
var needed = []struct {
	bit  int64
	name string
}{
	{discordgo.PermissionViewChannel, "View Channel"},
	{discordgo.PermissionSendMessages, "Send Messages"},
	{discordgo.PermissionEmbedLinks, "Embed Links"},
	{discordgo.PermissionReadMessageHistory, "Read Message History"},
}

// CheckChannels asks Discord whether the bot can post approval cards, and
// replies under them, in each of channels (IDs; repeats are checked once,
// in order). For each it reads the channel, its server's roles and the
// bot's own member there, and computes the bot's permissions as Discord
// documents it. The error is set, and no problem returned, only when
// Discord could not be asked (unreachable, or the bot token refused).
func (a *Adapter) CheckChannels(ctx context.Context, channels []string) ([]chat.ChannelProblem, error) {
	var ids []string
	for _, c := range channels {
		if c = strings.TrimSpace(c); c != "" && !slices.Contains(ids, c) {
			ids = append(ids, c)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var me *discordgo.User
	err := a.call(ctx, "ask Discord who the bot is", true, func(o ...discordgo.RequestOption) error {
		var err error
		me, err = a.rest.User("@me", o...)
		return err
	})
	if err == nil && (me == nil || me.ID == "") {
		err = a.fault("ask Discord who the bot is", fmt.Errorf("Discord returned no user ID"))
	}
	if err != nil {
		return nil, fmt.Errorf("discord: %w", err)
	}

	found, problems, err := a.locate(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("discord: %w", err)
	}
	servers := map[string]*server{}
	var out []chat.ChannelProblem
	for _, id := range ids {
		problem := problems[id]
		if ch := found[id]; problem == "" {
			s, ok := servers[ch.GuildID]
			if !ok {
				s, err = a.server(ctx, ch.GuildID, me.ID)
				if err != nil {
					return nil, fmt.Errorf("discord: %w", err)
				}
				servers[ch.GuildID] = s
			}
			problem = s.judge(ch, me.ID, a.clock.Now())
		}
		if problem != "" {
			out = append(out, chat.ChannelProblem{Channel: id, Problem: problem})
		}
	}
	return out, nil
}

// locate finds each channel of ids: among the configured guild's channels
// (one call), or, without a guild_id, by asking for each. A channel not
// found has a problem instead.
func (a *Adapter) locate(ctx context.Context, ids []string) (map[string]*discordgo.Channel, map[string]string, error) {
	found := map[string]*discordgo.Channel{}
	problems := map[string]string{}
	if g := a.opts.GuildID; g != "" {
		var list []*discordgo.Channel
		code, err := a.ask(ctx, "list the channels of guild "+g, func(o ...discordgo.RequestOption) error {
			var err error
			list, err = a.rest.GuildChannels(g, o...)
			return err
		}, codeUnknownGuild, codeMissingAccess)
		if err != nil {
			return nil, nil, err
		}
		for _, id := range ids {
			i := slices.IndexFunc(list, func(c *discordgo.Channel) bool { return c != nil && c.ID == id })
			switch {
			case code != 0:
				problems[id] = notInGuild(g)
			case i < 0:
				problems[id] = "no such channel in guild " + g + " (discord.guild_id)"
			default:
				found[id] = list[i]
				if found[id].GuildID == "" {
					found[id].GuildID = g
				}
			}
		}
		return found, problems, nil
	}
	for _, id := range ids {
		var ch *discordgo.Channel
		code, err := a.ask(ctx, "look up channel "+id, func(o ...discordgo.RequestOption) error {
			var err error
			ch, err = a.rest.Channel(id, o...)
			return err
		}, codeUnknownChannel, codeMissingAccess)
		switch {
		case err != nil:
			return nil, nil, err
		case code == codeUnknownChannel || ch == nil:
			problems[id] = "no such channel, or the bot is not in its server"
		case code == codeMissingAccess:
			problems[id] = "the bot cannot see it: it lacks View Channel there, or is not in its server"
		case ch.GuildID == "":
			problems[id] = "not a text channel of a server (" + kind(ch.Type) + ")"
		default:
			found[id] = ch
		}
	}
	return found, problems, nil
}

// server is what decides the bot's permissions in one guild's channels:
// the guild (its owner and roles) and the bot's member (its roles); or why
// the bot has none there.
type server struct {
	guild   *discordgo.Guild
	member  *discordgo.Member
	problem string
}

// server asks Discord for guild and the bot's (userID's) member in it.
func (a *Adapter) server(ctx context.Context, guild, userID string) (*server, error) {
	var g discordgo.Guild
	code, err := a.ask(ctx, "read guild "+guild, func(o ...discordgo.RequestOption) error {
		return a.get(discordgo.EndpointGuild(guild), discordgo.EndpointGuild(guild), &g, o...)
	}, codeUnknownGuild, codeMissingAccess)
	if err != nil || code != 0 {
		return &server{problem: notInGuild(guild)}, err
	}
	var m discordgo.Member
	code, err = a.ask(ctx, "read the bot's member in guild "+guild, func(o ...discordgo.RequestOption) error {
		return a.get(discordgo.EndpointGuildMember(guild, userID), discordgo.EndpointGuildMember(guild, ""), &m, o...)
	}, codeUnknownMember, codeUnknownGuild, codeMissingAccess)
	if err != nil || code != 0 {
		return &server{problem: notInGuild(guild)}, err
	}
	if g.ID == "" {
		g.ID = guild
	}
	return &server{guild: &g, member: &m}, nil
}

// get makes one GET call and decodes its answer into v.
func (a *Adapter) get(endpoint, bucket string, v any, o ...discordgo.RequestOption) error {
	body, err := a.rest.RequestWithBucketID("GET", endpoint, nil, bucket, o...)
	if err != nil {
		return err
	}
	return json.Unmarshal(body, v)
}

// ask makes an idempotent call f. When Discord refuses it with one of
// codes, that is an answer, not a failure: ask returns the code and no
// error. Otherwise the error is call's.
func (a *Adapter) ask(ctx context.Context, what string, f func(...discordgo.RequestOption) error, codes ...int) (int, error) {
	code := 0
	err := a.call(ctx, what, true, func(o ...discordgo.RequestOption) error {
		err := f(o...)
		if c, _ := restCode(err); c != 0 && slices.Contains(codes, c) {
			code = c
			return nil
		}
		return err
	})
	return code, err
}

func notInGuild(guild string) string {
	return "the bot is not in guild " + guild + ", or it does not exist: invite the bot to that server"
}

// judge says why the bot (userID) cannot post cards in ch at now, or "".
func (s *server) judge(ch *discordgo.Channel, userID string, now time.Time) string {
	if s.problem != "" {
		return s.problem
	}
	if ch.Type != discordgo.ChannelTypeGuildText && ch.Type != discordgo.ChannelTypeGuildNews {
		return "not a text channel (" + kind(ch.Type) + ")"
	}
	perms := permissionsIn(s.guild, s.member, userID, ch, now)
	var lacks []string
	for _, p := range needed {
		if perms&p.bit == 0 {
			lacks = append(lacks, p.name)
		}
	}
	if len(lacks) == 0 {
		return ""
	}
	why := "the bot lacks " + joinAnd(lacks) + " there"
	if until := s.member.CommunicationDisabledUntil; until != nil && until.After(now) {
		why += fmt.Sprintf(" (it is timed out until %s)", until.UTC().Format(time.RFC3339))
	}
	return why
}

// permissionsIn computes userID's permissions in ch, as Discord's
// documentation of permission overwrites sets out: the @everyone role's and
// the member's roles' permissions (all of them for the owner or an
// administrator), then the channel's @everyone overwrite, then its
// overwrites of the member's roles together, then the member's own. A timed
// out member keeps View Channel and Read Message History alone; a member
// who cannot view the channel can do nothing in it. (discordgo computes
// permissions only from a session's state.)
func permissionsIn(g *discordgo.Guild, m *discordgo.Member, userID string, ch *discordgo.Channel, now time.Time) int64 {
	if userID == g.OwnerID {
		return discordgo.PermissionAll
	}
	var perms int64
	for _, r := range g.Roles {
		if r != nil && (r.ID == g.ID || slices.Contains(m.Roles, r.ID)) {
			perms |= r.Permissions
		}
	}
	if perms&discordgo.PermissionAdministrator != 0 {
		return discordgo.PermissionAll
	}
	overwrite := func(match func(*discordgo.PermissionOverwrite) bool) {
		var allow, deny int64
		for _, o := range ch.PermissionOverwrites {
			if o != nil && match(o) {
				allow |= o.Allow
				deny |= o.Deny
			}
		}
		perms = perms&^deny | allow
	}
	role := func(o *discordgo.PermissionOverwrite) bool { return o.Type == discordgo.PermissionOverwriteTypeRole }
	overwrite(func(o *discordgo.PermissionOverwrite) bool { return role(o) && o.ID == g.ID })
	overwrite(func(o *discordgo.PermissionOverwrite) bool {
		return role(o) && o.ID != g.ID && slices.Contains(m.Roles, o.ID)
	})
	overwrite(func(o *discordgo.PermissionOverwrite) bool {
		return o.Type == discordgo.PermissionOverwriteTypeMember && o.ID == userID
	})
	if until := m.CommunicationDisabledUntil; until != nil && until.After(now) {
		perms &= discordgo.PermissionViewChannel | discordgo.PermissionReadMessageHistory
	}
	if perms&discordgo.PermissionViewChannel == 0 {
		return 0
	}
	return perms
}

// kind names a channel type for a problem.
func kind(t discordgo.ChannelType) string {
	switch t {
	case discordgo.ChannelTypeGuildVoice:
		return "a voice channel"
	case discordgo.ChannelTypeGuildStageVoice:
		return "a stage channel"
	case discordgo.ChannelTypeGuildCategory:
		return "a category"
	case discordgo.ChannelTypeGuildForum:
		return "a forum channel"
	case discordgo.ChannelTypeGuildMedia:
		return "a media channel"
	case discordgo.ChannelTypeDM, discordgo.ChannelTypeGroupDM:
		return "a direct message"
	case discordgo.ChannelTypeGuildNewsThread, discordgo.ChannelTypeGuildPublicThread, discordgo.ChannelTypeGuildPrivateThread:
		return "a thread"
	}
	return fmt.Sprintf("channel type %d", t)
}

// joinAnd writes "a", "a and b", "a, b and c".
func joinAnd(parts []string) string {
	if len(parts) <= 1 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
