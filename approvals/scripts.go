package approvals

import "github.com/redis/go-redis/v9"

// Every script starts with this prelude. ARGV[1..4] are the same for all of
// them: the key prefix with its hash tag, the time (ms, from the injected
// clock, never Redis TIME), the audit log's limits (Store.limits: the
// approximate MAXLEN of audit, audit:refusals and audit:strangers, how many
// refusals per person and window are written in full, the window in ms) and
// the retention of terminal requests (ms). Keys are derived from the prefix in
// Lua; every one a script touches must also be in KEYS, or the guard it
// starts with (guardLua) fails it. A key only known once the script has read
// a request it asks for with a {'need', key...} answer (keys.go). All keys
// share one hash tag, so they live in one slot.
//
// Replies are tables whose first element says what happened:
// {'ok', <request as HGETALL>, ...}, {'err', code, message, id, extra} for a
// refusal, {'skip'}/{'none'} for the claim script, or {'need', key...} when
// the script needs keys not declared (Store.run sends it again with them).
// prelude's words are bound to the Go constants that own them (see
// words.go): S for states, E for audit event kinds, C for error codes, REF
// for the prefix of reference fields. Scripts write S.Offered, never
// 'offered', so that a word has one owner.
var prelude = guardLua + `
local K = ARGV[1]
local NOWS = ARGV[2]
local NOW = tonumber(ARGV[2])
local LIMITS = {}
for v in string.gmatch(ARGV[3], '%d+') do table.insert(LIMITS, v) end
local MAXLEN, REFUSALS_MAXLEN, STRANGERS_MAXLEN = LIMITS[1], LIMITS[2], LIMITS[3]
local BURST, WINDOW = tonumber(LIMITS[4]), tonumber(LIMITS[5])
local RETENTION = ARGV[4]
local AUDIT = K .. 'audit'
local REFUSALS = K .. 'audit:refusals'
local STRANGERS = K .. 'audit:strangers'
local LASTID = K .. 'audit:last'
-- INCIDENT, when a script sets it, is the incident reference of the audit
-- events it writes about a request that has none stored (a refused
-- break-glass); a request's own (rv_incident) is found by xadd.
local INCIDENT = nil
` + words + `
local function istr(n) return string.format('%.0f', n) end
local function rkey(id) return K .. 'req:' .. id end
local function refskey(id) return K .. 'refs:' .. id end

-- needOwn is the 'need' answer (keys.go) for the keys request id's hash
-- names, when they are not declared: its requester's open requests (with
-- open) and its account's lock (with lock); nil when they are declared,
-- or when there is no request.
local function needOwn(id, open, lock)
  local f = R('HMGET', rkey(id), 'requester', 'account')
  local list = {}
  if open and f[1] then want(list, K .. 'open:' .. f[1]) end
  if lock and f[2] then want(list, K .. 'lock:' .. f[2]) end
  return needed(list)
end

-- schedule files request id in timers at the first of what it has due:
-- while pending, its next reminder or its escalation; while its review is
-- open, the review's deadline; while a rotation is pending, its next
-- attempt. With none of them, it takes the request out.
local function schedule(id)
  local t = R('HMGET', rkey(id), 'state', 'remind_next', 'esc_at', 'esc_done', 'rv_state', 'rv_due',
    'rot_state', 'rot_next')
  local due = nil
  local function consider(v)
    v = tonumber(v)
    if v and (not due or v < due) then due = v end
  end
  if t[1] == S.Pending then
    consider(t[2])
    if not t[4] then consider(t[3]) end
  end
  if t[5] == RV.Open then consider(t[6]) end
  if t[7] == ROT.Pending then consider(t[8]) end
  if due then
    R('ZADD', K .. 'timers', istr(due), id)
  else
    R('ZREM', K .. 'timers', id)
  end
end

local function splitID(id)
  local m, q = string.match(id, '^(%d+)%-(%d+)$')
  return tonumber(m), tonumber(q)
end

-- nextAuditID is the ID of the next audit entry, whichever stream it goes
-- to: one sequence for the three, so that AuditLog merges them in the
-- order they were written. It follows the injected clock, so that AuditLog
-- can select by time; a clock behind the last entry reuses its ms.
local function nextAuditID()
  local last = R('GET', LASTID)
  if not last then
    -- a log written before audit:last: its newest entry
    for _, s in ipairs({AUDIT, REFUSALS, STRANGERS}) do
      local l = R('XREVRANGE', s, '+', '-', 'COUNT', 1)
      if #l > 0 then
        if not last then
          last = l[1][1]
        else
          local am, aq = splitID(last)
          local bm, bq = splitID(l[1][1])
          if bm > am or (bm == am and bq > aq) then last = l[1][1] end
        end
      end
    end
  end
  local ms, seq = NOW, 0
  if last then
    local lms, lseq = splitID(last)
    if lms and lms >= ms then ms, seq = lms, lseq + 1 end
  end
  local id = istr(ms) .. '-' .. istr(seq)
  R('SET', LASTID, id)
  return id
end

-- xadd appends an audit entry to stream and returns its ID; at is the
-- event's time, the clock's by default; count is set on a summary of
-- refusals only.
local function xadd(stream, maxlen, at, event, id, actor, platform, detail, count)
  local args = {'XADD', stream, 'MAXLEN', '~', maxlen, nextAuditID(),
    'time', at or NOWS, 'event', event, 'request', id, 'actor', actor,
    'platform', platform, 'detail', detail}
  if count then
    table.insert(args, 'count')
    table.insert(args, count)
  end
  local incident = INCIDENT
  if not incident and id and id ~= '' then incident = R('HGET', rkey(id), 'rv_incident') end
  if incident then
    table.insert(args, 'incident')
    table.insert(args, incident)
  end
  local eid = RP(unpack(args))
  if type(eid) == 'table' and eid.err then
    -- the stream is ahead of audit:last (an earlier version of the bot
    -- wrote it): take its next ID, and go on from there
    args[6] = '*'
    local last = R('XREVRANGE', stream, '+', '-', 'COUNT', 1)
    if #last > 0 then args[6] = string.match(last[1][1], '^(%d+)%-') .. '-*' end
    eid = R(unpack(args))
    R('SET', LASTID, eid)
  end
  return eid
end

-- refusal writes a known person's refusal to audit:refusals, capped apart
-- from the decisions in audit: the first BURST of each person's WINDOW in
-- full, then one summary of the rest, written again with its count at each
-- later one (the previous summary deleted), so that a flood costs a person
-- BURST + 1 entries per window.
local function refusal(id, actor, platform, detail, at)
  local rk = K .. 'refusals:' .. actor
  local win = istr(math.floor(NOW / WINDOW))
  local f = R('HMGET', rk, 'w', 'n', 's')
  local n = 1
  if f[1] == win then n = tonumber(f[2]) + 1 end
  if n > BURST then
    if f[1] == win and f[3] then R('XDEL', REFUSALS, f[3]) end
    local more = istr(n - BURST)
    local sid = xadd(REFUSALS, REFUSALS_MAXLEN, at, E.Refused, '', actor, platform,
      '… and ' .. more .. ' more refusals by ' .. actor, more)
    R('HSET', rk, 'w', win, 'n', istr(n), 's', sid)
  else
    xadd(REFUSALS, REFUSALS_MAXLEN, at, E.Refused, id, actor, platform, detail)
    if n == 1 then R('DEL', rk) end
    R('HSET', rk, 'w', win, 'n', istr(n))
  end
  R('PEXPIRE', rk, istr((tonumber(win) + 1) * WINDOW - NOW))
end

-- audit appends an event: a decision to audit, a known person's refusal
-- through refusal.
local function audit(event, id, actor, platform, detail, at)
  if event == E.Refused and actor ~= '' then
    return refusal(id, actor, platform, detail, at)
  end
  xadd(AUDIT, MAXLEN, at, event, id, actor, platform, detail)
end

local function refuse(code, msg, id, extra)
  return {'err', code, msg, id or '', extra or ''}
end

-- closedRefs holds, for this script's run only, the refs close deleted:
-- the request it returns still carries them, so that the news of its end
-- can use them one last time, while Redis keeps them no longer.
local closedRefs = {}

-- close does the bookkeeping of a request that became terminal: among
-- it, the refs kept while they can be used go, since they can no longer.
local function close(id, account, requester)
  local open = K .. 'open:' .. requester
  if R('HGET', open, account) == id then
    R('HDEL', open, account)
  end
  R('ZREM', K .. 'deadlines', id)
  R('ZREM', K .. 'leases', id)
  R('PEXPIRE', rkey(id), RETENTION)
  closedRefs[id] = R('HGETALL', refskey(id))
  R('DEL', refskey(id))
end

-- hreq is request id as HGETALL has it, with the refs kept while they can
-- be used (refs:<id>) added as ref: fields.
local function hreq(id)
  local h = R('HGETALL', rkey(id))
  if #h > 0 then
    local r = closedRefs[id] or R('HGETALL', refskey(id))
    for i = 1, #r, 2 do
      table.insert(h, REF .. r[i])
      table.insert(h, r[i + 1])
    end
  end
  return h
end

local function okreq(id)
  return {'ok', hreq(id)}
end

-- refusedBy audits the refusal of person's attempt on id, and returns it.
local function refusedBy(id, person, platform, code, msg)
  audit(E.Refused, id, person, platform, msg)
  return refuse(code, msg, id)
end

-- lostClaim refuses a claim whose token no longer holds id, now in state st.
local function lostClaim(id, st)
  if TERMINAL[st] then
    return refuse(C.Conflict, id .. ' is already ' .. st, id)
  end
  return refuse(C.Conflict, id .. ' was taken over by another executor', id)
end

-- dropEntries acknowledges and deletes execution queue entries ('' or
-- false: none).
local function dropEntries(group, ...)
  for _, e in ipairs({...}) do
    if e and e ~= '' then
      RP('XACK', K .. 'queue', group, e)
      RP('XDEL', K .. 'queue', e)
    end
  end
end
`

// ARGV[5..]: id, requester, account, platform, expires (ms), limit N,
// window (ms), refusal detail for the rate limit, reason; then the audit
// event of the creation (requested, or break_glass), who approves it in the
// same step (” for nobody: it waits pending for votes), that approval's
// detail, the limit on break-glass resets per person and account (N,
// window in ms, refusal detail; N 0: none); then how long the refs kept
// apart can be used (ms), how many of them there are (n), then their n
// key/value pairs (keys without the ref: prefix), then the hash's
// field/value pairs.
var createLua = prelude + rulesLua + `
local id, requester, account, platform = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local expires, limit, window, limitDetail, reason = ARGV[9], tonumber(ARGV[10]), tonumber(ARGV[11]), ARGV[12], ARGV[13]
local event, approver, approvalDetail = ARGV[14], ARGV[15], ARGV[16]
local ppN, ppWindow, ppDetail = tonumber(ARGV[17]), tonumber(ARGV[18]), ARGV[19]
local refsPX, nrefs = ARGV[20], tonumber(ARGV[21])
local fieldsAt = 22 + 2 * nrefs
local rk = rkey(id)
if R('EXISTS', rk) == 1 then
  return refuse(C.Conflict, 'request ID already in use', id)
end
if approver ~= '' then
  -- it skips the vote: the refusals carry its incident
  for i = fieldsAt, #ARGV - 1, 2 do
    if ARGV[i] == 'rv_incident' then INCIDENT = ARGV[i + 1] end
  end
  local locked = R('SMEMBERS', K .. 'lock:' .. account)
  table.sort(locked)
  local lock = locked[1]
  if lock then
    local msg = account .. ' is locked: the review of ' .. lock .. ' rejected its reset without a vote, and its password was reset again, to one nobody has; ask for a normal reset, which approvers vote on'
    audit(E.Refused, '', requester, platform, 'locked: ' .. account .. ' since ' .. lock)
    return refuse(C.Forbidden, msg, lock)
  end
end
local open = K .. 'open:' .. requester
local cur = R('HGET', open, account)
if cur then
  local n = needed(want({}, rkey(cur)))
  if n then return n end
  local st = R('HGET', rkey(cur), 'state')
  if st and not TERMINAL[st] then
    audit(E.Refused, cur, requester, platform, 'duplicate: ' .. cur .. ' is already open for ' .. account)
    return refuse(C.Duplicate, 'you already have an open request for ' .. account .. ': ' .. cur, cur)
  end
  R('HDEL', open, account)
end
-- rateCheck counts this request in the zset key, unless it already holds
-- n within the window: then it audits and returns the refusal, which
-- names the limit (what) and how long until it allows one more.
local function rateCheck(key, n, win, detail, what)
  R('ZREMRANGEBYSCORE', key, '-inf', istr(NOW - win))
  if R('ZCARD', key) >= n then
    local oldest = R('ZRANGE', key, 0, 0, 'WITHSCORES')
    local wait = tonumber(oldest[2]) + win - NOW
    audit(E.Refused, '', requester, platform, detail .. ' (' .. account .. ')')
    return refuse(C.RateLimited, what, '', istr(wait))
  end
  return nil
end
local pp = K .. 'bg:' .. account .. ':' .. requester
if ppN > 0 then
  local r = rateCheck(pp, ppN, ppWindow, ppDetail, 'per_person')
  if r then return r end
end
local rate = K .. 'rate:' .. requester
if limit > 0 then
  local r = rateCheck(rate, limit, window, limitDetail, '')
  if r then return r end
end
-- both limits hold: count the request in each
if ppN > 0 then
  R('ZADD', pp, NOWS, id)
  R('PEXPIRE', pp, istr(ppWindow))
end
if limit > 0 then
  R('ZADD', rate, NOWS, id)
  R('PEXPIRE', rate, istr(window))
end
R('HSET', rk, unpack(ARGV, fieldsAt))
if nrefs > 0 then
  local refs = refskey(id)
  R('HSET', refs, unpack(ARGV, 22, fieldsAt - 1))
  R('PEXPIRE', refs, refsPX)
end
R('HSET', open, account, id)
audit(event, id, requester, platform, account .. ': ' .. reason)
if approver ~= '' then
  local who = approver == requester and platform or ''
  markApproved(id, rk, approver, who, approvalDetail)
else
  R('ZADD', K .. 'deadlines', expires, id)
end
schedule(id) -- its first reminder, its escalation, or its review's deadline
return okreq(id)
`

// ARGV[5..]: id, person, platform.
var cancelLua = prelude + `
local id, person, platform = ARGV[5], ARGV[6], ARGV[7]
local rk = rkey(id)
upgrade(rk)
local f = R('HMGET', rk, 'state', 'requester', 'account')
local state, requester, account = f[1], f[2], f[3]
local function refused(code, msg) return refusedBy(id, person, platform, code, msg) end
if not state then
  return refused(C.NotFound, 'there is no request ' .. id)
end
if person ~= requester then
  return refused(C.Forbidden, 'only ' .. requester .. ', who asked, can cancel ' .. id)
end
-- an offered request waits for its requester: theirs to withdraw too
if state ~= S.Pending and state ~= S.Offered then
  return refused(C.Conflict, id .. ' is already ' .. state)
end
local n = needOwn(id, true, false)
if n then return n end
R('HSET', rk, 'state', S.Cancelled, 'outcome', 'cancelled by ' .. person, 'updated', NOWS)
R('HINCRBY', rk, 'rev', 1)
R('HDEL', rk, 'reveal', 'token')
audit(E.Cancelled, id, person, platform, '')
close(id, account, requester)
return okreq(id)
`

// ARGV[5..]: the IDs of requests that were due when Go read deadlines
// (Store.sweep). It answers how many it skipped, and the requests it
// expired.
var expireLua = prelude + `
local due, skipped = {}, 0
for i = 5, #ARGV do
  local id = ARGV[i]
  local at = R('ZSCORE', K .. 'deadlines', id)
  if at and tonumber(at) <= NOW then
    if needOwn(id, true, false) then
      skipped = skipped + 1 -- its hash names other keys now: the next round
    else
      table.insert(due, id)
    end
  end
end
local out = {}
for _, id in ipairs(due) do
  R('ZREM', K .. 'deadlines', id)
  local rk = rkey(id)
  upgrade(rk)
  local f = R('HMGET', rk, 'state', 'requester', 'account')
  if f[1] == S.Pending then
    R('HSET', rk, 'state', S.Expired, 'outcome', 'expired: not approved in time', 'updated', NOWS)
    R('HINCRBY', rk, 'rev', 1)
    audit(E.Expired, id, 'system', '', 'not approved before its expiry')
    close(id, f[3], f[2])
    table.insert(out, hreq(id))
  elseif f[1] == S.Offered then
    R('HSET', rk, 'state', S.Expired, 'outcome',
      'expired: ' .. f[2] .. ' did not press Reveal in time; nothing was reset', 'updated', NOWS)
    R('HINCRBY', rk, 'rev', 1)
    R('HDEL', rk, 'reveal', 'token')
    audit(E.Expired, id, 'system', '', 'Reveal not pressed before its deadline; nothing was reset')
    close(id, f[3], f[2])
    table.insert(out, hreq(id))
  end
end
return {'ok', istr(skipped), out}
`

// ARGV[5..]: id, ref key, value.
var setRefLua = prelude + `
local id = ARGV[5]
if R('EXISTS', rkey(id)) == 0 then
  return refuse(C.NotFound, 'there is no request ' .. id, id)
end
R('HSET', rkey(id), REF .. ARGV[6], ARGV[7])
return {'ok'}
`

// ARGV[5]: requester.
var openLua = prelude + `
local ids = R('HVALS', K .. 'open:' .. ARGV[5])
local list = {}
for _, id in ipairs(ids) do want(list, rkey(id), refskey(id)) end
local n = needed(list)
if n then return n end
local out = {}
for _, id in ipairs(ids) do
  local h = hreq(id)
  if #h > 0 then table.insert(out, h) end
end
return {'ok', out}
`

// ARGV[5..]: event, request, actor, platform, detail, the event's time (ms),
// "1" for a stranger's refusal, and the incident reference (” for none:
// the request's own, if it has one).
var auditLua = prelude + `
if ARGV[12] ~= '' then INCIDENT = ARGV[12] end
if ARGV[11] == '1' then
  xadd(STRANGERS, STRANGERS_MAXLEN, ARGV[10], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
else
  audit(ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10])
end
return {'ok'}
`

// scripts are the Lua scripts of one Store.
type scripts struct {
	create, vote, cancel, expire, due, claim, finish, offer, reveal, hold, setRef, open, audit, review, rotated *redis.Script

	ops opsScripts // the store's upkeep (consumers.go)
}

func newScripts() scripts {
	return scripts{
		create:  redis.NewScript(createLua),
		vote:    redis.NewScript(voteLua),
		cancel:  redis.NewScript(cancelLua),
		expire:  redis.NewScript(expireLua),
		due:     redis.NewScript(dueLua),
		claim:   redis.NewScript(claimLua),
		finish:  redis.NewScript(finishLua),
		offer:   redis.NewScript(offerLua),
		reveal:  redis.NewScript(revealLua),
		hold:    redis.NewScript(holdLua),
		setRef:  redis.NewScript(setRefLua),
		open:    redis.NewScript(openLua),
		audit:   redis.NewScript(auditLua),
		review:  redis.NewScript(reviewLua),
		rotated: redis.NewScript(rotatedLua),
		ops:     newOpsScripts(),
	}
}
