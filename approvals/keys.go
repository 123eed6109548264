package approvals

import "strconv"

// Every Lua script names every key it touches in KEYS: Redis Cluster
// checks only that the declared keys share a slot, and some cloud Redis
// proxies route by KEYS and refuse a script that touches another key. The
// store's keys share one hash tag, so declaring them costs nothing on a
// Cluster; what the guard below adds is that a script that touches a key
// its caller did not declare fails, on every Redis, every time, instead of
// only on the deployments that check.
//
// Scripts call R and RP instead of redis.call and redis.pcall. They look
// up where the command's keys are (keyCommands), and fail with an
// UNDECLARED error when one of them is not in KEYS, before Redis runs the
// command. A command keyCommands does not list fails the same way, so a
// new command's keys cannot go unchecked.
//
// Some keys can only be known once the script has read another: the
// requester's open requests and the account's lock are named in the
// request's hash, the requests a sweep acts on in a zset. A script that
// finds it needs such a key, not declared, answers {'need', key...}
// before it writes anything, and Store.run sends it again with those keys
// added (see maxNeed). Since the script reads again in the same step as it
// writes, whatever another replica did in between is seen. Go declares up
// front every key it can know, so the frequent transitions (Create, an
// approving Vote, the claim of a queue entry) stay one round trip.

// keyCommands says, for each command the scripts use, where its keys are
// and whether it writes: the argument index of its one key (1 is the
// command's name), 0 for no key, -1 for every argument after the name.
var keyCommands = []struct {
	name  string
	at    int
	write bool
}{
	// reads
	{"EXISTS", -1, false}, {"GET", 2, false}, {"HEXISTS", 2, false}, {"HGET", 2, false},
	{"HGETALL", 2, false}, {"HMGET", 2, false}, {"HVALS", 2, false}, {"SCARD", 2, false},
	{"SISMEMBER", 2, false}, {"SMEMBERS", 2, false}, {"XPENDING", 2, false}, {"XREVRANGE", 2, false},
	{"ZCARD", 2, false}, {"ZRANGE", 2, false}, {"ZRANGEBYSCORE", 2, false}, {"ZSCORE", 2, false},
	{"XINFO", 3, false}, // XINFO CONSUMERS key group
	// writes
	{"DEL", -1, true}, {"HDEL", 2, true}, {"HINCRBY", 2, true}, {"HSET", 2, true},
	{"PEXPIRE", 2, true}, {"SADD", 2, true}, {"SET", 2, true}, {"SREM", 2, true},
	{"XACK", 2, true}, {"XADD", 2, true}, {"XCLAIM", 2, true}, {"XDEL", 2, true},
	{"ZADD", 2, true}, {"ZREM", 2, true}, {"ZREMRANGEBYSCORE", 2, true},
	{"XGROUP", 3, true}, // XGROUP DELCONSUMER key group consumer
}

// guardLua starts every script: DECLARED (the set of KEYS), R and RP,
// and the helpers of the 'need' answer.
var guardLua = func() string {
	s := `
local DECLARED = {}
for _, k in ipairs(KEYS) do DECLARED[k] = true end
-- KEYAT: command -> {where its keys are, whether it writes}
local KEYAT = {
`
	for _, c := range keyCommands {
		w := "false"
		if c.write {
			w = "true"
		}
		s += "  " + c.name + " = {" + strconv.Itoa(c.at) + ", " + w + "},\n"
	}
	return s + `}
-- WROTE says the script has written: past that point it may no longer
-- answer 'need', since its second run would write again.
local WROTE = false
-- (a string, not an error table: miniredis, which the playground runs,
-- reports a table as "table: 0x...")
local function undeclared(msg)
  error('UNDECLARED ' .. msg)
end
local function guard(cmd, ...)
  local spec = KEYAT[string.upper(cmd)]
  if not spec then undeclared('command ' .. cmd .. ': where its keys are is not known') end
  local args = {...}
  -- (one assignment a line: gopher-lua, in miniredis, mixes up
  -- "a, b = a - 1, a - 1")
  local first = spec[1] - 1
  local last = first
  if spec[1] == -1 then
    first = 1
    last = #args
  end
  for i = first, last do
    if i >= 1 and not DECLARED[args[i]] then
      undeclared('key ' .. tostring(args[i]) .. ' (' .. cmd .. ') is not in KEYS')
    end
  end
  if spec[2] then WROTE = true end
end
local function R(...)
  guard(...)
  return redis.call(...)
end
local function RP(...)
  guard(...)
  return redis.pcall(...)
end
-- want adds to list the keys among ... that are not declared.
local function want(list, ...)
  for _, k in ipairs({...}) do
    if not DECLARED[k] then table.insert(list, k) end
  end
  return list
end
-- needed is the 'need' answer for the keys of list, or nil when it is
-- empty.
local function needed(list)
  if #list == 0 then return nil end
  if WROTE then undeclared('keys asked for after a write: ' .. table.concat(list, ' ')) end
  local out = {'need'}
  for _, k in ipairs(list) do table.insert(out, k) end
  return out
end
`
}()

// maxNeed is how many times Store.run sends a script again for keys it
// answered it needs. A sweep needs two: the requests it found in a zset,
// then the keys their hashes name; more only when other replicas keep
// changing them in between.
const maxNeed = 4
