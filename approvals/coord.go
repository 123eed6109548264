package approvals

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// Seen reports whether key is seen for the first time within ttl, across
// every process sharing the Redis: the adapters use it to drop a chat
// platform's retried or replayed delivery. Keys live under "seen:" and
// expire on their own.
//
// The Redis client sends a command again when the connection fails before
// the answer comes (after a pause or a restart), and the first send may
// have been carried out: a plain SET NX would then see its own key and call
// the first delivery a duplicate, which the adapter drops without a word.
// So each call writes a nonce of its own (SET NX GET) and is first when the
// key was absent or already holds that nonce.
func (s *Store) Seen(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	nonce, err := newToken()
	if err != nil {
		return false, err
	}
	return s.seen(ctx, key, ttl, nonce)
}

func (s *Store) seen(ctx context.Context, key string, ttl time.Duration, nonce string) (bool, error) {
	old, err := s.c.SetArgs(ctx, s.key("seen:"+key), nonce, redis.SetArgs{Mode: "NX", Get: true, TTL: ttl}).Result()
	if err == redis.Nil {
		return true, nil
	}
	if err != nil {
		return false, fail("remember delivery", err)
	}
	return old == nonce, nil
}

// Renewing and releasing must compare the holder and act in one step, or a
// replica whose lease just ran out could extend or delete its successor's.
var (
	acquireSrc = guardLua + `
local cur = R('GET', KEYS[1])
if cur == false then
  R('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if cur == ARGV[1] then
  R('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`

	renewSrc = guardLua + `
if R('GET', KEYS[1]) == ARGV[1] then
  R('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`

	releaseSrc = guardLua + `
if R('GET', KEYS[1]) == ARGV[1] then
  R('DEL', KEYS[1])
end
return 0`

	leaseAcquire = redis.NewScript(acquireSrc)
	leaseRenew   = redis.NewScript(renewSrc)
	leaseRelease = redis.NewScript(releaseSrc)
)

// Acquire takes the lease name for holder for ttl when nobody holds it, or
// extends it when holder already does, and reports whether holder holds it.
// Leases run on Redis's own clock ("lease:" keys with a TTL): they only
// decide which replica runs a long-lived session.
func (s *Store) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	n, err := leaseAcquire.Run(ctx, s.sc, []string{s.key("lease:" + name)}, holder, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fail("acquire lease "+name, err)
	}
	return n == 1, nil
}

// Renew extends holder's lease on name to ttl from now; false when holder no
// longer holds it.
func (s *Store) Renew(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	n, err := leaseRenew.Run(ctx, s.sc, []string{s.key("lease:" + name)}, holder, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fail("renew lease "+name, err)
	}
	return n == 1, nil
}

// Release gives name up if holder holds it.
func (s *Store) Release(ctx context.Context, name, holder string) error {
	if err := leaseRelease.Run(ctx, s.sc, []string{s.key("lease:" + name)}, holder).Err(); err != nil {
		return fail("release lease "+name, err)
	}
	return nil
}
