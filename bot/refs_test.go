package bot_test

import (
	"testing"
	"time"

	"resetbot/bot"
)

// The actor's RefsFor reaches the store with the ask: the Discord
// interaction token is kept apart from the request, for no longer than it
// can be used, and dropped when the request ends.
func TestAskKeepsRefsWhileUsable(t *testing.T) {
	e := newEnv(t)
	const token = "interaction-token-for-alice"
	ref := bot.Ref(bot.RefInteraction, bot.PlatformDiscord)
	a := as("alice", bot.PlatformDiscord)
	a.Refs = map[bot.RefKey]string{ref: token}
	a.RefsFor = 15 * time.Minute
	id := e.ask(a, "/reset-password prod-db locked out")

	if got := e.get(id).Refs[ref]; got != token {
		t.Errorf("request refs: got %q, want the token while it can be used", got)
	}
	if got := e.client.HGet(e.ctx, "{"+e.prefix+"}req:"+id, "ref:"+string(ref)).Val(); got != "" {
		t.Errorf("the request's hash holds the token (%q): it would stay for the 30-day retention", got)
	}
	ttl := e.client.PTTL(e.ctx, "{"+e.prefix+"}refs:"+id).Val()
	if ttl <= 0 || ttl > 15*time.Minute {
		t.Errorf("the token's key: TTL %v, want at most 15m", ttl)
	}

	e.mustDo(as("alice", bot.PlatformDiscord), "/reset-password cancel "+id)
	if got := e.get(id).Refs[ref]; got != "" {
		t.Errorf("request refs after cancel: got %q, want no token", got)
	}
	if n := e.client.Exists(e.ctx, "{"+e.prefix+"}refs:"+id).Val(); n != 0 {
		t.Error("the token's key outlives the request")
	}
}
