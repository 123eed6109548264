// Package webhooktest is a SIEM's webhook receiver for tests: an
// httptest server that checks each delivery's signature and timestamp as a
// real receiver must (auditwebhook.Verify), records the events it took,
// and can fail, hang or go away on demand.
package webhooktest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"resetbot/adapters/auditwebhook"
	"resetbot/bot"
)

// Mode is how the receiver answers.
type Mode int

const (
	OK   Mode = iota // verifies, records, answers 200
	Fail             // answers 500 and records nothing
	Hang             // answers nothing until the sender gives up
)

// Receiver is a running receiver. Its methods are safe for concurrent use.
type Receiver struct {
	URL    string
	secret bot.Secret
	addr   string

	mu       sync.Mutex
	srv      *httptest.Server
	mode     Mode
	events   []bot.Event
	tries    int // requests that arrived, whatever the answer
	bad      []string
	changed  chan struct{} // closed and replaced at each request
	blockAt  int           // hang every request once this many events are recorded; 0: never
	delay    time.Duration // how long it takes over each delivery before answering
	verifyAt func() time.Time
}

// New starts a receiver that checks signatures with secret; it stops with
// the test.
func New(tb testing.TB, secret bot.Secret) *Receiver {
	tb.Helper()
	r := &Receiver{secret: secret, changed: make(chan struct{}), verifyAt: time.Now}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	r.addr = ln.Addr().String()
	r.URL = "http://" + r.addr + "/siem"
	r.start(ln)
	tb.Cleanup(func() { r.Down() })
	return r
}

func (r *Receiver) start(ln net.Listener) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
}

// Down closes the listener and every connection: the receiver is gone.
func (r *Receiver) Down() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		srv.CloseClientConnections()
		srv.Close()
	}
}

// Up listens again on the same address after Down.
func (r *Receiver) Up(tb testing.TB) {
	tb.Helper()
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		tb.Fatalf("listen again on %s: %v", r.addr, err)
	}
	r.start(ln)
}

// SetMode changes how the receiver answers from now on.
func (r *Receiver) SetMode(m Mode) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mode = m
}

// SetDelay makes the receiver take d over each delivery before it checks,
// records and answers it, as a slow SIEM would; a sender that gives up
// within d has its delivery dropped unrecorded.
func (r *Receiver) SetDelay(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delay = d
}

// HangAfter makes the receiver hang every request once n events are
// recorded (0: never).
func (r *Receiver) HangAfter(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.blockAt = n
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	r.mu.Lock()
	r.tries++
	close(r.changed)
	r.changed = make(chan struct{})
	mode, delay := r.mode, r.delay
	if r.blockAt > 0 && len(r.events) >= r.blockAt {
		mode = Hang
	}
	r.mu.Unlock()
	switch mode {
	case Fail:
		http.Error(w, "down for maintenance", http.StatusInternalServerError)
		return
	case Hang:
		<-req.Context().Done()
		return
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-req.Context().Done():
			return
		case <-t.C:
		}
	}
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	var e bot.Event
	problem := ""
	if err := auditwebhook.Verify(r.secret, req.Header, body, r.verifyAt(), 5*time.Minute); err != nil {
		problem = err.Error()
	} else if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
		problem = fmt.Sprintf("%s with Content-Type %q", req.Method, req.Header.Get("Content-Type"))
	} else if err := json.Unmarshal(body, &e); err != nil || e.ID == "" || e.Kind == "" {
		problem = fmt.Sprintf("not an event: %s", body)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if problem != "" {
		r.bad = append(r.bad, problem)
		http.Error(w, problem, http.StatusUnauthorized)
		return
	}
	r.events = append(r.events, e)
	close(r.changed)
	r.changed = make(chan struct{})
	w.WriteHeader(http.StatusNoContent)
}

// Events are the events taken, in the order they arrived, repeats
// included.
func (r *Receiver) Events() []bot.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bot.Event(nil), r.events...)
}

// Tries is how many requests arrived, whatever the answer.
func (r *Receiver) Tries() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tries
}

// Refused lists the deliveries refused for a bad signature, timestamp or
// body, and why.
func (r *Receiver) Refused() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bad...)
}

// WaitFor waits until cond holds of the receiver, checked at each request
// it gets, or fails the test after timeout.
func (r *Receiver) WaitFor(tb testing.TB, timeout time.Duration, what string, cond func(*Receiver) bool) {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ch := r.changed
		r.mu.Unlock()
		if cond(r) {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			tb.Fatalf("waited %s for %s", timeout, what)
		}
	}
}
