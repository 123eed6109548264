package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/approvals"
	"resetbot/bot"
	"resetbot/config"
	"resetbot/internal/redistest"
	"resetbot/providers/ratelimit"
)

// A TLS Redis with certificates made by the test, reached through
// rediss:// with redis.tls's files; without the CA file the server's
// certificate is refused.
func TestRedisClientTLS(t *testing.T) {
	srv := redistest.StartTLS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	files := config.RedisTLS{CAFile: srv.CAFile, CertFile: srv.CertFile, KeyFile: srv.KeyFile, ServerName: "redis.test"}
	c, err := redisClient(config.Redis{URL: bot.NewSecret("rediss://" + srv.Addr + "/0"), TLS: &files})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	store := approvals.New(c, approvals.Options{Prefix: "tls:"})
	if err := store.Ping(ctx); err != nil {
		t.Fatalf("Ping over TLS: %v", err)
	}

	noCA := files
	noCA.CAFile = ""
	c2, err := redisClient(config.Redis{URL: bot.NewSecret("rediss://" + srv.Addr + "/0"), TLS: &noCA})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Ping without the CA: got %v, want a certificate error", err)
	}

	plain, err := redisClient(config.Redis{URL: bot.NewSecret("redis://" + srv.Addr + "/0")})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if err := plain.Ping(ctx).Err(); err == nil {
		t.Error("Ping in clear text to a TLS-only server: got nil, want an error")
	}
}

// Pointed at a Cluster node that does not own the bot's hash slot, the
// readiness check fails (the node refuses every key of the bot with MOVED);
// at the owner, or through a cluster client, it passes. At the owner the
// rate limiter works too: its keys share the slot.
func TestReadyOnClusterNeedsTheSlotOwner(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const prefix = "resetbot:"
	owner, other := redistest.SlotOwner(t, "{"+prefix+"}ready")
	ping := func(c redis.UniversalClient) error {
		defer c.Close()
		return approvals.New(c, approvals.Options{Prefix: prefix}).Ping(ctx)
	}
	if err := ping(redis.NewClient(&redis.Options{Addr: other})); err == nil || bot.ErrorCode(err) == "" {
		t.Errorf("Ping at %s, which does not own the slot: got %v, want an error", other, err)
	}
	if err := ping(redis.NewClient(&redis.Options{Addr: owner})); err != nil {
		t.Errorf("Ping at the owner %s: %v", owner, err)
	}
	cl, err := redisClient(config.Redis{Cluster: &config.RedisCluster{Addrs: []string{other}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := ping(cl); err != nil {
		t.Errorf("Ping through a cluster client given %s: %v", other, err)
	}

	c := redis.NewClient(&redis.Options{Addr: owner})
	defer c.Close()
	if err := ratelimit.New(c, prefix, 1000).Wait(ctx, ratelimit.Key("ResetUserPassword", "AKID")); err != nil {
		t.Errorf("the rate limiter at the slot's owner: %v", err)
	}
}

// TestServeAtTheClusterNodeOwningItsSlot: serve pointed by redis.url at the
// Cluster node that owns the bot's hash slot runs a whole reset, its cloud
// call through the rate limiter in Redis, with every key it writes in that
// slot (no MOVED anywhere); pointed at another node, /readyz says it is not
// ready, as the ask would fail.
func TestServeAtTheClusterNodeOwningItsSlot(t *testing.T) {
	prefix := fmt.Sprintf("slot-owner:%d:", time.Now().UnixNano())
	owner, other := redistest.SlotOwner(t, "{"+prefix+"}ready")
	cl, _ := redistest.ClusterClient(t)
	t.Cleanup(func() {
		ctx := context.Background()
		_ = cl.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			for _, k := range c.Keys(ctx, "{"+prefix+"}*").Val() {
				c.Del(ctx, k)
			}
			return nil
		})
	})

	w := startWorldOn(t, owner, prefix, worldOptions{})
	ctx := context.Background()
	id, _ := w.reset(t, "locked out")
	if r, err := w.srv.store.Get(ctx, id); err != nil || r.State != bot.StateSucceeded {
		t.Fatalf("after the reveal: %s, %v; want succeeded", r.State, err)
	}
	node := redis.NewClient(&redis.Options{Addr: owner})
	defer node.Close()
	keys := node.Keys(ctx, "*"+prefix+"*").Val()
	if !slices.ContainsFunc(keys, func(k string) bool { return strings.Contains(k, "ratelimit") }) {
		t.Errorf("keys at the owner %q: want the rate limiter's among them", keys)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "{"+prefix+"}") {
			t.Errorf("key %q is outside the bot's hash tag", k)
		}
	}
	if strings.Contains(w.log.String(), "MOVED") {
		t.Errorf("serve's log mentions MOVED:\n%s", w.log.String())
	}

	elsewhere := startWorldOn(t, other, prefix, worldOptions{})
	res, err := http.Get("http://" + elsewhere.addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz at %s, which does not own the slot: %d, want 503", other, res.StatusCode)
	}
}
