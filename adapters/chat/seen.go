package chat

import (
	"context"
	"sync"
	"time"

	"resetbot/bot"
)

// Seen reports whether key is new, and remembers it for ttl. Platforms
// deliver some payloads twice (retries, replays, a click on two replicas);
// an adapter handles a payload only when Seen says it is the first. Every
// replica must share it: cmd/resetbot backs it with Redis SET NX. An error
// means the memory could not be reached and says nothing about key.
type Seen func(ctx context.Context, key string, ttl time.Duration) (first bool, err error)

// SeenOr is seen, or an in-process Memory on clock when seen is nil (right
// for one replica only).
func SeenOr(seen Seen, clock bot.Clock) Seen {
	if seen != nil {
		return seen
	}
	return NewMemory(clock).Seen
}

// memoryFloor is how many keys a Memory holds before it sweeps out the
// expired ones.
const memoryFloor = 4096

// Memory is Seen for a single replica: keys live in a map until they
// expire.
type Memory struct {
	clock bot.Clock
	mu    sync.Mutex
	keys  map[string]time.Time // key -> expiry
	sweep int                  // sweep when len(keys) exceeds it
}

// NewMemory makes an empty Memory on clock (nil: the wall clock).
func NewMemory(clock bot.Clock) *Memory {
	if clock == nil {
		clock = bot.SystemClock{}
	}
	return &Memory{clock: clock, keys: map[string]time.Time{}, sweep: memoryFloor}
}

// Seen is a Seen; it never fails.
func (m *Memory) Seen(_ context.Context, key string, ttl time.Duration) (bool, error) {
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if exp, ok := m.keys[key]; ok && now.Before(exp) {
		return false, nil
	}
	if len(m.keys) >= m.sweep {
		for k, exp := range m.keys {
			if !now.Before(exp) {
				delete(m.keys, k)
			}
		}
		// Keys that are all still live would make every call sweep again:
		// wait until the map has doubled.
		m.sweep = max(memoryFloor, 2*len(m.keys))
	}
	m.keys[key] = now.Add(ttl)
	return true, nil
}
