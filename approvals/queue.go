package approvals

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/bot"
)

// Group is the queue stream's consumer group.
const Group = "executors"

// orphaned is how long a queue entry stays with the consumer it was
// delivered to before another may claim its request. An entry lives from
// the approval to the Offer, which follows its claim at once; one idle for
// longer was not claimed (its consumer died) or its claim was lost (a
// failover), and its request waits. Handing it out changes nothing else:
// the claim script takes only a request approved and not yet claimed, or
// one whose lease ran out.
const orphaned = 5 * time.Second

// Next blocks until a request can be executed and claims it for consumer.
//
// It first takes over requests whose executor's lease ran out by the store's
// clock (Claim.Stale after a Reveal click's claim, Claim.Resumed after a
// claim from the queue), then queue entries delivered to a consumer that did
// not claim them (it died before, or a failover lost its claim: idle in the
// consumer group for longer than orphaned, or lease when shorter), then waits
// up to Options.Poll for new entries, and starts again.
// It fails with EUNAVAILABLE when Redis is unreachable: the caller should wait
// and call again. When ctx ends it returns ctx.Err() at once; an entry read by
// the abandoned wait is then handed out again after orphaned.
func (s *Store) Next(ctx context.Context, consumer string, lease time.Duration) (bot.Claim, error) {
	if lease < time.Millisecond {
		return bot.Claim{}, bot.Errorf(bot.EINVALID, "a lease must be at least 1ms, not %s", lease)
	}
	if consumer == "" {
		return bot.Claim{}, bot.Errorf(bot.EINVALID, "Next needs a consumer name")
	}
	queue := s.key("queue")
	for {
		if err := ctx.Err(); err != nil {
			return bot.Claim{}, err
		}
		if err := s.ensureGroup(ctx); err != nil {
			return bot.Claim{}, s.ctxOr(ctx, err)
		}

		c, ok, err := s.claim(ctx, "", "", consumer, lease)
		if err != nil || ok {
			return c, s.ctxOr(ctx, err)
		}

		msgs, _, err := s.c.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: queue, Group: Group, Consumer: consumer, MinIdle: min(lease, orphaned), Start: "0-0", Count: 1,
		}).Result()
		if err != nil && !s.noGroup(err) {
			return bot.Claim{}, s.ctxOr(ctx, fail("reclaim idle queue entries", err))
		}
		for _, m := range msgs {
			id := str(m.Values["request"])
			if id == "" {
				continue // an entry deleted while pending; Redis drops it
			}
			c, ok, err := s.claim(ctx, id, m.ID, consumer, lease)
			if err != nil || ok {
				return c, s.ctxOr(ctx, err)
			}
		}

		msgs, err = s.read(ctx, consumer)
		if err != nil {
			if ctx.Err() != nil {
				return bot.Claim{}, ctx.Err()
			}
			if s.noGroup(err) {
				continue
			}
			return bot.Claim{}, fail("read the execution queue", err)
		}
		for _, m := range msgs {
			id := str(m.Values["request"])
			if id == "" {
				continue // an entry deleted while pending; Redis drops it
			}
			c, ok, err := s.claim(ctx, id, m.ID, consumer, lease)
			if err != nil || ok {
				return c, s.ctxOr(ctx, err)
			}
		}
	}
}

// ctxOr prefers ctx's error, as Next promises, to the one its end caused.
func (s *Store) ctxOr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// ensureGroup creates the consumer group once; from "0", so that entries
// queued before it existed are delivered too.
func (s *Store) ensureGroup(ctx context.Context) error {
	if s.groupReady.Load() {
		return nil
	}
	err := s.c.XGroupCreateMkStream(ctx, s.key("queue"), Group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fail("create the execution queue's consumer group", err)
	}
	s.groupReady.Store(true)
	return nil
}

// noGroup reports a missing group (Redis restarted empty) and has the next
// round create it again.
func (s *Store) noGroup(err error) bool {
	if err != nil && strings.HasPrefix(err.Error(), "NOGROUP") {
		s.groupReady.Store(false)
		return true
	}
	return false
}

// read waits for new queue entries. go-redis does not interrupt a blocked
// read when ctx is cancelled, so the read runs aside and Next returns as soon
// as ctx ends.
func (s *Store) read(ctx context.Context, consumer string) ([]redis.XMessage, error) {
	type result struct {
		streams []redis.XStream
		err     error
	}
	done := make(chan result, 1)
	go func() {
		streams, err := s.c.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: Group, Consumer: consumer, Streams: []string{s.key("queue"), ">"},
			Count: 1, Block: s.opts.Poll,
		}).Result()
		done <- result{streams, err}
	}()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-done:
		if r.err == redis.Nil {
			return nil, nil
		}
		if r.err != nil {
			return nil, r.err
		}
		var msgs []redis.XMessage
		for _, st := range r.streams {
			msgs = append(msgs, st.Messages...)
		}
		return msgs, nil
	}
}

// claim runs the claim script for one queue entry, or, with id "", for the
// first request whose lease ran out.
func (s *Store) claim(ctx context.Context, id, entry, consumer string, lease time.Duration) (bot.Claim, bool, error) {
	token, err := newToken()
	if err != nil {
		return bot.Claim{}, false, err
	}
	keys := s.withAudit("", s.key("leases"), s.key("queue"))
	op := "claim " + id
	now := s.now()
	args := []any{id, entry, lease.Milliseconds(), token, consumer, Group}
	if id != "" {
		keys = append(keys, s.reqKey(id), s.refsKey(id))
	} else {
		// the requests whose lease ran out: the script looks again at
		// each, and takes over the first still due
		op = "take over an expired lease"
		due, err := s.c.ZRangeByScore(ctx, s.key("leases"), &redis.ZRangeBy{Min: "-inf", Max: strconv.FormatInt(now, 10), Count: 10}).Result()
		if err != nil {
			return bot.Claim{}, false, fail(op, err)
		}
		if len(due) == 0 {
			return bot.Claim{}, false, nil
		}
		for _, d := range due {
			keys = append(keys, s.reqKey(d), s.refsKey(d))
		}
		args = append(args, strArgs(due)...)
	}
	var status string
	var rest []any
	err = s.sendAgain(ctx, lease, func(ctx context.Context) error {
		status, rest, err = s.run(ctx, op, s.lua.claim, keys, now, args...)
		return err
	})
	if err != nil {
		return bot.Claim{}, false, err
	}
	if status != "ok" {
		return bot.Claim{}, false, nil
	}
	if len(rest) < 4 {
		return bot.Claim{}, false, fmt.Errorf("%s: short reply", op)
	}
	r, err := parseRequest(rest[0])
	if err != nil {
		return bot.Claim{}, false, fmt.Errorf("%s: %w", op, err)
	}
	return bot.Claim{Request: r, Token: token, Stale: str(rest[1]) == "1", Entry: str(rest[2]), Resumed: str(rest[3]) == "1",
		Until: fromMS(now + lease.Milliseconds())}, true, nil
}

// sendAgainFor bounds how long a claim whose answer did not come is sent
// again (and half its lease, when that is shorter).
const sendAgainFor = 20 * time.Second

// sendAgain runs a claim's script until Redis answers it, for a while: the
// claim's answer may be lost after Redis made it (a connection cut by a
// Sentinel failover, which takes seconds). Sent again with its token, a
// claim already made is answered as made; given up on, it would hold its
// request, with no one working on it, until its lease ran out (two
// minutes by default). A claim made but not confirmed by the replicas is
// answered, not sent again.
func (s *Store) sendAgain(ctx context.Context, lease time.Duration, claim func(context.Context) error) error {
	end := time.Now().Add(min(lease/2, sendAgainFor))
	pause := 50 * time.Millisecond
	for first := true; ; first = false {
		// a send again ends with the bound, however long Redis takes
		actx, cancel := ctx, context.CancelFunc(func() {})
		if !first {
			actx, cancel = context.WithDeadline(ctx, end)
		}
		err := claim(actx)
		cancel()
		if err == nil || bot.ErrorCode(err) != bot.EUNAVAILABLE || errors.Is(err, bot.ErrUnconfirmed) ||
			ctx.Err() != nil || time.Now().Add(pause).After(end) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Second)
	}
}

func newToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make a claim token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// finishEvents are the states a claim may finish in, and what each audits.
var finishEvents = map[bot.State]bot.EventKind{
	bot.StateSucceeded: bot.EventSucceeded,
	bot.StateFailed:    bot.EventFailed,
}

// Finish moves a claimed request to succeeded or failed with outcome and
// removes its queue entry.
func (s *Store) Finish(ctx context.Context, c bot.Claim, state bot.State, outcome string) (bot.Request, error) {
	ctx = mustConfirm(ctx)
	event, ok := finishEvents[state]
	if !ok {
		return bot.Request{}, bot.Errorf(bot.EINVALID, "a claim finishes as succeeded or failed, not %s", state)
	}
	id := c.Request.ID
	keys := s.withAudit("", s.reqKey(id), s.refsKey(id), s.key("leases"), s.key("queue"), s.key("deadlines"),
		s.key("lock:"+c.Request.Account), s.key("open:"+c.Request.Requester))
	maybeShown := "0"
	if c.MaybeShown {
		maybeShown = "1"
	}
	return s.runRequest(ctx, "finish "+id, s.lua.finish, keys, s.now(), id, c.Token, string(state), outcome, c.Entry, Group, string(event), maybeShown)
}

// Offer moves a claimed request to offered, to wait until by for its
// requester's Reveal, and removes its queue entry. The claim's token stays,
// so that the claim can still finish the request as failed (when the offer
// cannot be sent) until ClaimReveal takes it.
func (s *Store) Offer(ctx context.Context, c bot.Claim, by time.Time, outcome string) (bot.Request, error) {
	ctx = mustConfirm(ctx)
	id := c.Request.ID
	if by.IsZero() {
		return bot.Request{}, bot.Errorf(bot.EINVALID, "an offer needs a deadline")
	}
	keys := s.withAudit("", s.reqKey(id), s.refsKey(id), s.key("leases"), s.key("deadlines"), s.key("queue"))
	return s.runRequest(ctx, "offer "+id, s.lua.offer, keys, s.now(), id, c.Token, ms(by), outcome, c.Entry, Group)
}

// ClaimReveal claims an offered request at its requester's click.
func (s *Store) ClaimReveal(ctx context.Context, id, person string, platform bot.Platform, lease time.Duration) (bot.Claim, error) {
	ctx = mustConfirm(ctx)
	if lease < time.Millisecond {
		return bot.Claim{}, bot.Errorf(bot.EINVALID, "a lease must be at least 1ms, not %s", lease)
	}
	if person == "" {
		return bot.Claim{}, bot.Errorf(bot.EINVALID, "a reveal needs a person")
	}
	token, err := newToken()
	if err != nil {
		return bot.Claim{}, err
	}
	// the request names the lock the script checks and the open requests
	// a locked account's refusal closes
	own, err := s.ownKeys(ctx, id)
	if err != nil {
		return bot.Claim{}, fail("reveal "+id, err)
	}
	keys := s.withAudit(person, append(own, s.reqKey(id), s.refsKey(id), s.key("deadlines"), s.key("leases"))...)
	now := s.now()
	var r bot.Request
	err = s.sendAgain(ctx, lease, func(ctx context.Context) error {
		r, err = s.runRequest(ctx, "reveal "+id, s.lua.reveal, keys, now, id, person, string(platform), lease.Milliseconds(), token)
		return err
	})
	if err != nil && r.ID == "" {
		return bot.Claim{}, err
	}
	// (with err: claimed, not confirmed by the replicas; a Hold confirms it)
	return bot.Claim{Request: r, Token: token, Until: fromMS(now + lease.Milliseconds())}, err
}

// Hold re-checks that c still holds its request, executing, with its lease
// not run out, and extends the lease to lease from now, in one step.
func (s *Store) Hold(ctx context.Context, c bot.Claim, lease time.Duration) (bot.Claim, error) {
	ctx = mustConfirm(ctx)
	if lease < time.Millisecond {
		return bot.Claim{}, bot.Errorf(bot.EINVALID, "a lease must be at least 1ms, not %s", lease)
	}
	id := c.Request.ID
	calling := "0"
	if c.Calling {
		calling = "1"
	}
	status, rest, err := s.run(ctx, "hold "+id, s.lua.hold, []string{s.reqKey(id), s.key("leases")}, s.now(), id, c.Token, lease.Milliseconds(), calling)
	if err != nil {
		return bot.Claim{}, err
	}
	switch status {
	case "ok":
		until, err := parseMS(str(first(rest)))
		if err != nil {
			return bot.Claim{}, fmt.Errorf("hold %s: %w", id, err)
		}
		c.Until = until
		return c, nil
	case "err":
		e, _ := refusal(rest)
		return bot.Claim{}, e
	}
	return bot.Claim{}, fmt.Errorf("hold %s: unexpected script status %q", id, status)
}

func first(l []any) any {
	if len(l) == 0 {
		return nil
	}
	return l[0]
}
