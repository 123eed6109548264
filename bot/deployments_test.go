package bot_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/bot"
	"resetbot/internal/redistest"
)

// The service on the Redis setups users run besides one node: a real
// three-master Cluster and a real Sentinel setup. An ask is approved,
// offered and revealed, and resets once.
func TestServiceAskApproveRevealOnClusterAndSentinel(t *testing.T) {
	for name, setup := range map[string]func(t *testing.T) *env{
		"Cluster": func(t *testing.T) *env {
			c, prefix := redistest.ClusterClient(t)
			return newEnvOn(t, c, prefix)
		},
		"Sentinel": func(t *testing.T) *env {
			c, prefix := redistest.SharedSentinel(t).Client(t)
			return newEnvReplicated(t, c, prefix, 1)
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := setup(t)
			id := e.offered(e.svc)
			var s show
			if err := e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, s.fn); err != nil {
				t.Fatalf("alice's Reveal: %v", err)
			}
			e.wantState(id, bot.StateSucceeded)
			if got := e.prov.calls.Load(); got != 1 || len(s.all()) != 1 {
				t.Errorf("resets, passwords shown: got %d, %d; want 1, 1", got, len(s.all()))
			}
			e.wantAudit(id, "delivered", "system", "at the Reveal click")
		})
	}
}

// A forced Sentinel failover in the middle of traffic: two replicas of the
// bot, each with its executor, and two requesters, each running resets one
// after another (ask, approve, offer, Reveal) on a replica of their own,
// while the master changes. Every error a person gets during the switch is
// EUNAVAILABLE ("try again"); every ask acknowledged is still there
// afterwards and ends succeeded; no request is reset twice. Logged, figures
// and not limits: the "try again" answers, the longest a step waited for
// its answer, and the time from the failover to the end of the first reset
// begun once the sentinels named the new master.
//
// The stores wait for the replica after each write (Replicas 1, as serve
// does on a Sentinel setup): without that, a write the old master took in
// the moment before it learnt it was no longer the master was acknowledged
// and then lost (an approval acknowledged, the request still pending after
// the switch). A claim whose answer the switch cut is sent again with its
// token, and a queue entry whose claim was lost goes out again after a few
// seconds: without those, a request stayed claimed by no one, or approved
// and unclaimed, until a two-minute lease ran out.
func TestServiceSentinelFailoverMidTraffic(t *testing.T) {
	s := redistest.StartSentinel(t)
	client, prefix := s.Client(t)
	// no rate limit: the traffic runs until the switch is over
	noLimit := func(o *bot.Options) { o.Limit = bot.Limit{N: 1000, Window: time.Hour} }
	e := newEnvReplicated(t, client, prefix, 1, noLimit)
	other, _ := s.Client(t)
	b, _ := e.newService(other, noLimit)
	// The master refuses writes until the old one has become its replica
	// (min-replicas-to-write 1, which keeps acknowledged writes): some
	// seconds, more than the usual wait; on a loaded machine (the whole
	// suite on two cores) the old master takes much longer to come back
	// as a replica, so the bound is generous: the recovery time is logged.
	var cancel context.CancelFunc
	e.ctx, cancel = context.WithTimeout(t.Context(), 3*time.Minute)
	t.Cleanup(cancel)
	e.runExecutor(e.svc, "exec-a")
	e.runExecutor(b, "exec-b")

	var (
		mu           sync.Mutex // guards what follows
		unavailable  int
		failedAt     time.Time
		now          string        // the new master, once every sentinel names it (WaitMaster)
		nowAt        time.Time     // when the test saw that
		recovered    time.Duration // from the failover to the end of the first reset begun once the sentinels named the new master
		longest      time.Duration // the longest a person's step (ask, approve, Reveal) waited for its answer
		acknowledged []string
	)
	// try runs step until it answers something other than EUNAVAILABLE,
	// and returns that error; any other code but ok's is an error too.
	try := func(what string, step func() error, ok ...string) error {
		for {
			began := time.Now()
			err := step()
			if !strings.HasPrefix(what, "get ") { // (a get waits for the executor too)
				mu.Lock()
				longest = max(longest, time.Since(began))
				mu.Unlock()
			}
			if bot.ErrorCode(err) != bot.EUNAVAILABLE {
				if err != nil && !slicesContains(ok, bot.ErrorCode(err)) {
					return fmt.Errorf("%s: got %w, want success or EUNAVAILABLE", what, err)
				}
				return nil
			}
			mu.Lock()
			unavailable++
			mu.Unlock()
			if msg := bot.ErrorMessage(err); !strings.Contains(msg, "try again") {
				t.Errorf("%s: unavailable, saying %q: want it to say try again", what, msg)
			}
			select {
			case <-e.ctx.Done():
				return fmt.Errorf("%s: still unavailable when the test's time ran out", what)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	waitState := func(id string, want ...bot.State) error {
		return try("get "+id, func() error {
			for {
				r, err := e.store.Get(e.ctx, id)
				if err != nil || slicesContains(want, r.State) {
					return err
				}
				select {
				case <-e.ctx.Done():
					return fmt.Errorf("state of %s stayed %s", id, r.State)
				case <-time.After(10 * time.Millisecond):
				}
			}
		})
	}
	// cycle is one reset of requester's, approved by approver, on svc.
	cycle := func(svc *bot.Service, requester, approver string) error {
		began := time.Now()
		asker, voter := as(requester, bot.PlatformDiscord), as(approver, bot.PlatformSlack)
		var id string
		err := try("ask", func() error {
			r := svc.HandleText(e.ctx, asker, "prod-db locked out")
			if r.Err == nil {
				id = r.Request.ID
				mu.Lock()
				acknowledged = append(acknowledged, id)
				mu.Unlock()
				return nil
			}
			if bot.ErrorCode(r.Err) == bot.EDUPLICATE {
				// an ask whose answer was lost was made: the person is now
				// told its ID; carry on with it
				open, err := e.store.Open(e.ctx, requester)
				if err != nil {
					return err
				}
				id = open[0].ID
				mu.Lock()
				if !slicesContains(acknowledged, id) {
					acknowledged = append(acknowledged, id)
				}
				mu.Unlock()
				return nil
			}
			return r.Err
		})
		if err != nil {
			return err
		}
		if err := try("approve "+id, func() error { return svc.HandleText(e.ctx, voter, "approve "+id).Err }, bot.ECONFLICT); err != nil {
			return err
		}
		if err := waitState(id, bot.StateOffered); err != nil {
			return err
		}
		var sh show
		if err := try("reveal "+id, func() error { return svc.Reveal(e.ctx, asker, id, sh.fn) }, bot.ECONFLICT); err != nil {
			return err
		}
		if err := waitState(id, bot.StateSucceeded, bot.StateFailed); err != nil {
			return err
		}
		mu.Lock()
		if now != "" && began.After(nowAt) && recovered == 0 {
			recovered = time.Since(failedAt)
		}
		mu.Unlock()
		return nil
	}

	// Each requester runs resets until told to stop; cycles counts them.
	var (
		stop   atomic.Bool
		cycles [2]atomic.Int64
		wg     sync.WaitGroup
	)
	// (should the test end early, the requesters stop before it does)
	t.Cleanup(func() { stop.Store(true); cancel(); wg.Wait() })
	for i, w := range []struct {
		svc                 *bot.Service
		requester, approver string
	}{{e.svc, "alice", "bob"}, {b, "sam", "carol"}} {
		wg.Go(func() {
			for !stop.Load() {
				if err := cycle(w.svc, w.requester, w.approver); err != nil {
					t.Errorf("%s's resets: %v", w.requester, err)
					stop.Store(true)
					return
				}
				cycles[i].Add(1)
			}
		})
	}
	// waitCycles waits until each requester has done n more resets.
	waitCycles := func(n int64) {
		from := [2]int64{cycles[0].Load(), cycles[1].Load()}
		for !stop.Load() && (cycles[0].Load() < from[0]+n || cycles[1].Load() < from[1]+n) {
			select {
			case <-e.ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	waitCycles(3)
	mu.Lock()
	failedAt = time.Now()
	mu.Unlock()
	old := s.Failover(t)
	moved := s.WaitMaster(t, old)
	mu.Lock()
	now, nowAt = moved, time.Now()
	mu.Unlock()
	waitCycles(3)
	stop.Store(true)
	wg.Wait()
	if t.Failed() {
		t.Logf("the bots' log:\n%s", e.log.String())
		return
	}

	t.Logf("master moved from %s to %s; %d resets, 3 each before the failover, 3 each after the switch", old, now, len(acknowledged))
	for _, id := range acknowledged {
		r, err := e.store.Get(e.ctx, id)
		if err != nil {
			t.Errorf("acknowledged %s: %v (lost in the failover)", id, err)
			continue
		}
		if r.State != bot.StateSucceeded {
			t.Errorf("acknowledged %s: state %s (%s), want succeeded", id, r.State, r.Outcome)
		}
	}
	if got := e.prov.calls.Load(); got != int64(len(acknowledged)) {
		t.Errorf("resets: got %d for %d acknowledged asks, want one each", got, len(acknowledged))
	}
	t.Logf("failover: %d answers were \"try again\"; the longest wait for an answer was %v; the first reset begun once the sentinels named the new master ended %v after SENTINEL FAILOVER",
		unavailable, longest.Round(time.Millisecond), recovered.Round(time.Millisecond))
}

func slicesContains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// An ask the master took but no replica confirmed is answered "try
// again", and may stand: its cards are owed, so that once the store
// answers, the sweeper posts them, and the approvers see the request the
// requester's "try again" finds as a duplicate.
func TestServiceUnconfirmedAskGetsItsCard(t *testing.T) {
	r := redistest.StartReplicated(t)
	client := redis.NewClient(&redis.Options{Addr: r.Master})
	t.Cleanup(func() { _ = client.Close() })
	e := newEnvReplicated(t, client, "unconfirmed:", 1)
	resume := r.Stall(t)
	alice := as("alice", bot.PlatformSlack)
	res := e.do(alice, "prod-db locked out")
	if bot.ErrorCode(res.Err) != bot.EUNAVAILABLE || !strings.Contains(bot.ErrorMessage(res.Err), "did not confirm") {
		t.Fatalf("ask with the replica stalled: got %v, want EUNAVAILABLE saying it did not confirm", res.Err)
	}
	if n := e.chat.count("card", nil); n != 0 {
		t.Fatalf("cards posted for an unconfirmed ask: %d, want 0 until the sweep", n)
	}
	resume()
	open, err := e.store.Open(e.ctx, "alice")
	if err != nil || len(open) != 1 {
		t.Fatalf("alice's open requests once the replica is back: %v, %v; want the unconfirmed ask", open, err)
	}
	id := open[0].ID
	e.svc.Sweep(e.ctx)
	posted := func(s shown) bool { return s.Request.ID == id && s.Ref == "" }
	if n := e.chat.count("card", posted); n != 2 {
		t.Errorf("cards of %s posted by the sweep: %d, want one per platform (2)", id, n)
	}
	if again := e.do(alice, "prod-db locked out"); bot.ErrorCode(again.Err) != bot.EDUPLICATE {
		t.Errorf("alice's try again: got %v, want a duplicate of %s", again.Err, id)
	}

	// An approval no replica confirmed: "try again", and its cards owed.
	resume = r.Stall(t)
	if res := e.do(as("bob", bot.PlatformSlack), "approve "+id); bot.ErrorCode(res.Err) != bot.EUNAVAILABLE {
		t.Fatalf("bob's approval with the replica stalled: got %v, want EUNAVAILABLE", res.Err)
	}
	e.wantCardState(id, bot.StatePending)
	resume()
	e.svc.Sweep(e.ctx)
	e.wantCardState(id, bot.StateApproved)
}

// A Reveal whose claim no replica confirmed goes on: the check right
// before the cloud call waits (its own write and WAIT) until the replica
// confirms, then the reset runs, once.
func TestServiceUnconfirmedRevealConfirmedBeforeTheReset(t *testing.T) {
	r := redistest.StartReplicated(t)
	client := redis.NewClient(&redis.Options{Addr: r.Master})
	t.Cleanup(func() { _ = client.Close() })
	e := newEnvReplicated(t, client, "unconfirmed-reveal:", 1)
	id := e.offered(e.svc)
	resume := r.Stall(t)
	var s show
	errc := make(chan error, 1)
	go func() { errc <- e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, s.fn) }()
	for !strings.Contains(e.log.String(), "claim is not confirmed by a replica yet") {
		select {
		case err := <-errc:
			t.Fatalf("Reveal answered %v before its claim was found unconfirmed", err)
		case <-e.ctx.Done():
			t.Fatal("the Reveal's claim was never found unconfirmed")
		case <-time.After(20 * time.Millisecond):
		}
	}
	time.Sleep(300 * time.Millisecond) // the check tries, and waits, meanwhile
	if n := e.prov.calls.Load(); n != 0 {
		t.Fatalf("cloud calls before the claim was confirmed: %d, want 0", n)
	}
	resume()
	if err := wait(t, e.ctx, "Reveal's answer", errc); err != nil {
		t.Fatalf("Reveal: %v", err)
	}
	e.wantState(id, bot.StateSucceeded)
	if n := e.prov.calls.Load(); n != 1 || s.calls != 1 {
		t.Errorf("cloud calls, shows: %d, %d; want 1, 1", n, s.calls)
	}
}
