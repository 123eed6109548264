package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"resetbot/internal/redistest"
	"resetbot/providers/ratelimit"
)

// backend gives a test a Redis client and a prefix of its own.
type backend func(t *testing.T) (redis.UniversalClient, string)

func realRedis(t *testing.T) (redis.UniversalClient, string) {
	return redistest.Client(t)
}

func embedded(t *testing.T) (redis.UniversalClient, string) {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	return c, "test:"
}

func cluster(t *testing.T) (redis.UniversalClient, string) {
	return redistest.ClusterClient(t)
}

// Every store passes the same suite (the playground runs on miniredis, a
// deployment may run on a Redis Cluster).
func TestLimiter(t *testing.T) {
	for name, b := range map[string]backend{"Redis": realRedis, "Miniredis": embedded, "Cluster": cluster} {
		t.Run(name, func(t *testing.T) {
			t.Run("ReplicasTogetherStayUnderTheRate", func(t *testing.T) { testReplicas(t, b) })
			t.Run("CancelReturnsPromptly", func(t *testing.T) { testCancel(t, b) })
			t.Run("DeadlineBeforeTurnFailsAtOnce", func(t *testing.T) { testDeadline(t, b) })
			t.Run("KeysAreIndependent", func(t *testing.T) { testKeys(t, b) })
		})
	}
}

// maxInWindow is the largest number of timestamps within any span of d.
func maxInWindow(ts []time.Time, d time.Duration) int {
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= d {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

func testReplicas(t *testing.T, b backend) {
	const rate, perReplica, workers = 20, 25, 4
	rdb, prefix := b(t)
	replicas := []*ratelimit.Limiter{
		ratelimit.New(rdb, prefix, rate),
		ratelimit.New(rdb, prefix, rate),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key := ratelimit.Key("cam.UpdateUser", "AKIDexample")

	var mu sync.Mutex
	var stamps []time.Time
	var wg sync.WaitGroup
	errs := make(chan error, len(replicas)*workers)
	for _, l := range replicas {
		for range workers {
			wg.Go(func() {
				for range perReplica / workers {
					if err := l.Wait(ctx, key); err != nil {
						errs <- err
						return
					}
					mu.Lock()
					stamps = append(stamps, time.Now())
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Wait: %v", err)
	}
	want := len(replicas) * (perReplica / workers) * workers
	if len(stamps) != want {
		t.Fatalf("got %d calls, want %d", len(stamps), want)
	}
	// Calls are spaced 50ms apart at the limiter, so 21 can span exactly a
	// second; a waiter that wakes up late can bunch one more.
	got := maxInWindow(stamps, time.Second)
	t.Logf("%d calls from %d replicas: at most %d in any second", len(stamps), len(replicas), got)
	if got > rate+2 {
		t.Errorf("got %d calls within one second, want at most %d (+2 tolerance)", got, rate)
	}
}

func testCancel(t *testing.T, b backend) {
	rdb, prefix := b(t)
	key := ratelimit.Key("tdmysql.ResetUserPassword", "AKIDexample")
	// Five replicas take the next five slots of a 1/s limit; a sixth then
	// has about five seconds to wait.
	bg, stopAll := context.WithCancel(context.Background())
	defer stopAll()
	var wg sync.WaitGroup
	for range 5 {
		l := ratelimit.New(rdb, prefix, 1)
		wg.Go(func() { _ = l.Wait(bg, key) })
	}
	defer wg.Wait()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	l := ratelimit.New(rdb, prefix, 1)
	go func() { done <- l.Wait(ctx, key) }()
	cancel()

	deadline, stop := context.WithTimeout(context.Background(), 2*time.Second)
	defer stop()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	case <-deadline.Done():
		t.Fatal("Wait did not return within 2s of its context being cancelled")
	}
	stopAll()
}

func testDeadline(t *testing.T, b backend) {
	rdb, prefix := b(t)
	key := ratelimit.Key("tcr.ModifyServiceAccountPassword", "AKIDexample")
	first := ratelimit.New(rdb, prefix, 1)
	if err := first.Wait(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	// The next slot is a second away: a caller with 300ms left is refused
	// without taking it (sleeping until its deadline would give the
	// context's own error, not ErrDeadline).
	second := ratelimit.New(rdb, prefix, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := second.Wait(ctx, key)
	if !errors.Is(err, ratelimit.ErrDeadline) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want ErrDeadline", err)
	}
	// The refused caller took no slot: the one after it is still a second
	// after the first call, not two.
	third := ratelimit.New(rdb, prefix, 1)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 1900*time.Millisecond)
	defer cancel2()
	if err := third.Wait(ctx2, key); err != nil {
		t.Errorf("the next caller got %v, want its turn about a second after the first call", err)
	}
}

func testKeys(t *testing.T, b backend) {
	rdb, prefix := b(t)
	l := ratelimit.New(rdb, prefix, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	// At 1/s, two calls in 500ms only fit if the keys do not share a limit.
	for _, action := range []string{"cam.UpdateUser", "ciam.SetPassword"} {
		if err := l.Wait(ctx, ratelimit.Key(action, "AKIDexample")); err != nil {
			t.Fatalf("%s: %v", action, err)
		}
	}
}

func TestKeyHidesCredential(t *testing.T) {
	k := ratelimit.Key("cam.UpdateUser", "AKIDsecretlooking123")
	if strings.Contains(k, "AKID") {
		t.Errorf("key %q shows the credential ID", k)
	}
	if !strings.HasPrefix(k, "cam.UpdateUser:") {
		t.Errorf("key %q does not start with the action", k)
	}
	if k == ratelimit.Key("cam.UpdateUser", "AKIDother") {
		t.Errorf("two credentials share a key")
	}
}

func TestWaitReportsRedisDown(t *testing.T) {
	s, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
	defer rdb.Close()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	l := ratelimit.New(rdb, "test:", 20)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.Wait(ctx, "k"); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want a Redis error", err)
	}
}

func TestLocalSpacesCalls(t *testing.T) {
	l := ratelimit.NewLocal(1)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := l.Wait(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if err := l.Wait(ctx, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second call at 1/s within 200ms: got %v, want a deadline error", err)
	}
}

func BenchmarkWaitUncontended(b *testing.B) {
	rdb, prefix := redistest.Client(b)
	l := ratelimit.New(rdb, prefix, 1_000_000)
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		if err := l.Wait(ctx, fmt.Sprint("k", i%1000)); err != nil {
			b.Fatal(err)
		}
	}
}

// On a Redis Cluster the bot's keys must share one hash slot: a client of
// the node that owns it (or a proxy) refuses the rest. The limiter's keys
// carry the approvals store's hash tag, {prefix}.
func TestKeysCarryTheBotsHashTag(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	l := ratelimit.New(rdb, prefix, 1000)
	key := ratelimit.Key("ResetPassword", "AKID")
	if err := l.Wait(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	want := "{" + prefix + "}ratelimit:" + key
	n, err := rdb.Exists(context.Background(), want).Result()
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		keys, _ := rdb.Keys(context.Background(), "*"+key+"*").Result()
		t.Errorf("key %q: got none; keys written: %q", want, keys)
	}
}
