package discordtest

import (
	"cmp"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// Epoch is Discord's epoch, the first moment of 2015 (UTC), in Unix
// milliseconds: a snowflake holds the milliseconds since then in its bits
// from 22 up.
const Epoch = 1420070400000

// DefaultNonceWindow is how long the Server remembers a nonce sent with
// enforce_nonce. Discord says only that it checks a nonce's uniqueness
// "in the past few minutes"; SetNonceWindow changes it.
const DefaultNonceWindow = 2 * time.Minute

// Permission bits the Server checks when a channel of a guild is read.
const (
	permAdministrator      = 1 << 3
	permViewChannel        = 1 << 10
	permReadMessageHistory = 1 << 16
)

// Snowflake is the smallest ID Discord could give something made at t:
// what a client passes as before, after or around to page by time.
func Snowflake(t time.Time) string {
	ms := max(t.UnixMilli()-Epoch, 0)
	return strconv.FormatUint(uint64(ms)<<22, 10)
}

// nonceUse is a nonce sent with enforce_nonce: the message it made, when.
type nonceUse struct {
	id string
	at time.Time
}

// SetNonceWindow sets how long a nonce sent with enforce_nonce makes a
// repeat of its message return the first one; after that, the repeat
// posts a second message, as Discord does once its few minutes are over.
func (f *Server) SetNonceWindow(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nonceWindow = d
}

// newID makes a message ID as Discord does: a snowflake of the Server's
// clock (so that before and after page by time), unique. f.mu is held.
func (f *Server) newID() string {
	ms := max(f.clock.Now().UnixMilli()-Epoch, 0)
	for {
		f.seq++
		id := strconv.FormatUint(uint64(ms)<<22|uint64(f.seq&0xfff), 10)
		if !f.ids[id] {
			f.ids[id] = true
			return id
		}
	}
}

// author is the user object of a message's author, as Discord embeds it.
func author(id string) map[string]any {
	return map[string]any{"id": id, "username": "user" + id, "discriminator": "0", "bot": id == BotUserID}
}

// stamp adds what Discord sets on every new message: its ID, channel,
// author and timestamp. f.mu is held.
func (f *Server) stamp(msg map[string]any, channel, by string) string {
	id := f.newID()
	msg["id"], msg["channel_id"], msg["author"] = id, channel, author(by)
	msg["timestamp"] = f.clock.Now().UTC().Format(time.RFC3339Nano)
	return id
}

// PostAs makes a message in channel as if user (a user ID) had sent it
// from their client: what a person, or another bot, writes there. body is
// the message's fields (content, embeds, components…). It returns the
// message's ID.
func (f *Server) PostAs(channel, user string, body map[string]any) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	msg := maps.Clone(body)
	if msg == nil {
		msg = map[string]any{}
	}
	msg["type"] = float64(0)
	f.channels[channel] = true
	id := f.stamp(msg, channel, user)
	f.messages[channel+"/"+id] = msg
	return id
}

// Messages lists the messages of channel, oldest first, as they stand.
func (f *Server) Messages(channel string) []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []map[string]any
	for _, m := range f.inChannel(channel) {
		out = append(out, maps.Clone(m))
	}
	return out
}

// inChannel is the messages of channel, oldest first. f.mu is held.
func (f *Server) inChannel(channel string) []map[string]any {
	var out []map[string]any
	for _, m := range f.messages {
		if m["channel_id"] == channel {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b map[string]any) int { return cmp.Compare(idOf(a), idOf(b)) })
	return out
}

func idOf(m map[string]any) uint64 {
	s, _ := m["id"].(string)
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

// listMessages answers GET channels/{id}/messages as Discord documents
// it: at most limit (1-100, default 50) messages, newest first, whichever
// of around, before or after is given (at most one); the newest of the
// channel with none. In a guild's channel the bot needs View Channel (403
// Missing Access without it) and sees no messages without Read Message
// History. f.mu is held.
func (f *Server) listMessages(channel string, q url.Values) (int, string) {
	if !f.channels[channel] {
		return 404, apiError(10003, "Unknown Channel")
	}
	if g, ch, ok := f.guildOf(channel); ok {
		if !g.joined() {
			return 403, apiError(50001, "Missing Access")
		}
		perms := g.botPermissions(ch)
		if perms&permViewChannel == 0 {
			return 403, apiError(50001, "Missing Access")
		}
		if perms&permReadMessageHistory == 0 {
			return 200, "[]"
		}
	}
	limit := 50
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			return 400, apiError(50035, "Invalid Form Body: limit: int value should be between 1 and 100")
		}
		limit = n
	}
	var by []string
	for _, k := range []string{"around", "before", "after"} {
		if q.Has(k) {
			by = append(by, k)
		}
	}
	if len(by) > 1 {
		return 400, apiError(50035, "Invalid Form Body: before, after and around are mutually exclusive")
	}
	var pivot uint64
	if len(by) == 1 {
		n, err := strconv.ParseUint(q.Get(by[0]), 10, 64)
		if err != nil {
			return 400, apiError(50035, fmt.Sprintf("Invalid Form Body: %s: value %q is not snowflake", by[0], q.Get(by[0])))
		}
		pivot = n
	}
	all := f.inChannel(channel) // oldest first
	var page []map[string]any
	switch {
	case len(by) == 0:
		page = all[max(len(all)-limit, 0):]
	case by[0] == "after": // the oldest limit messages after pivot
		i := slices.IndexFunc(all, func(m map[string]any) bool { return idOf(m) > pivot })
		if i >= 0 {
			page = all[i:min(i+limit, len(all))]
		}
	case by[0] == "before": // the newest limit messages before pivot
		i := slices.IndexFunc(all, func(m map[string]any) bool { return idOf(m) >= pivot })
		if i < 0 {
			i = len(all)
		}
		page = all[max(i-limit, 0):i]
	default: // around: about half on each side, the pivot among them
		i := slices.IndexFunc(all, func(m map[string]any) bool { return idOf(m) >= pivot })
		if i < 0 {
			i = len(all)
		}
		from := max(i-limit/2, 0)
		page = all[from:min(from+limit, len(all))]
	}
	out := make([]any, 0, len(page))
	for i := len(page) - 1; i >= 0; i-- { // newest first, whatever the parameter
		out = append(out, page[i])
	}
	return 200, jsonText(out)
}

// guildOf finds the guild that has channel, if one was set. f.mu is held.
func (f *Server) guildOf(channel string) (*Guild, GuildChannel, bool) {
	for _, g := range f.guilds {
		for _, ch := range g.Channels {
			if ch.ID == channel {
				return g, ch, true
			}
		}
	}
	return nil, GuildChannel{}, false
}

// botPermissions computes the bot's permissions in ch as Discord documents
// it: the @everyone role and the bot's roles, Administrator (or owning the
// guild) granting all; then the channel's overwrites for @everyone, for
// the bot's roles together, and for the bot itself.
func (g *Guild) botPermissions(ch GuildChannel) int64 {
	if g.OwnerID == BotUserID {
		return -1
	}
	i := slices.IndexFunc(g.Members, func(m Member) bool { return m.UserID == BotUserID })
	if i < 0 {
		return 0
	}
	me := g.Members[i]
	var perms int64
	for _, r := range g.Roles {
		if r.ID == g.ID || slices.Contains(me.Roles, r.ID) {
			perms |= r.Permissions
		}
	}
	if perms&permAdministrator != 0 {
		return -1
	}
	var roleAllow, roleDeny int64
	for _, o := range ch.Overwrites {
		switch {
		case o.Type == OverwriteRole && o.ID == g.ID:
			perms = perms&^o.Deny | o.Allow
		case o.Type == OverwriteRole && slices.Contains(me.Roles, o.ID):
			roleAllow, roleDeny = roleAllow|o.Allow, roleDeny|o.Deny
		}
	}
	perms = perms&^roleDeny | roleAllow
	for _, o := range ch.Overwrites {
		if o.Type == OverwriteMember && o.ID == BotUserID {
			perms = perms&^o.Deny | o.Allow
		}
	}
	return perms
}
