package approvals

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/bot"
)

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
	// Poll is how long Next blocks on the queue before it looks for
	// executors whose lease ran out again; default 1s.
	Poll time.Duration
	// Replicas is how many replicas must confirm each script's writes
	// (WAIT) before its answer counts (replicas.go); 0: none are waited
	// for. A Sentinel setup sets it so that a failover loses no change a
	// person was told had happened.
	Replicas int
	// ReplicaWait is how long a script waits for them; default 1s.
	ReplicaWait time.Duration

	// Only tests change these.
	retention      time.Duration // how long terminal requests are kept; default 30 days
	auditMaxLen    int64         // the audit stream's approximate maximum length; default 1,000,000
	strangerMaxLen int64         // the same for strangers' refusals (bot.Event.Stranger); default 100,000
	refusalMaxLen  int64         // the same for known people's refusals; default 100,000
	refusalBurst   int64         // refusals per person and window written in full; default 10
	refusalWindow  time.Duration // the window of refusalBurst; default 10 minutes
}

// Store is the Redis-backed bot.Store. Each transition is one Lua script,
// hence one round trip and atomic across every process sharing the Redis.
type Store struct {
	c     redis.UniversalClient
	sc    redis.Scripter // c, or c waiting for replicas (Options.Replicas)
	clock bot.Clock
	opts  Options
	k     string // the key prefix with its hash tag
	lua   scripts
	// limits is the audit log's limits as the scripts' prelude reads them
	// (ARGV[3]).
	limits string

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
	if opts.retention <= 0 {
		opts.retention = 30 * 24 * time.Hour
	}
	if opts.auditMaxLen <= 0 {
		opts.auditMaxLen = 1_000_000
	}
	if opts.strangerMaxLen <= 0 {
		opts.strangerMaxLen = 100_000
	}
	if opts.refusalMaxLen <= 0 {
		opts.refusalMaxLen = 100_000
	}
	if opts.refusalBurst <= 0 {
		opts.refusalBurst = 10
	}
	if opts.refusalWindow < time.Millisecond {
		opts.refusalWindow = 10 * time.Minute
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.ReplicaWait <= 0 {
		opts.ReplicaWait = defaultReplicaWait
	}
	limits := fmt.Sprintf("%d %d %d %d %d", opts.auditMaxLen, opts.refusalMaxLen, opts.strangerMaxLen,
		opts.refusalBurst, opts.refusalWindow.Milliseconds())
	k := "{" + opts.Prefix + "}"
	s := &Store{c: client, clock: opts.Clock, opts: opts, k: k, lua: newScripts(), limits: limits}
	s.sc = scripter(client, opts.Replicas, opts.ReplicaWait, s.barrierKey())
	return s
}

// Ping checks that Redis answers for the store's keys, for readiness
// probes. It reads a key in the store's hash slot, not PING: a Cluster node
// that does not own that slot answers PING but refuses (MOVED) every key
// the store would use, and a cluster client routes a key to its owner.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.c.Exists(ctx, s.key("ready")).Err(); err != nil {
		return fail("ping redis", err)
	}
	return nil
}

func (s *Store) key(name string) string { return s.k + name }

func (s *Store) reqKey(id string) string { return s.k + "req:" + id }

// ownKeys are the keys request id's hash names, read before a script that
// may touch them: its account's lock and its requester's open requests.
// The script reads the hash again and asks for them (keys.go) if they
// changed.
func (s *Store) ownKeys(ctx context.Context, id string) ([]string, error) {
	f, err := s.c.HMGet(ctx, s.reqKey(id), "account", "requester").Result()
	if err != nil {
		return nil, err
	}
	var keys []string
	if a := str(f[0]); a != "" {
		keys = append(keys, s.key("lock:"+a))
	}
	if r := str(f[1]); r != "" {
		keys = append(keys, s.key("open:"+r))
	}
	return keys, nil
}

// refsKey holds the refs of request id that can be used for a while only
// (bot.Request.RefsFor).
func (s *Store) refsKey(id string) string { return s.k + "refs:" + id }

// withAudit is keys and the keys an audit event may touch: the three
// streams, their shared last ID, and, when person may be refused, the
// counter of person's refusals.
func (s *Store) withAudit(person string, keys ...string) []string {
	keys = append(keys, s.key("audit"), s.key("audit:last"), s.key("audit:refusals"), s.key("audit:strangers"))
	if person != "" {
		keys = append(keys, s.key("refusals:"+person))
	}
	return keys
}

// now is the injected clock's time at the store's resolution.
func (s *Store) now() int64 { return ms(s.clock.Now()) }

// run runs script with the common arguments of the prelude and returns its
// status and the rest of its reply. keys are every key the script may
// touch that Go can know; when the script answers that it needs more
// (keys.go), run sends it again with them, at the same time now.
func (s *Store) run(ctx context.Context, op string, script *redis.Script, keys []string, now int64, args ...any) (string, []any, error) {
	return s.runOn(ctx, s.sc, op, script, keys, now, args...)
}

// runRead runs a script that writes nothing: it waits for no replica.
func (s *Store) runRead(ctx context.Context, op string, script *redis.Script, keys []string, now int64, args ...any) (string, []any, error) {
	return s.runOn(ctx, s.c, op, script, keys, now, args...)
}

func (s *Store) runOn(ctx context.Context, on redis.Scripter, op string, script *redis.Script, keys []string, now int64, args ...any) (string, []any, error) {
	all := append([]any{s.k, strconv.FormatInt(now, 10), s.limits, s.opts.retention.Milliseconds()}, args...)
	keys = slices.Clone(keys)
	declared := make(map[string]bool, len(keys))
	for _, k := range keys {
		declared[k] = true
	}
	for range maxNeed + 1 {
		v, err := script.Run(ctx, on, keys, all...).Result()
		unconfirmed := errors.Is(err, bot.ErrUnconfirmed) && v != nil
		if err != nil && !unconfirmed {
			return "", nil, fail(op, err)
		}
		status, rest, rerr := reply(v)
		if rerr != nil {
			return "", nil, fmt.Errorf("%s: %w", op, rerr)
		}
		if unconfirmed && status == "ok" {
			// the change made: its answer, with the error that it may not stand
			return status, rest, fail(op, err)
		}
		// (a refusal, or a 'need' for more keys, changed nothing that
		// matters: answered, or sent again, as if confirmed)
		if status != "need" {
			return status, rest, nil
		}
		for _, k := range rest {
			key := str(k)
			if !strings.HasPrefix(key, s.k) {
				// another slot: no script may touch it with the others
				return "", nil, fmt.Errorf("%s: the script needs key %q, outside the store's hash tag", op, key)
			}
			if !declared[key] {
				declared[key] = true
				keys = append(keys, key)
			}
		}
	}
	return "", nil, fmt.Errorf("%s: the keys it needs kept changing; try again", op)
}

// runRequest runs a script that answers with a request or a refusal. A
// request the replicas did not confirm comes with its ErrUnconfirmed error.
func (s *Store) runRequest(ctx context.Context, op string, script *redis.Script, keys []string, now int64, args ...any) (bot.Request, error) {
	status, rest, err := s.run(ctx, op, script, keys, now, args...)
	if err != nil && !(errors.Is(err, bot.ErrUnconfirmed) && status == "ok") {
		return bot.Request{}, err
	}
	unconfirmed := err
	switch status {
	case "ok":
		if len(rest) == 0 {
			return bot.Request{}, fmt.Errorf("%s: empty reply", op)
		}
		r, err := parseRequest(rest[0])
		if err != nil {
			return bot.Request{}, fmt.Errorf("%s: %w", op, err)
		}
		// unconfirmed: the request as the script left it, and that it may
		// not stand
		return r, unconfirmed
	case "err":
		e, _ := refusal(rest)
		return bot.Request{}, e
	}
	return bot.Request{}, fmt.Errorf("%s: unexpected script status %q", op, status)
}

// Create stores req as pending. The store sets State, CreatedAt and
// UpdatedAt (from its clock) and clears Votes and Outcome; req must carry its
// ID, Requester, Account and ExpiresAt; Approvals below 1 counts as 1.
// With Rules, Approvals is what they need in all (bot.Needed), and the
// rules are what decides: a rule's count must be at least 1, and its
// name, people and roles non-empty words without tabs or line breaks
// (EINVALID).
//
// Besides the refusals of bot.Store, Create fails with ECONFLICT, and only
// then, when req.ID is already in use (Error.ID = req.ID, Message
// "request ID already in use"): the caller should pick a new ID and retry.
// That collision is not audited, since no one was refused anything.
func (s *Store) Create(ctx context.Context, req bot.Request, limit bot.Limit) (bot.Request, error) {
	ctx = mustConfirm(ctx)
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
	if len(req.Rules) > 0 {
		req.Approvals = bot.Needed(req.Rules)
	}
	fields, err := requestFields(req)
	if err != nil {
		if bot.ErrorCode(err) == bot.EINVALID {
			return bot.Request{}, err
		}
		return bot.Request{}, fmt.Errorf("create %s: %w", req.ID, err)
	}
	n, window := limit.N, limit.Window.Milliseconds()
	if window <= 0 {
		n = 0
	}
	limitDetail := fmt.Sprintf("rate limit: at most %d requests per %s", limit.N, human(limit.Window))
	event, approver, approval, pp := string(bot.EventRequested), "", "", bot.Limit{}
	if rv := req.Review; rv != nil {
		switch rv.Kind {
		case bot.ReviewBreakGlass:
			event, approver, pp = string(bot.EventBreakGlass), req.Requester, rv.PerPerson
			approval = "break-glass for " + rv.Incident + ": the vote skipped, to be reviewed by " + rv.Due.UTC().Format(time.RFC3339)
		case bot.ReviewOnCall:
			approver, approval = bot.ActorPagerDuty, "on call: "+rv.Detail
		default:
			return bot.Request{}, bot.Errorf(bot.EINVALID, "a review needs a kind")
		}
		if pp.Window <= 0 {
			pp.N = 0
		}
	}
	ppDetail := fmt.Sprintf("break-glass limit: at most %d per person per %s", pp.N, human(pp.Window))
	keys := s.withAudit(req.Requester, s.reqKey(req.ID), s.refsKey(req.ID), s.key("open:"+req.Requester), s.key("rate:"+req.Requester),
		s.key("deadlines"), s.key("timers"), s.key("lock:"+req.Account), s.key("bg:"+req.Account+":"+req.Requester), s.key("queue"))
	args := []any{req.ID, req.Requester, req.Account, string(req.Platform), ms(req.ExpiresAt), n, window, limitDetail, req.Reason,
		event, approver, approval, pp.N, pp.Window.Milliseconds(), ppDetail}
	args = append(args, keptRefs(req)...)
	args = append(args, fields...)
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
			again := human(time.Duration(wait) * time.Millisecond)
			if e.Message == "per_person" {
				e.Message = fmt.Sprintf("you have broken the glass on %s %d times within %s, the most allowed; try again in %s, or ask for a normal reset, which approvers vote on",
					req.Account, pp.N, human(pp.Window), again)
			} else {
				e.Message = fmt.Sprintf("you have asked for %d resets within %s, the most allowed; try again in %s",
					limit.N, human(limit.Window), again)
			}
		}
		return bot.Request{}, e
	}
	return bot.Request{}, fmt.Errorf("create %s: unexpected script status %q", req.ID, status)
}

// Vote records v. v.At defaults to the store's clock.
//
// On a request with Rules, the vote's script refuses (EFORBIDDEN, naming
// the rules as bot.NotApprover does) a voter no rule admits, by name or by
// one of v.Roles; records the rules an approval may count toward
// (bot.Vote.Rules); and approves the request as soon as one assignment of
// its approvals, each to one rule, satisfies every rule. A request without
// Rules (stored by an earlier version) needs Approvals approvals from
// anyone, as before.
//
// The Redis client sends the script again when the connection fails before
// the answer comes, and the first send may have counted the vote: the
// second would then answer "you already voted". So each call carries a
// nonce of its own, recorded with the vote, and a vote whose recorded
// nonce is the call's own succeeds again, changing nothing.
func (s *Store) Vote(ctx context.Context, id string, v bot.Vote) (bot.Request, error) {
	ctx = mustConfirm(ctx)
	nonce, err := newToken()
	if err != nil {
		return bot.Request{}, err
	}
	return s.vote(ctx, id, v, nonce)
}

func (s *Store) vote(ctx context.Context, id string, v bot.Vote, nonce string) (bot.Request, error) {
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
	var roles []string
	for _, r := range v.Roles {
		if r != "" && !strings.ContainsAny(r, "\t\n") {
			roles = append(roles, r)
		}
	}
	// a denial's script asks for the requester's open requests (keys.go):
	// only the requester's name, in the request, says which
	keys := s.withAudit(v.Person, s.reqKey(id), s.refsKey(id), s.key("deadlines"), s.key("queue"), s.key("leases"))
	return s.runRequest(ctx, "vote on "+id, s.lua.vote, keys, now, id, v.Person, string(v.Platform), approve, string(vote), v.Reason, nonce,
		strings.Join(roles, "\t"))
}

// Cancel withdraws a pending or offered request. A request still pending
// past its expiry may be cancelled: withdrawing it harms no one.
func (s *Store) Cancel(ctx context.Context, id, person string, platform bot.Platform) (bot.Request, error) {
	ctx = mustConfirm(ctx)
	if person == "" {
		return bot.Request{}, bot.Errorf(bot.EINVALID, "a cancel needs a person")
	}
	// only the requester may cancel: their open requests are person's
	keys := s.withAudit(person, s.reqKey(id), s.refsKey(id), s.key("deadlines"), s.key("leases"), s.key("open:"+person))
	return s.runRequest(ctx, "cancel "+id, s.lua.cancel, keys, s.now(), id, person, string(platform))
}

// Get returns a request, or ENOTFOUND.
func (s *Store) Get(ctx context.Context, id string) (bot.Request, error) {
	var h, refs *redis.MapStringStringCmd
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		h = p.HGetAll(ctx, s.reqKey(id))
		refs = p.HGetAll(ctx, s.refsKey(id))
		return nil
	})
	if err != nil {
		return bot.Request{}, fail("get "+id, err)
	}
	if len(h.Val()) == 0 {
		return bot.Request{}, &bot.Error{Code: bot.ENOTFOUND, Message: "there is no request " + id, ID: id}
	}
	v := make([]any, 0, 2*(len(h.Val())+len(refs.Val())))
	for k, val := range h.Val() {
		v = append(v, k, val)
	}
	for k, val := range refs.Val() {
		v = append(v, refField+k, val)
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
	status, rest, err := s.runRead(ctx, op, s.lua.open, []string{s.key("open:" + requester)}, s.now(), requester)
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

// ExpireDue moves every pending request past its expiry, and every offered
// one past its RevealBy, to expired.
func (s *Store) ExpireDue(ctx context.Context) ([]bot.Request, error) {
	const op = "expire due requests"
	var out []bot.Request
	err := s.sweep(ctx, op, s.key("deadlines"), expireBatch, func(now int64, ids []string, keys []string) (int, error) {
		keys = s.withAudit("", append(keys, s.key("deadlines"), s.key("leases"))...)
		status, rest, err := s.run(ctx, op, s.lua.expire, keys, now, strArgs(ids)...)
		if err != nil {
			return 0, err
		}
		if status != "ok" || len(rest) < 2 {
			return 0, fmt.Errorf("%s: unexpected script status %q", op, status)
		}
		for _, h := range asList(rest[1]) {
			r, err := parseRequest(h)
			if err != nil {
				return 0, fmt.Errorf("%s: %w", op, err)
			}
			out = append(out, r)
		}
		skipped, _ := strconv.Atoi(str(rest[0]))
		return skipped, nil
	})
	return out, err
}

// sweep hands the requests due in zset, batch at a time, to script, with
// the keys it will touch for them (keys.go): the requests' own, and those
// their hashes name (their requesters' open requests, their accounts'
// locks). The script looks again at each: one another replica took in
// between is no longer due, and is left alone. It returns how many it
// skipped because their hash named keys other than those declared; they
// are due still, and the next round reads them again.
func (s *Store) sweep(ctx context.Context, op, zset string, batch int, script func(now int64, ids, keys []string) (int, error)) error {
	for rounds := 0; ; rounds++ {
		now := s.now()
		ids, err := s.c.ZRangeByScore(ctx, zset, &redis.ZRangeBy{Min: "-inf", Max: strconv.FormatInt(now, 10), Count: int64(batch)}).Result()
		if err != nil {
			return fail(op, err)
		}
		if len(ids) == 0 {
			return nil
		}
		keys, err := s.requestKeys(ctx, ids)
		if err != nil {
			return fail(op, err)
		}
		skipped, err := script(now, ids, keys)
		if err != nil {
			return err
		}
		if skipped > 0 && rounds >= maxNeed {
			return fmt.Errorf("%s: the keys it needs kept changing; try again", op)
		}
		if len(ids) < batch && skipped == 0 {
			return nil
		}
	}
}

// requestKeys are the keys of requests ids, and those their hashes name:
// their requesters' open requests and their accounts' locks.
func (s *Store) requestKeys(ctx context.Context, ids []string) ([]string, error) {
	cmds := make([]*redis.SliceCmd, len(ids))
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HMGet(ctx, s.reqKey(id), "requester", "account")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, 4*len(ids))
	for i, id := range ids {
		keys = append(keys, s.reqKey(id), s.refsKey(id))
		f := cmds[i].Val()
		if len(f) == 2 {
			if r := str(f[0]); r != "" {
				keys = append(keys, s.key("open:"+r))
			}
			if a := str(f[1]); a != "" {
				keys = append(keys, s.key("lock:"+a))
			}
		}
	}
	return keys, nil
}

func strArgs(l []string) []any {
	out := make([]any, len(l))
	for i, v := range l {
		out[i] = v
	}
	return out
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
