package pdtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// OnCall is one on-call entry: User is on call for EscalationPolicy at
// Level, through Schedule ("" when the policy names the user directly),
// from Start until End (zero: unbounded, as PagerDuty's null).
type OnCall struct {
	User             string // PagerDuty user ID
	EscalationPolicy string // escalation policy ID
	Level            int    // escalation level, 1 = first
	Schedule         string // schedule ID; "": none
	Start, End       time.Time
}

// Incident is one incident on a service.
type Incident struct {
	ID      string
	Number  int
	Status  string // triggered, acknowledged or resolved
	Service string // service ID
	Title   string // optional
}

// The incident statuses PagerDuty knows.
const (
	Triggered    = "triggered"
	Acknowledged = "acknowledged"
	Resolved     = "resolved"
)

// PagerDuty's page sizes: 25 unless the client asks, at most 100.
const (
	DefaultLimit = 25
	MaxLimit     = 100
)

// Server is a fake PagerDuty REST API v2: GET /oncalls and GET /incidents,
// from the data a test set, behind token auth, with faults on demand. It is
// safe for concurrent use.
type Server struct {
	// URL is where the API is served (NewServer and New); give it to the
	// client as its API endpoint. Empty when the Server is only mounted as
	// a handler.
	URL string

	token string
	srv   *httptest.Server
	quit  chan struct{} // closed by Close: held answers give up

	mu        sync.Mutex
	now       func() time.Time
	oncalls   []OnCall
	incidents []Incident
	pageMax   int
	faults    map[string]*fault // path ("" for every path) -> fault
	delay     time.Duration
	gate      chan struct{} // Hold's: answers wait until it is closed; nil: none
	down      bool
	queries   map[string][]url.Values // path -> each call's query, in order
}

// NewServer starts a Server that accepts token. Close stops it.
func NewServer(token string) *Server {
	s := NewHandler(token)
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	return s
}

// New starts a Server that accepts token and stops when the test ends.
func New(tb testing.TB, token string) *Server {
	tb.Helper()
	s := NewServer(token)
	tb.Cleanup(s.Close)
	return s
}

// NewHandler returns a Server that is not listening, to be mounted as an
// http.Handler (its paths are the API's: /oncalls, /incidents).
func NewHandler(token string) *Server {
	return &Server{
		token:   token,
		quit:    make(chan struct{}),
		now:     time.Now,
		queries: map[string][]url.Values{},
		faults:  map[string]*fault{},
	}
}

// fault is an error answer waiting for its calls.
type fault struct {
	status int
	left   int // calls still failing; <0: every call
}

// Close stops a started Server; answers held by Delay give up at once.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.quit:
	default:
		close(s.quit)
	}
	s.mu.Unlock()
	if s.srv != nil {
		s.srv.Close()
	}
}

// SetOnCall replaces the on-call entries.
func (s *Server) SetOnCall(entries ...OnCall) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oncalls = slices.Clone(entries)
}

// SetIncidents replaces the incidents.
func (s *Server) SetIncidents(incidents ...Incident) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.incidents = slices.Clone(incidents)
}

// SetNow sets the Server's clock, which decides which on-call entries are
// current (default time.Now).
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// PageLimit caps every page at n entries, whatever limit the client asks
// for, so that a test sees pagination with little data; 0 lifts the cap.
func (s *Server) PageLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageMax = n
}

// Fail makes the next times calls of path ("/oncalls"; "": any path)
// answer status with PagerDuty's error body (times <= 0: every call, until
// Heal). A path's own fault comes before the one for any path.
func (s *Server) Fail(path string, status, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if times <= 0 {
		times = -1
	}
	s.faults[path] = &fault{status: status, left: times}
}

// Delay holds every answer for d (until the client hangs up or Close).
func (s *Server) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Hold keeps every answer, of calls made before or after, until Release
// (or until the client hangs up, or Close), so that a test can make calls
// meet while one is running.
func (s *Server) Hold() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate == nil {
		s.gate = make(chan struct{})
	}
}

// Release lets the answers Hold kept go.
func (s *Server) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked()
}

func (s *Server) releaseLocked() {
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
}

// Down makes the Server close every connection without an answer, until
// Heal.
func (s *Server) Down() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = true
}

// Heal clears Fail, Delay and Down, and releases held answers.
func (s *Server) Heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked()
	clear(s.faults)
	s.delay, s.down = 0, false
}

// Calls counts the requests received for path ("/oncalls"), whatever
// their answer.
func (s *Server) Calls(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queries[path])
}

// Queries returns the query of each request received for path, oldest
// first.
func (s *Server) Queries(path string) []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.queries[path])
}

// ServeHTTP answers one API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.queries[r.URL.Path] = append(s.queries[r.URL.Path], r.URL.Query())
	down, delay, gate := s.down, s.delay, s.gate
	fail := 0
	for _, path := range []string{r.URL.Path, ""} {
		if f := s.faults[path]; f != nil && f.left != 0 {
			fail = f.status
			if f.left > 0 {
				f.left--
			}
			break
		}
	}
	s.mu.Unlock()

	if down {
		hangUp(w)
		return
	}
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		case <-s.quit:
			return
		}
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		case <-s.quit:
			return
		}
	}
	if r.Header.Get("Authorization") != "Token token="+s.token || s.token == "" {
		writeError(w, http.StatusUnauthorized, 2006, "Authentication failed")
		return
	}
	if accept := r.Header.Get("Accept"); strings.HasPrefix(accept, "application/vnd.pagerduty+json") &&
		!strings.Contains(strings.ReplaceAll(accept, " ", ""), ";version=2") {
		writeError(w, http.StatusNotAcceptable, 2001, "Invalid Input Provided", "Only version 2 of the API is served")
		return
	}
	if fail != 0 {
		writeFault(w, fail)
		return
	}
	if r.Method != http.MethodGet {
		writeError(w, http.StatusNotFound, 2100, "Not Found")
		return
	}
	switch r.URL.Path {
	case "/oncalls":
		s.serveOnCalls(w, r.URL.Query())
	case "/incidents":
		s.serveIncidents(w, r.URL.Query())
	default:
		writeError(w, http.StatusNotFound, 2100, "Not Found")
	}
}

func (s *Server) serveOnCalls(w http.ResponseWriter, q url.Values) {
	limit, offset, ok := s.page(w, q)
	if !ok {
		return
	}
	s.mu.Lock()
	now := s.now()
	entries := slices.Clone(s.oncalls)
	s.mu.Unlock()

	since, until := now, now
	for name, t := range map[string]*time.Time{"since": &since, "until": &until} {
		if v := q.Get(name); v != "" {
			parsed, err := time.Parse(time.RFC3339, v)
			if err != nil {
				writeError(w, http.StatusBadRequest, 2004, "Invalid 'since' or 'until' Parameter Values")
				return
			}
			*t = parsed
		}
	}
	if until.Before(since) {
		writeError(w, http.StatusBadRequest, 2005, "Invalid Query Date Range")
		return
	}
	policies, users, schedules := list(q, "escalation_policy_ids"), list(q, "user_ids"), list(q, "schedule_ids")
	var found []OnCall
	for _, e := range entries {
		if !in(policies, e.EscalationPolicy) || !in(users, e.User) || !in(schedules, e.Schedule) {
			continue
		}
		// An on-call overlapping [since, until] is listed; at one instant,
		// one covering it.
		if !e.Start.IsZero() && e.Start.After(until) {
			continue
		}
		if !e.End.IsZero() && !e.End.After(since) {
			continue
		}
		found = append(found, e)
	}
	if q.Get("earliest") == "true" {
		found = earliest(found)
	}
	items := make([]any, 0, len(found))
	for _, e := range found {
		items = append(items, s.onCallJSON(e))
	}
	writePage(w, "oncalls", items, limit, offset, q.Get("total") == "true")
}

// earliest keeps, for each escalation policy, level and user, the entry
// that starts first, as PagerDuty's earliest=true does.
func earliest(entries []OnCall) []OnCall {
	type key struct {
		policy, user string
		level        int
	}
	first := map[key]int{}
	var out []OnCall
	for _, e := range entries {
		k := key{e.EscalationPolicy, e.User, e.Level}
		i, seen := first[k]
		switch {
		case !seen:
			first[k] = len(out)
			out = append(out, e)
		case startsBefore(e, out[i]):
			out[i] = e
		}
	}
	return out
}

func startsBefore(a, b OnCall) bool {
	if a.Start.IsZero() {
		return !b.Start.IsZero()
	}
	return !b.Start.IsZero() && a.Start.Before(b.Start)
}

func (s *Server) serveIncidents(w http.ResponseWriter, q url.Values) {
	limit, offset, ok := s.page(w, q)
	if !ok {
		return
	}
	statuses := list(q, "statuses")
	for _, st := range statuses {
		if st != Triggered && st != Acknowledged && st != Resolved {
			writeError(w, http.StatusBadRequest, 2001, "Invalid Input Provided",
				"Status must be a list of triggered, acknowledged, or resolved.")
			return
		}
	}
	services := list(q, "service_ids")
	s.mu.Lock()
	incidents := slices.Clone(s.incidents)
	s.mu.Unlock()
	items := []any{}
	for _, inc := range incidents {
		if in(statuses, inc.Status) && in(services, inc.Service) {
			items = append(items, s.incidentJSON(inc))
		}
	}
	writePage(w, "incidents", items, limit, offset, q.Get("total") == "true")
}

// page reads limit and offset, answering 400 as PagerDuty does when they
// are not numbers.
func (s *Server) page(w http.ResponseWriter, q url.Values) (limit, offset int, ok bool) {
	limit, offset = DefaultLimit, 0
	var err error
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 {
			writeError(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "Limit must be a positive integer.")
			return 0, 0, false
		}
	}
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			writeError(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "Offset must be a non-negative integer.")
			return 0, 0, false
		}
	}
	limit = min(limit, MaxLimit)
	s.mu.Lock()
	if s.pageMax > 0 {
		limit = min(limit, s.pageMax)
	}
	s.mu.Unlock()
	return limit, offset, true
}

func writePage(w http.ResponseWriter, name string, items []any, limit, offset int, total bool) {
	end := min(offset+limit, len(items))
	page := []any{}
	if offset < len(items) {
		page = items[offset:end]
	}
	body := map[string]any{
		name:     page,
		"limit":  limit,
		"offset": offset,
		"more":   end < len(items),
		"total":  nil, // null unless asked for, as PagerDuty answers
	}
	if total {
		body["total"] = len(items)
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) onCallJSON(e OnCall) map[string]any {
	var schedule any
	if e.Schedule != "" {
		schedule = s.reference("schedule", e.Schedule, "Schedule "+e.Schedule)
	}
	return map[string]any{
		"escalation_policy": s.reference("escalation_policy", e.EscalationPolicy, "Policy "+e.EscalationPolicy),
		"escalation_level":  e.Level,
		"schedule":          schedule,
		"user":              s.reference("user", e.User, "User "+e.User),
		"start":             timeJSON(e.Start),
		"end":               timeJSON(e.End),
	}
}

func (s *Server) incidentJSON(inc Incident) map[string]any {
	title := inc.Title
	if title == "" {
		title = "Incident " + strconv.Itoa(inc.Number)
	}
	return map[string]any{
		"id":              inc.ID,
		"type":            "incident",
		"summary":         fmt.Sprintf("[#%d] %s", inc.Number, title),
		"self":            s.self("incidents", inc.ID),
		"html_url":        "https://example.pagerduty.com/incidents/" + inc.ID,
		"incident_number": inc.Number,
		"title":           title,
		"status":          inc.Status,
		"urgency":         "high",
		"service":         s.reference("service", inc.Service, "Service "+inc.Service),
	}
}

// reference is PagerDuty's short form of an object: {"id", "type":
// "<kind>_reference", "summary", "self", "html_url"}.
func (s *Server) reference(kind, id, summary string) map[string]any {
	return map[string]any{
		"id":       id,
		"type":     kind + "_reference",
		"summary":  summary,
		"self":     s.self(kind+"s", id),
		"html_url": "https://example.pagerduty.com/" + kind + "s/" + id,
	}
}

func (s *Server) self(collection, id string) string {
	base := s.URL
	if base == "" {
		base = "https://api.pagerduty.com"
	}
	return base + "/" + collection + "/" + id
}

func timeJSON(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Format(time.RFC3339)
}

// list reads an array parameter, sent as name[] (PagerDuty's form) or
// name.
func list(q url.Values, name string) []string {
	return append(q[name+"[]"], q[name]...)
}

// in reports whether v is in filter; an empty filter admits everything.
func in(filter []string, v string) bool {
	return len(filter) == 0 || slices.Contains(filter, v)
}

func writeFault(w http.ResponseWriter, status int) {
	switch status {
	case http.StatusUnauthorized:
		writeError(w, status, 2006, "Authentication failed")
	case http.StatusForbidden:
		writeError(w, status, 2010, "Access Denied")
	case http.StatusTooManyRequests:
		writeError(w, status, 2020, "Rate Limit Exceeded")
	default:
		if status >= 500 {
			writeError(w, status, 2000, "Internal Error")
			return
		}
		writeError(w, status, 2001, "Invalid Input Provided")
	}
}

// writeError answers PagerDuty's error body: {"error": {"message", "code",
// "errors"}}.
func writeError(w http.ResponseWriter, status, code int, message string, errs ...string) {
	body := map[string]any{"message": message, "code": code}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	writeJSON(w, status, map[string]any{"error": body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}
