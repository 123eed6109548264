package slacktest

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
}

// Server is a fake Slack: it speaks enough of the Web API for resetbot's
// adapter (auth.test, chat.*, conversations.open, views.open, users.info,
// apps.connections.open), response_url hooks and Socket Mode, checks the
// tokens, records every call, and answers with faults when told to.
type Server struct {
	t        testing.TB
	srv      *httptest.Server
	botToken string
	appToken string

	mu      sync.Mutex
	calls   []Call
	changed chan struct{} // closed on every call
	faults  map[string]*Fault
	seq     int

	// Socket Mode: envelopes to send, acknowledgements received.
	envelopes chan []byte
	acks      chan map[string]any
}

// Send queues a Socket Mode envelope for the adapter's connection.
func (f *Server) Send(envelope []byte) { f.envelopes <- envelope }

// Acks delivers the acknowledgements the adapter sent over Socket Mode.
func (f *Server) Acks() <-chan map[string]any { return f.acks }

// NewServer starts a Server that accepts botToken for Web API calls and
// appToken for Socket Mode; it stops when the test ends.
func NewServer(t testing.TB, botToken, appToken string) *Server {
	f := &Server{
		t: t, botToken: botToken, appToken: appToken,
		changed:   make(chan struct{}),
		faults:    map[string]*Fault{},
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

// fail makes the next calls of method answer with flt.
func (f *Server) Fail(method string, flt Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[method] = &flt
}

func (f *Server) record(c Call) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
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
	flt := f.faults[c.Method]
	if flt != nil && flt.Times > 0 {
		flt.Times--
		if flt.Times == 0 {
			delete(f.faults, c.Method)
		}
	}
	f.seq++
	n := f.seq
	f.mu.Unlock()
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

	ts := fmt.Sprintf("1700000000.%06d", n)
	switch c.Method {
	case "auth.test":
		writeJSON(w, map[string]any{"ok": true, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1", "user": "resetbot"})
	case "chat.postMessage":
		writeJSON(w, map[string]any{"ok": true, "channel": c.Get("channel"), "ts": ts,
			"message": map[string]any{"text": c.Get("text"), "ts": ts}})
	case "chat.update":
		writeJSON(w, map[string]any{"ok": true, "channel": c.Get("channel"), "ts": c.Get("ts"), "text": c.Get("text")})
	case "chat.postEphemeral":
		writeJSON(w, map[string]any{"ok": true, "message_ts": ts})
	case "conversations.open":
		writeJSON(w, map[string]any{"ok": true, "channel": map[string]any{"id": "D" + c.Get("users")}})
	case "views.open":
		if c.Get("trigger_id") == "" {
			writeJSON(w, map[string]any{"ok": false, "error": "invalid_trigger_id"})
			return
		}
		view, _ := c.JSON["view"].(map[string]any)
		out := map[string]any{"id": fmt.Sprintf("V%04d", n)}
		for k, v := range view {
			out[k] = v
		}
		writeJSON(w, map[string]any{"ok": true, "view": out})
	case "users.info":
		u := c.Get("user")
		writeJSON(w, map[string]any{"ok": true, "user": map[string]any{"id": u, "name": strings.ToLower(u)}})
	case "apps.connections.open":
		writeJSON(w, map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/socket"})
	default:
		writeJSON(w, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

// serveSocket is Slack's end of a Socket Mode connection: it says hello,
// sends the envelopes it is given and passes acknowledgements back.
func (f *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	// slack-go dials with Origin https://api.slack.com, as Slack expects.
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	if err := conn.WriteJSON(map[string]any{"type": "hello", "num_connections": 1}); err != nil {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			var m map[string]any
			if err := conn.ReadJSON(&m); err != nil {
				return
			}
			f.acks <- m
		}
	}()
	for {
		select {
		case env := <-f.envelopes:
			if err := conn.WriteMessage(websocket.TextMessage, env); err != nil {
				return
			}
		case <-done:
			return
		case <-r.Context().Done():
			return
		}
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
