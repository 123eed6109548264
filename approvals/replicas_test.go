package approvals_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/approvals"
	"resetbot/bot"
	"resetbot/internal/redistest"
	"resetbot/internal/testkit"
)

// With Options.Replicas, a change counts only once a replica confirmed it
// (WAIT after each script): the replica holds it when the answer comes, and
// while no replica confirms, the person is told the change may not have
// been kept, with "try again", instead of being told it happened.
func TestReplicasConfirmWrites(t *testing.T) {
	r := redistest.StartReplicated(t)
	master := redis.NewClient(&redis.Options{Addr: r.Master})
	replica := redis.NewClient(&redis.Options{Addr: r.Replica})
	t.Cleanup(func() { _ = master.Close(); _ = replica.Close() })
	clock := testkit.NewClock(time.Date(2030, 1, 2, 9, 30, 0, 0, time.UTC))
	// wait: long where the replica is live (a loaded machine may take its
	// time), short where it stalls (the test waits it out)
	store := func(replicas int, wait time.Duration) *approvals.Store {
		return approvals.New(master, approvals.Options{Clock: clock, Replicas: replicas, ReplicaWait: wait})
	}
	live, stalled := store(1, 5*time.Second), store(1, 200*time.Millisecond)
	e := &env{t: t, clock: clock, prefix: "resetbot:", raw: master, store: live}
	limit := bot.Limit{N: 10, Window: time.Hour}

	// in sync: the answer comes once the replica has the request
	e.mustCreate(e.request("R-REPL01", "alice", "prod-db", 1))
	if n, err := replica.Exists(ctx(t), e.key("req:R-REPL01")).Result(); err != nil || n != 1 {
		t.Fatalf("the replica, right after the answer: exists %d, %v; want the request", n, err)
	}
	e.mustVote("R-REPL01", "bob", true)
	if got, err := replica.HGet(ctx(t), e.key("req:R-REPL01"), "state").Result(); err != nil || got == string(bot.StatePending) {
		t.Errorf("the replica, right after the approval: state %q, %v; want it approved", got, err)
	}

	resume := r.Stall(t)
	_, err := stalled.Create(ctx(t), e.request("R-REPL02", "carol", "prod-db", 1), limit)
	be := wantError(t, err, bot.EUNAVAILABLE)
	if !strings.Contains(be.Message, "did not confirm") || !strings.Contains(be.Message, "try again") || !be.Retryable {
		t.Errorf("unconfirmed ask: got %+v, want a retryable message that it may not have been kept", be)
	}
	// The master took it: if it stays master, the request is there, and
	// the message's "check with status" finds it.
	if got := e.mustGet("R-REPL02"); got.State != bot.StatePending {
		t.Errorf("on the master: %s, want pending", got.State)
	}
	_, err = stalled.Vote(ctx(t), "R-REPL02", bot.Vote{Person: "bob", Approve: true})
	wantError(t, err, bot.EUNAVAILABLE)

	// Without Replicas, the same stalled replica is not waited for.
	if _, err := store(0, 0).Create(ctx(t), e.request("R-REPL03", "dave", "prod-db", 1), limit); err != nil {
		t.Errorf("Replicas 0, stalled replica: %v, want no wait", err)
	}

	resume()
	e.mustCreate(e.request("R-REPL04", "erin", "prod-db", 1))

	// A failover as Sentinel makes it: the replica is promoted while the
	// old master still takes writes, then the old master becomes the new
	// one's replica and drops what it took meanwhile. The change no
	// replica confirmed was not acknowledged; without Replicas it was, and
	// it is gone.
	if err := replica.ReplicaOf(ctx(t), "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	_, err = stalled.Create(ctx(t), e.request("R-REPL05", "frank", "prod-db", 1), limit)
	wantError(t, err, bot.EUNAVAILABLE)
	if _, err := store(0, 0).Create(ctx(t), e.request("R-REPL06", "gina", "prod-db", 1), limit); err != nil {
		t.Fatalf("Replicas 0, on the old master: %v", err)
	}
	host, port, _ := strings.Cut(r.Replica, ":")
	if err := master.ReplicaOf(ctx(t), host, port).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := master.Info(ctx(t), "replication").Result()
		if err == nil && strings.Contains(info, "master_link_status:up") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the old master did not sync with the new one: %q, %v", info, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n, err := master.Exists(ctx(t), e.key("req:R-REPL06")).Result(); err != nil || n != 0 {
		t.Errorf("the acknowledged ask without Replicas, after the switch: exists %d, %v; want it lost (what Replicas prevents)", n, err)
	}
	if n, err := replica.Exists(ctx(t), e.key("req:R-REPL04")).Result(); err != nil || n != 1 {
		t.Errorf("an ask acknowledged with Replicas, after the switch: exists %d, %v; want it kept", n, err)
	}
}

// A Redis user that may not write the barrier between a script and its
// WAIT: a change the replicas must confirm is made on the master but not
// told as confirmed (WAIT could have had nothing to wait for): it answers
// as a change no replica confirmed; and CheckReplicated, which
// check-config --online runs, names the command.
func TestReplicatedChangeNeedsTheBarrier(t *testing.T) {
	s := redistest.SharedSentinel(t)
	admin := redis.NewClient(&redis.Options{Addr: s.MasterNow(t)})
	t.Cleanup(func() { _ = admin.Close() })
	if err := admin.Do(ctx(t), "acl", "setuser", "store-noincr", "on", ">store-noincr-pw", "~*", "&*", "+@all", "-incr").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Do(ctx(t), "acl", "deluser", "store-noincr").Err() })
	c := redis.NewClient(&redis.Options{Addr: s.MasterNow(t), Username: "store-noincr", Password: "store-noincr-pw"})
	t.Cleanup(func() { _ = c.Close() })
	e := newEnv(t, server{name: "Sentinel", client: func(t *testing.T) redis.UniversalClient {
		return redis.NewClient(&redis.Options{Addr: s.MasterNow(t)})
	}, replicas: 1})
	store := approvals.New(c, approvals.Options{Prefix: e.prefix, Clock: e.clock, Replicas: 1})
	if err := store.CheckReplicated(ctx(t)); err == nil || !strings.Contains(err.Error(), "INCR {"+e.prefix+"}replicated") {
		t.Errorf("CheckReplicated: got %v, want it to name the refused INCR", err)
	}
	_, err := store.Create(ctx(t), e.request("R-BARR01", "alice", "prod-db", 1), bot.Limit{N: 10, Window: time.Hour})
	if be := wantError(t, err, bot.EUNAVAILABLE); !errors.Is(err, bot.ErrUnconfirmed) || !strings.Contains(be.Message, "did not confirm") ||
		!strings.Contains(err.Error(), "barrier before WAIT was refused") {
		t.Errorf("Create without the barrier: got %v, want it unconfirmed, naming the barrier", err)
	}
	if got := e.mustGet("R-BARR01"); got.State != bot.StatePending {
		t.Errorf("on the master: %s, want the request made, pending", got.State)
	}
	if err := approvals.New(admin, approvals.Options{Prefix: e.prefix, Replicas: 1}).CheckReplicated(ctx(t)); err != nil {
		t.Errorf("CheckReplicated for a user that may: %v", err)
	}
}
