package chat_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"resetbot/adapters/chat"
	"resetbot/bot"
	"resetbot/internal/testkit"
)

// The service is what every adapter is given.
var _ chat.Service = (*bot.Service)(nil)

func TestMemory(t *testing.T) {
	ctx := context.Background()
	clock := testkit.NewClock(time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC))
	m := chat.NewMemory(clock)
	seen := func(key string) bool {
		t.Helper()
		first, err := m.Seen(ctx, key, time.Minute)
		if err != nil {
			t.Fatalf("Seen: %v", err)
		}
		return first
	}
	t.Run("FirstThenRepeat", func(t *testing.T) {
		if !seen("a") {
			t.Errorf("first a: got a repeat, want the first")
		}
		if seen("a") {
			t.Errorf("second a: got the first, want a repeat")
		}
		if !seen("b") {
			t.Errorf("first b: got a repeat, want the first")
		}
	})
	t.Run("ForgottenAfterTTL", func(t *testing.T) {
		clock.Advance(time.Minute)
		if !seen("a") {
			t.Errorf("a after its ttl: got a repeat, want the first again")
		}
	})
	t.Run("ManyKeysStayRemembered", func(t *testing.T) {
		for i := range 10000 {
			seen(string(rune('0'+i%10)) + time.Duration(i).String())
		}
		if seen("a") {
			t.Errorf("a after many other keys: got the first, want a repeat")
		}
	})
}

func TestSeenOr(t *testing.T) {
	ctx := context.Background()
	calls := 0
	shared := chat.Seen(func(context.Context, string, time.Duration) (bool, error) { calls++; return true, nil })
	if _, _ = chat.SeenOr(shared, nil)(ctx, "k", time.Minute); calls != 1 {
		t.Errorf("SeenOr with a shared memory: it was called %d times, want 1", calls)
	}
	mem := chat.SeenOr(nil, nil)
	if first, _ := mem(ctx, "k", time.Minute); !first {
		t.Errorf("SeenOr(nil): first k is a repeat")
	}
	if first, _ := mem(ctx, "k", time.Minute); first {
		t.Errorf("SeenOr(nil): second k is the first")
	}
}

func request(state bot.State, at time.Time, votes int) bot.Request {
	r := bot.Request{ID: "R-222222", State: state, UpdatedAt: at}
	for range votes {
		r.Votes = append(r.Votes, bot.Vote{Approve: true})
	}
	return r
}

func TestCards(t *testing.T) {
	at := time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)
	pending := request(bot.StatePending, at, 0)
	approved := request(bot.StateApproved, at.Add(time.Second), 1)
	done := request(bot.StateSucceeded, at.Add(2*time.Second), 1)

	t.Run("OlderStateNeverReplacesNewer", func(t *testing.T) {
		var c chat.Cards
		var shown []bot.State
		show := func(r bot.Request) {
			if err := c.Update(context.Background(), "C1/1", r, func() error { shown = append(shown, r.State); return nil }); err != nil {
				t.Fatal(err)
			}
		}
		c.Posted("C1/1", pending)
		show(done)
		show(approved) // late: the card shows done already
		show(done)     // the same state again is shown (an edit that failed before)
		if got, want := len(shown), 2; got != want || shown[0] != bot.StateSucceeded || shown[1] != bot.StateSucceeded {
			t.Errorf("edits: got %v, want [succeeded succeeded]", shown)
		}
	})

	t.Run("PostedCountsAsShown", func(t *testing.T) {
		var c chat.Cards
		c.Posted("C1/2", approved)
		called := false
		_ = c.Update(context.Background(), "C1/2", pending, func() error { called = true; return nil })
		if called {
			t.Errorf("a pending update after an approved card was posted: edited, want dropped")
		}
	})

	t.Run("FailedEditKeepsWhatWasShown", func(t *testing.T) {
		var c chat.Cards
		boom := errors.New("boom")
		if err := c.Update(context.Background(), "C1/3", done, func() error { return boom }); !errors.Is(err, boom) {
			t.Fatalf("Update: got %v, want the edit's error", err)
		}
		called := false
		_ = c.Update(context.Background(), "C1/3", approved, func() error { called = true; return nil })
		if !called {
			t.Errorf("after a failed edit to done, approved was dropped; want it shown")
		}
	})

	t.Run("OneEditAtATime", func(t *testing.T) {
		var c chat.Cards
		var running, most atomic.Int32
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				r := request(bot.StatePending, at.Add(time.Duration(i)), 0)
				_ = c.Update(context.Background(), "C1/4", r, func() error {
					n := running.Add(1)
					defer running.Add(-1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					return nil
				})
			})
		}
		wg.Wait()
		if got := most.Load(); got != 1 {
			t.Errorf("edits of one card at once: got %d, want 1", got)
		}
	})
}

var errLimited = errors.New("rate limited")

func TestRetry(t *testing.T) {
	ctx := context.Background()
	limited := func(after time.Duration) func(error) chat.Verdict {
		return func(err error) chat.Verdict { return chat.Verdict{Again: errors.Is(err, errLimited), After: after} }
	}
	failing := func(n int, err error) (func(context.Context) error, *int) {
		tries := 0
		return func(context.Context) error {
			tries++
			if tries <= n {
				return err
			}
			return nil
		}, &tries
	}
	r := chat.Retry{Platform: "test", Tries: 3, Backoff: time.Millisecond}

	t.Run("RetryAfterIsHonoured", func(t *testing.T) {
		call, tries := failing(2, errLimited)
		start := time.Now()
		if err := r.Do(ctx, "post", limited(20*time.Millisecond), call); err != nil {
			t.Fatalf("Do: %v", err)
		}
		if *tries != 3 {
			t.Errorf("tries: got %d, want 3", *tries)
		}
		if waited := time.Since(start); waited < 40*time.Millisecond {
			t.Errorf("waited %s, want at least the two Retry-Afters (40ms)", waited)
		}
	})

	t.Run("TriesAreBounded", func(t *testing.T) {
		call, tries := failing(10, errLimited)
		if err := r.Do(ctx, "post", limited(0), call); !errors.Is(err, errLimited) {
			t.Errorf("Do: got %v, want the last error", err)
		}
		if *tries != 3 {
			t.Errorf("tries: got %d, want 3", *tries)
		}
	})

	t.Run("FinalErrorIsNotRetried", func(t *testing.T) {
		final := errors.New("channel_not_found")
		call, tries := failing(10, final)
		if err := r.Do(ctx, "post", limited(0), call); !errors.Is(err, final) || *tries != 1 {
			t.Errorf("Do: got %v after %d tries, want the error after 1", err, *tries)
		}
	})

	t.Run("LongRetryAfterGivesUpAtOnce", func(t *testing.T) {
		capped := r
		capped.MaxWait = time.Second
		call, tries := failing(10, errLimited)
		if err := capped.Do(ctx, "post", limited(time.Minute), call); !errors.Is(err, errLimited) || *tries != 1 {
			t.Errorf("Do: got %v after %d tries, want the error after 1", err, *tries)
		}
	})

	t.Run("NoWaitPastTheDeadline", func(t *testing.T) {
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		call, tries := failing(10, errLimited)
		start := time.Now()
		if err := r.Do(dctx, "post", limited(time.Minute), call); !errors.Is(err, errLimited) || *tries != 1 {
			t.Errorf("Do: got %v after %d tries, want the error after 1", err, *tries)
		}
		if waited := time.Since(start); waited > 500*time.Millisecond {
			t.Errorf("waited %s for a Retry-After past the deadline, want no wait", waited)
		}
	})

	t.Run("CancelledWhileWaiting", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		call := func(context.Context) error {
			time.AfterFunc(10*time.Millisecond, cancel) // once Do waits
			return errLimited
		}
		err := r.Do(cctx, "post", limited(time.Minute), call)
		if !errors.Is(err, errLimited) || !errors.Is(err, context.Canceled) {
			t.Errorf("Do: got %v, want the call's error and the context's", err)
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1", time.Second, true},
		{"0.05", 50 * time.Millisecond, true},
		{"Tue, 04 Mar 2025 09:00:30 GMT", 30 * time.Second, true},
		{"Tue, 04 Mar 2025 08:00:00 GMT", 0, true},
		{"", 0, false},
		{"-1", 0, false},
		{"NaN", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, ok := chat.ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseRetryAfter(%q): got %s %v, want %s %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestPool(t *testing.T) {
	t.Run("WaitWaitsForTheWork", func(t *testing.T) {
		p := chat.NewPool("test", 2, nil)
		var done atomic.Int32
		release := make(chan struct{})
		for range 5 {
			p.Go(context.Background(), "work", time.Minute, func(context.Context) {
				<-release
				done.Add(1)
			})
		}
		close(release)
		p.Wait()
		if got := done.Load(); got != 5 {
			t.Errorf("work done after Wait: got %d, want 5", got)
		}
	})

	t.Run("BoundedAtOnce", func(t *testing.T) {
		p := chat.NewPool("test", 2, nil)
		var running, most atomic.Int32
		started := make(chan struct{}, 6)
		release := make(chan struct{})
		for range 6 {
			p.Go(context.Background(), "work", time.Minute, func(context.Context) {
				n := running.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				started <- struct{}{}
				<-release
				running.Add(-1)
			})
		}
		<-started
		<-started
		close(release)
		p.Wait()
		if got := most.Load(); got > 2 {
			t.Errorf("work running at once: got %d, want at most 2", got)
		}
	})

	t.Run("OutlivesTheRequest", func(t *testing.T) {
		p := chat.NewPool("test", 1, nil)
		ctx, cancel := context.WithCancel(context.Background())
		var err atomic.Value
		p.Go(ctx, "work", time.Minute, func(wctx context.Context) {
			cancel() // the handler answered
			err.Store(wctx.Err() == nil)
		})
		p.Wait()
		if alive, _ := err.Load().(bool); !alive {
			t.Errorf("the work's context ended with the request's")
		}
	})

	t.Run("PanicIsContained", func(t *testing.T) {
		logs := &testkit.Log{}
		p := chat.NewPool("test", 1, slog.New(slog.NewTextHandler(logs, nil)))
		p.Go(context.Background(), "bad payload", time.Minute, func(context.Context) { panic("boom") })
		p.Wait() // reached: the panic did not take the process down
		if !strings.Contains(logs.String(), "panicked") || !strings.Contains(logs.String(), "bad payload") {
			t.Errorf("log: got %q, want the panic logged with its work", logs.String())
		}
	})
}

func TestPoolTryGoRefusesWhenTheQueueIsFull(t *testing.T) {
	p := chat.NewPool("test", 1, nil)
	release := make(chan struct{})
	started := make(chan struct{}, 8)
	work := func(context.Context) { started <- struct{}{}; <-release }
	if !p.TryGo(context.Background(), "running", time.Minute, work) {
		t.Fatal("the first work was refused")
	}
	<-started // it holds the one slot
	if !p.TryGo(context.Background(), "queued", time.Minute, work) {
		t.Fatal("the first queued work was refused, with room for one")
	}
	if p.TryGo(context.Background(), "one too many", time.Minute, work) {
		t.Error("work was queued beyond the bound")
	}
	close(release)
	p.Wait()
	if got := 1 + len(started); got != 2 { // one was read above
		t.Errorf("ran %d pieces of work, want 2", got)
	}
}

func TestGateSlowsOneUserAlone(t *testing.T) {
	g := chat.NewGate(time.Hour, 3)
	for i := range 3 {
		if !g.Allow("flooder") {
			t.Fatalf("payload %d of the burst refused", i+1)
		}
	}
	if g.Allow("flooder") {
		t.Error("a fourth payload within the hour was admitted")
	}
	if !g.Allow("approver") {
		t.Error("another user was slowed down by the flooder")
	}
}

func TestCardsUpdateWaitEndsWithTheContext(t *testing.T) {
	var c chat.Cards
	r := bot.Request{ID: "R-AAAAAA", State: bot.StatePending, Rev: 1}
	inside, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = c.Update(context.Background(), "C1/5", r, func() error { close(inside); <-release; return nil })
	}()
	<-inside
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	err := c.Update(ctx, "C1/5", r, func() error { called = true; return nil })
	if bot.ErrorCode(err) != bot.EUNAVAILABLE || called {
		t.Errorf("an update waiting behind another, its context ended: got %v (edit run: %v), want EUNAVAILABLE and no edit", err, called)
	}
	close(release)
}
