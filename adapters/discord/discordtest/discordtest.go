package discordtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"resetbot/bot"
)

// Server speaks the parts of the Discord REST API (v10) and Gateway
// that resetbot uses, and records every Call, so that tests drive the real
// discordgo client and check what reached "Discord".
type Server struct {
	t       testing.TB
	srv     *httptest.Server
	clock   bot.Clock
	token   string // the bot token REST calls must carry (or one of allowed)
	allowed map[string]bool

	mu           sync.Mutex
	calls        []Call
	changed      chan struct{} // closed and replaced when a Call is recorded
	nextID       int
	channels     map[string]bool           // channels that exist
	messages     map[string]map[string]any // "channel/message" -> the message as last written
	nonces       map[string]nonceUse       // "author/nonce" -> its message, for enforce_nonce
	nonceWindow  time.Duration             // how long a nonce is remembered
	seq          int                       // the increment of the next snowflake
	ids          map[string]bool           // message IDs given out
	interactions map[string]*interaction   // by token
	guilds       map[string]*Guild         // SetGuild
	fault        func(c Call) *Fault       // injected failures; nil: none

	// Gateway
	upgrader  websocket.Upgrader
	conns     map[*websocket.Conn]string // open Gateway connections -> identify token
	identify  chan Hello                 // one per IDENTIFY
	gone      chan string                // identify token of each closed connection
	gwTraffic sync.WaitGroup
}

// Call is one request as the Server saw it, or an HTTP answer to an
// interaction (Method "ANSWER") noted by the test.
type Call struct {
	Method string
	Path   string // below /api/v10/
	Query  url.Values
	Auth   string
	Body   map[string]any
	Raw    string
	Status int
	Resp   map[string]any // the fake's answer
	// Ephemeral is true for what only one person sees, once: an ephemeral
	// follow-up, an ephemeral interaction answer, or an edit of one.
	Ephemeral bool
}

// Fault is an answer the Server gives instead of the real one.
type Fault struct {
	Status int
	Body   string
	Header map[string]string
	Hang   bool // close the connection without an answer
	// Late makes the Server act on the call as usual (Status, Body and
	// Header are not used) but answer only once the client has stopped
	// waiting: a call that took effect and whose answer never came.
	Late bool
	// Hold makes the Server wait until Hold is closed (or the client gave
	// up), then answer the call as usual (the other fields are not used).
	Hold <-chan struct{}
}

// Hello is one Gateway IDENTIFY the Server received.
type Hello struct {
	Token string // from IDENTIFY
	Open  int    // open Gateway connections at that moment, this one included
	send  func(v any) error
}

const apiPrefix = "/api/v10/"

// NewServer starts a Server that accepts botToken, knows channels, and
// judges interaction tokens by clock; it stops when the test ends.
func NewServer(t testing.TB, clock bot.Clock, botToken string, channels ...string) *Server {
	f := &Server{
		t: t, clock: clock, token: botToken,
		changed:      make(chan struct{}),
		channels:     map[string]bool{},
		messages:     map[string]map[string]any{},
		nonces:       map[string]nonceUse{},
		nonceWindow:  DefaultNonceWindow,
		ids:          map[string]bool{},
		interactions: map[string]*interaction{},
		guilds:       map[string]*Guild{},
		conns:        map[*websocket.Conn]string{},
		identify:     make(chan Hello, 16),
		gone:         make(chan string, 16),
		allowed:      map[string]bool{},
	}
	for _, c := range channels {
		f.channels[c] = true
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.close)
	return f
}

// APIURL is what Options.APIURL points at.
func (f *Server) APIURL() string { return f.srv.URL + apiPrefix }

func (f *Server) close() {
	f.mu.Lock()
	for c := range f.conns {
		_ = c.Close()
	}
	f.mu.Unlock()
	f.srv.Close()
	f.gwTraffic.Wait()
}

// Allow accepts another bot token (a second bot, or a replica with its own).
func (f *Server) Allow(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.allowed[token] = true
}

// SetFault makes fn decide every call's answer: a Fault, or nil for the
// real one.
func (f *Server) SetFault(fn func(c Call) *Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fault = fn
}

func (f *Server) record(c Call) {
	f.calls = append(f.calls, c)
	close(f.changed)
	f.changed = make(chan struct{})
}

// Calls returns the calls so far.
func (f *Server) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// Count returns how many calls so far match.
func (f *Server) Count(match func(Call) bool) int {
	n := 0
	for _, c := range f.Calls() {
		if match(c) {
			n++
		}
	}
	return n
}

// WaitN waits until n calls match, and returns the nth; it fails the test
// when ctx ends first.
func (f *Server) WaitN(ctx context.Context, n int, what string, match func(Call) bool) Call {
	f.t.Helper()
	for {
		f.mu.Lock()
		seen := 0
		for _, c := range f.calls {
			if match(c) {
				seen++
				if seen == n {
					f.mu.Unlock()
					return c
				}
			}
		}
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			f.t.Fatalf("waiting for %s (#%d): %v", what, n, ctx.Err())
		case <-ch:
		}
	}
}

// Wait waits for the first call that matches.
func (f *Server) Wait(ctx context.Context, what string, match func(Call) bool) Call {
	f.t.Helper()
	return f.WaitN(ctx, 1, what, match)
}

func (f *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/gateway" || r.URL.Path == "/gateway/" {
		f.serveGateway(w, r)
		return
	}
	raw, _ := io.ReadAll(r.Body)
	c := Call{Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, apiPrefix), Query: r.URL.Query(),
		Auth: r.Header.Get("Authorization"), Raw: string(raw)}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &c.Body)
	}
	f.mu.Lock()
	late := false
	defer func() {
		if late {
			// Acted on; the answer waits until the client has given up.
			<-r.Context().Done()
		}
	}()
	defer f.mu.Unlock()
	if !strings.HasPrefix(r.URL.Path, apiPrefix) {
		c.Status = 404
		f.record(c)
		writeAPI(w, 404, `{"message": "404: Not Found", "code": 0}`)
		return
	}
	c.Ephemeral = f.ephemeralCall(c)
	if f.fault != nil {
		fa := f.fault(c)
		if fa != nil && fa.Hold != nil {
			f.mu.Unlock()
			select {
			case <-fa.Hold:
			case <-r.Context().Done():
			}
			f.mu.Lock()
			fa = nil
		}
		if fa != nil && fa.Late {
			late = true
		} else if fa != nil {
			c.Status = fa.Status
			f.record(c)
			if fa.Hang {
				if hj, ok := w.(http.Hijacker); ok {
					conn, _, err := hj.Hijack()
					if err == nil {
						_ = conn.Close()
					}
				}
				return
			}
			for k, v := range fa.Header {
				w.Header().Set(k, v)
			}
			writeAPI(w, fa.Status, fa.Body)
			return
		}
	}
	status, body := f.route(&c)
	c.Status = status
	_ = json.Unmarshal([]byte(body), &c.Resp)
	f.record(c)
	if late {
		return // the deferred wait runs once f.mu is unlocked; nothing is written
	}
	writeAPI(w, status, body)
}

func writeAPI(w http.ResponseWriter, status int, body string) {
	if body == "" {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func apiError(code int, msg string) string {
	return fmt.Sprintf(`{"message": %q, "code": %d}`, msg, code)
}

// route answers one Call the way Discord would; f.mu is held.
func (f *Server) route(c *Call) (int, string) {
	p := strings.Split(c.Path, "/")
	webhookCall := len(p) >= 3 && p[0] == "webhooks" || len(p) == 4 && p[0] == "interactions"
	if !webhookCall && c.Auth != "Bot "+f.token && !f.allowed[strings.TrimPrefix(c.Auth, "Bot ")] {
		return 401, apiError(0, "401: Unauthorized")
	}
	if status, body, ok := f.guildRoute(c, p); ok {
		return status, body
	}
	switch {
	case c.Method == "PUT" && len(p) >= 3 && p[0] == "applications" && p[len(p)-1] == "commands":
		var cmds []map[string]any
		_ = json.Unmarshal([]byte(c.Raw), &cmds)
		for _, cmd := range cmds {
			f.nextID++
			cmd["id"] = fmt.Sprint(9000 + f.nextID)
		}
		b, _ := json.Marshal(cmds)
		return 200, string(b)

	case c.Method == "GET" && c.Path == "gateway":
		return 200, fmt.Sprintf(`{"url": "ws://%s/gateway"}`, f.srv.Listener.Addr())

	case c.Method == "POST" && len(p) == 3 && p[0] == "channels" && p[2] == "messages":
		if !f.channels[p[1]] {
			return 404, apiError(10003, "Unknown Channel")
		}
		if nonce, _ := c.Body["nonce"].(string); len(nonce) > 25 {
			return 400, apiError(50035, "Invalid Form Body: nonce: must be 25 or fewer in length")
		}
		// Discord checks a nonce per author, within a few minutes.
		nonce, _ := c.Body["nonce"].(string)
		nonceKey := BotUserID + "/" + nonce
		if u, ok := f.nonces[nonceKey]; ok && nonce != "" && c.Body["enforce_nonce"] == true &&
			f.clock.Now().Sub(u.at) < f.nonceWindow {
			if msg, ok := f.messages[p[1]+"/"+u.id]; ok {
				return 200, jsonText(msg)
			}
		}
		typ, ref, status, refused := f.reply(p[1], c.Body)
		if status != 0 {
			return status, refused
		}
		pinged, refused := mentions(c.Body)
		if refused != "" {
			return 400, refused
		}
		msg := map[string]any{"type": float64(typ), "content": c.Body["content"], "embeds": c.Body["embeds"],
			"components": c.Body["components"], "mentions": pinged}
		if ref != nil {
			msg["message_reference"] = ref
		}
		id := f.stamp(msg, p[1], BotUserID)
		f.messages[p[1]+"/"+id] = msg
		if nonce != "" {
			f.nonces[nonceKey] = nonceUse{id: id, at: f.clock.Now()}
		}
		return 200, jsonText(msg)

	case c.Method == "GET" && len(p) == 3 && p[0] == "channels" && p[2] == "messages":
		return f.listMessages(p[1], c.Query)

	case c.Method == "PATCH" && len(p) == 4 && p[0] == "channels" && p[2] == "messages":
		msg, ok := f.messages[p[1]+"/"+p[3]]
		if !ok {
			return 404, apiError(10008, "Unknown Message")
		}
		for k, v := range c.Body {
			msg[k] = v
		}
		b, _ := json.Marshal(msg)
		return 200, string(b)

	case c.Method == "POST" && c.Path == "users/@me/channels":
		rcpt, _ := c.Body["recipient_id"].(string)
		id := "dm-" + rcpt
		f.channels[id] = true
		return 200, fmt.Sprintf(`{"id": %q, "type": 1}`, id)

	case p[0] == "webhooks":
		if token, rest, ok := webhookPath(c.Path); ok {
			return f.webhook(c, token, rest)
		}

	case c.Method == "POST" && len(p) == 4 && p[0] == "interactions" && p[3] == "callback":
		return f.answer(p[2], c.Body)
	}
	return 404, apiError(0, "404: Not Found")
}

// ephemeralCall reports whether a Call shows its content to one person
// alone: an ephemeral answer or follow-up, or an edit of one. f.mu is held.
func (f *Server) ephemeralCall(c Call) bool {
	p := strings.Split(c.Path, "/")
	if token, rest, ok := webhookPath(c.Path); ok {
		return f.ephemeralWebhook(c, token, rest)
	}
	if c.Method == "POST" && len(p) == 4 && p[0] == "interactions" && p[3] == "callback" {
		return f.ephemeralAnswer(p[2], c.Body)
	}
	return false
}

// Num is a JSON number as decoded into an any (0 when it is not one).
func Num(v any) float64 {
	n, _ := v.(float64)
	return n
}

// serveGateway speaks just enough of the Gateway: HELLO, IDENTIFY, READY,
// heartbeats, and then whatever dispatch sends.
func (f *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	conn, err := f.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	f.gwTraffic.Add(1)
	defer f.gwTraffic.Done()
	defer func() {
		f.mu.Lock()
		token, identified := f.conns[conn]
		delete(f.conns, conn)
		f.mu.Unlock()
		_ = conn.Close()
		if identified {
			select {
			case f.gone <- token:
			default: // nobody is counting
			}
		}
	}()
	var wmu sync.Mutex
	send := func(v any) error {
		wmu.Lock()
		defer wmu.Unlock()
		return conn.WriteJSON(v)
	}
	if send(map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": 45000}}) != nil {
		return
	}
	for {
		var m struct {
			Op int             `json:"op"`
			D  json.RawMessage `json:"d"`
		}
		if err := conn.ReadJSON(&m); err != nil {
			return
		}
		switch m.Op {
		case 1:
			_ = send(map[string]any{"op": 11})
		case 2:
			var id struct {
				Token string `json:"token"`
			}
			_ = json.Unmarshal(m.D, &id)
			id.Token = strings.TrimPrefix(id.Token, "Bot ")
			f.mu.Lock()
			f.conns[conn] = id.Token
			open := len(f.conns)
			f.mu.Unlock()
			_ = send(map[string]any{"op": 0, "t": "READY", "s": 1, "d": map[string]any{
				"v": 10, "session_id": "session-" + id.Token, "user": map[string]any{"id": BotUserID, "username": "resetbot", "bot": true},
				"guilds": []any{}}})
			select {
			case f.identify <- Hello{Token: id.Token, Open: open, send: send}:
			default: // nobody is counting
			}
		}
	}
}

// Identified delivers each Gateway IDENTIFY, with the connections open then.
func (f *Server) Identified() <-chan Hello { return f.identify }

// Closed delivers the bot token of each identified Gateway connection that
// closed.
func (f *Server) Closed() <-chan string { return f.gone }

// Dispatch sends an interaction over the Gateway connection that said h.
func (f *Server) Dispatch(h Hello, interaction map[string]any) error {
	return h.send(map[string]any{"op": 0, "t": "INTERACTION_CREATE", "s": 2, "d": interaction})
}

// RateLimited is a 429 with Discord's body and bucket headers, asking to
// wait retryAfter seconds ("0.05").
func RateLimited(retryAfter string) *Fault {
	return &Fault{Status: 429,
		Body:   `{"message": "You are being rate limited.", "retry_after": ` + retryAfter + `, "global": false}`,
		Header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": retryAfter, "X-RateLimit-Limit": "5"}}
}

// FaultFirst answers the first n calls that match with fa, for SetFault.
func FaultFirst(n int, match func(Call) bool, fa *Fault) func(Call) *Fault {
	var mu sync.Mutex
	return func(c Call) *Fault {
		mu.Lock()
		defer mu.Unlock()
		if n > 0 && match(c) {
			n--
			return fa
		}
		return nil
	}
}
