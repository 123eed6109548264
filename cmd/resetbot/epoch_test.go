package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"resetbot/adapters/slack/slacktest"
	"resetbot/internal/redistest"
)

// TestServeSaysRedisLostItsData: serve warns at start that the test's Redis
// persists nothing; when Redis comes back empty, it says so in the log, in
// resetbot_redis_data_lost_total and in the approvals channel, and is
// ready again once it has.
func TestServeSaysRedisLostItsData(t *testing.T) {
	client, prefix := redistest.Client(t)
	fake := slacktest.NewServer(t, "xoxb-test-token", "")
	cfg := strings.NewReplacer("%REDIS%", redistest.Addr(t), "%PREFIX%", prefix, "http://127.0.0.1:1/api/", fake.APIURL()).Replace(serveYAML)
	path := writeConfig(t, cfg)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"resetbot", "serve", "--config", path}, serveEnv, strings.NewReader(""), outW, errW)
		outW.Close()
		errW.Close()
	}()
	defer func() { cancel(); <-done }()
	logs := readLines(errR)
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	addr := readLines(outR).waitFor(wctx, t, regexp.MustCompile(`listening on (\S+)`))[1]
	logs.waitFor(wctx, t, regexp.MustCompile(`"level":"WARN".*persists nothing`))

	get := func(path string) (int, string) {
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	// waitReady waits until /readyz answers 200.
	waitReady := func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if code, _ := get("/readyz"); code == http.StatusOK {
				return
			}
			select {
			case <-wctx.Done():
				t.Fatal("/readyz never answered 200")
			case <-tick.C:
			}
		}
	}
	waitReady()
	if _, m := get("/metrics"); !strings.Contains(m, "resetbot_redis_data_lost_total 0") {
		t.Errorf("/metrics at start: want resetbot_redis_data_lost_total 0")
	}

	iter := client.Scan(ctx, 0, "{"+prefix+"}*", 1000).Iterator() // Redis comes back empty
	for iter.Next(ctx) {
		client.Del(ctx, iter.Val())
	}
	logs.waitFor(wctx, t, regexp.MustCompile(`"level":"ERROR".*the store lost its data`))
	fake.WaitFor(wctx, "the notice in the approvals channel", func(calls []slacktest.Call) bool {
		for _, c := range calls {
			if c.Method == "chat.postMessage" && c.Get("channel") == "C0APPROVALS" && strings.Contains(c.Get("text"), "lost its data") {
				return true
			}
		}
		return false
	})
	waitReady()
	if _, m := get("/metrics"); !strings.Contains(m, "resetbot_redis_data_lost_total 1") {
		t.Errorf("/metrics after the loss: want resetbot_redis_data_lost_total 1")
	}
}
