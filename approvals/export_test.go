package approvals

import (
	"context"
	"maps"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/bot"
)

// SeenWithNonce is Seen with the nonce given, as a retried send has it.
func SeenWithNonce(s *Store, ctx context.Context, key string, ttl time.Duration, nonce string) (bool, error) {
	return s.seen(ctx, key, ttl, nonce)
}

// VoteWithNonce is Vote with the nonce given, as a retried send has it.
func VoteWithNonce(s *Store, ctx context.Context, id string, v bot.Vote, nonce string) (bot.Request, error) {
	return s.vote(ctx, id, v, nonce)
}

// WithAuditCaps is o with the audit streams capped at about audit and
// strangers entries.
func WithAuditCaps(o Options, audit, strangers int64) Options {
	o.auditMaxLen, o.strangerMaxLen = audit, strangers
	return o
}

// ScriptSources are the text of every Lua script, by name.
func ScriptSources() map[string]string {
	return map[string]string{
		"create": createLua, "vote": voteLua, "cancel": cancelLua, "expire": expireLua, "due": dueLua,
		"claim": claimLua, "finish": finishLua, "offer": offerLua, "reveal": revealLua, "hold": holdLua,
		"setRef": setRefLua, "open": openLua, "audit": auditLua, "review": reviewLua, "rotated": rotatedLua,
	}
}

// LuaNames are the names the scripts may use for Go's words, by table.
func LuaNames() map[string]map[string]string {
	out := map[string]map[string]string{"S": {}, "E": {}, "C": {}, "RV": {}, "ROT": {}}
	for k, v := range luaReview {
		out["RV"][k] = string(v)
	}
	for k, v := range luaRotation {
		out["ROT"][k] = string(v)
	}
	for k, v := range luaStates {
		out["S"][k] = string(v)
	}
	for k, v := range luaEvents {
		out["E"][k] = string(v)
	}
	for k, v := range luaCodes {
		out["C"][k] = v
	}
	return out
}

// WithRefusalLimits is o with known people's refusals capped at about
// maxLen entries, burst of them per person and window written in full.
func WithRefusalLimits(o Options, maxLen, burst int64, window time.Duration) Options {
	o.refusalMaxLen, o.refusalBurst, o.refusalWindow = maxLen, burst, window
	return o
}

// GuardLua is the start of every script: the check that it touches only
// the keys in KEYS, R, RP, want and needed.
func GuardLua() string { return guardLua }

// AllScriptSources are ScriptSources and the small scripts that need no
// prelude: the audit group's, the leases' and the upkeep's (the queue's
// consumers, the epoch and the cards' debts).
func AllScriptSources() map[string]string {
	all := ScriptSources()
	maps.Copy(all, map[string]string{"touch": touchSrc, "leave": leaveSrc,
		"leaseAcquire": acquireSrc, "leaseRenew": renewSrc, "leaseRelease": releaseSrc,
		"tidy": tidyLua, "epoch": epochLua, "debt": debtLua, "claimDebts": claimDebtsLua, "payDebt": payDebtLua})
	return all
}

// RunScript runs the store's script name ("hold", ...) with keys as KEYS,
// whatever they lack, and returns its status.
func RunScript(s *Store, ctx context.Context, name string, keys []string, args ...any) (string, error) {
	scripts := map[string]*redis.Script{"hold": s.lua.hold, "setRef": s.lua.setRef, "cancel": s.lua.cancel}
	status, _, err := s.run(ctx, "run "+name, scripts[name], keys, s.now(), args...)
	return status, err
}
