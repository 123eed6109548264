package approvals_test

import (
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"resetbot/bot"
	"resetbot/internal/redistest"
	"resetbot/internal/testkit"
)

// lifetimeServer is a server on which a test can let Redis's own clock
// pass a ref's lifetime: miniredis is moved on by hand; a real server is
// given a short lifetime and waited on (at most a second).
type lifetimeServer struct {
	name     string
	lifetime time.Duration
	start    func(t *testing.T) (addr string, pass func(t *testing.T, gone func() bool))
}

func lifetimeServers() []lifetimeServer {
	return []lifetimeServer{
		{"RedisServer", 300 * time.Millisecond, func(t *testing.T) (string, func(*testing.T, func() bool)) {
			return redistest.Addr(t), func(t *testing.T, gone func() bool) {
				deadline := time.Now().Add(time.Second)
				for !gone() {
					if time.Now().After(deadline) {
						t.Fatal("still there a second after its 300ms lifetime")
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		}},
		{"Miniredis", 15 * time.Minute, func(t *testing.T) (string, func(*testing.T, func() bool)) {
			m := miniredis.RunT(t)
			return m.Addr(), func(t *testing.T, gone func() bool) {
				m.FastForward(15 * time.Minute)
				if !gone() {
					t.Fatal("still there after its 15-minute lifetime")
				}
			}
		}},
	}
}

// A Discord interaction token is kept only while it can be used
// (Actor.RefsFor): gone from Get and from Redis after its lifetime, and at
// once when the request ends.
func TestRefsKeptWhileUsable(t *testing.T) {
	const token = "interaction-token-0123456789"
	tokenRef := bot.Ref(bot.RefInteraction, bot.PlatformDiscord)
	for _, srv := range lifetimeServers() {
		t.Run(srv.name, func(t *testing.T) {
			addr, pass := srv.start(t)
			e := newEnv(t, server{name: srv.name, addr: func(*testing.T) string { return addr }})
			create := func(t *testing.T, id string) {
				t.Helper()
				req := e.request(id, "alice", "acct-"+id, 1)
				req.Refs = map[bot.RefKey]string{tokenRef: token}
				req.RefsFor = srv.lifetime
				got := e.mustCreate(req)
				if got.Refs[tokenRef] != token {
					t.Fatalf("Create returned refs %v, want the token", got.Refs)
				}
			}
			dump := func() string { return testkit.RedisDump(t, e.raw, globEscape("{"+e.prefix+"}")+"*") }
			hasToken := func(id string) bool {
				t.Helper()
				r, err := e.store.Get(ctx(t), id)
				if err != nil {
					t.Fatal(err)
				}
				return r.Refs[tokenRef] == token
			}

			t.Run("GoneAfterItsLifetime", func(t *testing.T) {
				create(t, "R-LIFE01")
				if !hasToken("R-LIFE01") {
					t.Fatal("Get lacks the token within its lifetime")
				}
				if h := e.raw.HGetAll(ctx(t), e.key("req:R-LIFE01")).Val(); strings.Contains(strings.Join(mapValues(h), " "), token) {
					t.Fatal("the token is in the request's hash, which is kept for 30 days")
				}
				if r := e.mustVote("R-LIFE01", "bob", true); r.Refs[tokenRef] != token {
					t.Errorf("Vote returned refs %v, want the token", r.Refs)
				}
				c := e.mustNext(e.store, "exec-1", time.Minute)
				if c.Request.Refs[tokenRef] != token {
					t.Errorf("Next returned refs %v, want the token", c.Request.Refs)
				}
				t.Cleanup(func() { _, _ = e.store.Finish(ctx(t), c, bot.StateFailed, "test over") })
				pass(t, func() bool { return !hasToken("R-LIFE01") })
				if d := dump(); strings.Contains(d, token) {
					t.Errorf("Redis still holds the token after its lifetime:\n%s", d)
				}
				if r := e.mustGet("R-LIFE01"); r.State != bot.StateExecuting || r.Account != "acct-R-LIFE01" {
					t.Errorf("the request itself: got %s for %s, want executing, whole", r.State, r.Account)
				}
			})
			ends := []struct {
				name string
				end  func(t *testing.T, id string)
			}{
				{"Cancelled", func(t *testing.T, id string) {
					if _, err := e.store.Cancel(ctx(t), id, "alice", bot.PlatformDiscord); err != nil {
						t.Fatal(err)
					}
				}},
				{"Denied", func(t *testing.T, id string) { e.mustVote(id, "bob", false) }},
				{"Expired", func(t *testing.T, id string) {
					e.clock.Advance(time.Hour)
					if _, err := e.store.ExpireDue(ctx(t)); err != nil {
						t.Fatal(err)
					}
				}},
				{"Finished", func(t *testing.T, id string) {
					e.mustVote(id, "bob", true)
					c := e.mustNext(e.store, "exec-1", time.Minute)
					if c.Request.ID != id {
						t.Fatalf("claimed %s, want %s", c.Request.ID, id)
					}
					if _, err := e.store.Finish(ctx(t), c, bot.StateFailed, "could not offer"); err != nil {
						t.Fatal(err)
					}
				}},
			}
			for i, end := range ends {
				t.Run("GoneWhen"+end.name, func(t *testing.T) {
					id := "R-END00" + string(rune('1'+i))
					create(t, id)
					end.end(t, id)
					r := e.mustGet(id)
					if !r.State.Terminal() {
						t.Fatalf("state: got %s, want terminal", r.State)
					}
					if r.Refs[tokenRef] != "" {
						t.Errorf("Get after the end: refs %v, want no token", r.Refs)
					}
					if d := dump(); strings.Contains(d, token) {
						t.Errorf("Redis still holds the token after the request ended:\n%s", d)
					}
				})
			}
			t.Run("WithoutLifetimeKept", func(t *testing.T) {
				req := e.request("R-KEPT01", "alice", "acct-kept", 1)
				req.Refs = map[bot.RefKey]string{bot.Ref(bot.RefCard, bot.PlatformSlack): "C1/1.2"}
				e.mustCreate(req)
				e.mustVote("R-KEPT01", "bob", false)
				if got := e.mustGet("R-KEPT01").Refs[bot.Ref(bot.RefCard, bot.PlatformSlack)]; got != "C1/1.2" {
					t.Errorf("card ref after the end: got %q, want it kept with the request", got)
				}
			})
		})
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
