package slack

import "resetbot/adapters/chat"

// SetWorkers bounds the adapter's background work to n at once, with n more
// waiting, so that a test can fill its queue.
func (a *Adapter) SetWorkers(n int) { a.pool = chat.NewPool("slack", n, a.log) }
