package approvals

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"resetbot/bot"
)

// Audit appends e to the audit log; a zero e.Time is the store's clock. The
// entry's stream ID follows the store's clock, whatever e.Time says.
//
// A refusal (bot.EventRefused) of a known person goes to audit:refusals,
// capped apart from the decisions, and is rate-limited per person: the
// first few of each window are written in full, the rest collapsed into one
// summary whose Count says how many it stands for. The scripts' own
// refusals (Vote's, Cancel's, ClaimReveal's, Create's) are written the
// same way, in the same step.
func (s *Store) Audit(ctx context.Context, e bot.Event) error {
	ctx = mustConfirm(ctx)
	now := s.now()
	at := now
	if !e.Time.IsZero() {
		at = ms(e.Time)
	}
	stranger, person := "0", ""
	switch {
	case e.Stranger:
		stranger = "1"
	case e.Kind == bot.EventRefused:
		person = e.Actor
	}
	keys := s.withAudit(person)
	if e.RequestID != "" {
		keys = append(keys, s.reqKey(e.RequestID)) // its incident goes on the event
	}
	_, _, err := s.run(ctx, "audit "+string(e.Kind), s.lua.audit, keys, now,
		string(e.Kind), e.RequestID, e.Actor, string(e.Platform), e.Detail, strconv.FormatInt(at, 10), stranger, e.Incident)
	return err
}

// auditPage is how many events one XRANGE reads.
const auditPage = 1000

// AuditLog reads the audit log, oldest first: the decisions, the known
// people's refusals and the strangers', merged in the order they were
// written. Since selects by the entries' stream IDs,
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
	refusals, err := s.auditStream(ctx, s.key("audit:refusals"), start, q, false)
	if err != nil {
		return nil, err
	}
	strangers, err := s.auditStream(ctx, s.key("audit:strangers"), start, q, true)
	if err != nil {
		return nil, err
	}
	if len(refusals)+len(strangers) == 0 {
		return out, nil
	}
	out = append(append(out, refusals...), strangers...)
	sortByID(out)
	return out, nil
}

// sortByID puts events from several streams in the order they were
// written: their IDs come from one sequence.
func sortByID(events []bot.Event) {
	slices.SortStableFunc(events, func(a, b bot.Event) int { return compareIDs(a.ID, b.ID) })
}

// eventOf reads an audit entry; stranger says it is from audit:strangers.
func eventOf(m redis.XMessage, stranger bool) bot.Event {
	e := bot.Event{
		ID:        m.ID,
		Kind:      bot.EventKind(str(m.Values["event"])),
		RequestID: str(m.Values["request"]),
		Actor:     str(m.Values["actor"]),
		Platform:  bot.Platform(str(m.Values["platform"])),
		Detail:    str(m.Values["detail"]),
		Incident:  str(m.Values["incident"]),
		Stranger:  stranger,
	}
	if t, err := parseMS(str(m.Values["time"])); err == nil {
		e.Time = t
	}
	if n, err := strconv.Atoi(str(m.Values["count"])); err == nil {
		e.Count = n
	}
	return e
}

func (s *Store) auditStream(ctx context.Context, key, start string, q bot.AuditQuery, stranger bool) ([]bot.Event, error) {
	var out []bot.Event
	for {
		msgs, err := s.c.XRangeN(ctx, key, start, "+", auditPage).Result()
		if err != nil {
			return nil, fail("read the audit log", err)
		}
		for _, m := range msgs {
			e := eventOf(m, stranger)
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

// after returns the smallest stream ID above id. An ID without its
// sequence number ("0") is its milliseconds' first, as Redis reads it:
// miniredis gives a group's last-delivered ID as the group was created
// with, "0", until the group reads an entry.
func after(id string) (string, error) {
	msPart, seqPart, ok := strings.Cut(id, "-")
	if !ok {
		seqPart = "0"
	}
	seq, err := strconv.ParseUint(seqPart, 10, 64)
	if _, merr := strconv.ParseUint(msPart, 10, 64); err != nil || merr != nil {
		return "", fmt.Errorf("bad stream ID %q", id)
	}
	return msPart + "-" + strconv.FormatUint(seq+1, 10), nil
}
