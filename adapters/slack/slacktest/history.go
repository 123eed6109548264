package slacktest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A channel's history as conversations.history reads it, and the
// metadata that messages carry.

// Metadata is a message's metadata, as chat.postMessage and chat.update
// take it and conversations.history returns it.
type Metadata struct {
	EventType    string         `json:"event_type"`
	EventPayload map[string]any `json:"event_payload"`
}

// stampLocked is the ts of the message or view made by the Server's n-th
// call: like Slack's, the Unix time of the post in seconds, then six
// digits that keep each one unique and later ones larger, whatever the
// wall clock does.
func (f *Server) stampLocked(n int) string {
	f.lastSec = max(f.lastSec, time.Now().Unix())
	return fmt.Sprintf("%d.%06d", f.lastSec, n%1_000_000)
}

// metadataOf reads the metadata argument of a post or update: nil when
// there is none, false when it is not what Slack takes (a JSON object
// with an event_type and an event_payload object).
func metadataOf(c Call) (*Metadata, bool) {
	var raw []byte
	switch {
	case c.Form != nil && c.Form.Get("metadata") != "":
		raw = []byte(c.Form.Get("metadata"))
	case c.JSON != nil && c.JSON["metadata"] != nil:
		if s, ok := c.JSON["metadata"].(string); ok {
			raw = []byte(s)
		} else {
			raw, _ = json.Marshal(c.JSON["metadata"])
		}
	default:
		return nil, true
	}
	var m Metadata
	if err := json.Unmarshal(raw, &m); err != nil || m.EventType == "" || m.EventPayload == nil {
		return nil, false
	}
	return &m, true
}

// historyDefault and historyMax are conversations.history's default and
// largest page.
const (
	historyDefault = 100
	historyMax     = 999
)

// serveHistory answers conversations.history as Slack documents it: the
// channel's messages (not the replies in threads), newest first, those
// after oldest and before latest (both excluded unless inclusive), at
// most limit a page (PageLimit shortens it further) with has_more and a
// next_cursor for the rest; each message's metadata only with
// include_all_metadata. A bot reads the channels it is a member of: in a
// public channel it is not in, not_in_channel; a private one it is not in,
// or a direct conversation never opened, does not exist for it
// (channel_not_found).
func (f *Server) serveHistory(w http.ResponseWriter, c Call) {
	fail := func(code string) { writeJSON(w, map[string]any{"ok": false, "error": code}) }
	channel := c.Get("channel")
	if channel == "" {
		fail("channel_not_found")
		return
	}
	if code := f.readable(channel); code != "" {
		fail(code)
		return
	}
	oldest, ok := parseTS(c.Get("oldest"), "0")
	if !ok {
		fail("invalid_ts_oldest")
		return
	}
	latest, ok := parseTS(c.Get("latest"), "") // "": now, after every message
	if !ok {
		fail("invalid_ts_latest")
		return
	}
	limit := historyDefault
	if s := c.Get("limit"); s != "" && s != "0" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			fail("invalid_limit")
			return
		}
		limit = min(n, historyMax)
	}
	// The cursor is the ts of the first message of the next page.
	before := ""
	if s := c.Get("cursor"); s != "" {
		b, err := base64.StdEncoding.DecodeString(s)
		ts, ok := strings.CutPrefix(string(b), "next_ts:")
		if _, valid := parseTS(ts, ""); err != nil || !ok || !valid || ts == "" {
			fail("invalid_cursor")
			return
		}
		before = ts
	}
	inclusive := c.Get("inclusive") == "1" || c.Get("inclusive") == "true"
	withMeta := c.Get("include_all_metadata") == "1" || c.Get("include_all_metadata") == "true"

	f.mu.Lock()
	if f.pageMax > 0 {
		limit = min(limit, f.pageMax)
	}
	var in []Message
	replies := map[string]int{}
	for _, m := range f.messages {
		if m.Channel != channel {
			continue
		}
		if m.ThreadTS != "" && m.ThreadTS != m.TS {
			replies[m.ThreadTS]++
			continue
		}
		if after(m.TS, oldest, inclusive) && (latest == "" || after(latest, m.TS, inclusive)) &&
			(before == "" || compareTS(m.TS, before) <= 0) {
			in = append(in, *m)
		}
	}
	f.mu.Unlock()
	slices.SortFunc(in, func(a, b Message) int { return compareTS(b.TS, a.TS) })

	page, rest := in, []Message(nil)
	if len(in) > limit {
		page, rest = in[:limit], in[limit:]
	}
	out := make([]map[string]any, 0, len(page))
	for _, m := range page {
		msg := map[string]any{"type": "message", "ts": m.TS, "text": m.Text, "bot_id": "BBOT", "app_id": "A1", "user": "UBOT"}
		if m.BotID != "" {
			msg["bot_id"], msg["app_id"], msg["user"] = m.BotID, "A-"+m.BotID, "U-"+m.BotID
		}
		var blocks any
		if json.Unmarshal([]byte(m.Blocks), &blocks) == nil {
			msg["blocks"] = blocks
		}
		if n := replies[m.TS]; n > 0 {
			msg["thread_ts"], msg["reply_count"] = m.TS, n
		}
		if withMeta && m.Metadata != nil {
			msg["metadata"] = m.Metadata
		}
		out = append(out, msg)
	}
	next := ""
	if len(rest) > 0 {
		next = base64.StdEncoding.EncodeToString([]byte("next_ts:" + rest[0].TS))
	}
	writeJSON(w, map[string]any{"ok": true, "messages": out, "has_more": len(rest) > 0, "pin_count": 0,
		"response_metadata": map[string]any{"next_cursor": next}})
}

// readable returns the error code conversations.history answers for
// channel, or "" when the bot may read it.
func (f *Server) readable(channel string) string {
	if strings.HasPrefix(channel, "D") {
		if !f.reachable(channel) {
			return "channel_not_found"
		}
		return ""
	}
	ch, ok := f.Channel(channel)
	switch {
	case !ok:
		return ""
	case ch.Private && !ch.Member:
		return "channel_not_found"
	case !ch.Member:
		return "not_in_channel"
	}
	return ""
}

// parseTS checks a ts argument ("1700000000.000100", or whole seconds);
// empty is def.
func parseTS(s, def string) (string, bool) {
	if s == "" {
		return def, true
	}
	if _, err := strconv.ParseFloat(s, 64); err != nil || strings.HasPrefix(s, "-") {
		return "", false
	}
	return s, true
}

// after reports whether ts a comes after b (or is b, when inclusive).
func after(a, b string, inclusive bool) bool {
	c := compareTS(a, b)
	return c > 0 || (inclusive && c == 0)
}

// compareTS orders two ts values as numbers: seconds, then the fraction
// (a float would lose the last digits).
func compareTS(a, b string) int {
	as, af, _ := strings.Cut(a, ".")
	bs, bf, _ := strings.Cut(b, ".")
	ai, _ := strconv.ParseInt(as, 10, 64)
	bi, _ := strconv.ParseInt(bs, 10, 64)
	if ai != bi {
		if ai < bi {
			return -1
		}
		return 1
	}
	af, bf = padFraction(af), padFraction(bf)
	return strings.Compare(af, bf)
}

func padFraction(s string) string {
	for len(s) < 6 {
		s += "0"
	}
	return s
}

// PostAsApp keeps a message in channel as posted by another app's bot
// (botID), with meta, and returns its ts: what another integration posted
// where the bot's cards go.
func (f *Server) PostAsApp(channel, botID, text string, meta *Metadata) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	ts := f.stampLocked(f.seq)
	f.messages[channel+"/"+ts] = &Message{Channel: channel, TS: ts, Text: text, Metadata: meta, BotID: botID}
	f.touchLocked()
	return ts
}
