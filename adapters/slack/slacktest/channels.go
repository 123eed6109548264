package slacktest

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
)

// The channels a test told the fake Slack about, and the bot's place in
// them.

// Channel is a channel the test told the Server about (AddChannel), as
// conversations.info and users.conversations describe it.
type Channel struct {
	ID       string // "C0DBTEAM"
	Name     string // without #; empty: the ID in lower case
	Private  bool
	Archived bool
	Member   bool // the bot is in it
}

// AddChannel makes ch known, or changes it when its ID is known already.
// Like Slack: users.conversations lists the channels the bot is a member
// of; conversations.info describes a public channel to anyone and a
// private one to its members only (channel_not_found otherwise, as for an
// ID nobody added); chat.postMessage in an added channel is is_archived
// when it is archived and not_in_channel when the bot is not in it (a
// private one: channel_not_found). Channels never added accept posts, as
// before any were added.
func (f *Server) AddChannel(ch Channel) {
	if ch.Name == "" {
		ch.Name = strings.ToLower(ch.ID)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, c := range f.channels {
		if c.ID == ch.ID {
			f.channels[i] = &ch
			return
		}
	}
	f.channels = append(f.channels, &ch)
}

// Channel returns the channel id as AddChannel left it.
func (f *Server) Channel(id string) (Channel, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.channels {
		if c.ID == id {
			return *c, true
		}
	}
	return Channel{}, false
}

// PageLimit makes users.conversations and conversations.history answer at
// most n channels or messages a page, whatever limit they are asked for:
// Slack may return "fewer than the requested number of items", with a
// next_cursor for the rest.
func (f *Server) PageLimit(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pageMax = n
}

// postable returns the error code chat.postMessage answers for channel,
// or "" when the bot may post there.
func (f *Server) postable(channel string) string {
	ch, ok := f.Channel(channel)
	switch {
	case !ok:
		return ""
	case ch.Private && !ch.Member:
		return "channel_not_found"
	case ch.Archived:
		return "is_archived"
	case !ch.Member:
		return "not_in_channel"
	}
	return ""
}

// object is ch as the Conversations API writes a channel.
func (ch Channel) object() map[string]any {
	return map[string]any{
		"id": ch.ID, "name": ch.Name, "name_normalized": ch.Name, "created": 1449252889,
		"is_channel": true, "is_group": false, "is_im": false, "is_mpim": false,
		"is_private": ch.Private, "is_archived": ch.Archived,
	}
}

// serveMemberships answers users.conversations: the bot's channels of the
// asked types (public_channel by default), a page at a time. The user
// argument is not read: it is always the bot's memberships.
func (f *Server) serveMemberships(w http.ResponseWriter, c Call) {
	types := c.Get("types")
	if types == "" {
		types = "public_channel"
	}
	want := map[string]bool{}
	for _, t := range strings.Split(types, ",") {
		switch t = strings.TrimSpace(t); t {
		case "public_channel", "private_channel", "mpim", "im":
			want[t] = true
		default:
			writeJSON(w, map[string]any{"ok": false, "error": "invalid_types"})
			return
		}
	}
	limit := 100
	if s := c.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 999 {
			writeJSON(w, map[string]any{"ok": false, "error": "invalid_limit"})
			return
		}
		limit = n
	}
	from := 0
	if s := c.Get("cursor"); s != "" {
		b, err := base64.StdEncoding.DecodeString(s)
		n, ok := strings.CutPrefix(string(b), "offset:")
		if err == nil && ok {
			from, err = strconv.Atoi(n)
		}
		if err != nil || !ok || from < 0 {
			writeJSON(w, map[string]any{"ok": false, "error": "invalid_cursor"})
			return
		}
	}
	excludeArchived := c.Get("exclude_archived") == "true" || c.Get("exclude_archived") == "1"

	f.mu.Lock()
	var listed []map[string]any
	for _, ch := range f.channels {
		kind := "public_channel"
		if ch.Private {
			kind = "private_channel"
		}
		if ch.Member && want[kind] && !(excludeArchived && ch.Archived) {
			listed = append(listed, ch.object()) // users.conversations omits is_member
		}
	}
	if f.pageMax > 0 {
		limit = min(limit, f.pageMax)
	}
	f.mu.Unlock()

	from = min(from, len(listed))
	to := min(from+limit, len(listed))
	next := ""
	if to < len(listed) {
		next = base64.StdEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(to)))
	}
	writeJSON(w, map[string]any{"ok": true, "channels": append([]map[string]any{}, listed[from:to]...),
		"response_metadata": map[string]any{"next_cursor": next}})
}
