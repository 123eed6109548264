package approvals

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/bot"
)

// The audit log's streams, by name under the prefix: the decisions, the
// known people's refusals, the strangers' refusals.
const (
	streamAudit     = "audit"
	streamRefusals  = "audit:refusals"
	streamStrangers = "audit:strangers"
)

var auditStreams = []string{streamAudit, streamRefusals, streamStrangers}

// AuditStreams names the audit log's streams, for a reader that follows
// them one by one through a consumer group (ReadAuditGroup). Their entries
// take IDs from one sequence, but each stream is read and acknowledged on
// its own.
func (s *Store) AuditStreams() []string { return append([]string(nil), auditStreams...) }

func checkStream(stream string) error {
	for _, name := range auditStreams {
		if stream == name {
			return nil
		}
	}
	return bot.Errorf(bot.EINVALID, "%q is not an audit stream", stream)
}

// createAuditGroup creates group on stream, from the stream's start: the
// first reader of a new group is handed every event the stream holds. It
// is called when Redis answers NOGROUP: on first use, and after Redis lost
// its data.
func (s *Store) createAuditGroup(ctx context.Context, stream, group string) error {
	err := s.c.XGroupCreateMkStream(ctx, s.key(stream), group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fail("create the audit log's consumer group", err)
	}
	return nil
}

func noGroup(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "NOGROUP") }

func noKey(err error) bool { return err != nil && strings.Contains(err.Error(), "no such key") }

// ReadAuditGroup returns up to count events of the audit stream named
// stream (one of AuditStreams) for consumer of group, oldest first, and
// makes them pending to consumer until AckAudit: first the events already
// pending to consumer (read before it stopped, or not acknowledged), then
// those pending to another consumer that has not touched them for minIdle
// (it died or hangs; they are claimed for consumer), then new events,
// waiting up to block (0: not at all) for some. It returns no events, and no error, when
// none came within block. The group is created on first use, from the
// stream's start.
//
// Entries deleted while pending (a refusals summary written again with a
// higher count, an entry trimmed by the stream's cap) are acknowledged
// and left out. It fails with EINVALID for an unknown stream and
// EUNAVAILABLE when Redis cannot be reached.
func (s *Store) ReadAuditGroup(ctx context.Context, group, stream, consumer string, count int, minIdle, block time.Duration) ([]bot.Event, error) {
	if err := checkStream(stream); err != nil {
		return nil, err
	}
	if group == "" || consumer == "" || count < 1 {
		return nil, bot.Errorf(bot.EINVALID, "ReadAuditGroup needs a group, a consumer and a count")
	}
	if block <= 0 {
		block = -1 // go-redis: no BLOCK (0 would block for ever)
	}
	key := s.key(stream)
	for range 2 { // a second time after creating the group
		evs, err := s.readGroup(ctx, key, stream, group, consumer, "0", count, -1)
		if noGroup(err) {
			if err := s.createAuditGroup(ctx, stream, group); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil || len(evs) > 0 {
			return evs, err
		}
		msgs, _, err := s.c.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: key, Group: group, Consumer: consumer, MinIdle: max(minIdle, time.Millisecond), Start: "0-0", Count: int64(count),
		}).Result()
		if noGroup(err) {
			continue // lost since the read: the next round creates it
		}
		if err != nil {
			return nil, fail("claim idle audit events", err)
		}
		// XAUTOCLAIM leaves out, and drops from the group, entries
		// deleted while pending.
		if evs = s.events(msgs, stream); len(evs) > 0 {
			return evs, nil
		}
		evs, err = s.readGroup(ctx, key, stream, group, consumer, ">", count, block)
		if noGroup(err) {
			continue
		}
		return evs, err
	}
	return nil, nil
}

// readGroup is XREADGROUP from id; block < 0 does not block.
func (s *Store) readGroup(ctx context.Context, key, stream, group, consumer, id string, count int, block time.Duration) ([]bot.Event, error) {
	res, err := s.c.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: group, Consumer: consumer, Streams: []string{key, id}, Count: int64(count), Block: block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		if noGroup(err) {
			return nil, err
		}
		return nil, fail("read the audit log", err)
	}
	var msgs []redis.XMessage
	var gone []string
	for _, r := range res {
		for _, m := range r.Messages {
			if len(m.Values) == 0 {
				gone = append(gone, m.ID) // deleted while pending
				continue
			}
			msgs = append(msgs, m)
		}
	}
	if len(gone) > 0 {
		if err := s.c.XAck(ctx, key, group, gone...).Err(); err != nil {
			return nil, fail("acknowledge deleted audit events", err)
		}
	}
	return s.events(msgs, stream), nil
}

func (s *Store) events(msgs []redis.XMessage, stream string) []bot.Event {
	out := make([]bot.Event, 0, len(msgs))
	for _, m := range msgs {
		if len(m.Values) == 0 {
			continue
		}
		out = append(out, eventOf(m, stream == streamStrangers))
	}
	return out
}

// AckAudit marks the events ids of stream as handled by group: no consumer
// of group is handed them again. It fails with EUNAVAILABLE when Redis
// cannot be reached; the events then stay pending, and are handed out
// again.
func (s *Store) AckAudit(ctx context.Context, group, stream string, ids ...string) error {
	if err := checkStream(stream); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	if err := s.c.XAck(ctx, s.key(stream), group, ids...).Err(); err != nil {
		return fail("acknowledge audit events", err)
	}
	return nil
}

// touchLua keeps the entries ARGV[3..] of stream KEYS[1] pending to
// consumer ARGV[2] of group ARGV[1] fresh (their idle time back at 0, so
// that no other consumer claims them), for those still pending to it; it
// returns those. One script, so that an entry another consumer claimed
// meanwhile is not taken back.
var touchLua = redis.NewScript(touchSrc)

var touchSrc = guardLua + `
local held = {}
for i = 3, #ARGV do
  local p = R('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2])
  if #p > 0 then
    R('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    table.insert(held, ARGV[i])
  end
end
return held
`

// TouchAudit tells group that consumer still works on the events ids of
// stream, so that ReadAuditGroup does not hand them to another consumer
// for another minIdle; a consumer that retries a delivery for longer than
// minIdle calls it. It returns the ids still pending to consumer: an id
// left out was acknowledged, or claimed by another consumer after
// consumer left it idle for too long, and is no longer consumer's to
// deliver. It fails with EUNAVAILABLE when Redis cannot be reached.
func (s *Store) TouchAudit(ctx context.Context, group, stream, consumer string, ids ...string) ([]string, error) {
	if err := checkStream(stream); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	args := []any{group, consumer}
	for _, id := range ids {
		args = append(args, id)
	}
	v, err := touchLua.Run(ctx, s.sc, []string{s.key(stream)}, args...).StringSlice()
	if err != nil {
		if noGroup(err) {
			return nil, nil // Redis lost the group: nothing is pending to anyone
		}
		return nil, fail("keep audit events claimed", err)
	}
	return v, nil
}

// leaveLua deletes consumer ARGV[2] from group ARGV[1] of stream KEYS[1]
// if nothing is pending to it: deleting a consumer drops its pending
// entries, which would then never be handed out again. ARGV[3], when not
// empty, is the least idle time (ms) the consumer must have.
var leaveLua = redis.NewScript(leaveSrc)

var leaveSrc = guardLua + `
if #R('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) > 0 then return 0 end
if ARGV[3] ~= '' then
  for _, c in ipairs(R('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
    local name, idle
    for i = 1, #c, 2 do
      if c[i] == 'name' then name = c[i + 1] elseif c[i] == 'idle' then idle = c[i + 1] end
    end
    if name == ARGV[2] and idle < tonumber(ARGV[3]) then return 0 end
  end
end
R('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1
`

// LeaveAuditGroup removes consumer from group on every audit stream where
// nothing is pending to it, so that the groups do not collect the
// consumers of every replica that ever ran. A consumer with events
// pending stays until another claims them. It fails with EUNAVAILABLE when
// Redis cannot be reached.
func (s *Store) LeaveAuditGroup(ctx context.Context, group, consumer string) error {
	return s.leave(ctx, group, consumer, "")
}

// TidyAuditGroup removes from group, on every audit stream, the consumers
// idle for longer than idle with nothing pending: those of replicas that
// stopped without leaving. It fails with EUNAVAILABLE when Redis cannot
// be reached.
func (s *Store) TidyAuditGroup(ctx context.Context, group string, idle time.Duration) error {
	for _, stream := range auditStreams {
		cs, err := s.c.XInfoConsumers(ctx, s.key(stream), group).Result()
		if err != nil {
			if noGroup(err) || noKey(err) {
				continue
			}
			return fail("list the audit log's consumers", err)
		}
		for _, c := range cs {
			if c.Pending == 0 && c.Idle > idle {
				if _, err := leaveLua.Run(ctx, s.sc, []string{s.key(stream)}, group, c.Name, idle.Milliseconds()).Result(); err != nil {
					return fail("remove an idle consumer of the audit log", err)
				}
			}
		}
	}
	return nil
}

func (s *Store) leave(ctx context.Context, group, consumer, idle string) error {
	for _, stream := range auditStreams {
		_, err := leaveLua.Run(ctx, s.sc, []string{s.key(stream)}, group, consumer, idle).Result()
		if err != nil && !noGroup(err) && !noKey(err) {
			return fail("leave the audit log's consumer group", err)
		}
	}
	return nil
}

// AuditGroupLag says how far group is behind the audit log, over its
// streams: events is how many events it has not acknowledged (pending to a
// consumer, or not yet handed to any), oldest the age, by the store's
// clock, of the oldest of them (0 when there is none). Where Redis cannot
// count the events not yet handed out (entries were deleted among them),
// they are counted up to 10,000 per stream. A group not created yet is
// behind by the whole stream. It fails with EUNAVAILABLE when Redis cannot
// be reached.
func (s *Store) AuditGroupLag(ctx context.Context, group string) (events int64, oldest time.Duration, err error) {
	now := s.now()
	first := int64(-1) // ms of the oldest unacknowledged entry
	for _, stream := range auditStreams {
		key := s.key(stream)
		groups, err := s.c.XInfoGroups(ctx, key).Result()
		if noKey(err) {
			continue // no stream, no event
		}
		if err != nil {
			return 0, 0, fail("read the audit log's consumer groups", err)
		}
		// A group not created yet is behind by the whole stream.
		g := &redis.XInfoGroup{LastDeliveredID: "0-0", Lag: -1}
		for i := range groups {
			if groups[i].Name == group {
				g = &groups[i]
			}
		}
		lag := g.Lag
		undelivered, err := after(g.LastDeliveredID)
		if err != nil {
			return 0, 0, fmt.Errorf("audit lag: %w", err)
		}
		// Redis cannot count them after deletions among them; a Redis
		// that does not track entries-read (miniredis, the embedded store)
		// gives no true lag once the group read something.
		if lag < 0 || g.EntriesRead == 0 && g.LastDeliveredID != "0-0" {
			n, err := s.c.XRangeN(ctx, key, undelivered, "+", 10_000).Result()
			if err != nil {
				return 0, 0, fail("count undelivered audit events", err)
			}
			lag = int64(len(n))
		}
		events += g.Pending + lag
		oldestID := ""
		if g.Pending > 0 {
			p, err := s.c.XPending(ctx, key, group).Result()
			if err != nil {
				return 0, 0, fail("read the audit log's pending events", err)
			}
			oldestID = p.Lower
		} else if lag > 0 {
			m, err := s.c.XRangeN(ctx, key, undelivered, "+", 1).Result()
			if err != nil {
				return 0, 0, fail("read the audit log", err)
			}
			if len(m) > 0 {
				oldestID = m[0].ID
			}
		}
		if msPart, _, ok := strings.Cut(oldestID, "-"); ok {
			if t, err := strconv.ParseInt(msPart, 10, 64); err == nil && (first < 0 || t < first) {
				first = t
			}
		}
	}
	if first >= 0 && now > first {
		oldest = time.Duration(now-first) * time.Millisecond
	}
	return events, oldest, nil
}

// AuditCursor is a place in the audit log: a position in each of its
// streams. The zero AuditCursor is the log's start.
type AuditCursor struct {
	ids [3]string // per auditStreams: the last entry read; "" for none
}

func (c AuditCursor) id(i int) string {
	if c.ids[i] == "" {
		return "0-0"
	}
	return c.ids[i]
}

// AuditCursorAt is the place in the audit log just before the events
// written at t or later, by the entries' IDs, which follow the store's
// clock.
func AuditCursorAt(t time.Time) AuditCursor {
	var c AuditCursor
	if m := ms(t); m > 0 {
		for i := range c.ids {
			c.ids[i] = strconv.FormatInt(m-1, 10) + "-18446744073709551615"
		}
	}
	return c
}

// AuditEnd is the audit log's end now: FollowAudit from it returns only
// events written later. It fails with EUNAVAILABLE when Redis cannot be
// reached.
func (s *Store) AuditEnd(ctx context.Context) (AuditCursor, error) {
	var c AuditCursor
	for i, stream := range auditStreams {
		m, err := s.c.XRevRangeN(ctx, s.key(stream), "+", "-", 1).Result()
		if err != nil {
			return c, fail("read the audit log", err)
		}
		if len(m) > 0 {
			c.ids[i] = m[0].ID
		}
	}
	return c, nil
}

// followPage is how many entries of each stream one FollowAudit reads.
const followPage = 500

// FollowAudit returns the events written after cur, oldest first, merged
// from the log's streams in the order they were written, and the cursor
// after them; with none yet, it waits up to block (0: returns at once) for
// some, and returns none when none came. It fails with EUNAVAILABLE when
// Redis cannot be reached; when ctx ends it returns ctx.Err().
func (s *Store) FollowAudit(ctx context.Context, cur AuditCursor, block time.Duration) ([]bot.Event, AuditCursor, error) {
	streams := make([]string, 0, 2*len(auditStreams))
	for _, name := range auditStreams {
		streams = append(streams, s.key(name))
	}
	for i := range auditStreams {
		streams = append(streams, cur.id(i))
	}
	if block <= 0 {
		block = -1 // go-redis: no BLOCK
	}
	res, err := s.c.XRead(ctx, &redis.XReadArgs{Streams: streams, Count: followPage, Block: block}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, cur, nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, cur, ctx.Err()
		}
		return nil, cur, fail("follow the audit log", err)
	}
	// A stream that filled its page may hold older entries than another
	// stream's last: up to the lowest of the full pages' last IDs, the
	// merge is complete; the rest is read again next time.
	limit := ""
	for _, r := range res {
		if len(r.Messages) == followPage {
			if last := r.Messages[len(r.Messages)-1].ID; limit == "" || compareIDs(last, limit) < 0 {
				limit = last
			}
		}
	}
	var out []bot.Event
	for _, r := range res {
		i := streamIndex(s, r.Stream)
		if i < 0 {
			continue
		}
		for _, m := range r.Messages {
			if limit != "" && compareIDs(m.ID, limit) > 0 {
				break
			}
			out = append(out, eventOf(m, auditStreams[i] == streamStrangers))
			cur.ids[i] = m.ID
		}
	}
	sortByID(out)
	return out, cur, nil
}

func streamIndex(s *Store, key string) int {
	for i, name := range auditStreams {
		if s.key(name) == key {
			return i
		}
	}
	return -1
}
