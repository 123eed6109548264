package approvals

// The scripts of a request's execution: the claim of a queue entry (or the
// take-over of one whose lease ran out), its finish, its offer for
// Reveal, the Reveal click's claim, and the lease's renewal.

// ARGV[5..]: id and queue entry (both empty: take over the first request
// whose lease ran out, among ARGV[11..], those leases held when Go read
// them), lease (ms), new token, consumer, consumer group.
var claimLua = prelude + `
local id, entry, lease, token, consumer, group = ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[8], ARGV[9], ARGV[10]
local leases = K .. 'leases'

-- try claims id; it returns the reply, or nil to look further.
local function try(id, entry)
  local rk = rkey(id)
  upgrade(rk)
  local f = R('HMGET', rk, 'state', 'lease', 'entry', 'claim', 'token', 'calling')
  local state = f[1]
  if entry == '' then entry = f[3] or '' end
  if state == S.Executing and f[5] == token then
    -- the same claim sent again (its answer was lost): answered as the
    -- first send was
    local took = R('HGET', rk, 'took')
    return {'ok', hreq(id), took == 'stale' and '1' or '0', entry, took == 'resumed' and '1' or '0'}
  end
  if state ~= S.Approved and state ~= S.Executing then
    -- gone, terminal, never approved, or offered (an entry read just
    -- before Offer removed it): nothing to execute
    R('ZREM', leases, id)
    dropEntries(group, entry)
    return nil
  end
  local taken = state == S.Executing
  if taken and tonumber(f[2] or '0') > NOW then
    return nil
  end
  -- A lost claim from the queue was offering, and a lost Reveal click's
  -- claim whose cloud call had not begun had not reset: nothing was, so it
  -- is resumed. The Reveal claim writes calling 'no:' .. its token, and the
  -- Hold right before its cloud call 'yes:' .. the token; bound to the
  -- token, a value left by an earlier claim (or none, from an earlier
  -- version of the bot, which never writes it) reads as "may have
  -- called". Any other claim may have reset: stale.
  local revealing = f[4] == CLAIM_REVEAL
  local resumed = taken and (f[4] == CLAIM_QUEUE or (revealing and f[6] == 'no:' .. (f[5] or '')))
  local stale = taken and not resumed
  local deadline = istr(NOW + lease)
  R('HSET', rk, 'state', S.Executing, 'token', token, 'lease', deadline, 'updated', NOWS,
    'took', stale and 'stale' or (resumed and 'resumed' or 'new'))
  if not stale then
    R('HSET', rk, 'claim', CLAIM_QUEUE)
  end
  R('HINCRBY', rk, 'rev', 1)
  R('ZADD', leases, deadline, id)
  if stale then
    -- it may have shown the password before its lease ran out
    R('HSET', rk, 'maybe_shown', '1')
    audit(E.Executing, id, 'system', '', 'taken over by ' .. consumer .. ': the previous executor\'s lease ran out during the reset, outcome unknown')
  elseif resumed and revealing then
    audit(E.Executing, id, 'system', '', 'taken over by ' .. consumer .. ': the Reveal click\'s claim ran out before its reset began; nothing was reset, and the request is offered again')
  elseif resumed then
    audit(E.Executing, id, 'system', '', 'taken over by ' .. consumer .. ': the previous executor\'s lease ran out before it offered the request; nothing was reset')
  else
    audit(E.Executing, id, 'system', '', 'claimed by ' .. consumer)
  end
  return {'ok', hreq(id), stale and '1' or '0', entry, resumed and '1' or '0'}
end

if id ~= '' then
  return try(id, entry) or {'skip'}
end
-- the same take-over sent again (its answer was lost) finds the request
-- it took by its token: that request's lease is no longer due
for i = 11, #ARGV do
  if R('HGET', rkey(ARGV[i]), 'token') == token then
    return try(ARGV[i], '')
  end
end
for i = 11, #ARGV do
  local d = ARGV[i]
  local at = R('ZSCORE', leases, d)
  if at and tonumber(at) <= NOW then
    local r = try(d, '')
    if r then return r end
  end
end
return {'none'}
`

// ARGV[5..]: id, token, state, outcome, queue entry, consumer group, the
// audit event's kind.
var finishLua = prelude + `
local id, token, state, outcome, entry, group, event = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local maybeShown = ARGV[12] == '1'
local rk = rkey(id)
local n = needOwn(id, true, true)
if n then return n end
upgrade(rk)
local f = R('HMGET', rk, 'state', 'token', 'requester', 'account', 'entry', 'done')
if not f[1] then
  return refuse(C.NotFound, 'there is no request ' .. id, id)
end
-- the same Finish sent again (its answer was lost): done already
if f[1] == state and f[6] == token then
  return okreq(id)
end
-- the claim still holds while executing, or while offered (ClaimReveal
-- gives it a new token)
local held = f[1] == S.Executing or f[1] == S.Offered
if not held or f[2] ~= token then
  return lostClaim(id, f[1])
end
R('HSET', rk, 'state', state, 'outcome', outcome, 'updated', NOWS)
R('HINCRBY', rk, 'rev', 1)
R('HDEL', rk, 'token', 'lease', 'reveal', 'claim')
R('HSET', rk, 'done', token)
if maybeShown then R('HSET', rk, 'maybe_shown', '1') end
close(id, f[4], f[3])
dropEntries(group, f[5], entry)
local detail = outcome
if state == S.Succeeded and R('HEXISTS', rk, 'rv_kind') == 0 then
  -- a normal, approved reset: the account's password is known again to
  -- someone approved, so a lock left by a rejected review ends
  local lock = K .. 'lock:' .. f[4]
  local by = R('SMEMBERS', lock)
  if #by > 0 then
    table.sort(by)
    R('DEL', lock)
    detail = outcome .. '; ' .. f[4] .. ' unlocked (locked since the review of ' .. table.concat(by, ', ') .. ')'
  end
end
audit(event, id, 'system', '', detail)
return okreq(id)
`

// ARGV[5..]: id, token, the Reveal deadline (ms), outcome, queue entry,
// consumer group. The token stays, so that the claim can still finish the
// request (as failed, when the offer cannot be sent).
var offerLua = prelude + `
local id, token, by, outcome, entry, group = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local rk = rkey(id)
local f = R('HMGET', rk, 'state', 'token', 'entry')
if not f[1] then
  return refuse(C.NotFound, 'there is no request ' .. id, id)
end
if f[1] == S.Offered and f[2] == token then
  return okreq(id) -- the same Offer sent again
end
if f[1] ~= S.Executing or f[2] ~= token then
  return lostClaim(id, f[1])
end
R('HSET', rk, 'state', S.Offered, 'reveal', by, 'outcome', outcome, 'updated', NOWS)
R('HINCRBY', rk, 'rev', 1)
R('HDEL', rk, 'lease', 'claim')
R('ZREM', K .. 'leases', id)
R('ZADD', K .. 'deadlines', by, id)
dropEntries(group, f[3], entry)
audit(E.Offered, id, 'system', '', outcome)
return okreq(id)
`

// ARGV[5..]: id, person, platform, lease (ms), new token.
var revealLua = prelude + `
local id, person, platform, lease, token = ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8]), ARGV[9]
local rk = rkey(id)
local n = needOwn(id, true, true)
if n then return n end
upgrade(rk)
local f = R('HMGET', rk, 'state', 'requester', 'reveal', 'claim', 'token')
local state, requester, by = f[1], f[2], f[3]
local function refused(code, msg) return refusedBy(id, person, platform, code, msg) end
if not state then
  return refused(C.NotFound, 'there is no request ' .. id)
end
if state == S.Executing and f[5] == token then
  return okreq(id) -- the same claim sent again
end
if person ~= requester then
  return refused(C.Forbidden, 'only ' .. requester .. ', who asked, can reveal ' .. id)
end
if state == S.Approved or (state == S.Executing and f[4] == CLAIM_QUEUE) then
  return refused(C.Conflict, id .. ' is approved and its Reveal button is on its way: press it when it comes')
end
if state == S.Executing then
  return refused(C.Conflict, id .. ' is being reset already: the password goes to the first Reveal click only')
end
if state == S.Pending then
  return refused(C.Conflict, id .. ' is still pending: it can be revealed once it is approved')
end
if state ~= S.Offered then
  return refused(C.Conflict, id .. ' is already ' .. state .. ': nothing is left to reveal')
end
if NOW >= tonumber(by) then
  return refused(C.Conflict, 'the Reveal button of ' .. id .. ' has expired; nothing was reset: ask again')
end
-- a reset without a vote is not revealed once a rejected review locked
-- its account: it ends here, nothing reset
local account = R('HGET', rk, 'account')
local lock = K .. 'lock:' .. account
if R('HEXISTS', rk, 'rv_kind') == 1 and R('SCARD', lock) > 0 and R('SISMEMBER', lock, id) == 0 then
  local why = account .. ' is locked: a review rejected a reset of it without a vote, and its password was reset again'
  R('HSET', rk, 'state', S.Denied, 'outcome', 'not revealed: ' .. why .. '; nothing was reset', 'updated', NOWS)
  R('HINCRBY', rk, 'rev', 1)
  R('HDEL', rk, 'reveal', 'token')
  audit(E.Denied, id, 'system', '', 'not revealed: ' .. account .. ' is locked; nothing was reset')
  close(id, account, requester)
  return refuse(C.Conflict, id .. ' can no longer be revealed: ' .. why .. '. Nothing was reset: ask for a normal reset, which approvers vote on', id)
end
local deadline = istr(NOW + lease)
R('HSET', rk, 'state', S.Executing, 'token', token, 'lease', deadline, 'claim', CLAIM_REVEAL, 'calling', 'no:' .. token,
  'outcome', 'resetting now, at ' .. person .. '\'s Reveal click', 'updated', NOWS)
R('HINCRBY', rk, 'rev', 1)
R('HDEL', rk, 'reveal')
R('ZREM', K .. 'deadlines', id)
R('ZADD', K .. 'leases', deadline, id)
audit(E.Executing, id, person, platform, 'Reveal pressed by ' .. person)
return okreq(id)
`

// ARGV[5..]: id, token, lease (ms), "1" when the cloud call may begin (Claim.Calling).
// It re-checks, in one step, that the
// claim still holds the request and that its lease has not run out, and
// extends the lease from now.
var holdLua = prelude + `
local id, token, lease, calling = ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[8] == '1'
local rk = rkey(id)
local f = R('HMGET', rk, 'state', 'token', 'lease')
if not f[1] then
  return refuse(C.NotFound, 'there is no request ' .. id, id)
end
if f[1] ~= S.Executing or f[2] ~= token then
  return lostClaim(id, f[1])
end
if NOW >= tonumber(f[3] or '0') then
  return refuse(C.Conflict, 'the lease on ' .. id .. ' ran out: another executor may take it over', id)
end
local deadline = istr(NOW + lease)
R('HSET', rk, 'lease', deadline)
if calling then R('HSET', rk, 'calling', 'yes:' .. token) end
R('ZADD', K .. 'leases', deadline, id)
return {'ok', deadline}
`
