package auditwebhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/adapters/auditwebhook"
	"resetbot/approvals"
	"resetbot/bot"
	"resetbot/internal/redistest"
)

// errKilled is what the killed replica's sockets answer from the kill on.
var errKilled = errors.New("the replica was killed")

// severable dials the connections of one replica's Redis client and can
// sever them all at once, as the death of the process would: from the cut
// on, no byte the client writes reaches Redis and no new connection
// opens. It counts what the client still tries, to show the test that the
// replica went on trying.
type severable struct {
	mu    sync.Mutex // held across each write, so that none straddles the cut
	cut   bool
	conns []net.Conn
	tries atomic.Int64 // dials and writes refused after the cut
}

func (s *severable) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cut {
		s.tries.Add(1)
		return nil, errKilled
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	s.conns = append(s.conns, c)
	return severedConn{Conn: c, s: s}, nil
}

// sever closes every connection and refuses all that follows.
func (s *severable) sever() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cut = true
	for _, c := range s.conns {
		_ = c.Close()
	}
}

// severedConn is a connection of a severable: its writes stop at the cut.
type severedConn struct {
	net.Conn
	s *severable
}

func (c severedConn) Write(p []byte) (int, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.s.cut {
		c.s.tries.Add(1)
		return 0, errKilled
	}
	return c.Conn.Write(p)
}

// killingTransport is the killed replica's HTTP transport. It kills the
// replica itself, at the moment the receiver has answered 2xx to its
// after'th POST and before the sender sees that answer: the event is
// delivered, but the replica dies before it can acknowledge it. From then
// on no request of the replica leaves.
type killingTransport struct {
	after int64
	kill  func() // severs the replica's Redis connections

	ok       atomic.Int64 // 2xx answers before the kill
	killed   atomic.Bool
	killedID atomic.Value // string: the event delivered at the kill
	tries    atomic.Int64 // requests refused after the kill
}

func (k *killingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if k.killed.Load() {
		k.tries.Add(1)
		return nil, errKilled
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || resp.StatusCode/100 != 2 || k.ok.Add(1) != k.after {
		return resp, err
	}
	_ = resp.Body.Close()
	var e bot.Event
	if body, err := req.GetBody(); err == nil {
		b, _ := io.ReadAll(body)
		_ = json.Unmarshal(b, &e)
	}
	k.killedID.Store(e.ID)
	// The HTTP side goes first: a POST that starts between the two steps
	// fails, as it would have a moment later.
	k.killed.Store(true)
	k.kill()
	return nil, errKilled
}

// streamKey is the Redis key of an audit stream, as the store names it.
func (r *rig) streamKey(stream string) string { return "{" + r.prefix + "}" + stream }

// pendingTo lists the IDs pending in the group to consumer, over the
// audit streams.
func (r *rig) pendingTo(consumer string) []string {
	r.t.Helper()
	var ids []string
	for _, stream := range []string{"audit", "audit:refusals", "audit:strangers"} {
		p, err := r.rdb.XPendingExt(context.Background(), &redis.XPendingExtArgs{
			Stream: r.streamKey(stream), Group: auditwebhook.DefaultGroup, Start: "-", End: "+", Count: 1000, Consumer: consumer,
		}).Result()
		if err != nil {
			r.t.Fatalf("XPENDING %s: %v", stream, err)
		}
		for _, e := range p {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

// pending counts the events pending in the group to any consumer, over
// the audit streams.
func (r *rig) pending() int64 {
	r.t.Helper()
	var n int64
	for _, stream := range []string{"audit", "audit:refusals", "audit:strangers"} {
		p, err := r.rdb.XPending(context.Background(), r.streamKey(stream), auditwebhook.DefaultGroup).Result()
		if err != nil {
			r.t.Fatalf("XPENDING %s: %v", stream, err)
		}
		n += p.Count
	}
	return n
}

// TestReplicaKilledMidDeliveryLosesNothing: a replica killed in the middle
// of a batch, after the receiver took an event and before the replica
// acknowledged it, leaves its events pending to it and never touches
// Redis again; another replica claims them once they have been idle for
// ClaimAfter and delivers them. Every event reaches the receiver at least
// once (the one taken but not acknowledged twice), and the group ends
// with nothing pending.
//
// Order within a stream is not checked: the second replica may deliver
// events no one had read before it claims those the dead one held, so the
// receiver can get the latter after newer events of their stream.
func TestReplicaKilledMidDeliveryLosesNothing(t *testing.T) {
	const claimAfter = 300 * time.Millisecond
	r := newRig(t)
	r.write(60) // 20 per stream: replica a reads the first 10 of each

	// Replica a has a Redis client of its own, whose connections the kill
	// severs, and an HTTP transport that performs the kill. Both replicas
	// take over idle events after the same short ClaimAfter, as the
	// replicas of one deployment share their configuration.
	redisA := &severable{}
	clientA := redis.NewClient(&redis.Options{Addr: redistest.Addr(t), Dialer: redisA.dial})
	t.Cleanup(func() { _ = clientA.Close() })
	httpA := &killingTransport{after: 5, kill: redisA.sever}
	r.start("replica-a", func(o *auditwebhook.Options) {
		o.Log = approvals.New(clientA, approvals.Options{Prefix: r.prefix, Clock: r.clock})
		o.Client = &http.Client{Transport: httpA}
		o.ClaimAfter = claimAfter
	})
	waitUntil(t, "replica a to be killed", httpA.killed.Load)

	// The kill came in the middle of delivering: events are pending to
	// replica a, among them the one the receiver took at the kill.
	killedID, _ := httpA.killedID.Load().(string)
	held := r.pendingTo("replica-a")
	if len(held) == 0 {
		t.Fatal("nothing is pending to the killed replica: it was not killed mid-delivery")
	}
	heldKilled := false
	for _, id := range held {
		heldKilled = heldKilled || id == killedID
	}
	if !heldKilled {
		t.Fatalf("the event %q taken at the kill is not pending to the killed replica (pending: %v)", killedID, held)
	}
	taken := 0
	for _, e := range r.recv.Events() {
		if e.ID == killedID {
			taken++
		}
	}
	if taken != 1 {
		t.Fatalf("the receiver took the event of the kill %d times before the take-over, want once", taken)
	}

	r.write(6) // events no replica read yet
	b, _ := r.start("replica-b", func(o *auditwebhook.Options) { o.ClaimAfter = claimAfter })
	r.waitAll(10 * time.Second)
	repeats := r.check()
	taken = 0
	for _, e := range r.recv.Events() {
		if e.ID == killedID {
			taken++
		}
	}
	if taken < 2 {
		t.Errorf("the event taken at the kill, never acknowledged, arrived %d times, want again from replica b", taken)
	}
	waitUntil(t, "nothing pending in the group", func() bool { return r.pending() == 0 })
	t.Logf("replica a held %d events when killed; replica b delivered %d; %d events arrived twice; "+
		"after the kill replica a tried Redis %d times and the receiver %d times, and got through to neither",
		len(held), b.Delivered(), repeats, redisA.tries.Load(), httpA.tries.Load())
}
