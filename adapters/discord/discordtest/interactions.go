package discordtest

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"
)

// Discord's rules for an interaction's token, as its documentation states
// them: the initial response must come within 3 seconds, or the token is
// invalidated; a token answered in time works for 15 minutes.
const (
	answerWithin = 3 * time.Second
	tokenLife    = 15 * time.Minute
)

// Message flags the Server reads or sets.
const (
	flagEphemeral = 1 << 6
	flagLoading   = 1 << 7 // a deferred answer, until it is edited
)

// interaction is what the Server knows of one interaction token.
type interaction struct {
	issued time.Time
	// on is the message ("channel/message") whose component was clicked;
	// "" for a command or a form.
	on       string
	answered int  // the initial response's type; 0 while there is none
	dead     bool // answered too late: Discord invalidated the token
	// original is the message @original names: the answer (types 4 and
	// 5), or the message of the clicked component (6 and 7); nil: none.
	original map[string]any
}

// Issue records an interaction token as issued now, by the Server's clock:
// it takes one initial response within 3 seconds, and then works for
// webhook calls (follow-ups, @original) for 15 minutes.
func (f *Server) Issue(token string) {
	f.IssueOn(token, "")
}

// IssueOn is Issue for a click on a component of the message ref
// ("channel/message"), which responses of types 6 and 7 edit.
func (f *Server) IssueOn(token, ref string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.interactions[token] = &interaction{issued: f.clock.Now(), on: ref}
}

// Answer notes the HTTP answer to an interaction, as Discord would take it
// (a Call with Method "ANSWER"): a test that posts an interaction to the
// adapter hands the answer on, since Discord reads it from the HTTP reply.
// It is judged as a callback would be: too late, or a second one, and it
// is refused (Call.Status says how).
func (f *Server) Answer(token string, body []byte) {
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	f.mu.Lock()
	defer f.mu.Unlock()
	c := Call{Method: "ANSWER", Path: "interaction/" + token, Body: m, Raw: string(body)}
	c.Ephemeral = f.ephemeralAnswer(token, m)
	c.Status, _ = f.answer(token, m)
	f.record(c)
}

// Original returns the message that an interaction's @original names now
// (its answer, as last edited), and whether there is one.
func (f *Server) Original(token string) (map[string]any, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	it, ok := f.interactions[token]
	if !ok || it.original == nil {
		return nil, false
	}
	return maps.Clone(it.original), true
}

// Message returns the channel message ref ("channel/message") as last
// written, and whether it exists.
func (f *Server) Message(ref string) (map[string]any, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.messages[ref]
	return maps.Clone(m), ok
}

// Stored is every channel message as it stands now, as JSON text, for
// scans of what stays in Discord.
func (f *Server) Stored() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, _ := json.Marshal(f.messages)
	return string(b)
}

// answer takes an interaction's initial response m; it returns the HTTP
// status and body of the callback. f.mu is held.
func (f *Server) answer(token string, m map[string]any) (int, string) {
	it := f.interactions[token]
	switch {
	case it == nil || it.dead || f.clock.Now().Sub(it.issued) >= tokenLife:
		return 404, apiError(10062, "Unknown interaction")
	case it.answered != 0:
		return 400, apiError(40060, "Interaction has already been acknowledged.")
	case f.clock.Now().Sub(it.issued) > answerWithin:
		it.dead = true
		return 404, apiError(10062, "Unknown interaction")
	}
	data, _ := m["data"].(map[string]any)
	typ := int(Num(m["type"]))
	switch typ {
	case 4:
		it.original = f.newMessage("0", data, int(Num(data["flags"]))&flagEphemeral)
	case 5:
		it.original = f.newMessage("0", nil, int(Num(data["flags"]))&flagEphemeral|flagLoading)
	case 6, 7:
		msg, ok := f.messages[it.on]
		if !ok {
			return 400, apiError(50035, "Invalid Form Body: this response type is for component interactions only")
		}
		if typ == 7 {
			edit(msg, data)
		}
		it.original = msg
	case 8, 9:
	default:
		return 400, apiError(50035, fmt.Sprintf("Invalid Form Body: interaction response type %d", typ))
	}
	it.answered = typ
	return 204, ""
}

// ephemeralAnswer reports whether an initial response shows its content to
// one person alone. f.mu is held.
func (f *Server) ephemeralAnswer(token string, m map[string]any) bool {
	data, _ := m["data"].(map[string]any)
	switch int(Num(m["type"])) {
	case 4, 5:
		return int(Num(data["flags"]))&flagEphemeral != 0
	case 7:
		if it := f.interactions[token]; it != nil {
			return int(Num(f.messages[it.on]["flags"]))&flagEphemeral != 0
		}
	}
	return false
}

// newMessage makes a message in channel from a message body. f.mu is held.
func (f *Server) newMessage(channel string, body map[string]any, flags int) map[string]any {
	msg := map[string]any{"id": f.newID(), "channel_id": channel, "content": ""}
	edit(msg, body)
	msg["flags"] = float64(flags)
	return msg
}

// edit applies an edit's body to msg; a message's flags stay, but an edit
// ends a deferred answer's loading state.
func edit(msg, body map[string]any) {
	for _, k := range []string{"content", "embeds", "components"} {
		if v, ok := body[k]; ok {
			msg[k] = v
		}
	}
	msg["flags"] = float64(int(Num(msg["flags"])) &^ flagLoading)
}

// webhook answers the interaction webhook calls (p: the path's parts below
// webhooks/<application>/<token>): follow-ups and @original. f.mu is held.
func (f *Server) webhook(c *Call, token string, p []string) (int, string) {
	it := f.interactions[token]
	if it == nil || it.dead || f.clock.Now().Sub(it.issued) >= tokenLife {
		return 404, apiError(10015, "Unknown Webhook")
	}
	original := len(p) == 2 && p[0] == "messages" && p[1] == "@original"
	switch {
	case c.Method == "POST" && len(p) == 0:
		if it.answered == 0 {
			return 404, apiError(10015, "Unknown Webhook")
		}
		// Right after a deferral, a follow-up edits the loading answer
		// instead, keeping its flags (deprecated, but documented).
		if it.answered == 5 && int(Num(it.original["flags"]))&flagLoading != 0 {
			edit(it.original, c.Body)
			return 200, jsonText(it.original)
		}
		// A follow-up always waits for its message, whatever ?wait says.
		return 200, jsonText(f.newMessage("0", c.Body, int(Num(c.Body["flags"]))&flagEphemeral))
	case original && (c.Method == "GET" || c.Method == "PATCH"):
		if it.original == nil {
			return 404, apiError(10008, "Unknown Message")
		}
		if c.Method == "PATCH" {
			edit(it.original, c.Body)
		}
		return 200, jsonText(it.original)
	}
	return 404, apiError(0, "404: Not Found")
}

// ephemeralWebhook reports whether a webhook call shows its content to one
// person alone: an ephemeral follow-up, or an edit of an ephemeral answer.
// f.mu is held.
func (f *Server) ephemeralWebhook(c Call, token string, p []string) bool {
	it := f.interactions[token]
	flags := Num(c.Body["flags"])
	if it != nil && it.original != nil && (len(p) == 2 || it.answered == 5 && int(Num(it.original["flags"]))&flagLoading != 0) {
		flags = Num(it.original["flags"])
	}
	return int(flags)&flagEphemeral != 0
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// webhookPath splits webhooks/<application>/<token>/rest… into the token
// and the rest; ok is false for another path.
func webhookPath(path string) (token string, rest []string, ok bool) {
	p := strings.Split(path, "/")
	if len(p) < 3 || p[0] != "webhooks" {
		return "", nil, false
	}
	return p[2], p[3:], true
}
