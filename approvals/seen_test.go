package approvals_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/approvals"
)

// A send the Redis client repeats (its connection failed before the answer
// came) recognises itself: the first delivery of a payload is not dropped
// as a duplicate of itself.
func TestSeenRetriedSendIsFirst(t *testing.T) {
	for _, srv := range append(servers(), deployments()...) {
		t.Run(srv.name, func(t *testing.T) {
			e := newEnv(t, srv)
			ctx := ctx(t)
			t.Run("SameNonceIsFirstAgain", func(t *testing.T) {
				for i, want := range []bool{true, true} {
					first, err := approvals.SeenWithNonce(e.store, ctx, "slack:nonce", time.Minute, "n1")
					if err != nil || first != want {
						t.Fatalf("send %d with the same nonce: got %v, %v; want %v", i+1, first, err, want)
					}
				}
				first, err := approvals.SeenWithNonce(e.store, ctx, "slack:nonce", time.Minute, "n2")
				if err != nil || first {
					t.Fatalf("another call: got %v, %v; want a duplicate", first, err)
				}
			})
			t.Run("ConnectionCutAfterTheSet", func(t *testing.T) {
				// The first SET reaches Redis and is carried out; its answer
				// is lost (the connection ends), and go-redis sends it again.
				if e.addr == "" {
					t.Skip("cuts the connection to one node: runs on the single-node servers")
				}
				cut := &cutter{match: []byte("seen:slack:cut")}
				client := redis.NewClient(&redis.Options{Addr: e.addr, Dialer: cut.dial})
				t.Cleanup(func() { _ = client.Close() })
				store := approvals.New(client, approvals.Options{Prefix: e.prefix, Clock: e.clock})
				first, err := store.Seen(ctx, "slack:cut", time.Minute)
				if err != nil || !first {
					t.Fatalf("Seen with its answer lost once: got %v, %v; want first", first, err)
				}
				if n := cut.cuts(); n != 1 {
					t.Fatalf("connections cut after the SET: got %d, want 1 (the test did not reproduce the retry)", n)
				}
				if first, _ := e.store.Seen(ctx, "slack:cut", time.Minute); first {
					t.Fatal("a second delivery was reported as first")
				}
			})
		})
	}
}

// cutter dials connections that read the answer to a command containing
// match (and with) and then fail as a dropped connection would: once, or
// times times.
type cutter struct {
	match []byte
	with  []byte // and this too, when set
	times int    // answers to cut; 0 is one
	mu    sync.Mutex
	done  int
}

func (c *cutter) cuts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.done
}

func (c *cutter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &cutConn{Conn: conn, c: c}, nil
}

type cutConn struct {
	net.Conn
	c     *cutter
	armed bool
}

func (cc *cutConn) Write(p []byte) (int, error) {
	cc.c.mu.Lock()
	if cc.c.done < max(cc.c.times, 1) && bytes.Contains(p, cc.c.match) && bytes.Contains(p, cc.c.with) {
		cc.armed = true
	}
	cc.c.mu.Unlock()
	return cc.Conn.Write(p)
}

func (cc *cutConn) Read(p []byte) (int, error) {
	if !cc.armed {
		return cc.Conn.Read(p)
	}
	// The answer proves Redis carried the command out; it is then lost.
	if _, err := cc.Conn.Read(p); err != nil {
		return 0, err
	}
	cc.armed = false
	cc.c.mu.Lock()
	cc.c.done++
	cc.c.mu.Unlock()
	_ = cc.Conn.Close()
	return 0, io.EOF
}
