package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"resetbot/approvals"
	"resetbot/bot"
	"resetbot/config"
)

// cardChannels lists, for platform pl, every channel the bot posts
// approval cards in, in config's order, each with whose cards go there:
// approvals_channel (the default) and each account's channels.
func cardChannels(cfg *config.Config, pl bot.Platform) ([]string, map[string][]string) {
	var channels []string
	uses := map[string][]string{}
	add := func(ch, use string) {
		if ch == "" {
			return
		}
		if _, ok := uses[ch]; !ok {
			channels = append(channels, ch)
		}
		if !slices.Contains(uses[ch], use) {
			uses[ch] = append(uses[ch], use)
		}
	}
	def := ""
	switch {
	case pl == bot.PlatformSlack && cfg.Slack != nil:
		def = cfg.Slack.ApprovalsChannel
	case pl == bot.PlatformDiscord && cfg.Discord != nil:
		def = cfg.Discord.ApprovalsChannel
	}
	for _, a := range cfg.Accounts() {
		if ch := a.Channels[pl]; ch != "" {
			add(ch, a.Name)
		} else {
			add(def, a.Name)
		}
	}
	if _, ok := uses[def]; !ok {
		add(def, "approvals_channel")
	}
	return channels, uses
}

// channelProblems asks each platform once whether the bot can post in every
// channel its cards go to, and says, one line each, where it cannot, or
// that a platform could not be asked.
func channelProblems(ctx context.Context, cfg *config.Config, chats []chatAdapter) []string {
	var out []string
	for _, c := range chats {
		pl := c.Platform()
		channels, uses := cardChannels(cfg, pl)
		if len(channels) == 0 {
			continue
		}
		problems, err := c.CheckChannels(ctx, channels)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: could not check the approval channels: %s", pl, bot.ErrorMessage(err)))
			continue
		}
		for _, p := range problems {
			out = append(out, fmt.Sprintf("%s: cannot post approval cards in channel %s (cards of %s): %s",
				pl, p.Channel, strings.Join(uses[p.Channel], ", "), p.Problem))
		}
	}
	return out
}

// scopeChecker is a platform that can say which of the permissions the bot
// needs its app lacks (Slack's scopes).
type scopeChecker interface {
	MissingScopes(ctx context.Context) ([]string, error)
}

// scopeWarnings asks each platform that can tell which permissions the
// bot's app lacks, and says, one line each, what that breaks. They are
// warnings: an app installed from an older manifest still works, with less.
func scopeWarnings(ctx context.Context, chats []chatAdapter) []string {
	var out []string
	for _, c := range chats {
		sc, ok := c.(scopeChecker)
		if !ok {
			continue
		}
		missing, err := sc.MissingScopes(ctx)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: could not check the app's permissions: %s", c.Platform(), bot.ErrorMessage(err)))
			continue
		}
		for _, m := range missing {
			out = append(out, fmt.Sprintf("%s: %s (deploy/slack/manifest.yaml lists them; add it and reinstall the app)", c.Platform(), m))
		}
	}
	return out
}

// redisOnline connects to the configured Redis and says whether it
// answers (a problem when not), whether it keeps its data on disk (a
// warning when it keeps nothing: a restart would lose every request) and
// whether it may evict the bot's keys (a warning unless noeviction).
func redisOnline(ctx context.Context, cfg *config.Config) (problems, warnings []string) {
	if cfg.Redis.Embedded() {
		return nil, nil // the embedded store: config's own warning says what that means
	}
	c, err := redisClient(cfg.Redis)
	if err != nil {
		return []string{err.Error()}, nil
	}
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		if _, answered := errors.AsType[redis.Error](err); answered {
			// WRONGPASS, NOAUTH, NOPERM: it answers, and refuses the bot
			return []string{fmt.Sprintf("redis at %s refuses the bot: %v (check redis.username and redis.password)", cfg.Redis.Where(), err)}, nil
		}
		return []string{fmt.Sprintf("redis at %s does not answer: %v", cfg.Redis.Where(), err)}, nil
	}
	if n := cfg.Redis.Replicas(); n > 0 {
		problems, warnings = replicaProblems(ctx, c, cfg.Redis, n)
	}
	conf := map[string]string{}
	for _, key := range []string{"save", "appendonly", "maxmemory", "maxmemory-policy"} { // only these: "*" would read the passwords too
		var kv map[string]string
		if kv, err = c.ConfigGet(ctx, key).Result(); err != nil {
			break
		}
		conf[key] = kv[key]
	}
	if err != nil {
		return problems, append(warnings, fmt.Sprintf("redis at %s: could not read whether it persists its data (CONFIG GET refused: %v)", cfg.Redis.Where(), err))
	}
	if strings.TrimSpace(conf["save"]) == "" && conf["appendonly"] != "yes" {
		warnings = append(warnings, fmt.Sprintf("redis at %s persists nothing (save is empty and appendonly is no): "+
			"a restart loses every open request and the audit log", cfg.Redis.Where()))
	}
	// With a memory limit, any policy but noeviction drops keys when Redis
	// is full: open requests, votes, leases and the audit log, silently.
	if m, p := strings.TrimSpace(conf["maxmemory"]), conf["maxmemory-policy"]; m != "" && m != "0" && p != "" && p != "noeviction" {
		warnings = append(warnings, fmt.Sprintf("redis at %s evicts keys when it reaches maxmemory (maxmemory-policy %s): "+
			"it would silently drop open requests, their votes and the audit log; set maxmemory-policy noeviction, "+
			"so that a full Redis refuses writes and the bot says so", cfg.Redis.Where(), p))
	}
	return problems, warnings
}

// replicaProblems says what would stop every change of the bot when it
// waits for n replicas (redis.sentinel.min_replicas): a user that may not
// run WAIT, or INCR the barrier each change writes before it, or fewer replicas online at the master than n (one still
// syncing is not counted: WAIT does not count it either). A master that
// will not say how many it has is a warning.
func replicaProblems(ctx context.Context, c redis.UniversalClient, r config.Redis, n int) (problems, warnings []string) {
	where := r.Where()
	if err := approvals.New(c, approvals.Options{Prefix: r.Prefix}).CheckReplicated(ctx); err != nil {
		return []string{fmt.Sprintf("redis at %s refuses to the bot what waiting for replicas needs (%v): redis.sentinel.min_replicas "+
			"needs WAIT, and INCR of a key under the prefix (allow the bot's Redis user +wait and +incr, or set min_replicas: 0)", where, err)}, nil
	}
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return nil, []string{fmt.Sprintf("redis at %s: could not read how many replicas the master has (INFO refused: %v)", where, err)}
	}
	online := 0
	for line := range strings.SplitSeq(info, "\n") {
		if strings.HasPrefix(line, "slave") && strings.Contains(line, ":ip=") && strings.Contains(line, "state=online") {
			online++
		}
	}
	if online < n {
		return []string{fmt.Sprintf("redis at %s: the master has %d replicas online, fewer than redis.sentinel.min_replicas (%d): "+
			"every change would wait a second and be refused (bring the replicas back, or lower min_replicas)", where, online, n)}, nil
	}
	return nil, nil
}
