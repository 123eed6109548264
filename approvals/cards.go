package approvals

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"resetbot/bot"
)

// The backoff of a card owed again and again: the first try comes at once
// (the next sweep), each later one waits twice as long, up to cardMaxWait.
const (
	cardFirstWait = 5 * time.Second
	cardMaxWait   = 5 * time.Minute
)

// KEYS[1]: cards:stale, KEYS[2]: cards:tries. ARGV[1]: the debt ("<id>
// <platform>"), ARGV[2]: now (ms), ARGV[3], ARGV[4]: the first and the
// longest wait (ms).
var debtLua = guardLua + `
local n = R('HINCRBY', KEYS[2], ARGV[1], 1)
local wait = 0
if n > 1 then wait = math.min(tonumber(ARGV[3]) * 2 ^ (n - 2), tonumber(ARGV[4])) end
R('ZADD', KEYS[1], string.format('%.0f', tonumber(ARGV[2]) + wait), ARGV[1])
return n
`

// KEYS as debtLua's. ARGV[1]: now (ms), ARGV[2]: the lease (ms), ARGV[3]:
// how many at most. The claim moves each debt's score to the lease's end:
// no other caller sees it due until then, and the score is the claim's
// token.
var claimDebtsLua = guardLua + `
local due = R('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
local until_ = string.format('%.0f', tonumber(ARGV[1]) + tonumber(ARGV[2]))
for _, m in ipairs(due) do
  R('ZADD', KEYS[1], until_, m)
  table.insert(out, m)
  table.insert(out, R('HGET', KEYS[2], m) or '0')
  table.insert(out, until_)
end
return out
`

// KEYS as debtLua's. ARGV[1]: the debt, ARGV[2]: its claim's token.
var payDebtLua = guardLua + `
local score = R('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
R('ZREM', KEYS[1], ARGV[1])
R('HDEL', KEYS[2], ARGV[1])
return 1
`

// cardKeys are the keys of the cards' debts: cards:stale, a zset of debts
// ("<request ID> <platform>") by when each is due (ms), and cards:tries, a
// hash of how many times each was owed. Neither has a TTL: a debt lives
// until paid, and the service pays the debt of a request that is gone.
func (s *Store) cardKeys() []string { return []string{s.key("cards:stale"), s.key("cards:tries")} }

// OweCard implements bot.Store.OweCard.
func (s *Store) OweCard(ctx context.Context, id string, pl bot.Platform) error {
	err := s.lua.ops.debt.Run(ctx, s.sc, s.cardKeys(), id+" "+string(pl), s.now(),
		cardFirstWait.Milliseconds(), cardMaxWait.Milliseconds()).Err()
	if err != nil {
		return fail("owe the card of "+id, err)
	}
	return nil
}

// CardDebts implements bot.Store.CardDebts.
func (s *Store) CardDebts(ctx context.Context, lease time.Duration, max int) ([]bot.CardDebt, error) {
	if lease < time.Millisecond || max < 1 {
		return nil, bot.Errorf(bot.EINVALID, "CardDebts needs a lease of at least 1ms and a max of at least 1")
	}
	v, err := s.lua.ops.claimDebts.Run(ctx, s.sc, s.cardKeys(), s.now(), lease.Milliseconds(), max).StringSlice()
	if err != nil {
		return nil, fail("claim the cards owed", err)
	}
	var out []bot.CardDebt
	for i := 0; i+2 < len(v); i += 3 {
		id, pl, ok := strings.Cut(v[i], " ")
		if !ok {
			return nil, fmt.Errorf("claim the cards owed: debt %q", v[i])
		}
		tries, _ := strconv.Atoi(v[i+1])
		out = append(out, bot.CardDebt{RequestID: id, Platform: bot.Platform(pl), Tries: tries, Token: v[i+2]})
	}
	return out, nil
}

// PayCard implements bot.Store.PayCard.
func (s *Store) PayCard(ctx context.Context, d bot.CardDebt) (bool, error) {
	n, err := s.lua.ops.payDebt.Run(ctx, s.sc, s.cardKeys(), d.RequestID+" "+string(d.Platform), d.Token).Int()
	if err != nil {
		return false, fail("clear the card owed of "+d.RequestID, err)
	}
	return n == 1, nil
}
