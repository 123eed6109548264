package approvals

import (
	"context"
	"strings"

	"github.com/redis/go-redis/v9"
)

// opsScripts are the scripts of the store's upkeep: the queue's consumers
// (TidyConsumers), the epoch (Epoch) and the cards' debts (CardDebt).
type opsScripts struct {
	tidy, epoch, debt, claimDebts, payDebt *redis.Script
}

func newOpsScripts() opsScripts {
	return opsScripts{
		tidy:       redis.NewScript(tidyLua),
		epoch:      redis.NewScript(epochLua),
		debt:       redis.NewScript(debtLua),
		claimDebts: redis.NewScript(claimDebtsLua),
		payDebt:    redis.NewScript(payDebtLua),
	}
}

// KEYS[1]: the queue. ARGV[1]: the group, ARGV[2]: the consumer to keep.
// XINFO and DELCONSUMER run in one script so that no consumer can read an
// entry between the look and the deletion: DELCONSUMER drops a consumer's
// pending entries, and an entry dropped so would never be claimed again.
// XINFO goes through RP, which answers Redis's error (no queue, no group)
// as a table with err instead of raising it, while the guard's refusal of
// an undeclared key still fails the script.
var tidyLua = guardLua + `
local consumers = RP('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
if consumers.err then return 0 end -- no queue or no group yet: nothing to tidy
local removed = 0
for _, c in ipairs(consumers) do
  local f = {}
  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
  if f['name'] ~= ARGV[2] and tonumber(f['pending']) == 0 then
    R('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f['name'])
    removed = removed + 1
  end
end
return removed
`

// TidyConsumers removes from the execution queue's consumer group every
// consumer but keep that holds no pending entry, and returns how many it
// removed. Each process reads the queue under a name of its own, so the
// group would otherwise list every process that ever ran. A live process
// removed so loses nothing: it holds nothing, and its next read makes it a
// member again. A consumer with entries pending stays, for Next to claim
// them from once idle.
func (s *Store) TidyConsumers(ctx context.Context, keep string) (int, error) {
	n, err := s.lua.ops.tidy.Run(ctx, s.sc, []string{s.key("queue")}, Group, keep).Int()
	if err != nil {
		if strings.HasPrefix(err.Error(), "NOGROUP") {
			return 0, nil
		}
		return 0, fail("remove the queue's idle consumers", err)
	}
	return n, nil
}
