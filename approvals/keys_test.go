package approvals_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/approvals"
	"resetbot/bot"
)

// TestScriptsCallRedisThroughTheGuard: every script starts with the check
// of its keys, and calls Redis only through it (R and RP), so that each
// test that runs a script checks that its caller declared every key it
// touched.
func TestScriptsCallRedisThroughTheGuard(t *testing.T) {
	guard := approvals.GuardLua()
	for name, src := range approvals.AllScriptSources() {
		body, ok := strings.CutPrefix(src, guard)
		if !ok {
			t.Errorf("script %s does not start with the guard", name)
			continue
		}
		for _, call := range []string{"redis.call", "redis.pcall"} {
			if strings.Contains(body, call) {
				t.Errorf("script %s calls %s, past the guard", name, call)
			}
		}
	}
}

// TestUndeclaredKeyRefused: a script that touches a key not in KEYS fails
// with the guard's error before the command runs, on every server; on a
// Cluster too, which would let it touch a key of the same slot.
func TestUndeclaredKeyRefused(t *testing.T) {
	for _, srv := range append(servers(), deployments()[0]) {
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, srv)
			declared, other := e.key("declared"), e.key("other")
			cases := []struct {
				name, script string
				want         any    // the reply, when no error
				err          string // what the error says
			}{
				{"DeclaredKeyServed", "R('SET', KEYS[1], 'v') return R('GET', KEYS[1])", "v", ""},
				{"UndeclaredReadRefused", "return R('GET', ARGV[1])", nil, "UNDECLARED key " + other + " (GET) is not in KEYS"},
				{"UndeclaredWriteRefused", "return RP('SET', ARGV[1], 'v')", nil, "UNDECLARED key " + other + " (SET) is not in KEYS"},
				{"EveryKeyOfDelChecked", "return R('DEL', KEYS[1], ARGV[1])", nil, "UNDECLARED key " + other + " (DEL) is not in KEYS"},
				{"UnknownCommandRefused", "return R('LPUSH', KEYS[1], 'x')", nil, "UNDECLARED command LPUSH"},
				{"NeedBeforeWriteAnswered", "return needed(want({}, KEYS[1], ARGV[1]))", []any{"need", other}, ""},
				{"NeedAfterWriteRefused", "R('SET', KEYS[1], 'v') return needed(want({}, ARGV[1]))", nil, "UNDECLARED keys asked for after a write: " + other},
			}
			for _, tc := range cases {
				got, err := redis.NewScript(approvals.GuardLua()+tc.script).Run(ctx(t), e.raw, []string{declared}, other).Result()
				switch {
				case tc.err == "" && err != nil:
					t.Errorf("%s: %v", tc.name, err)
				case tc.err == "" && !equalReply(got, tc.want):
					t.Errorf("%s: got %#v, want %#v", tc.name, got, tc.want)
				case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
					t.Errorf("%s: got %v, %v; want an error saying %q", tc.name, got, err, tc.err)
				}
			}
			if n := e.raw.Exists(ctx(t), other).Val(); n != 0 {
				t.Errorf("the undeclared key was written")
			}
		})
	}
}

func equalReply(got, want any) bool {
	g, ok1 := got.([]any)
	w, ok2 := want.([]any)
	if !ok1 || !ok2 {
		return got == want
	}
	if len(g) != len(w) {
		return false
	}
	for i := range g {
		if g[i] != w[i] {
			return false
		}
	}
	return true
}

// TestStoreScriptNeedsItsKeys: a store script sent without a key it
// touches (here Hold's without the leases zset) fails with the guard's
// error, naming the key.
func TestStoreScriptNeedsItsKeys(t *testing.T) {
	for _, srv := range servers() {
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, srv)
			e.approved("R-KEYS01", "alice")
			c := e.mustNext(e.store, "exec-1", time.Minute)
			_, err := approvals.RunScript(e.store, ctx(t), "hold", []string{e.key("req:R-KEYS01")}, "R-KEYS01", c.Token, 60_000)
			want := "UNDECLARED key " + e.key("leases") + " (ZADD) is not in KEYS"
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("hold without leases: got %v, want an error saying %q", err, want)
			}
			// with every key, it holds
			status, err := approvals.RunScript(e.store, ctx(t), "hold", []string{e.key("req:R-KEYS01"), e.key("leases")}, "R-KEYS01", c.Token, 60_000)
			if err != nil || status != "ok" {
				t.Errorf("hold with its keys: got %q, %v; want ok", status, err)
			}
		})
	}
}

// TestRoundTrips: Create and an approving Vote stay one round trip, their
// keys known before; a denial, which closes the request and so touches
// its requester's open requests, and a duplicate, which reads the open
// request found, take two: the script asks for the key it found it needs,
// before writing anything, and runs again.
func TestRoundTrips(t *testing.T) {
	e := newEnv(t, servers()[0])
	var n atomic.Int64
	c := redis.NewClient(&redis.Options{Addr: e.addr})
	t.Cleanup(func() { _ = c.Close() })
	c.AddHook(counter{&n})
	s := approvals.New(c, approvals.Options{Prefix: e.prefix, Clock: e.clock})
	count := func(what string, want int64, f func() error) {
		t.Helper()
		n.Store(0)
		if err := f(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got := n.Load(); got != want {
			t.Errorf("%s: %d round trips, want %d", what, got, want)
		}
	}
	create := func(id, requester string) func() error {
		return func() error {
			_, err := s.Create(ctx(t), e.request(id, requester, "prod-db", 1), bot.Limit{N: 10, Window: time.Hour})
			return err
		}
	}
	vote := func(id string, approve bool) func() error {
		return func() error {
			_, err := s.Vote(ctx(t), id, bot.Vote{Person: "bob", Platform: bot.PlatformSlack, Approve: approve})
			return err
		}
	}
	// load the scripts first: a script Redis does not know yet takes a
	// second round trip to send its text
	for _, f := range []func() error{create("R-LOAD01", "p0"), vote("R-LOAD01", true)} {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}

	count("Create", 1, create("R-TRIP01", "p1"))
	count("approving Vote", 1, vote("R-TRIP01", true))
	count("Create", 1, create("R-TRIP02", "p2"))
	count("denying Vote", 2, vote("R-TRIP02", false))
	count("Create", 1, create("R-TRIP03", "p3"))
	count("duplicate Create", 2, func() error {
		err := create("R-TRIP04", "p3")()
		if bot.ErrorCode(err) != bot.EDUPLICATE {
			t.Errorf("duplicate Create: got %v, want %s", err, bot.EDUPLICATE)
		}
		return nil
	})
}
