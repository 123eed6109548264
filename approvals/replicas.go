package approvals

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/bot"
)

// Redis replicates asynchronously: a master acknowledges a write before any
// replica has it, and a failover promotes a replica that may lack the last
// writes. On a Sentinel setup that loses, after a failover, requests whose
// ask, approval or execution claim a person was told had happened; a lost
// claim is a reset that may run twice. So, when Options.Replicas is set,
// every script the store runs is followed by WAIT on the same connection
// (one pipeline, still one round trip), and its answer counts only once
// that many replicas confirmed they hold the script's writes.

// Which answers wait for the replicas: the changes a person is told of (an
// ask, a vote, a cancel, a review, a Reveal's claim, an offer, a reset's
// end), an audit event (the SIEM must see every one), and the Hold right
// before a cloud call, whose record that the call may begin must survive a
// failover, or a take-over would call it again. Their methods mark their
// context (mustConfirm), and a change no replica confirmed answers
// ErrUnconfirmed. The bot's own bookkeeping (offers, finishes, expiries,
// card debts, leases) waits the same, but an unconfirmed write of it
// counts as done: the master holds it, and if a failover drops it, the
// lease or the sweep that made it makes it again. The metric counts both.
type confirmKey struct{}

// mustConfirm marks ctx: the change made under it counts only once the
// replicas confirm it.
func mustConfirm(ctx context.Context) context.Context {
	return context.WithValue(ctx, confirmKey{}, true)
}

// defaultReplicaWait is how long a write waits for its replicas before the
// store answers that it may not have been kept.
const defaultReplicaWait = time.Second

// errNotReplicated is the answer to a write no replica confirmed in time.
// The master kept it; whether it survives depends on the master staying
// master, so the person is told it may not have been kept.
type errNotReplicated struct {
	want, got int64
	wait      time.Duration
	barrier   error // the barrier could not be written: WAIT was not asked
}

// Is makes it bot.ErrUnconfirmed, for the service.
func (e *errNotReplicated) Is(target error) bool { return target == bot.ErrUnconfirmed }

func (e *errNotReplicated) Error() string {
	if e.barrier != nil {
		return fmt.Sprintf("the replicas could not be asked to confirm the write: the barrier before WAIT was refused (%v)", e.barrier)
	}
	return fmt.Sprintf("%d of the %d replicas asked for confirmed the write within %v", e.got, e.want, e.wait)
}

// replicated is a redis.Scripter that runs each script with WAIT behind it.
type replicated struct {
	c    redis.UniversalClient
	n    int
	wait time.Duration
	// barrier is a key written between the script and WAIT. WAIT waits for
	// the connection's last write; a script that wrote nothing this time
	// (go-redis sent it again after a lost answer, and the first send had
	// written) would leave nothing to wait for. The barrier's write comes
	// after everything Redis did before it, whoever did it, so WAIT covers
	// all of that.
	barrier string
}

// scripter is what the store's scripts run on: c itself, or c with a WAIT
// for n replicas behind each script, with barrier its barrier key.
func scripter(c redis.UniversalClient, n int, wait time.Duration, barrier string) redis.Scripter {
	if n <= 0 {
		return c
	}
	return replicated{c: c, n: n, wait: wait, barrier: barrier}
}

func (r replicated) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return r.run(ctx, func(p redis.Pipeliner) *redis.Cmd { return p.Eval(ctx, script, keys, args...) })
}

func (r replicated) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return r.run(ctx, func(p redis.Pipeliner) *redis.Cmd { return p.EvalSha(ctx, sha1, keys, args...) })
}

// EvalRO and EvalShaRO write nothing: nothing to wait for.
func (r replicated) EvalRO(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return r.c.EvalRO(ctx, script, keys, args...)
}

func (r replicated) EvalShaRO(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return r.c.EvalShaRO(ctx, sha1, keys, args...)
}

func (r replicated) ScriptExists(ctx context.Context, hashes ...string) *redis.BoolSliceCmd {
	return r.c.ScriptExists(ctx, hashes...)
}

func (r replicated) ScriptLoad(ctx context.Context, script string) *redis.StringCmd {
	return r.c.ScriptLoad(ctx, script)
}

// run sends the script, the barrier and WAIT in one pipeline: WAIT counts
// up to its own connection's last write, and a pipeline keeps to one
// connection. A script that failed (NOSCRIPT among others) is answered as
// it is: it wrote nothing that needs waiting for.
func (r replicated) run(ctx context.Context, script func(redis.Pipeliner) *redis.Cmd) *redis.Cmd {
	var cmd, wait *redis.Cmd
	var barrier *redis.IntCmd
	_, _ = r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		cmd = script(p)
		barrier = p.Incr(ctx, r.barrier)
		// (Pipeliner has no Wait of its own)
		wait = p.Do(ctx, "wait", r.n, r.wait.Milliseconds())
		return nil
	})
	if cmd.Err() != nil {
		return cmd
	}
	if ctx.Value(confirmKey{}) == nil {
		return cmd // bookkeeping: done once the master has it (see mustConfirm)
	}
	if err := barrier.Err(); err != nil {
		// The script's change is made, and WAIT may have had nothing to
		// wait for (see barrier): made, not confirmed.
		cmd.SetErr(&errNotReplicated{want: int64(r.n), wait: r.wait, barrier: fmt.Errorf("INCR %s: %w", r.barrier, err)})
		return cmd
	}
	got, err := wait.Int64()
	if err != nil {
		cmd.SetErr(fmt.Errorf("wait for the replicas: %w", err))
	} else if got < int64(r.n) {
		cmd.SetErr(&errNotReplicated{want: int64(r.n), got: got, wait: r.wait})
	}
	return cmd
}

// CheckReplicated runs, without changing anything the bot keeps, what
// waiting for the replicas adds to each change (Options.Replicas): the
// barrier's INCR and a WAIT that answers at once. Its error names the
// command the Redis user may not run.
func (s *Store) CheckReplicated(ctx context.Context) error {
	var barrier *redis.IntCmd
	var wait *redis.Cmd
	_, _ = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		barrier = p.Incr(ctx, s.barrierKey())
		wait = p.Do(ctx, "wait", 0, 0)
		return nil
	})
	if err := barrier.Err(); err != nil {
		return fmt.Errorf("INCR %s: %w", s.barrierKey(), err)
	}
	if err := wait.Err(); err != nil {
		return fmt.Errorf("WAIT: %w", err)
	}
	return nil
}

// barrierKey is the key written between each script and its WAIT.
func (s *Store) barrierKey() string { return s.k + "replicated" }
