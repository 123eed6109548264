package approvals_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/approvals"
	"resetbot/bot"
	"resetbot/internal/redistest"
)

// counter counts the round trips a client makes: one per command, one per
// pipeline.
type counter struct{ n *atomic.Int64 }

func (c counter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

// BenchmarkVote measures votes through Store.Vote on a real redis-server of
// its own, in parallel, and the round trips each takes (one: the vote's
// script). Each request needs two approvals, so half the votes record an
// approval and half approve and queue the request: under WithoutRules, two
// approvals from anyone (a request an earlier version stored); under
// OneRule, two approvals of one rule; under TwoRules, one from each of two
// rules whose groups share a person, decided by the script's matching.
func BenchmarkVote(b *testing.B) {
	one := []bot.RequestRule{{Name: "approvers", Count: 2, People: []string{"approver-0", "approver-1", "approver-2"}}}
	two := []bot.RequestRule{
		{Name: "db-approvers", Count: 1, People: []string{"approver-0", "approver-2"}},
		{Name: "security", Count: 1, People: []string{"approver-1", "approver-2"}},
	}
	b.Run("WithoutRules", func(b *testing.B) { benchmarkVote(b, nil) }) // as an earlier version stored it
	b.Run("OneRule", func(b *testing.B) { benchmarkVote(b, one) })
	b.Run("TwoRules", func(b *testing.B) { benchmarkVote(b, two) })
}

func benchmarkVote(b *testing.B, rules []bot.RequestRule) {
	srv, err := redistest.Start()
	if err != nil {
		b.Fatalf("start redis-server: %v", err)
	}
	defer srv.Stop()
	benchmarkVoteOn(b, srv.Addr, 0, rules)
}

// BenchmarkVoteReplicated is BenchmarkVote's OneRule on a master with one
// replica: without waiting for it, and waiting (Options.Replicas 1, as on a
// Sentinel setup): what WAIT in the script's pipeline costs. Still one
// round trip a vote.
func BenchmarkVoteReplicated(b *testing.B) {
	one := []bot.RequestRule{{Name: "approvers", Count: 2, People: []string{"approver-0", "approver-1", "approver-2"}}}
	for _, replicas := range []int{0, 1} {
		b.Run(fmt.Sprintf("Replicas%d", replicas), func(b *testing.B) {
			r := redistest.StartReplicated(b)
			benchmarkVoteOn(b, r.Master, replicas, one)
		})
	}
}

func benchmarkVoteOn(b *testing.B, addr string, replicas int, rules []bot.RequestRule) {
	var roundTrips atomic.Int64
	client := redis.NewClient(&redis.Options{Addr: addr})
	defer client.Close()
	client.AddHook(counter{&roundTrips})
	store := approvals.New(client, approvals.Options{Replicas: replicas})
	ctx := context.Background()

	requests := (b.N+1)/2 + 1
	ids := make(chan int, requests)
	for i := range requests {
		ids <- i
	}
	close(ids)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range ids {
				_, err := store.Create(ctx, bot.Request{
					ID: fmt.Sprintf("R-%07d", i), Account: "prod-db", Requester: fmt.Sprintf("p%d", i),
					Platform: bot.PlatformSlack, Approvals: 2, Rules: rules, ExpiresAt: time.Now().Add(time.Hour),
				}, bot.Limit{N: 10, Window: time.Hour})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	// The last request loads the vote script before the clock starts.
	if _, err := store.Vote(ctx, fmt.Sprintf("R-%07d", requests-1), bot.Vote{Person: "approver-2", Approve: true}); err != nil {
		b.Fatal(err)
	}

	var next, approved atomic.Int64
	roundTrips.Store(0)
	// Clicks arrive from many users at once: more goroutines than cores.
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			v := bot.Vote{Person: fmt.Sprintf("approver-%d", i%2), Platform: bot.PlatformSlack, Approve: true}
			r, err := store.Vote(ctx, fmt.Sprintf("R-%07d", i/2), v)
			if err != nil {
				b.Error(err)
				return
			}
			if r.State == bot.StateApproved {
				approved.Add(1)
			}
		}
	})
	b.StopTimer()
	// Every request both voters voted on is approved, by one vote.
	if want := int64(b.N / 2); approved.Load() != want {
		b.Errorf("approving votes: got %d, want %d", approved.Load(), want)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "votes/s")
	b.ReportMetric(float64(roundTrips.Load())/float64(b.N), "roundtrips/op")
}
