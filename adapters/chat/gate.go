package chat

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Gate admits each user's payloads at a steady rate with a burst, before
// any work is queued for them: one user sending thousands of signed
// commands (a stranger, a script) is told to slow down, and cannot fill the
// queue ahead of everyone else's clicks.
type Gate struct {
	every time.Duration
	burst int

	mu    sync.Mutex
	users map[string]*rate.Limiter
	sweep int // the size of users at which idle buckets are next dropped
}

// NewGate admits, per user, one payload every every, with bursts of burst.
func NewGate(every time.Duration, burst int) *Gate {
	return &Gate{every: every, burst: burst, users: map[string]*rate.Limiter{}, sweep: 4096}
}

// Allow reports whether user may send one more payload now.
func (g *Gate) Allow(user string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	l, ok := g.users[user]
	if !ok {
		if len(g.users) >= g.sweep {
			g.dropIdle()
		}
		l = rate.NewLimiter(rate.Every(g.every), g.burst)
		g.users[user] = l
	}
	return l.Allow()
}

// dropIdle forgets the users whose bucket is full again: they would be
// admitted as if new. The next sweep waits until the map doubles, so a
// flood of distinct users costs amortised constant time.
func (g *Gate) dropIdle() {
	now := time.Now()
	for u, l := range g.users {
		if l.TokensAt(now) >= float64(g.burst) {
			delete(g.users, u)
		}
	}
	g.sweep = max(4096, 2*len(g.users))
}
