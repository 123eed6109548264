package approvals

import (
	"context"
	"strconv"
	"time"

	"resetbot/bot"
)

// The review of a request that skipped the vote sits in its hash:
// rv_kind, rv_incident, rv_detail, rv_due (ms), rv_state, rv_by, rv_at
// (ms), rv_reason; and, once rejected or overdue, its rotation: rot_state,
// rot_attempts, rot_next (ms), rot_error, rot_at (ms). lock:<account>
// holds the requests whose rejected reviews locked the account: no
// break-glass or
// on-call reset of it, and none revealed, until a normal request
// succeeds: a set, since several rejected reviews may lock it at once.
// maybe_shown marks a failed request whose password may have reached its
// requester (delivery unknown, or a stale takeover). The timers zset
// holds the review's deadline while it is open and the rotation's next
// attempt while it is pending.

// How the rotation of a rejected or overdue reset is retried: an attempt
// claimed by Due that is not reported (its process died) is claimed again
// after rotationLease; a failed one after rotationBackoff, doubling up to
// rotationBackoffMax. While the request is still being reset (executing),
// Due looks again after rotationWait.
const (
	rotationLease      = 5 * time.Minute
	rotationBackoff    = 30 * time.Second
	rotationBackoffMax = 15 * time.Minute
	rotationWait       = 10 * time.Second
)

// reviewFields are the hash fields of r's review, as Create writes them.
func reviewFields(r bot.Request) []any {
	rv := r.Review
	if rv == nil {
		return nil
	}
	f := []any{"rv_kind", string(rv.Kind), "rv_incident", rv.Incident, "rv_due", strconv.FormatInt(ms(rv.Due), 10),
		"rv_state", string(bot.ReviewOpen)}
	if rv.Detail != "" {
		f = append(f, "rv_detail", rv.Detail)
	}
	return f
}

// decodeReview reads one of the review's hash fields into r.
func decodeReview(r *bot.Request, k, val string) error {
	if r.Review == nil {
		r.Review = &bot.Review{}
	}
	rv := r.Review
	rot := func() *bot.Rotation {
		if rv.Rotation == nil {
			rv.Rotation = &bot.Rotation{}
		}
		return rv.Rotation
	}
	var err error
	switch k {
	case "rv_kind":
		rv.Kind = bot.ReviewKind(val)
	case "rv_incident":
		rv.Incident = val
	case "rv_detail":
		rv.Detail = val
	case "rv_due":
		rv.Due, err = parseMS(val)
	case "rv_state":
		rv.State = bot.ReviewState(val)
	case "rv_by":
		rv.By = val
	case "rv_at":
		rv.At, err = parseMS(val)
	case "rv_reason":
		rv.Reason = val
	case "rot_state":
		rot().State = bot.RotationState(val)
	case "rot_attempts":
		rot().Attempts, err = strconv.Atoi(val)
	case "rot_next":
		rot().Next, err = parseMS(val)
	case "rot_error":
		rot().Error = val
	case "rot_at":
		rot().At, err = parseMS(val)
	}
	return err
}

// reviewLib is the Lua that ends a review that rejects (or, overdue, does
// not confirm) a reset without a vote: the review script and the due
// script share it.
const reviewLib = `
-- undo records that the review of request id (hash rk) rejected it (event
-- E.Rejected, by person) or ran out (E.Overdue, by 'system'), and undoes
-- what it can: not yet revealed, the request ends with nothing reset;
-- revealed (or being revealed), its password is rotated, to one nobody
-- sees, and its account locked until a normal request succeeds.
local function undo(id, rk, by, platform, reason, event, detail)
  local f = R('HMGET', rk, 'state', 'requester', 'account')
  local st, requester, account = f[1], f[2], f[3]
  local rs = RV.Rejected
  if event == E.Overdue then rs = RV.Overdue end
  R('HSET', rk, 'rv_state', rs, 'rv_by', by, 'rv_at', NOWS, 'updated', NOWS)
  if reason ~= '' then R('HSET', rk, 'rv_reason', reason) end
  R('HINCRBY', rk, 'rev', 1)
  audit(event, id, by, platform, detail)
  local resetting = st == S.Executing and R('HGET', rk, 'claim') ~= CLAIM_QUEUE
  if st == S.Approved or st == S.Offered or st == S.Pending or (st == S.Executing and not resetting) then
    -- nothing was reset (an executing request claimed from the queue is
    -- being offered, not reset): the request ends here, nothing to rotate
    local why = 'rejected by ' .. by
    if event == E.Overdue then why = 'not confirmed in time' end
    R('HSET', rk, 'state', S.Denied, 'rot_state', ROT.None,
      'outcome', why .. ' before ' .. requester .. ' revealed it; nothing was reset')
    R('HDEL', rk, 'reveal', 'token', 'lease', 'claim')
    audit(E.Denied, id, by, platform, 'review ' .. rs .. ' before the reset; nothing was reset')
    close(id, account, requester)
  elseif resetting or st == S.Succeeded or (st == S.Failed and R('HGET', rk, 'maybe_shown') == '1') then
    -- its password was, or may have been, shown: it is reset again, and
    -- the account locked until a normal approved reset
    R('HSET', rk, 'rot_state', ROT.Pending, 'rot_attempts', '0', 'rot_next', NOWS)
    R('SADD', K .. 'lock:' .. account, id)
  else
    -- expired or cancelled before its Reveal, or failed without showing a
    -- password: nothing to undo
    R('HSET', rk, 'rot_state', ROT.None)
  end
  schedule(id)
end
`

// Review records person's review of request id: confirm, or reject with
// reason. It fails with ENOTFOUND; ECONFLICT when id skipped no vote or
// its review is no longer open (the message says by whom it ended);
// EFORBIDDEN when person is its requester. Refusals are audited. The
// caller checks that person may review the account. A rejection of a
// request not yet revealed ends it (denied, nothing reset); of one
// revealed, it schedules the rotation (Due returns it) and locks the
// account. The same call sent again (its answer was lost) succeeds again,
// changing nothing.
func (s *Store) Review(ctx context.Context, id, person string, platform bot.Platform, confirm bool, reason string) (bot.Request, error) {
	ctx = mustConfirm(ctx)
	if person == "" {
		return bot.Request{}, bot.Errorf(bot.EINVALID, "a review needs a person")
	}
	c := "0"
	if confirm {
		c = "1"
	}
	// the request names the keys a rejection touches besides its own: the
	// lock of its account and its requester's open requests
	own, err := s.ownKeys(ctx, id)
	if err != nil {
		return bot.Request{}, fail("review "+id, err)
	}
	keys := s.withAudit(person, append(own, s.reqKey(id), s.refsKey(id), s.key("timers"), s.key("deadlines"), s.key("leases"))...)
	return s.runRequest(ctx, "review "+id, s.lua.review, keys, s.now(), id, person, string(platform), c, reason)
}

// ARGV[5..]: id, person, platform, "1" to confirm or "0" to reject, reason.
var reviewLua = prelude + reviewLib + `
local id, person, platform, confirm, reason = ARGV[5], ARGV[6], ARGV[7], ARGV[8] == '1', ARGV[9]
local rk = rkey(id)
local f = R('HMGET', rk, 'state', 'requester', 'rv_kind', 'rv_state', 'rv_by')
local function refused(code, msg) return refusedBy(id, person, platform, code, msg) end
if not f[1] then
  return refused(C.NotFound, 'there is no request ' .. id)
end
if not f[3] then
  return refused(C.Conflict, id .. ' was approved by a vote: there is nothing to review')
end
if person == f[2] then
  return refused(C.Forbidden, 'you asked for ' .. id .. ': another approver must review it')
end
local wanted = RV.Rejected
if confirm then wanted = RV.Confirmed end
if f[4] ~= RV.Open then
  if f[4] == wanted and f[5] == person then return okreq(id) end -- the same review sent again
  local by = f[5] or 'system'
  if f[4] == RV.Overdue then
    return refused(C.Conflict, 'the review of ' .. id .. ' is closed: nobody confirmed it in time')
  end
  return refused(C.Conflict, id .. ' was already ' .. f[4] .. ' by ' .. by)
end
local n = needOwn(id, true, true)
if n then return n end
if confirm then
  R('HSET', rk, 'rv_state', RV.Confirmed, 'rv_by', person, 'rv_at', NOWS, 'updated', NOWS)
  R('HINCRBY', rk, 'rev', 1)
  audit(E.Confirmed, id, person, platform, reason)
  schedule(id)
else
  local detail = RV.Rejected
  if reason ~= '' then detail = RV.Rejected .. ': ' .. reason end
  undo(id, rk, person, platform, reason, E.Rejected, detail)
end
return okreq(id)
`

// Rotated records the outcome of rotation attempt (what Due returned in
// Timer.Rotate) of request id: errText empty when the password was reset
// again, else why not (safe to show), and the next attempt is scheduled
// with backoff. ECONFLICT when the attempt is no longer the rotation's
// (another process claimed a later one, or it is done). The same call
// sent again succeeds again, changing nothing.
func (s *Store) Rotated(ctx context.Context, id string, attempt int, errText string) (bot.Request, error) {
	keys := s.withAudit("", s.reqKey(id), s.refsKey(id), s.key("timers"))
	return s.runRequest(ctx, "record the rotation of "+id, s.lua.rotated, keys, s.now(), id, attempt, errText,
		rotationBackoff.Milliseconds(), rotationBackoffMax.Milliseconds())
}

// ARGV[5..]: id, attempt, error text (” for success), backoff base and
// maximum (ms).
var rotatedLua = prelude + `
local id, attempt, errText = ARGV[5], ARGV[6], ARGV[7]
local base, most = tonumber(ARGV[8]), tonumber(ARGV[9])
local rk = rkey(id)
local f = R('HMGET', rk, 'rot_state', 'rot_attempts', 'rot_failed')
if not f[1] then
  return refuse(C.NotFound, 'there is no rotation of ' .. id, id)
end
if f[2] ~= attempt then
  return refuse(C.Conflict, 'attempt ' .. attempt .. ' at rotating ' .. id .. ' is no longer the latest', id)
end
if f[1] == ROT.Done then
  if errText == '' then return okreq(id) end -- the same success sent again
  return refuse(C.Conflict, id .. ' was rotated already', id)
end
if f[1] ~= ROT.Pending then
  return refuse(C.Conflict, 'there is no rotation of ' .. id .. ' to record', id)
end
if errText == '' then
  R('HSET', rk, 'rot_state', ROT.Done, 'rot_at', NOWS, 'updated', NOWS)
  R('HDEL', rk, 'rot_next', 'rot_error')
  R('HINCRBY', rk, 'rev', 1)
  audit(E.Rotated, id, 'system', '', 'the password was reset again; nobody has it')
elseif f[3] == attempt then
  return okreq(id) -- the same failure sent again
else
  local wait = math.min(base * 2 ^ (tonumber(attempt) - 1), most)
  R('HSET', rk, 'rot_error', errText, 'rot_failed', attempt, 'rot_next', istr(NOW + wait), 'updated', NOWS)
  R('HINCRBY', rk, 'rev', 1)
  audit(E.RotationFailed, id, 'system', '', 'attempt ' .. attempt .. ': ' .. errText .. '; still exposed, next attempt in ' .. istr(wait / 1000) .. 's')
end
schedule(id)
return okreq(id)
`
