package auditwebhook_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/adapters/auditwebhook"
	"resetbot/adapters/auditwebhook/webhooktest"
	"resetbot/approvals"
	"resetbot/bot"
	"resetbot/internal/redistest"
	"resetbot/internal/testkit"
)

const secretText = "SECRET-webhook-0123456789abcdef"

var secret = bot.NewSecret(secretText)

// rig is a real Redis store, a receiver, and the senders started on them.
type rig struct {
	t      *testing.T
	rdb    *redis.Client
	prefix string // the store's key prefix
	store  *approvals.Store
	clock  *testkit.Clock
	recv   *webhooktest.Receiver
	log    *testkit.Log
	n      int // events written so far
	tries  atomic.Int64
}

func newRig(t *testing.T) *rig {
	rdb, prefix := redistest.Client(t)
	clock := testkit.NewClock(time.Now().Truncate(time.Millisecond))
	return &rig{t: t, rdb: rdb, prefix: prefix, clock: clock, store: approvals.New(rdb, approvals.Options{Prefix: prefix, Clock: clock}),
		recv: webhooktest.New(t, secret), log: &testkit.Log{}}
}

// write appends n events, spread over the three streams: decisions,
// refusals of known people (each by someone else, so that none is
// summarised) and strangers' refusals.
func (r *rig) write(n int) {
	r.t.Helper()
	ctx := context.Background()
	for range n {
		i := r.n
		r.n++
		e := bot.Event{Kind: bot.EventRequested, RequestID: fmt.Sprintf("R-%06d", i), Actor: "alice", Platform: bot.PlatformSlack}
		switch i % 3 {
		case 1:
			e = bot.Event{Kind: bot.EventRefused, Actor: fmt.Sprintf("person%d", i), Platform: bot.PlatformSlack}
		case 2:
			e = bot.Event{Kind: bot.EventRefused, Actor: fmt.Sprintf("slack:U%d", i), Platform: bot.PlatformSlack, Stranger: true}
		}
		e.Detail = fmt.Sprintf("event %d", i)
		if err := r.store.Audit(ctx, e); err != nil {
			r.t.Fatal(err)
		}
	}
}

// countingTransport counts the sender's tries, including those that found
// no receiver.
type countingTransport struct{ n *atomic.Int64 }

func (c countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(req)
}

// start runs a sender under consumer name until the returned stop is
// called (or the test ends); stop waits for it to return.
func (r *rig) start(consumer string, change func(*auditwebhook.Options)) (*auditwebhook.Sender, func()) {
	r.t.Helper()
	o := auditwebhook.Options{
		URL: r.recv.URL, Secret: secret, Log: r.store, Consumer: consumer,
		Timeout: 2 * time.Second, MinBackoff: 5 * time.Millisecond, MaxBackoff: 40 * time.Millisecond,
		Block: 100 * time.Millisecond, LagEvery: 20 * time.Millisecond, Batch: 10,
		Client: &http.Client{Transport: countingTransport{&r.tries}},
		Logger: slog.New(slog.NewTextHandler(r.log, nil)),
	}
	if change != nil {
		change(&o)
	}
	s, err := auditwebhook.New(o)
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				r.t.Errorf("Run: %v", err)
			}
		})
	}
	r.t.Cleanup(stop)
	return s, stop
}

// written is every event the log holds, by ID.
func (r *rig) written() map[string]bot.Event {
	r.t.Helper()
	all, err := r.store.AuditLog(context.Background(), bot.AuditQuery{})
	if err != nil {
		r.t.Fatal(err)
	}
	if len(all) != r.n {
		r.t.Fatalf("the log holds %d events, want the %d written", len(all), r.n)
	}
	out := map[string]bot.Event{}
	for _, e := range all {
		out[e.ID] = e
	}
	return out
}

// waitAll waits until the receiver took every event written.
func (r *rig) waitAll(timeout time.Duration) {
	r.t.Helper()
	want := r.written()
	r.recv.WaitFor(r.t, timeout, fmt.Sprintf("all %d events", len(want)), func(rv *webhooktest.Receiver) bool {
		got := map[string]bool{}
		for _, e := range rv.Events() {
			got[e.ID] = true
		}
		for id := range want {
			if !got[id] {
				return false
			}
		}
		return true
	})
}

// check compares what the receiver took with the log: nothing lost,
// every event as written; it returns how many arrived more than once.
func (r *rig) check() (repeats int) {
	r.t.Helper()
	want := r.written()
	seen := map[string]int{}
	for _, e := range r.recv.Events() {
		seen[e.ID]++
		w, ok := want[e.ID]
		if !ok {
			r.t.Errorf("received %s, which the log does not hold", e.ID)
			continue
		}
		if !e.Time.Equal(w.Time) || e.Kind != w.Kind || e.Actor != w.Actor || e.Detail != w.Detail || e.Stranger != w.Stranger || e.RequestID != w.RequestID {
			r.t.Errorf("received %+v, want %+v", e, w)
		}
	}
	for id := range want {
		if seen[id] == 0 {
			r.t.Errorf("event %s (%s) lost", id, want[id].Detail)
		}
		repeats += max(seen[id]-1, 0)
	}
	if bad := r.recv.Refused(); len(bad) > 0 {
		r.t.Errorf("receiver refused deliveries: %v", bad)
	}
	if strings.Contains(r.log.String(), secretText) {
		r.t.Errorf("the log shows the secret:\n%s", r.log)
	}
	return repeats
}

// streamOf is the stream an event was written to.
func streamOf(e bot.Event) string {
	switch {
	case e.Stranger:
		return "audit:strangers"
	case e.Kind == bot.EventRefused:
		return "audit:refusals"
	}
	return "audit"
}

// inOrder checks that the receiver took each stream's events in the order
// they were written, each once.
func (r *rig) inOrder() {
	r.t.Helper()
	last := map[string]string{}
	for _, e := range r.recv.Events() {
		s := streamOf(e)
		if l, ok := last[s]; ok && compareIDs(e.ID, l) <= 0 {
			r.t.Errorf("%s: %s arrived after %s", s, e.ID, l)
		}
		last[s] = e.ID
	}
}

func compareIDs(a, b string) int {
	var am, as, bm, bs uint64
	fmt.Sscanf(a, "%d-%d", &am, &as)
	fmt.Sscanf(b, "%d-%d", &bm, &bs)
	switch {
	case am != bm && am < bm, am == bm && as < bs:
		return -1
	case am == bm && as == bs:
		return 0
	}
	return 1
}

// waitUntil checks cond every few milliseconds until it holds, or fails
// the test after 10 seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("waited 10s for %s", what)
		case <-tick.C:
		}
	}
}

// waitLag waits until the sender's Lag says events, and an age oldest
// accepts.
func waitLag(t *testing.T, s *auditwebhook.Sender, events int64, oldest func(time.Duration) bool) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("a lag of %d events", events), func() bool {
		n, age := s.Lag()
		return n == events && oldest(age)
	})
}

func TestDeliversEveryEventInOrderSigned(t *testing.T) {
	r := newRig(t)
	r.write(30) // before the sender starts: it sends the log from its start
	s, _ := r.start("replica-1", nil)
	r.waitAll(10 * time.Second)
	r.write(30) // while it runs
	r.waitAll(10 * time.Second)
	if n := r.check(); n != 0 {
		t.Errorf("%d events sent twice, want none from one sender with a receiver that answers", n)
	}
	r.inOrder()
	waitDelivered(60, s.Delivered)
	if got := s.Delivered(); got != 60 {
		t.Errorf("Delivered = %d, want 60", got)
	}
	waitLag(t, s, 0, func(d time.Duration) bool { return d == 0 })
}

func TestReceiverFailingThenRecovering(t *testing.T) {
	r := newRig(t)
	r.recv.SetMode(webhooktest.Fail)
	r.write(12)
	s, _ := r.start("replica-1", nil)
	r.recv.WaitFor(t, 10*time.Second, "10 refused tries", func(rv *webhooktest.Receiver) bool { return rv.Tries() >= 10 })
	if got := len(r.recv.Events()); got != 0 {
		t.Fatalf("the receiver took %d events while failing", got)
	}
	r.recv.SetMode(webhooktest.OK)
	r.waitAll(10 * time.Second)
	if n := r.check(); n != 0 {
		t.Errorf("%d repeats, want none", n)
	}
	r.inOrder()
	if !strings.Contains(r.log.String(), "the receiver answered 500") {
		t.Errorf("the failures were not logged:\n%s", r.log)
	}
	waitLag(t, s, 0, func(d time.Duration) bool { return d == 0 })
}

func TestSlowReceiverTimesOutThenTakes(t *testing.T) {
	r := newRig(t)
	r.recv.SetMode(webhooktest.Hang)
	r.write(6)
	r.start("replica-1", func(o *auditwebhook.Options) { o.Timeout = 50 * time.Millisecond })
	r.recv.WaitFor(t, 10*time.Second, "6 unanswered tries", func(rv *webhooktest.Receiver) bool { return rv.Tries() >= 6 })
	r.recv.SetMode(webhooktest.OK)
	r.waitAll(10 * time.Second)
	r.check()
	r.inOrder()
	if !strings.Contains(r.log.String(), "no answer within 50ms") {
		t.Errorf("the timeouts were not logged:\n%s", r.log)
	}
}

// TestReceiverDownThenUp: a receiver gone for what is an hour by the
// store's clock loses nothing, and Lag says how far behind it is.
func TestReceiverDownThenUp(t *testing.T) {
	r := newRig(t)
	r.recv.Down()
	r.write(9)
	r.clock.Advance(time.Hour)
	s, _ := r.start("replica-1", nil)
	waitUntil(t, "10 tries", func() bool { return r.tries.Load() >= 10 })
	waitLag(t, s, 9, func(d time.Duration) bool { return d == time.Hour })
	r.write(3)
	waitLag(t, s, 12, func(d time.Duration) bool { return d == time.Hour })
	r.recv.Up(t)
	r.waitAll(10 * time.Second)
	if n := r.check(); n != 0 {
		t.Errorf("%d repeats, want none", n)
	}
	r.inOrder()
	waitLag(t, s, 0, func(d time.Duration) bool { return d == 0 })
}

// TestReplicaStoppedMidDelivery: a sender stopped while its POSTs hang
// leaves its events pending; another replica, started after, claims them
// and resumes where the first stopped: nothing lost, and what the first
// delivered is not sent again (but for the events whose answer it was
// reading when it stopped: at most one per stream).
func TestReplicaStoppedMidDelivery(t *testing.T) {
	r := newRig(t)
	r.write(30)
	r.recv.HangAfter(10)
	_, stopA := r.start("replica-a", nil)
	r.recv.WaitFor(t, 10*time.Second, "10 events, then a hanging try", func(rv *webhooktest.Receiver) bool {
		return len(rv.Events()) >= 10 && rv.Tries() > len(rv.Events())
	})
	stopA()
	firstRun := len(r.recv.Events())
	r.recv.HangAfter(0)
	r.write(6)
	r.start("replica-b", func(o *auditwebhook.Options) { o.ClaimAfter = 50 * time.Millisecond })
	r.waitAll(10 * time.Second)
	repeats := r.check()
	t.Logf("replica a delivered %d events before it stopped; %d events sent twice", firstRun, repeats)
	if repeats > 3 {
		t.Errorf("%d events sent twice: the second replica did not resume where the first stopped", repeats)
	}
}

// waitDelivered waits, for 10 s at most, until delivered counts n: the
// receiver has an event a moment before its sender counts it (once the
// answer is in and the event acknowledged).
func waitDelivered(n int64, delivered func() int64) {
	deadline := time.Now().Add(10 * time.Second)
	for delivered() < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTwoReplicas: two senders on one group deliver every event.
func TestTwoReplicas(t *testing.T) {
	r := newRig(t)
	r.write(30)
	a, _ := r.start("replica-a", nil)
	b, _ := r.start("replica-b", nil)
	r.write(30)
	r.waitAll(10 * time.Second)
	repeats := r.check()
	waitDelivered(60, func() int64 { return a.Delivered() + b.Delivered() })
	t.Logf("replica a delivered %d, replica b %d; %d events sent twice", a.Delivered(), b.Delivered(), repeats)
	if got := a.Delivered() + b.Delivered(); got < 60 {
		t.Errorf("the replicas delivered %d events between them, want at least 60", got)
	}
}

func TestSignature(t *testing.T) {
	body := []byte(`{"event":"requested"}`)
	h := http.Header{}
	now := time.Unix(1_700_000_000, 0)
	h.Set(auditwebhook.HeaderTimestamp, "1700000000")
	h.Set(auditwebhook.HeaderSignature, auditwebhook.Sign(secret, "1700000000", body))
	if err := auditwebhook.Verify(secret, h, body, now, time.Minute); err != nil {
		t.Errorf("Verify of a good delivery: %v", err)
	}
	// HMAC-SHA256("k", "1.x"), computed apart.
	if got, want := auditwebhook.Sign(bot.NewSecret("k"), "1", []byte("x")), "sha256=976cb87e4f568d1c0f03f32859e90af8597cf00b978ba37c229c97d3a15b8449"; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	for name, tc := range map[string]struct {
		body []byte
		now  time.Time
		sec  bot.Secret
	}{
		"BodyChanged":   {[]byte(`{"event":"approved"}`), now, secret},
		"TooOld":        {body, now.Add(2 * time.Minute), secret},
		"OtherSecret":   {body, now, bot.NewSecret("another-secret-of-16")},
		"FromTheFuture": {body, now.Add(-2 * time.Minute), secret},
	} {
		t.Run(name, func(t *testing.T) {
			if err := auditwebhook.Verify(tc.sec, h, tc.body, tc.now, time.Minute); err == nil {
				t.Error("Verify accepted it")
			}
		})
	}
}
