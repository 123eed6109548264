package discordtest

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// BotUserID is the bot's user ID: what GET users/@me answers and what the
// Gateway's READY names.
const BotUserID = "42"

// Channel types the fake's tests name (Discord's values).
const (
	ChannelText     = 0
	ChannelVoice    = 2
	ChannelCategory = 4
	ChannelNews     = 5
)

// Overwrite types (Discord's values).
const (
	OverwriteRole   = 0
	OverwriteMember = 1
)

// Guild is a server as the Server keeps it: SetGuild makes it known to
// GET guilds/{id}, guilds/{id}/channels, guilds/{id}/members/{user} and
// channels/{id}, which answer in Discord's JSON shapes.
type Guild struct {
	ID      string
	Name    string
	OwnerID string
	// Roles of the guild; the @everyone role has the guild's ID, and is
	// added without permissions when Roles has none with it.
	Roles    []Role
	Channels []GuildChannel
	// Members are who is in the guild; the bot is among them when it
	// joined (its user ID is BotUserID).
	Members []Member
}

// Role is one role of a guild.
type Role struct {
	ID          string
	Name        string
	Permissions int64 // Discord's permission bits
}

// GuildChannel is one channel of a guild.
type GuildChannel struct {
	ID         string
	Name       string
	Type       int // ChannelText, ChannelVoice…
	ParentID   string
	Overwrites []Overwrite
}

// Overwrite is one permission overwrite of a channel, for a role (the
// guild's ID: @everyone) or a member.
type Overwrite struct {
	ID    string
	Type  int // OverwriteRole or OverwriteMember
	Allow int64
	Deny  int64
}

// Member is one user in a guild.
type Member struct {
	UserID string
	Roles  []string
	// TimedOutUntil is when a timeout ends (communication_disabled_until);
	// zero: not timed out.
	TimedOutUntil time.Time
}

// SetGuild makes g known, replacing a guild with its ID. Its channels
// take messages (POST channels/{id}/messages) like the channels given to
// NewServer.
func (f *Server) SetGuild(g Guild) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.ContainsFunc(g.Roles, func(r Role) bool { return r.ID == g.ID }) {
		g.Roles = append([]Role{{ID: g.ID, Name: "@everyone"}}, g.Roles...)
	}
	for _, c := range g.Channels {
		f.channels[c.ID] = true
	}
	f.guilds[g.ID] = &g
}

// joined reports whether the bot is a member of g: Discord answers 403
// Missing Access to its reads of a guild it is not in.
func (g *Guild) joined() bool {
	return slices.ContainsFunc(g.Members, func(m Member) bool { return m.UserID == BotUserID })
}

// guildJSON is g as GET guilds/{id} answers it (the fields that matter).
func guildJSON(g *Guild) map[string]any {
	roles := make([]any, len(g.Roles))
	for i, r := range g.Roles {
		roles[i] = map[string]any{"id": r.ID, "name": r.Name, "permissions": strconv.FormatInt(r.Permissions, 10),
			"position": i, "color": 0, "hoist": false, "managed": false, "mentionable": false, "flags": 0}
	}
	name := g.Name
	if name == "" {
		name = "guild " + g.ID
	}
	return map[string]any{"id": g.ID, "name": name, "owner_id": g.OwnerID, "roles": roles,
		"features": []any{}, "emojis": []any{}}
}

// channelJSON is c of guild as Discord answers a channel.
func channelJSON(guild string, pos int, c GuildChannel) map[string]any {
	ows := make([]any, len(c.Overwrites))
	for i, o := range c.Overwrites {
		ows[i] = map[string]any{"id": o.ID, "type": o.Type,
			"allow": strconv.FormatInt(o.Allow, 10), "deny": strconv.FormatInt(o.Deny, 10)}
	}
	name := c.Name
	if name == "" {
		name = "channel-" + c.ID
	}
	m := map[string]any{"id": c.ID, "type": c.Type, "guild_id": guild, "name": name, "position": pos,
		"permission_overwrites": ows, "nsfw": false}
	if c.ParentID != "" {
		m["parent_id"] = c.ParentID
	}
	return m
}

// memberJSON is m as GET guilds/{id}/members/{user} answers it: without
// guild_id, as Discord does.
func memberJSON(m Member) map[string]any {
	out := map[string]any{
		"user":      map[string]any{"id": m.UserID, "username": "user" + m.UserID, "bot": m.UserID == BotUserID},
		"roles":     append([]string{}, m.Roles...),
		"joined_at": "2025-01-01T00:00:00.000000+00:00",
		"deaf":      false, "mute": false, "flags": 0,
		"communication_disabled_until": nil,
	}
	if !m.TimedOutUntil.IsZero() {
		out["communication_disabled_until"] = m.TimedOutUntil.UTC().Format(time.RFC3339Nano)
	}
	return out
}

// guildRoute answers the guild, user and channel reads; ok is false for
// another call. f.mu is held.
func (f *Server) guildRoute(c *Call, p []string) (status int, body string, ok bool) {
	if c.Method != "GET" {
		return 0, "", false
	}
	switch {
	case len(p) == 2 && p[0] == "users" && p[1] == "@me":
		return 200, jsonText(map[string]any{"id": BotUserID, "username": "resetbot", "discriminator": "0",
			"bot": true, "global_name": nil, "avatar": nil}), true

	case len(p) >= 2 && p[0] == "guilds":
		g, known := f.guilds[p[1]]
		if !known {
			return 404, apiError(10004, "Unknown Guild"), true
		}
		if !g.joined() {
			return 403, apiError(50001, "Missing Access"), true
		}
		switch {
		case len(p) == 2:
			return 200, jsonText(guildJSON(g)), true
		case len(p) == 3 && p[2] == "channels":
			out := make([]any, len(g.Channels))
			for i, ch := range g.Channels {
				out[i] = channelJSON(g.ID, i, ch)
			}
			return 200, jsonText(out), true
		case len(p) == 3 && p[2] == "roles":
			return 200, jsonText(guildJSON(g)["roles"]), true
		case len(p) == 4 && p[2] == "members":
			i := slices.IndexFunc(g.Members, func(m Member) bool { return m.UserID == p[3] })
			if i < 0 {
				return 404, apiError(10007, "Unknown Member"), true
			}
			return 200, jsonText(memberJSON(g.Members[i])), true
		}

	case len(p) == 2 && p[0] == "channels":
		for _, g := range f.guilds {
			for i, ch := range g.Channels {
				if ch.ID == p[1] && !g.joined() {
					return 403, apiError(50001, "Missing Access"), true
				}
				if ch.ID == p[1] {
					return 200, jsonText(channelJSON(g.ID, i, ch)), true
				}
			}
		}
		if f.channels[p[1]] {
			typ := ChannelText
			if len(p[1]) > 3 && p[1][:3] == "dm-" {
				typ = 1
			}
			return 200, jsonText(map[string]any{"id": p[1], "type": typ}), true
		}
		return 404, apiError(10003, "Unknown Channel"), true
	}
	return 0, "", false
}

var mentionRE = regexp.MustCompile(`<@!?(\d+)>`)

// reply checks a new message's message_reference, in channel, and returns
// what the message records of it: its type (19, a reply; 0 when the
// referenced message is gone and fail_if_not_exists is false) and
// reference. f.mu is held.
func (f *Server) reply(channel string, body map[string]any) (typ int, ref map[string]any, status int, errBody string) {
	r, ok := body["message_reference"].(map[string]any)
	if !ok {
		return 0, nil, 0, ""
	}
	id, _ := r["message_id"].(string)
	ch, _ := r["channel_id"].(string)
	if ch == "" {
		ch = channel
	}
	if _, exists := f.messages[ch+"/"+id]; !exists || ch != channel {
		if fail, set := r["fail_if_not_exists"].(bool); !set || fail {
			return 0, nil, 400, apiError(50035, "Invalid Form Body: message_reference: Unknown message")
		}
		return 0, nil, 0, ""
	}
	return 19, map[string]any{"type": 0, "channel_id": ch, "message_id": id}, 0, ""
}

// mentions lists the users a new message pings: those its content
// mentions (<@id>) that allowed_mentions lets through (when it is absent,
// all of them). It refuses users named both ways, as Discord does.
func mentions(body map[string]any) ([]any, string) {
	content, _ := body["content"].(string)
	am, limited := body["allowed_mentions"].(map[string]any)
	var parse, users []string
	if limited {
		for _, v := range asList(am["parse"]) {
			s, _ := v.(string)
			parse = append(parse, s)
		}
		for _, v := range asList(am["users"]) {
			s, _ := v.(string)
			users = append(users, s)
		}
		if slices.Contains(parse, "users") && len(users) > 0 {
			return nil, apiError(50035, "Invalid Form Body: allowed_mentions: parse:[\"users\"] and users are mutually exclusive")
		}
		if len(users) > 100 {
			return nil, apiError(50035, fmt.Sprintf("Invalid Form Body: allowed_mentions.users: %d users, at most 100", len(users)))
		}
	}
	out := []any{}
	var seen []string
	for _, m := range mentionRE.FindAllStringSubmatch(content, -1) {
		id := m[1]
		if slices.Contains(seen, id) || limited && !slices.Contains(parse, "users") && !slices.Contains(users, id) {
			continue
		}
		seen = append(seen, id)
		out = append(out, map[string]any{"id": id, "username": "user" + id})
	}
	return out, ""
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// Mentioned lists the IDs of the users a stored message (Message) pinged.
func Mentioned(msg map[string]any) []string {
	var out []string
	for _, v := range asList(msg["mentions"]) {
		u, _ := v.(map[string]any)
		if id, _ := u["id"].(string); id != "" {
			out = append(out, id)
		}
	}
	return out
}
