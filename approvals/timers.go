package approvals

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"resetbot/bot"
)

// A request's reminders and escalation sit in its hash (see doc.go):
// remind_after (ms), remind_backoff, rem_sent (how many were sent) and
// remind_next (ms, absent when none is left); esc_to and esc_people
// (tab-separated names), esc_at (ms) and esc_done (ms, once done). The
// timers zset holds, for each pending request that has them, when the
// next one is due; Due claims them.

// timerFields are the hash fields of r's reminders and escalation.
func timerFields(r bot.Request) ([]any, error) {
	var f []any
	if rm := r.Reminders; rm != nil && rm.After > 0 {
		backoff := max(rm.Backoff, 1)
		f = append(f, "remind_after", strconv.FormatInt(rm.After.Milliseconds(), 10),
			"remind_backoff", strconv.FormatFloat(backoff, 'g', -1, 64),
			"rem_sent", strconv.Itoa(rm.Sent))
		if !rm.Next.IsZero() {
			f = append(f, "remind_next", strconv.FormatInt(ms(rm.Next), 10))
		}
	}
	if e := r.Escalation; e != nil && !e.At.IsZero() {
		for _, name := range append(append([]string{}, e.To...), e.People...) {
			if name == "" || strings.ContainsAny(name, "\t\n") {
				return nil, bot.Errorf(bot.EINVALID, "escalation: names must be non-empty, without tabs or line breaks")
			}
		}
		if len(e.To) == 0 {
			return nil, bot.Errorf(bot.EINVALID, "escalation: it needs someone to escalate to")
		}
		f = append(f, "esc_to", strings.Join(e.To, "\t"), "esc_people", strings.Join(e.People, "\t"),
			"esc_at", strconv.FormatInt(ms(e.At), 10))
		if e.Done {
			f = append(f, "esc_done", strconv.FormatInt(ms(e.At), 10))
		}
	}
	return f, nil
}

func decodeReminders(r *bot.Request, k, val string) error {
	if r.Reminders == nil {
		r.Reminders = &bot.Reminders{}
	}
	var err error
	switch k {
	case "remind_after":
		var v int64
		v, err = strconv.ParseInt(val, 10, 64)
		r.Reminders.After = time.Duration(v) * time.Millisecond
	case "remind_backoff":
		r.Reminders.Backoff, err = strconv.ParseFloat(val, 64)
	case "rem_sent":
		r.Reminders.Sent, err = strconv.Atoi(val)
	case "remind_next":
		r.Reminders.Next, err = parseMS(val)
	}
	return err
}

func decodeEscalation(r *bot.Request, k, val string) error {
	if r.Escalation == nil {
		r.Escalation = &bot.Escalation{}
	}
	var err error
	switch k {
	case "esc_to":
		r.Escalation.To = splitNames(val)
	case "esc_people":
		r.Escalation.People = splitNames(val)
	case "esc_at":
		r.Escalation.At, err = parseMS(val)
	case "esc_done":
		r.Escalation.Done = true
	}
	return err
}

func splitNames(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, "\t")
}

// dueBatch is how many due requests one Due script looks at.
const dueBatch = 100

// Due claims the reminders and escalations that are due on pending
// requests: each is claimed, audited and returned by one caller only, in
// one script with the request's state, so never once it left pending.
//
// A reminder moves the request's next one on (remind_next: After times
// Backoff to the power of the reminders sent, after the one due; from now
// when that is past already), or drops it after the last
// (bot.MaxReminders) or when the next would come after the expiry. An
// escalation adds esc_people to every rule of the request, lets the
// approvals they gave count toward any rule, and approves the request when
// one assignment of its approvals then satisfies every rule, as a vote
// would (queued, audited as approved by "system").
func (s *Store) Due(ctx context.Context) ([]bot.Timer, error) {
	const op = "claim due reminders"
	var out []bot.Timer
	err := s.sweep(ctx, op, s.key("timers"), dueBatch, func(now int64, ids, keys []string) (int, error) {
		keys = s.withAudit("", append(keys, s.key("timers"), s.key("deadlines"), s.key("queue"), s.key("leases"))...)
		args := append([]any{bot.MaxReminders, rotationLease.Milliseconds(), rotationWait.Milliseconds()}, strArgs(ids)...)
		status, rest, err := s.run(ctx, op, s.lua.due, keys, now, args...)
		if err != nil {
			return 0, err
		}
		if status != "ok" || len(rest) < 2 {
			return 0, fmt.Errorf("%s: unexpected script status %q", op, status)
		}
		for _, item := range asList(rest[1]) {
			parts := asList(item)
			if len(parts) < 5 {
				return 0, fmt.Errorf("%s: short reply", op)
			}
			r, err := parseRequest(parts[0])
			if err != nil {
				return 0, fmt.Errorf("%s: %w", op, err)
			}
			n, _ := strconv.Atoi(str(parts[1]))
			rot, _ := strconv.Atoi(str(parts[4]))
			out = append(out, bot.Timer{Request: r, Reminder: n, Escalated: str(parts[2]) == "1",
				Overdue: str(parts[3]) == "1", Rotate: rot})
		}
		skipped, _ := strconv.Atoi(str(rest[0]))
		return skipped, nil
	})
	return out, err
}

// ARGV[5..]: the most reminders a request gets, a rotation attempt's lease
// and how long to wait for a reset still running before rotating (ms),
// then the IDs of requests that were due when Go read timers
// (Store.sweep). It answers how many it skipped, and the timers it
// claimed.
var dueLua = prelude + rulesLua + reviewLib + `
local timers = K .. 'timers'
local maxReminders = tonumber(ARGV[5])
local rotationLease, rotationWait = tonumber(ARGV[6]), tonumber(ARGV[7])
local due, skipped = {}, 0
for i = 8, #ARGV do
  local id = ARGV[i]
  local at = R('ZSCORE', timers, id)
  if at and tonumber(at) <= NOW then
    if needOwn(id, true, true) then
      skipped = skipped + 1 -- its hash names other keys now: the next round
    else
      table.insert(due, id)
    end
  end
end
local out = {}

local function split(s)
  local l = {}
  for v in string.gmatch(s or '', '[^\t]+') do table.insert(l, v) end
  return l
end

-- escalate lets people count toward every rule of request id, and
-- approves it when its approvals then satisfy every rule.
local function escalate(id, rk, f)
  local people = split(f.people)
  R('HSET', rk, 'esc_done', NOWS, 'updated', NOWS)
  R('HINCRBY', rk, 'rev', 1)
  audit(E.Escalated, id, 'system', '', 'escalated to ' .. table.concat(split(f.to), ', '))
  if not f.rules then return end
  local lines, all = {}, {}
  for line in string.gmatch(f.rules, '[^\n]+') do
    local have = {}
    for tok in string.gmatch(line, '[^\t]+') do have[tok] = true end
    for _, p in ipairs(people) do
      if not have[RULE_PERSON .. p] then line = line .. '\t' .. RULE_PERSON .. p end
    end
    table.insert(lines, line)
    table.insert(all, istr(#lines - 1))
  end
  local text = table.concat(lines, '\n')
  R('HSET', rk, 'rules', text)
  for _, p in ipairs(people) do
    if R('HGET', rk, 'v:' .. p) == '1' then
      R('HSET', rk, VOTE_RULES .. p, table.concat(all, ','))
    end
  end
  local done, progress = satisfied(rk, parseRules(text))
  if done then
    markApproved(id, rk, 'system', '', f.approvals .. ' of ' .. f.approvals .. ' approvals: ' .. progress .. ', after the escalation')
  end
end

for _, id in ipairs(due) do
  local rk = rkey(id)
  local h = R('HMGET', rk, 'state', 'expires', 'remind_next', 'rem_sent', 'remind_after', 'remind_backoff',
    'esc_at', 'esc_done', 'esc_people', 'esc_to', 'rules', 'approvals', 'rv_state', 'rv_due')
  local escalated, reminder, overdue, rotate = false, 0, false, 0
  if h[1] == S.Pending and NOW < tonumber(h[2]) then
    if h[7] and not h[8] and NOW >= tonumber(h[7]) then
      escalate(id, rk, {people = h[9], to = h[10], rules = h[11], approvals = h[12]})
      escalated = true
    end
    if R('HGET', rk, 'state') == S.Pending and h[3] and NOW >= tonumber(h[3]) then
      reminder = tonumber(h[4] or '0') + 1
      local nxt = nil
      if reminder < maxReminders then
        local wait = tonumber(h[5]) * tonumber(h[6]) ^ reminder
        nxt = tonumber(h[3]) + wait
        if nxt <= NOW then nxt = NOW + wait end
        if nxt >= tonumber(h[2]) then nxt = nil end
      end
      R('HSET', rk, 'rem_sent', istr(reminder))
      if nxt then
        R('HSET', rk, 'remind_next', istr(nxt))
      else
        R('HDEL', rk, 'remind_next')
      end
      audit(E.Reminded, id, 'system', '', 'reminder ' .. istr(reminder) .. ' of at most ' .. istr(maxReminders))
    end
  end
  -- a review nobody confirmed in time is undone as a rejection is
  if h[13] == RV.Open and NOW >= tonumber(h[14]) then
    undo(id, rk, 'system', '', '', E.Overdue, 'not confirmed by the review deadline')
    overdue = true
  end
  -- a rotation's next attempt: claimed once the reset it undoes is over
  local r = R('HMGET', rk, 'state', 'rot_state', 'rot_next', 'rot_attempts', 'account', 'maybe_shown')
  if r[2] == ROT.Pending and NOW >= tonumber(r[3]) then
    if r[1] == S.Executing then
      R('HSET', rk, 'rot_next', istr(NOW + rotationWait))
    elseif R('SISMEMBER', K .. 'lock:' .. r[5], id) == 0 then
      -- a normal approved reset of the account since replaced the
      -- password that was shown, and unlocked it: resetting again would
      -- take the approved one away
      R('HSET', rk, 'rot_state', ROT.Done, 'rot_at', NOWS, 'updated', NOWS)
      R('HDEL', rk, 'rot_next')
      R('HINCRBY', rk, 'rev', 1)
      audit(E.Rotated, id, 'system', '', 'not needed: a normal approved reset of ' .. r[5] .. ' replaced the password that was shown')
    elseif r[1] == S.Succeeded or (r[1] == S.Failed and r[6] == '1') then
      rotate = tonumber(r[4] or '0') + 1
      R('HSET', rk, 'rot_attempts', istr(rotate), 'rot_next', istr(NOW + rotationLease))
    else
      -- the reset failed without showing a password: nothing to undo
      R('HSET', rk, 'rot_state', ROT.None, 'updated', NOWS)
      R('HDEL', rk, 'rot_next')
      R('HINCRBY', rk, 'rev', 1)
      R('SREM', K .. 'lock:' .. r[5], id)
    end
  end
  if h[1] == S.Pending and NOW >= tonumber(h[2]) then
    -- the expiry sweep will end it: nothing more to send
    R('ZREM', timers, id)
  else
    schedule(id)
  end
  if escalated or reminder > 0 or overdue or rotate > 0 then
    table.insert(out, {hreq(id), istr(reminder), escalated and '1' or '0', overdue and '1' or '0', istr(rotate)})
  end
end
return {'ok', istr(skipped), out}
`
