package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"resetbot/adapters/slack/slacktest"
	"resetbot/internal/redistest"
)

// check-config --online on a Sentinel setup: the bot waits for
// min_replicas replicas after each change, so a master with fewer
// connected, or a Redis user that may not run WAIT, would refuse every
// change: both are problems; the setup as it runs (one replica) is not.
func TestCheckConfigOnlineSentinelReplicas(t *testing.T) {
	s := redistest.SharedSentinel(t)
	fake := slacktest.NewServer(t, "xoxb-test-token", "")
	fake.AddChannel(slacktest.Channel{ID: "C0APPROVALS", Member: true})
	// users that may do everything but WAIT, or INCR
	master := redis.NewClient(&redis.Options{Addr: s.MasterNow(t)})
	t.Cleanup(func() { _ = master.Close() })
	for user, deny := range map[string]string{"nowait": "-wait", "noincr": "-incr"} {
		if err := master.Do(context.Background(), "acl", "setuser", user, "on", ">"+user+"-pw", "~*", "&*", "+@all", deny).Err(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = master.Do(context.Background(), "acl", "deluser", user).Err() })
	}
	config := func(sentinel string) string {
		return strings.NewReplacer(`  url: "redis://%REDIS%/0"`, sentinel, "%PREFIX%", "online-sentinel:",
			"http://127.0.0.1:1/api/", fake.APIURL()).Replace(serveYAML)
	}
	addrs := `["` + strings.Join(s.Sentinels, `", "`) + `"]`
	for _, tc := range []struct {
		name, redis string
		problem     string // "" for none
	}{
		{"OneReplica", fmt.Sprintf("  sentinel: {master: %s, addrs: %s}", s.Master, addrs), ""},
		{"NoWait", fmt.Sprintf("  sentinel: {master: %s, addrs: %s, min_replicas: 0}", s.Master, addrs), ""},
		{"TwoReplicas", fmt.Sprintf("  sentinel: {master: %s, addrs: %s, min_replicas: 2}", s.Master, addrs),
			"the master has 1 replicas online, fewer than redis.sentinel.min_replicas (2)"},
		{"UserWithoutWait", fmt.Sprintf("  username: nowait\n  password: nowait-pw\n  sentinel: {master: %s, addrs: %s}", s.Master, addrs),
			"refuses to the bot what waiting for replicas needs (WAIT: NOPERM"},
		{"UserWithoutIncr", fmt.Sprintf("  username: noincr\n  password: noincr-pw\n  sentinel: {master: %s, addrs: %s}", s.Master, addrs),
			"refuses to the bot what waiting for replicas needs (INCR {online-sentinel:}replicated: NOPERM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut strings.Builder
			err := run(context.Background(), []string{"resetbot", "check-config", "--online", "--config", writeConfig(t, config(tc.redis))}, serveEnv, nil, &out, &errOut)
			if tc.problem == "" {
				if err != nil || strings.Contains(out.String(), "problem:") {
					t.Errorf("check-config --online: %v\n%s", err, out.String())
				}
				return
			}
			if err == nil || !strings.Contains(out.String(), tc.problem) {
				t.Errorf("check-config --online: %v\n%s\nwant a problem saying %q", err, out.String(), tc.problem)
			}
		})
	}
}
