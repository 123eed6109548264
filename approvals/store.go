package approvals

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/bot"
)

// Group is the queue stream's consumer group.
const Group = "executors"

// expireBatch is how many due requests one ExpireDue script looks at, so that
// no single script holds Redis for long.
const expireBatch = 100

// Options tune a Store. Zero values take the defaults.
type Options struct {
	// Prefix starts every key; default "resetbot:". Keys are written
	// "{" + Prefix + "}" + name, so the prefix is also the Cluster hash tag.
	Prefix string
	// Clock tells the time of every transition; default bot.SystemClock{}.
	Clock bot.Clock
	// Retention is how long terminal requests are kept; default 30 days.
	Retention time.Duration
	// AuditMaxLen is the audit stream's approximate maximum length; default
	// 1,000,000 events.
	AuditMaxLen int64
	// StrangerMaxLen caps, the same way, the stream of refusals of people
	// who are not in config (bot.Event.Stranger); default 100,000.
	StrangerMaxLen int64
	// Poll is how long Next blocks on the queue before it looks for
	// executors whose lease ran out again; default 1s.
	Poll time.Duration
}

// Store is the Redis-backed bot.Store. Each transition is one Lua script,
// hence one round trip and atomic across every process sharing the Redis.
type Store struct {
	c     redis.UniversalClient
	clock bot.Clock
	opts  Options
	k     string // the key prefix with its hash tag
	lua   scripts

	groupReady atomic.Bool
}

var _ bot.Store = (*Store)(nil)

// New returns a Store on client. The client is the caller's to close.
func New(client redis.UniversalClient, opts Options) *Store {
	if opts.Prefix == "" {
		opts.Prefix = "resetbot:"
	}
	if opts.Clock == nil {
		opts.Clock = bot.SystemClock{}
	}
	if opts.Retention <= 0 {
		opts.Retention = 30 * 24 * time.Hour
	}
	if opts.AuditMaxLen <= 0 {
		opts.AuditMaxLen = 1_000_000
	}
	if opts.StrangerMaxLen <= 0 {
		opts.StrangerMaxLen = 100_000
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	return &Store{c: client, clock: opts.Clock, opts: opts, k: "{" + opts.Prefix + "}", lua: newScripts()}
}

// Ping checks that Redis answers, for readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.c.Ping(ctx).Err(); err != nil {
		return fail("ping redis", err)
	}
	return nil
}

func (s *Store) key(name string) string { return s.k + name }

func (s *Store) reqKey(id string) string { return s.k + "req:" + id }

// now is the injected clock's time at the store's resolution.
func (s *Store) now() int64 { return ms(s.clock.Now()) }

// run runs script with the common arguments of the prelude and returns its
// status and the rest of its reply.
func (s *Store) run(ctx context.Context, op string, script *redis.Script, keys []string, now int64, args ...any) (string, []any, error) {
	all := append([]any{s.k, strconv.FormatInt(now, 10), s.opts.AuditMaxLen, s.opts.Retention.Milliseconds()}, args...)
	v, err := script.Run(ctx, s.c, keys, all...).Result()
	if err != nil {
		return "", nil, fail(op, err)
	}
	status, rest, err := reply(v)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", op, err)
	}
	return status, rest, nil
}

// runRequest runs a script that answers with a request or a refusal.
func (s *Store) runRequest(ctx context.Context, op string, script *redis.Script, keys []string, now int64, args ...any) (bot.Request, error) {
	status, rest, err := s.run(ctx, op, script, keys, now, args...)
	if err != nil {
		return bot.Request{}, err
	}
	switch status {
	case "ok":
		if len(rest) == 0 {
			return bot.Request{}, fmt.Errorf("%s: empty reply", op)
		}
		r, err := parseRequest(rest[0])
		if err != nil {
			return bot.Request{}, fmt.Errorf("%s: %w", op, err)
		}
		return r, nil
	case "err":
		e, _ := refusal(rest)
		return bot.Request{}, e
	}
	return bot.Request{}, fmt.Errorf("%s: unexpected script status %q", op, status)
}

// Create stores req as pending. The store sets State, CreatedAt and
// UpdatedAt (from its clock) and clears Votes and Outcome; req must carry its
// ID, Requester, Account and ExpiresAt; Approvals below 1 counts as 1.
//
// Besides the refusals of bot.Store, Create fails with ECONFLICT, and only
// then, when req.ID is already in use (Error.ID = req.ID, Message
// "request ID already in use"): the caller should pick a new ID and retry.
// That collision is not audited, since no one was refused anything.
func (s *Store) Create(ctx context.Context, req bot.Request, limit bot.Limit) (bot.Request, error) {
	switch {
	case req.ID == "":
		return bot.Request{}, bot.Errorf(bot.EINVALID, "a request needs an ID")
	case req.Requester == "":
		return bot.Request{}, bot.Errorf(bot.EINVALID, "a request needs a requester")
	case req.Account == "":
		return bot.Request{}, bot.Errorf(bot.EINVALID, "a request needs an account")
	case req.ExpiresAt.IsZero():
		return bot.Request{}, bot.Errorf(bot.EINVALID, "a request needs an expiry")
	}
	now := s.now()
	req.State = bot.StatePending
	req.CreatedAt, req.UpdatedAt = fromMS(now), fromMS(now)
	req.Votes, req.Outcome = nil, ""
	if req.Approvals < 1 {
		req.Approvals = 1
	}
	fields, err := requestFields(req)
	if err != nil {
		return bot.Request{}, fmt.Errorf("create %s: %w", req.ID, err)
	}
	n, window := limit.N, limit.Window.Milliseconds()
	if window <= 0 {
		n = 0
	}
	limitDetail := fmt.Sprintf("rate limit: at most %d requests per %s", limit.N, human(limit.Window))
	keys := []string{s.reqKey(req.ID), s.key("open:" + req.Requester), s.key("rate:" + req.Requester), s.key("deadlines"), s.key("audit")}
	args := append([]any{req.ID, req.Requester, req.Account, string(req.Platform), ms(req.ExpiresAt), n, window, limitDetail, req.Reason}, fields...)
	status, rest, err := s.run(ctx, "create "+req.ID, s.lua.create, keys, now, args...)
	if err != nil {
		return bot.Request{}, err
	}
	switch status {
	case "ok":
		if len(rest) == 0 {
			return bot.Request{}, fmt.Errorf("create %s: empty reply", req.ID)
		}
		r, err := parseRequest(rest[0])
		if err != nil {
			return bot.Request{}, fmt.Errorf("create %s: %w", req.ID, err)
		}
		return r, nil
	case "err":
		e, extra := refusal(rest)
		if e.Code == bot.ERATELIMIT {
			wait, _ := strconv.ParseInt(extra, 10, 64)
			e.Message = fmt.Sprintf("you have asked for %d resets within %s, the most allowed; try again in %s",
				limit.N, human(limit.Window), human(time.Duration(wait)*time.Millisecond))
		}
		return bot.Request{}, e
	}
	return bot.Request{}, fmt.Errorf("create %s: unexpected script status %q", req.ID, status)
}

// Vote records v. v.At defaults to the store's clock.
func (s *Store) Vote(ctx context.Context, id string, v bot.Vote) (bot.Request, error) {
	if v.Person == "" {
		return bot.Request{}, bot.Errorf(bot.EINVALID, "a vote needs a person")
	}
	now := s.now()
	at := now
	if !v.At.IsZero() {
		at = ms(v.At)
	}
	vote, err := json.Marshal(storedVote{Person: v.Person, Platform: v.Platform, Approve: v.Approve, Reason: v.Reason, At: at})
	if err != nil {
		return bot.Request{}, fmt.Errorf("vote on %s: %w", id, err)
	}
	approve := "0"
	if v.Approve {
		approve = "1"
	}
	keys := []string{s.reqKey(id), s.key("deadlines"), s.key("queue"), s.key("audit")}
	return s.runRequest(ctx, "vote on "+id, s.lua.vote, keys, now, id, v.Person, string(v.Platform), approve, string(vote), v.Reason)
}

// Cancel withdraws a pending request, or one waiting for its requester's
// Reveal. A request still pending past its expiry may be cancelled:
// withdrawing it harms no one.
func (s *Store) Cancel(ctx context.Context, id, person string, platform bot.Platform) (bot.Request, error) {
	if person == "" {
		return bot.Request{}, bot.Errorf(bot.EINVALID, "a cancel needs a person")
	}
	keys := []string{s.reqKey(id), s.key("deadlines"), s.key("leases"), s.key("audit")}
	return s.runRequest(ctx, "cancel "+id, s.lua.cancel, keys, s.now(), id, person, string(platform))
}

// Get returns a request, or ENOTFOUND.
func (s *Store) Get(ctx context.Context, id string) (bot.Request, error) {
	h, err := s.c.HGetAll(ctx, s.reqKey(id)).Result()
	if err != nil {
		return bot.Request{}, fail("get "+id, err)
	}
	if len(h) == 0 {
		return bot.Request{}, &bot.Error{Code: bot.ENOTFOUND, Message: "there is no request " + id, ID: id}
	}
	v := make([]any, 0, 2*len(h))
	for k, val := range h {
		v = append(v, k, val)
	}
	r, err := parseRequest(v)
	if err != nil {
		return bot.Request{}, fmt.Errorf("get %s: %w", id, err)
	}
	return r, nil
}

// Open returns the requester's requests that are not terminal, newest first.
func (s *Store) Open(ctx context.Context, requester string) ([]bot.Request, error) {
	op := "list open requests of " + requester
	status, rest, err := s.run(ctx, op, s.lua.open, []string{s.key("open:" + requester)}, s.now(), requester)
	if err != nil {
		return nil, err
	}
	if status != "ok" || len(rest) == 0 {
		return nil, fmt.Errorf("%s: unexpected script status %q", op, status)
	}
	list, _ := rest[0].([]any)
	var out []bot.Request
	for _, h := range list {
		r, err := parseRequest(h)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if !r.State.Terminal() {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b bot.Request) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return out, nil
}

// SetRef records an adapter's reference on a request, or fails with
// ENOTFOUND.
func (s *Store) SetRef(ctx context.Context, id string, key bot.RefKey, value string) error {
	status, rest, err := s.run(ctx, "set ref "+string(key)+" of "+id, s.lua.setRef, []string{s.reqKey(id)}, s.now(), id, string(key), value)
	if err != nil {
		return err
	}
	if status == "err" {
		e, _ := refusal(rest)
		return e
	}
	return nil
}

// ExpireDue moves every pending request past its expiry to expired.
func (s *Store) ExpireDue(ctx context.Context) ([]bot.Request, error) {
	var out []bot.Request
	for {
		status, rest, err := s.run(ctx, "expire due requests", s.lua.expire, []string{s.key("deadlines"), s.key("audit")}, s.now(), expireBatch)
		if err != nil {
			return out, err
		}
		if status != "ok" || len(rest) < 2 {
			return out, fmt.Errorf("expire due requests: unexpected script status %q", status)
		}
		for _, h := range asList(rest[1]) {
			r, err := parseRequest(h)
			if err != nil {
				return out, fmt.Errorf("expire due requests: %w", err)
			}
			out = append(out, r)
		}
		if n, _ := strconv.Atoi(str(rest[0])); n < expireBatch {
			return out, nil
		}
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// Next blocks until a request can be executed and claims it for consumer.
//
// It first takes over requests whose executor's lease ran out by the store's
// clock (Claim.Stale), then queue entries that were delivered to a consumer
// which died before claiming them (idle in the consumer group for longer than
// lease), then waits up to Options.Poll for new entries, and starts again.
// It fails with EUNAVAILABLE when Redis is unreachable: the caller should wait
// and call again. When ctx ends it returns ctx.Err() at once; an entry read by
// the abandoned wait is then handed out again after lease.
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
			Stream: queue, Group: Group, Consumer: consumer, MinIdle: lease, Start: "0-0", Count: 1,
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
	keys := []string{s.key("leases"), s.key("queue"), s.key("audit")}
	if id != "" {
		keys = append([]string{s.reqKey(id)}, keys...)
	}
	op := "claim " + id
	if id == "" {
		op = "take over an expired lease"
	}
	status, rest, err := s.run(ctx, op, s.lua.claim, keys, s.now(), id, entry, lease.Milliseconds(), token, consumer, Group)
	if err != nil {
		return bot.Claim{}, false, err
	}
	if status != "ok" {
		return bot.Claim{}, false, nil
	}
	if len(rest) < 3 {
		return bot.Claim{}, false, fmt.Errorf("%s: short reply", op)
	}
	r, err := parseRequest(rest[0])
	if err != nil {
		return bot.Claim{}, false, fmt.Errorf("%s: %w", op, err)
	}
	return bot.Claim{Request: r, Token: token, Stale: str(rest[1]) == "1", Entry: str(rest[2])}, true, nil
}

func newToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make a claim token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// Finish moves a claimed request to succeeded or failed with outcome and
// removes its queue entry.
func (s *Store) Finish(ctx context.Context, c bot.Claim, state bot.State, outcome string) (bot.Request, error) {
	if state != bot.StateSucceeded && state != bot.StateFailed {
		return bot.Request{}, bot.Errorf(bot.EINVALID, "a claim finishes as succeeded or failed, not %s", state)
	}
	id := c.Request.ID
	keys := []string{s.reqKey(id), s.key("leases"), s.key("queue"), s.key("deadlines"), s.key("audit")}
	return s.runRequest(ctx, "finish "+id, s.lua.finish, keys, s.now(), id, c.Token, string(state), outcome, c.Entry, Group)
}

// Offer puts a claimed request back to approved to wait until by for its
// requester's Reveal, and removes its queue entry.
func (s *Store) Offer(ctx context.Context, c bot.Claim, by time.Time, outcome string) (bot.Request, error) {
	id := c.Request.ID
	if by.IsZero() {
		return bot.Request{}, bot.Errorf(bot.EINVALID, "an offer needs a deadline")
	}
	keys := []string{s.reqKey(id), s.key("leases"), s.key("deadlines"), s.key("queue"), s.key("audit")}
	return s.runRequest(ctx, "offer "+id, s.lua.offer, keys, s.now(), id, c.Token, ms(by), outcome, c.Entry, Group)
}

// ClaimReveal claims an offered request at its requester's click.
func (s *Store) ClaimReveal(ctx context.Context, id, person string, platform bot.Platform, lease time.Duration) (bot.Claim, error) {
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
	keys := []string{s.reqKey(id), s.key("deadlines"), s.key("leases"), s.key("audit")}
	r, err := s.runRequest(ctx, "reveal "+id, s.lua.reveal, keys, s.now(), id, person, string(platform), lease.Milliseconds(), token)
	if err != nil {
		return bot.Claim{}, err
	}
	return bot.Claim{Request: r, Token: token}, nil
}

// Audit appends e to the audit log; a zero e.Time is the store's clock. The
// entry's stream ID follows the store's clock, whatever e.Time says.
func (s *Store) Audit(ctx context.Context, e bot.Event) error {
	now := s.now()
	at := now
	if !e.Time.IsZero() {
		at = ms(e.Time)
	}
	stranger := "0"
	if e.Stranger {
		stranger = "1"
	}
	_, _, err := s.run(ctx, "audit "+string(e.Kind), s.lua.audit, []string{s.key("audit"), s.key("audit:strangers")}, now,
		string(e.Kind), e.RequestID, e.Actor, string(e.Platform), e.Detail, strconv.FormatInt(at, 10), stranger, s.opts.StrangerMaxLen)
	return err
}

// auditPage is how many events one XRANGE reads.
const auditPage = 1000

// AuditLog reads the audit log, oldest first: the main stream and the
// strangers' refusals, merged. Since selects by the entries' stream IDs,
// which follow the store's clock (an event appended while the clock was
// behind the last one takes that one's millisecond). Filtering by request
// scans the log from Since.
func (s *Store) AuditLog(ctx context.Context, q bot.AuditQuery) ([]bot.Event, error) {
	start := "-"
	if !q.Since.IsZero() {
		start = strconv.FormatInt(max(ms(q.Since), 0), 10) + "-0"
	}
	out, err := s.auditStream(ctx, s.key("audit"), start, q, false)
	if err != nil {
		return nil, err
	}
	strangers, err := s.auditStream(ctx, s.key("audit:strangers"), start, q, true)
	if err != nil {
		return nil, err
	}
	if len(strangers) == 0 {
		return out, nil
	}
	out = append(out, strangers...)
	slices.SortStableFunc(out, func(a, b bot.Event) int { return compareIDs(a.ID, b.ID) })
	return out, nil
}

func (s *Store) auditStream(ctx context.Context, key, start string, q bot.AuditQuery, stranger bool) ([]bot.Event, error) {
	var out []bot.Event
	for {
		msgs, err := s.c.XRangeN(ctx, key, start, "+", auditPage).Result()
		if err != nil {
			return nil, fail("read the audit log", err)
		}
		for _, m := range msgs {
			e := bot.Event{
				ID:        m.ID,
				Kind:      bot.EventKind(str(m.Values["event"])),
				RequestID: str(m.Values["request"]),
				Actor:     str(m.Values["actor"]),
				Platform:  bot.Platform(str(m.Values["platform"])),
				Detail:    str(m.Values["detail"]),
				Stranger:  stranger,
			}
			if t, err := parseMS(str(m.Values["time"])); err == nil {
				e.Time = t
			}
			if q.RequestID == "" || e.RequestID == q.RequestID {
				out = append(out, e)
			}
		}
		if len(msgs) < auditPage {
			return out, nil
		}
		start, err = after(msgs[len(msgs)-1].ID)
		if err != nil {
			return nil, fmt.Errorf("read the audit log: %w", err)
		}
	}
}

// compareIDs orders stream IDs ("ms-seq") as Redis does.
func compareIDs(a, b string) int {
	am, as, _ := strings.Cut(a, "-")
	bm, bs, _ := strings.Cut(b, "-")
	an, _ := strconv.ParseUint(am, 10, 64)
	bn, _ := strconv.ParseUint(bm, 10, 64)
	if c := cmp.Compare(an, bn); c != 0 {
		return c
	}
	an, _ = strconv.ParseUint(as, 10, 64)
	bn, _ = strconv.ParseUint(bs, 10, 64)
	return cmp.Compare(an, bn)
}

// after returns the smallest stream ID above id.
func after(id string) (string, error) {
	msPart, seqPart, ok := strings.Cut(id, "-")
	seq, err := strconv.ParseUint(seqPart, 10, 64)
	if !ok || err != nil {
		return "", fmt.Errorf("bad stream ID %q", id)
	}
	return msPart + "-" + strconv.FormatUint(seq+1, 10), nil
}
