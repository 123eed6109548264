package slacktest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Call is one request the fake Slack received.
type Call struct {
	Method string // Web API method ("chat.postMessage"), or "hook" for a response_url
	Hook   string // the response_url's ID, for "hook"
	At     time.Time
	Body   string         // as sent
	Form   url.Values     // form bodies
	JSON   map[string]any // JSON bodies
}

// Text is everything the call carried, as sent and decoded (form values,
// and the strings inside JSON, which escapes some characters), for scans.
func (c Call) Text() string {
	var b strings.Builder
	b.WriteString(c.Body)
	b.WriteString("\n" + JSONStrings(c.Body))
	for k, vs := range c.Form {
		for _, v := range vs {
			b.WriteString("\n" + k + "=" + v + "\n" + JSONStrings(v))
		}
	}
	return b.String()
}

// JSONStrings lists the strings inside s, one a line, if it is JSON (keys
// too), so that a test can look for text that JSON escapes.
func JSONStrings(s string) string {
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return ""
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for k, e := range x {
				out = append(out, k)
				walk(e)
			}
		}
	}
	walk(v)
	return strings.Join(out, "\n")
}

// Get returns a form or JSON field of the call.
func (c Call) Get(key string) string {
	if c.Form != nil {
		return c.Form.Get(key)
	}
	if v, ok := c.JSON[key].(string); ok {
		return v
	}
	return ""
}

// Fault is an answer the Server gives instead of success.
type Fault struct {
	Status     int    // HTTP status; 0: 200
	RetryAfter string // Retry-After header
	Err        string // the Web API's error code ("ratelimited")
	Times      int    // how many calls get it; 0: every call

	// Late: the call is carried out (a message posted, a view updated) as
	// usual, but its answer is held until the client has given up and hung
	// up (its timeout), or for LateCap: Slack accepted it and answered too
	// late. Status, RetryAfter and Err are then ignored.
	Late bool
	// Cut: the request is read, nothing is done, and the connection is
	// closed without an answer, as a proxy that drops it would. The client
	// cannot tell whether it was carried out.
	Cut bool
}

// LateCap is the longest a Late answer is held.
const LateCap = 30 * time.Second

// TriggerLife is how long a trigger_id can be exchanged: Slack's triggers
// "expire in three seconds" and "may only be used once".
const TriggerLife = 3 * time.Second

// Server is a fake Slack: it speaks enough of the Web API for resetbot's
// adapter (auth.test, chat.*, conversations.open, conversations.info,
// conversations.history, users.conversations, views.open, views.update,
// users.info, apps.connections.open), response_url hooks and Socket Mode,
// checks the tokens, records every call, and answers with faults when
// told to (Fail, FailSome). Like Slack, it keeps the messages it was
// given, with their metadata, replies with the thread_ts they answer
// (chat.update of an unknown one is message_not_found), stamps each with
// a ts of the wall clock's seconds, and reads them back a page at a time
// (conversations.history, see serveHistory), the
// channels a test added and the bot's place in them (AddChannel), the
// direct conversations it opened (posting to a D… channel never opened is
// channel_not_found), the triggers it issued (Trigger: views.open refuses
// an unknown trigger with invalid_trigger_id, a used one with
// exchanged_trigger_id, one older than TriggerLife with
// expired_trigger_id) and the views it opened (views.update of a view the
// user closed, CloseView, is not_found; a stale hash is hash_conflict).
type Server struct {
	t        testing.TB
	srv      *httptest.Server
	botToken string
	appToken string

	mu       sync.Mutex
	calls    []Call
	changed  chan struct{} // closed on every call
	faults   map[string]*Fault
	pickers  map[string]func(Call) *Fault // FailSome's
	seq      int
	lastSec  int64 // of the last ts handed out
	triggers map[string]*trigger
	views    map[string]*View
	ims      map[string]string   // DM channel -> user
	messages map[string]*Message // "channel/ts" -> message
	channels []*Channel          // AddChannel's, in the order added
	pageMax  int                 // users.conversations' longest page; 0: as asked
	scopes   []string            // the bot token's, in X-OAuth-Scopes (SetScopes)

	// Socket Mode: envelopes to send, acknowledgements received.
	envelopes chan []byte
	acks      chan map[string]any
}

// NewServer starts a Server that accepts botToken for Web API calls and
// appToken for Socket Mode; it stops when the test ends.
func NewServer(t testing.TB, botToken, appToken string) *Server {
	f := &Server{
		t: t, botToken: botToken, appToken: appToken,
		changed:   make(chan struct{}),
		faults:    map[string]*Fault{},
		pickers:   map[string]func(Call) *Fault{},
		triggers:  map[string]*trigger{},
		views:     map[string]*View{},
		ims:       map[string]string{},
		messages:  map[string]*Message{},
		scopes:    slices.Clone(AppScopes),
		envelopes: make(chan []byte, 16),
		acks:      make(chan map[string]any, 16),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/{method}", f.serveAPI)
	mux.HandleFunc("POST /hooks/{id}", f.serveHook)
	mux.HandleFunc("GET /socket", f.serveSocket)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// APIURL is what Options.APIURL points at.
func (f *Server) APIURL() string { return f.srv.URL + "/api/" }

// HookURL makes a response_url whose replies are recorded under id (a
// Call with Method "hook" and Hook id).
func (f *Server) HookURL(id string) string { return f.srv.URL + "/hooks/" + id }

// AppScopes are the bot scopes deploy/slack/manifest.yaml grants: the
// token's scopes until SetScopes says otherwise.
var AppScopes = []string{"commands", "chat:write", "im:write", "channels:read", "groups:read", "channels:history", "groups:history"}

// SetScopes sets the bot token's scopes, as an app installed with another
// manifest has.
func (f *Server) SetScopes(scopes ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scopes = slices.Clone(scopes)
}

// Fail makes the next calls of method answer with flt.
func (f *Server) Fail(method string, flt Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[method] = &flt
}

// FailSome asks pick, for each later call of method, which fault it
// answers with: nil, none. A fault set with Fail goes first. A nil pick
// stops it. pick runs outside the Server's lock, one call at a time or
// several at once.
func (f *Server) FailSome(method string, pick func(Call) *Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if pick == nil {
		delete(f.pickers, method)
		return
	}
	f.pickers[method] = pick
}

func (f *Server) record(c Call) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
	f.touchLocked()
}

// touchLocked wakes WaitFor: after a call is recorded, and again once its
// effects (a message kept, a view updated) are in place.
func (f *Server) touchLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// Calls returns what was received so far.
func (f *Server) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// CallsOf returns the calls of one method.
func (f *Server) CallsOf(method string) []Call {
	var out []Call
	for _, c := range f.Calls() {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// WaitFor waits until ok holds for the calls received, or fails the test
// when ctx ends.
func (f *Server) WaitFor(ctx context.Context, what string, ok func([]Call) bool) []Call {
	f.t.Helper()
	for {
		f.mu.Lock()
		calls := append([]Call(nil), f.calls...)
		changed := f.changed
		f.mu.Unlock()
		if ok(calls) {
			return calls
		}
		select {
		case <-changed:
		case <-ctx.Done():
			f.t.Fatalf("timed out waiting for %s; Slack got %s", what, f.summary())
			return nil
		}
	}
}

// Reply waits for the reply posted to the response_url hookID and returns
// its text; it fails the test when ctx ends first.
func (f *Server) Reply(ctx context.Context, hookID string) string {
	f.t.Helper()
	calls := f.WaitFor(ctx, "a reply on "+hookID, func(cs []Call) bool {
		for _, c := range cs {
			if c.Method == "hook" && c.Hook == hookID {
				return true
			}
		}
		return false
	})
	for _, c := range calls {
		if c.Method == "hook" && c.Hook == hookID {
			return c.Get("text")
		}
	}
	return ""
}

func (f *Server) summary() string {
	var names []string
	for _, c := range f.Calls() {
		names = append(names, c.Method)
	}
	return "[" + strings.Join(names, " ") + "]"
}

func (f *Server) read(r *http.Request) Call {
	body, _ := io.ReadAll(r.Body)
	c := Call{At: time.Now(), Body: string(body)}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(body, &c.JSON)
	} else {
		c.Form, _ = url.ParseQuery(string(body))
	}
	return c
}

func (f *Server) serveHook(w http.ResponseWriter, r *http.Request) {
	c := f.read(r)
	c.Method, c.Hook = "hook", r.PathValue("id")
	f.record(c)
	writeJSON(w, map[string]any{"ok": true})
}

func (f *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	c := f.read(r)
	c.Method = r.PathValue("method")
	f.record(c)
	defer func() {
		f.mu.Lock()
		f.touchLocked()
		f.mu.Unlock()
	}()

	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if token == "" && c.Form != nil {
		token = c.Form.Get("token")
	}
	want := f.botToken
	if c.Method == "apps.connections.open" {
		want = f.appToken
	}
	if token != want {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}

	f.mu.Lock()
	// Slack lists the token's scopes in every Web API answer.
	if c.Method != "apps.connections.open" {
		w.Header().Set("X-OAuth-Scopes", strings.Join(f.scopes, ","))
	}
	flt := f.faults[c.Method]
	if flt != nil && flt.Times > 0 {
		flt.Times--
		if flt.Times == 0 {
			delete(f.faults, c.Method)
		}
	}
	pick := f.pickers[c.Method]
	f.seq++
	n := f.seq
	ts := f.stampLocked(n)
	f.mu.Unlock()
	if flt == nil && pick != nil {
		flt = pick(c)
	}
	if flt != nil && flt.Cut {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
			}
		}
		return
	}
	if flt != nil && flt.Late {
		defer func() { // runs before the answer leaves: net/http sends it when the handler returns
			f.mu.Lock()
			f.touchLocked()
			f.mu.Unlock()
			t := time.NewTimer(LateCap)
			defer t.Stop()
			select {
			case <-r.Context().Done():
			case <-t.C:
			}
		}()
		flt = nil
	}
	if flt != nil {
		if flt.RetryAfter != "" {
			w.Header().Set("Retry-After", flt.RetryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		if flt.Status != 0 {
			w.WriteHeader(flt.Status)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": flt.Err})
		return
	}

	switch c.Method {
	case "auth.test":
		writeJSON(w, map[string]any{"ok": true, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1", "user": "resetbot"})
	case "chat.postMessage":
		ch := c.Get("channel")
		if !f.reachable(ch) {
			writeJSON(w, map[string]any{"ok": false, "error": "channel_not_found"})
			return
		}
		if code := f.postable(ch); code != "" {
			writeJSON(w, map[string]any{"ok": false, "error": code})
			return
		}
		meta, ok := metadataOf(c)
		if !ok {
			writeJSON(w, map[string]any{"ok": false, "error": "invalid_metadata_format"})
			return
		}
		f.mu.Lock()
		f.messages[ch+"/"+ts] = &Message{Channel: ch, TS: ts, ThreadTS: c.Get("thread_ts"), Text: c.Get("text"), Blocks: c.Get("blocks"), Metadata: meta}
		f.mu.Unlock()
		writeJSON(w, map[string]any{"ok": true, "channel": ch, "ts": ts,
			"message": map[string]any{"text": c.Get("text"), "ts": ts}})
	case "chat.update":
		meta, ok := metadataOf(c)
		if !ok {
			writeJSON(w, map[string]any{"ok": false, "error": "invalid_metadata_format"})
			return
		}
		f.mu.Lock()
		m := f.messages[c.Get("channel")+"/"+c.Get("ts")]
		if m != nil {
			m.Text, m.Blocks = c.Get("text"), c.Get("blocks")
			if meta != nil { // without metadata, an update leaves the message's as it was
				m.Metadata = meta
			}
			m.Updates++
		}
		f.mu.Unlock()
		if m == nil {
			writeJSON(w, map[string]any{"ok": false, "error": "message_not_found"})
			return
		}
		writeJSON(w, map[string]any{"ok": true, "channel": c.Get("channel"), "ts": c.Get("ts"), "text": c.Get("text")})
	case "chat.postEphemeral":
		if !f.reachable(c.Get("channel")) {
			writeJSON(w, map[string]any{"ok": false, "error": "channel_not_found"})
			return
		}
		writeJSON(w, map[string]any{"ok": true, "message_ts": ts})
	case "conversations.open":
		user := c.Get("users")
		if user == "" || strings.Contains(user, ",") {
			writeJSON(w, map[string]any{"ok": false, "error": "users_list_not_supplied"})
			return
		}
		f.mu.Lock()
		f.ims["D"+user] = user
		f.mu.Unlock()
		writeJSON(w, map[string]any{"ok": true, "channel": map[string]any{"id": "D" + user}})
	case "views.open":
		if code := f.exchange(c.Get("trigger_id")); code != "" {
			writeJSON(w, map[string]any{"ok": false, "error": code})
			return
		}
		view, _ := c.JSON["view"].(map[string]any)
		v := &View{ID: fmt.Sprintf("V%04d", n), Trigger: c.Get("trigger_id"), Open: true, Hash: ts, Body: view}
		f.mu.Lock()
		f.views[v.ID] = v
		f.mu.Unlock()
		writeJSON(w, map[string]any{"ok": true, "view": v.response()})
	case "views.update":
		view, _ := c.JSON["view"].(map[string]any)
		f.mu.Lock()
		v := f.views[c.Get("view_id")]
		code := ""
		switch {
		case v == nil || !v.Open:
			code = "not_found"
		case c.Get("hash") != "" && c.Get("hash") != v.Hash:
			code = "hash_conflict"
		default:
			v.Body, v.Hash = view, ts
			v.Updates++
		}
		var out map[string]any
		if code == "" {
			out = v.response()
		}
		f.mu.Unlock()
		if code != "" {
			writeJSON(w, map[string]any{"ok": false, "error": code})
			return
		}
		writeJSON(w, map[string]any{"ok": true, "view": out})
	case "users.conversations":
		f.serveMemberships(w, c)
	case "conversations.history":
		f.serveHistory(w, c)
	case "conversations.info":
		ch, ok := f.Channel(c.Get("channel"))
		if !ok || (ch.Private && !ch.Member) { // a private channel is invisible from outside
			writeJSON(w, map[string]any{"ok": false, "error": "channel_not_found"})
			return
		}
		info := ch.object()
		info["is_member"] = ch.Member
		writeJSON(w, map[string]any{"ok": true, "channel": info})
	case "users.info":
		u := c.Get("user")
		writeJSON(w, map[string]any{"ok": true, "user": map[string]any{"id": u, "name": strings.ToLower(u)}})
	case "apps.connections.open":
		writeJSON(w, map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/socket"})
	default:
		writeJSON(w, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

// reachable reports whether the bot may post in channel: any channel but a
// direct conversation it never opened.
func (f *Server) reachable(channel string) bool {
	if !strings.HasPrefix(channel, "D") {
		return true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.ims[channel]
	return ok
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
