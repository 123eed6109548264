package slack_test

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

// apiCall is one request the fake Slack received.
type apiCall struct {
	Method string // Web API method ("chat.postMessage"), or "hook" for a response_url
	Hook   string // the response_url's ID, for "hook"
	At     time.Time
	Body   string         // as sent
	Form   url.Values     // form bodies
	JSON   map[string]any // JSON bodies
}

// text is everything the call carried, as sent and decoded (form values,
// and the strings inside JSON, which escapes some characters), for scans.
func (c apiCall) text() string {
	var b strings.Builder
	b.WriteString(c.Body)
	b.WriteString("\n" + jsonStrings(c.Body))
	for k, vs := range c.Form {
		for _, v := range vs {
			b.WriteString("\n" + k + "=" + v + "\n" + jsonStrings(v))
		}
	}
	return b.String()
}

// jsonStrings lists the strings inside s if it is JSON.
func jsonStrings(s string) string {
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

// get returns a form or JSON field.
func (c apiCall) get(key string) string {
	if c.Form != nil {
		return c.Form.Get(key)
	}
	if v, ok := c.JSON[key].(string); ok {
		return v
	}
	return ""
}

// fault is an answer the fake gives instead of success.
type fault struct {
	status     int    // HTTP status; 0: 200
	retryAfter string // Retry-After header
	err        string // the Web API's error code
	times      int    // how many calls get it; 0: every call
}

// fakeSlack speaks enough of the Slack Web API for the adapter, records
// every call, and answers with faults when told to.
type fakeSlack struct {
	t        testing.TB
	srv      *httptest.Server
	botToken string
	appToken string

	mu      sync.Mutex
	calls   []apiCall
	changed chan struct{} // closed on every call
	faults  map[string]*fault
	seq     int

	// Socket Mode: envelopes to send, acknowledgements received.
	envelopes chan []byte
	acks      chan map[string]any
}

func newFakeSlack(t testing.TB, botToken, appToken string) *fakeSlack {
	f := &fakeSlack{
		t: t, botToken: botToken, appToken: appToken,
		changed:   make(chan struct{}),
		faults:    map[string]*fault{},
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
func (f *fakeSlack) APIURL() string { return f.srv.URL + "/api/" }

// hookURL makes a response_url whose replies are recorded under id.
func (f *fakeSlack) hookURL(id string) string { return f.srv.URL + "/hooks/" + id }

// fail makes the next calls of method answer with flt.
func (f *fakeSlack) fail(method string, flt fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[method] = &flt
}

func (f *fakeSlack) record(c apiCall) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
	close(f.changed)
	f.changed = make(chan struct{})
}

// Calls returns what was received so far.
func (f *fakeSlack) Calls() []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]apiCall(nil), f.calls...)
}

// CallsOf returns the calls of one method.
func (f *fakeSlack) CallsOf(method string) []apiCall {
	var out []apiCall
	for _, c := range f.Calls() {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// WaitFor waits until ok holds for the calls received, or fails the test
// when ctx ends.
func (f *fakeSlack) WaitFor(ctx context.Context, what string, ok func([]apiCall) bool) []apiCall {
	f.t.Helper()
	for {
		f.mu.Lock()
		calls := append([]apiCall(nil), f.calls...)
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
// its text.
func (f *fakeSlack) Reply(ctx context.Context, hookID string) string {
	f.t.Helper()
	calls := f.WaitFor(ctx, "a reply on "+hookID, func(cs []apiCall) bool {
		for _, c := range cs {
			if c.Method == "hook" && c.Hook == hookID {
				return true
			}
		}
		return false
	})
	for _, c := range calls {
		if c.Method == "hook" && c.Hook == hookID {
			return c.get("text")
		}
	}
	return ""
}

func (f *fakeSlack) summary() string {
	var names []string
	for _, c := range f.Calls() {
		names = append(names, c.Method)
	}
	return "[" + strings.Join(names, " ") + "]"
}

func (f *fakeSlack) read(r *http.Request) apiCall {
	body, _ := io.ReadAll(r.Body)
	c := apiCall{At: time.Now(), Body: string(body)}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(body, &c.JSON)
	} else {
		c.Form, _ = url.ParseQuery(string(body))
	}
	return c
}

func (f *fakeSlack) serveHook(w http.ResponseWriter, r *http.Request) {
	c := f.read(r)
	c.Method, c.Hook = "hook", r.PathValue("id")
	f.record(c)
	writeJSON(w, map[string]any{"ok": true})
}

func (f *fakeSlack) serveAPI(w http.ResponseWriter, r *http.Request) {
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
	if flt != nil && flt.times > 0 {
		flt.times--
		if flt.times == 0 {
			delete(f.faults, c.Method)
		}
	}
	f.seq++
	n := f.seq
	f.mu.Unlock()
	if flt != nil {
		if flt.retryAfter != "" {
			w.Header().Set("Retry-After", flt.retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		if flt.status != 0 {
			w.WriteHeader(flt.status)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": flt.err})
		return
	}

	ts := fmt.Sprintf("1700000000.%06d", n)
	switch c.Method {
	case "auth.test":
		writeJSON(w, map[string]any{"ok": true, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1", "user": "resetbot"})
	case "chat.postMessage":
		writeJSON(w, map[string]any{"ok": true, "channel": c.get("channel"), "ts": ts,
			"message": map[string]any{"text": c.get("text"), "ts": ts}})
	case "chat.update":
		writeJSON(w, map[string]any{"ok": true, "channel": c.get("channel"), "ts": c.get("ts"), "text": c.get("text")})
	case "chat.postEphemeral":
		writeJSON(w, map[string]any{"ok": true, "message_ts": ts})
	case "conversations.open":
		writeJSON(w, map[string]any{"ok": true, "channel": map[string]any{"id": "D" + c.get("users")}})
	case "views.open":
		if c.get("trigger_id") == "" {
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
		u := c.get("user")
		writeJSON(w, map[string]any{"ok": true, "user": map[string]any{"id": u, "name": strings.ToLower(u)}})
	case "apps.connections.open":
		writeJSON(w, map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/socket"})
	default:
		writeJSON(w, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

// serveSocket is Slack's end of a Socket Mode connection: it says hello,
// sends the envelopes it is given and passes acknowledgements back.
func (f *fakeSlack) serveSocket(w http.ResponseWriter, r *http.Request) {
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
