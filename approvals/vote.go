package approvals

// The vote script, and the Lua of approval rules it decides with.

// rulesLua reads a request's rules (its rules field, as encodeRules writes
// it) and decides them: which rules a voter counts toward, and whether the
// approvals so far satisfy every rule at once.
const rulesLua = `
-- parseRules reads the rules field: one line a rule, tab-separated: count,
-- name, then RULE_PERSON .. person and RULE_ROLE .. Discord role.
local function parseRules(s)
  local out = {}
  for line in string.gmatch(s, '[^\n]+') do
    local r = {people = {}, roles = {}}
    local i = 0
    for tok in string.gmatch(line, '[^\t]+') do
      i = i + 1
      if i == 1 then
        r.count = tonumber(tok)
      elseif i == 2 then
        r.name = tok
      else
        local kind, v = string.sub(tok, 1, 2), string.sub(tok, 3)
        if kind == RULE_PERSON then r.people[v] = true elseif kind == RULE_ROLE then r.roles[v] = true end
      end
    end
    table.insert(out, r)
  end
  return out
end

-- rulesOf lists the indexes of the rules that admit person, who holds the
-- Discord roles of held (a set).
local function rulesOf(rules, person, held)
  local mine = {}
  for i, r in ipairs(rules) do
    local in_rule = r.people[person]
    if not in_rule then
      for role in pairs(r.roles) do
        if held[role] then in_rule = true break end
      end
    end
    if in_rule then table.insert(mine, i) end
  end
  return mine
end

local function joinAnd(parts)
  if #parts <= 1 then return parts[1] or '' end
  return table.concat(parts, ', ', 1, #parts - 1) .. ' and ' .. parts[#parts]
end

-- notApprover words the refusal of a voter no rule admits, as
-- bot.NotApprover does.
local function notApprover(account, rules)
  local parts = {}
  for _, r in ipairs(rules) do table.insert(parts, istr(r.count) .. ' from ' .. r.name) end
  return 'you are not an approver of ' .. account .. ': it needs ' .. joinAnd(parts)
end

-- assign finds a largest assignment of voters to rules (eligible[v]: the
-- rules voter v may count toward; rule i takes rules[i].count voters at
-- most) by augmenting paths, moving assigned voters between rules, and
-- returns how many voters each rule got: bot.Assign in Lua.
local function assign(rules, eligible)
  local held = {}
  for i = 1, #rules do held[i] = {} end
  local function try(v, seen)
    for _, i in ipairs(eligible[v]) do
      if rules[i] and not seen[i] then
        seen[i] = true
        if #held[i] < rules[i].count then
          table.insert(held[i], v)
          return true
        end
        for k, u in ipairs(held[i]) do
          if try(u, seen) then
            held[i][k] = v
            return true
          end
        end
      end
    end
    return false
  end
  for v = 1, #eligible do try(v, {}) end
  local have = {}
  for i = 1, #rules do have[i] = #held[i] end
  return have
end

-- markApproved makes request id (hash rk) approved, by actor on platform, and
-- queues it for execution: the vote that completes its rules, or its
-- escalation, calls it.
local function markApproved(id, rk, actor, platform, detail)
  local entry = R('XADD', K .. 'queue', '*', 'request', id)
  R('HSET', rk, 'state', S.Approved, 'entry', entry)
  R('ZREM', K .. 'deadlines', id)
  audit(E.Approved, id, actor, platform, detail)
end

-- satisfied reads the approvals of request rk (their VOTE_RULES fields) and
-- returns whether one assignment of them satisfies every rule, and the
-- progress as cards show it ("db-approvers 1/1 · security 0/1").
local function satisfied(rk, rules)
  local h = R('HGETALL', rk)
  local eligible = {}
  local plen = string.len(VOTE_RULES)
  for i = 1, #h, 2 do
    if string.sub(h[i], 1, plen) == VOTE_RULES then
      local list = {}
      for x in string.gmatch(h[i + 1], '%d+') do table.insert(list, tonumber(x) + 1) end
      table.insert(eligible, list)
    end
  end
  local have = assign(rules, eligible)
  local ok, parts = true, {}
  for i, r in ipairs(rules) do
    if have[i] < r.count then ok = false end
    table.insert(parts, r.name .. ' ' .. istr(have[i]) .. '/' .. istr(r.count))
  end
  return ok, table.concat(parts, ' · ')
end
`

// ARGV[5..]: id, person, platform, "1" to approve or "0" to deny, the vote as
// JSON, the vote's reason, the call's nonce, the voter's Discord roles
// (tab-separated).
var voteLua = prelude + rulesLua + `
local id, person, platform, approve, vote, reason, nonce = ARGV[5], ARGV[6], ARGV[7], ARGV[8] == '1', ARGV[9], ARGV[10], ARGV[11]
local rk = rkey(id)
local f = R('HMGET', rk, 'state', 'requester', 'account', 'expires', 'approvals', 'rules')
local state, requester, account = f[1], f[2], f[3]
local function refused(code, msg) return refusedBy(id, person, platform, code, msg) end
if not state then
  return refused(C.NotFound, 'there is no request ' .. id)
end
-- the same vote sent again (its answer was lost): counted already, maybe
-- the one that ended the request
if nonce ~= '' and R('HGET', rk, 'vn:' .. person) == nonce then
  return okreq(id)
end
if state ~= S.Pending then
  return refused(C.Conflict, id .. ' is already ' .. state)
end
if NOW >= tonumber(f[4]) then
  return refused(C.Conflict, id .. ' has expired')
end
if person == requester then
  if approve then
    return refused(C.Forbidden, 'you cannot approve your own request')
  end
  return refused(C.Forbidden, 'you cannot deny your own request; cancel it instead')
end
if R('HEXISTS', rk, 'v:' .. person) == 1 then
  return refused(C.Forbidden, 'you already voted on ' .. id)
end
-- A request with rules admits the voters its rules name; one stored by an
-- earlier version (no rules field), anyone the service let vote.
local rules, mine = nil, nil
if f[6] then
  rules = parseRules(f[6])
  local held = {}
  for r in string.gmatch(ARGV[12] or '', '[^\t]+') do held[r] = true end
  mine = rulesOf(rules, person, held)
  if #mine == 0 then
    return refused(C.Forbidden, notApprover(account, rules))
  end
end
if not approve then
  -- a denial ends the request: its requester's open requests change
  local n = needOwn(id, true, false)
  if n then return n end
end
local votes = R('HGET', rk, 'votes')
if votes and votes ~= '' then votes = votes .. ',' .. vote else votes = vote end
R('HSET', rk, 'votes', votes, 'v:' .. person, approve and '1' or '0', 'vn:' .. person, nonce, 'updated', NOWS)
R('HINCRBY', rk, 'rev', 1)
if approve then
  local n = R('HINCRBY', rk, 'nappr', 1)
  audit(E.Voted, id, person, platform, 'approve')
  local done, detail
  if rules then
    local idx = {}
    for _, i in ipairs(mine) do table.insert(idx, istr(i - 1)) end
    R('HSET', rk, VOTE_RULES .. person, table.concat(idx, ','))
    local progress
    done, progress = satisfied(rk, rules)
    detail = f[5] .. ' of ' .. f[5] .. ' approvals: ' .. progress
  else
    done = n >= tonumber(f[5])
    detail = istr(n) .. ' of ' .. f[5] .. ' approvals'
  end
  if done then
    markApproved(id, rk, person, platform, detail)
  end
else
  local outcome = 'denied by ' .. person
  if reason ~= '' then outcome = outcome .. ': ' .. reason end
  R('HSET', rk, 'state', S.Denied, 'outcome', outcome)
  audit(E.Denied, id, person, platform, reason)
  close(id, account, requester)
end
return okreq(id)
`
