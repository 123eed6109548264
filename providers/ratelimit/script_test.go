package ratelimit_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"resetbot/internal/redistest"
	"resetbot/providers/ratelimit"
)

// keyFirst says, for each command the limiter's script may call, whether
// its first argument is its one key. A command not listed fails
// TestScriptTouchesOnlyItsKey, so that a new command's keys cannot go
// unchecked: one with more keys than its first argument needs a check of
// its own.
var keyFirst = map[string]bool{"TIME": false, "GET": true, "SET": true}

var (
	anyCall = regexp.MustCompile(`redis\.p?call`)
	// call is a call that names its command in place, and its first
	// argument, if any.
	call = regexp.MustCompile(`redis\.p?call\(\s*'([A-Za-z]+)'\s*(?:,\s*([^,)]+))?`)
)

// TestScriptTouchesOnlyItsKey: every key the script touches is KEYS[1], the
// one key Wait declares. Redis Cluster checks only the declared keys' slot,
// and some cloud Redis proxies refuse a script that touches a key its KEYS
// do not name; the approvals store's scripts are held to this by its guard,
// which this package does not share, so the script's text is checked here.
func TestScriptTouchesOnlyItsKey(t *testing.T) {
	src := ratelimit.ReserveSrc
	calls := call.FindAllStringSubmatch(src, -1)
	if n := len(anyCall.FindAllString(src, -1)); n == 0 || n != len(calls) {
		t.Fatalf("the script calls Redis %d times, %d of them naming the command in place: each call must, for its keys to be checked", n, len(calls))
	}
	for _, c := range calls {
		cmd, first := strings.ToUpper(c[1]), strings.TrimSpace(c[2])
		isKey, known := keyFirst[cmd]
		switch {
		case !known:
			t.Errorf("%s: where the keys of %s are is not known", c[0], cmd)
		case isKey && first != "KEYS[1]":
			t.Errorf("%s: touches %s, not KEYS[1]", c[0], first)
		}
	}
}

// TestLimiterOnACluster: on a Redis Cluster the script runs, and its key is
// in the slot of the approvals store's keys, whose hash tag is {prefix}.
func TestLimiterOnACluster(t *testing.T) {
	rdb, prefix := redistest.ClusterClient(t)
	l := ratelimit.New(rdb, prefix, 1000)
	key := ratelimit.Key("ResetPassword", "AKID")
	ctx := context.Background()
	if err := l.Wait(ctx, key); err != nil {
		t.Fatal(err)
	}
	full := "{" + prefix + "}ratelimit:" + key
	if n, err := rdb.Exists(ctx, full).Result(); err != nil || n != 1 {
		t.Fatalf("key %q: got %d, %v; want it written", full, n, err)
	}
	got, err := rdb.ClusterKeySlot(ctx, full).Result()
	if err != nil {
		t.Fatal(err)
	}
	want, err := rdb.ClusterKeySlot(ctx, "{"+prefix+"}epoch").Result()
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("key %q is in slot %d, the bot's keys in %d", full, got, want)
	}
}
