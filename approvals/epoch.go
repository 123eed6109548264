package approvals

import (
	"context"
	"fmt"
	"strconv"

	"resetbot/bot"
)

// KEYS[1]: epoch. ARGV[1]: the epoch expected (empty for none), ARGV[2] and
// ARGV[3]: the ID and time (ms) of a fresh one. The hash's field after is
// the epoch whose loss the current one follows, once a caller took on
// saying so: one caller across replicas tells the channels about a loss.
var epochLua = guardLua + `
local cur = R('HMGET', KEYS[1], 'id', 'since', 'after')
if not cur[1] then
  R('HSET', KEYS[1], 'id', ARGV[2], 'since', ARGV[3], 'after', ARGV[1])
  if ARGV[1] == '' then return {'new', ARGV[2], ARGV[3], '0'} end
  return {'lost', ARGV[2], ARGV[3], '1'}
end
if ARGV[1] == '' or cur[1] == ARGV[1] then return {'same', cur[1], cur[2], '0'} end
local announce = '0'
if not cur[3] or cur[3] == '' then
  R('HSET', KEYS[1], 'after', ARGV[1])
  announce = '1'
end
return {'lost', cur[1], cur[2], announce}
`

// Epoch implements bot.Store.Epoch with the key epoch, a hash written
// when it is missing: id (random), since (ms), after (the epoch whose loss
// it follows, or ""). It has no TTL; a Redis that lost its data has lost it
// too, which is how the loss shows.
func (s *Store) Epoch(ctx context.Context, expected string, fresh bot.Epoch) (bot.EpochCheck, error) {
	v, err := s.lua.ops.epoch.Run(ctx, s.sc, []string{s.key("epoch")}, expected, fresh.ID, ms(fresh.Since)).StringSlice()
	if err != nil {
		return bot.EpochCheck{}, fail("check the store's epoch", err)
	}
	if len(v) != 4 {
		return bot.EpochCheck{}, fmt.Errorf("check the store's epoch: reply %q", v)
	}
	since, err := strconv.ParseInt(v[2], 10, 64)
	if err != nil {
		return bot.EpochCheck{}, fmt.Errorf("check the store's epoch: since %q", v[2])
	}
	return bot.EpochCheck{Epoch: bot.Epoch{ID: v[1], Since: fromMS(since)}, Lost: v[0] == "lost", Announce: v[3] == "1"}, nil
}
