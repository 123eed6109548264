package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/adapters/slack/slacktest"
	"resetbot/internal/redistest"
)

const serveYAML = `
listen: "127.0.0.1:0"
redis:
  url: "redis://%REDIS%/0"
  prefix: "%PREFIX%"
slack:
  bot_token: "${SLACK_BOT_TOKEN}"
  signing_secret: "${SLACK_SIGNING_SECRET}"
  api_url: "http://127.0.0.1:1/api/"
  approvals_channel: "C0APPROVALS"
tencentcloud:
  secret_id: "${TENCENTCLOUD_SECRET_ID}"
  secret_key: "${TENCENTCLOUD_SECRET_KEY}"
people:
  - {name: alice, slack: U0ALICE, groups: [eng]}
  - {name: bob, slack: U0BOB, groups: [db-approvers]}
accounts:
  - name: prod-db
    provider: tencent.tdsql
    region: ap-guangzhou
    instance_id: tdsql3-d8fffc3c
    user: app_user
    requesters: [eng]
    approvers: [db-approvers]
`

func serveEnv(k string) string {
	return map[string]string{
		"SLACK_BOT_TOKEN":         "xoxb-test-token",
		"SLACK_SIGNING_SECRET":    "signing-secret-for-tests",
		"TENCENTCLOUD_SECRET_ID":  "AKIDtest",
		"TENCENTCLOUD_SECRET_KEY": "tencent-secret-key-for-tests",
	}[k]
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestServeHealthReadyMetricsAndShutdown(t *testing.T) {
	_, prefix := redistest.Client(t)
	cfg := strings.NewReplacer("%REDIS%", redistest.Addr(t), "%PREFIX%", prefix).Replace(serveYAML)
	path := writeConfig(t, cfg)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	var stderr strings.Builder
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"resetbot", "serve", "--config", path}, serveEnv, strings.NewReader(""), outW, &stderr)
		outW.Close()
	}()
	lines := readLines(outR)
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("serve's log:\n%s", stderr.String())
		}
	})
	addr := lines.waitFor(wctx, t, regexp.MustCompile(`listening on (\S+)`))[1]

	for path, want := range map[string]string{
		"/healthz": "ok",
		"/readyz":  "ready",
		"/metrics": "go_goroutines",
	} {
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET %s = %d %.80q, want 200 with %q", path, res.StatusCode, body, want)
		}
	}
	res, err := http.Post("http://"+addr+"/slack/commands", "application/x-www-form-urlencoded", strings.NewReader("text=list"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned POST /slack/commands = %d, want 401", res.StatusCode)
	}

	cancel() // what SIGTERM does through signal.NotifyContext
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after shutdown, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after its context ended")
	}
	for _, secret := range []string{"xoxb-test-token", "signing-secret-for-tests", "tencent-secret-key-for-tests"} {
		if strings.Contains(stderr.String(), secret) {
			t.Errorf("the log shows the secret %q", secret)
		}
	}
}

func TestCheckConfig(t *testing.T) {
	good := writeConfig(t, strings.NewReplacer("%REDIS%", "127.0.0.1:6390", "%PREFIX%", "x:").Replace(serveYAML))
	var out, errOut strings.Builder
	if err := run(context.Background(), []string{"resetbot", "check-config", "--config", good}, serveEnv, nil, &out, &errOut); err != nil {
		t.Fatalf("check-config on a good file: %v\n%s%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "ok (2 people, 1 accounts)") {
		t.Errorf("check-config said %q", out.String())
	}

	bad := writeConfig(t, strings.NewReplacer("%REDIS%", "127.0.0.1:6390", "%PREFIX%", "x:",
		"provider: tencent.tdsql", "provider: tencent.nosuch", "approvers: [db-approvers]", "approvers: [nobody-group]").Replace(serveYAML)+"colour: blue\n")
	out.Reset()
	err := run(context.Background(), []string{"resetbot", "check-config", "--config", bad}, serveEnv, nil, &out, &errOut)
	if err == nil {
		t.Fatal("check-config passed a bad file")
	}
	for _, want := range []string{"colour", "tencent.nosuch", "nobody-group"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check-config output does not name %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "tencent-secret-key-for-tests") {
		t.Error("check-config printed a secret")
	}
}

// TestCheckConfigRefusesAPasswordLengthTheProviderRefuses: the range comes
// from the provider's password rule, so a length that the reset would refuse
// after a human approved it is refused at start, with its line.
func TestCheckConfigRefusesAPasswordLengthTheProviderRefuses(t *testing.T) {
	text := strings.NewReplacer("%REDIS%", "127.0.0.1:6390", "%PREFIX%", "x:").Replace(serveYAML) + `  - name: login
    provider: tencent.ciam
    region: ap-guangzhou
    user_store_id: ustore-1
    user_id: user-1
    password_length: 48
    requesters: [eng]
    approvers: [db-approvers]
`
	line := strings.Count(text[:strings.Index(text, "password_length: 48")], "\n") + 1
	var out, errOut strings.Builder
	if err := run(context.Background(), []string{"resetbot", "check-config", "--config", writeConfig(t, text)}, serveEnv, nil, &out, &errOut); err == nil {
		t.Fatalf("check-config passed password_length 48 on a CIAM account:\n%s", out.String())
	}
	want := fmt.Sprintf("line %d: accounts[1].password_length: 48: tencent.ciam takes 16 to 32", line)
	if !strings.Contains(out.String(), want) {
		t.Errorf("check-config said:\n%s\nwant a line with %q", out.String(), want)
	}
}

// TestServeDropsSlowBodies: a client that promises a body and sends almost
// none cannot hold a connection: it is closed once the read timeout passes.
func TestServeDropsSlowBodies(t *testing.T) {
	saved := httpTimeouts
	httpTimeouts.read = 300 * time.Millisecond
	t.Cleanup(func() { httpTimeouts = saved })

	_, prefix := redistest.Client(t)
	cfg := strings.NewReplacer("%REDIS%", redistest.Addr(t), "%PREFIX%", prefix).Replace(serveYAML)
	path := writeConfig(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"resetbot", "serve", "--config", path}, serveEnv, strings.NewReader(""), outW, io.Discard)
		outW.Close()
	}()
	t.Cleanup(func() { cancel(); <-done })
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	addr := readLines(outR).waitFor(wctx, t, regexp.MustCompile(`listening on (\S+)`))[1]

	for _, p := range []string{"/slack/commands", "/slack/interactions", "/discord/interactions"} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\nx", p)
		// The server must end the exchange by itself; the deadline only
		// keeps a broken server from hanging the test.
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, err = io.ReadAll(conn)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("POST %s: the connection was still open after 20s", p)
		}
		conn.Close()
	}
}

// TestProblemsFromTheEnvironmentNotShown runs check-config and serve on
// configs whose bad values come from the environment: what the commands
// print names the variable, never its value.
func TestProblemsFromTheEnvironmentNotShown(t *testing.T) {
	base := strings.NewReplacer("%REDIS%", "127.0.0.1:6390", "%PREFIX%", "x:").Replace(serveYAML)
	for _, tt := range []struct {
		name, yaml, key, variable string
		env                       map[string]string
	}{
		{"BadRedisURL", strings.Replace(base, `url: "redis://127.0.0.1:6390/0"`, `url: "${REDIS_URL}"`, 1),
			"redis.url", "REDIS_URL", map[string]string{"REDIS_URL": "redis://cache:6379/SECRET-database"}},
		{"ReservedAccountName", strings.Replace(base, "name: prod-db", "name: ${ACCOUNT}", 1),
			"accounts[0].name", "ACCOUNT", map[string]string{"ACCOUNT": "LiSt"}},
		{"BadSlackUserID", strings.Replace(base, "slack: U0BOB", `slack: "${BOB}"`, 1),
			"people[1].slack", "BOB", map[string]string{"BOB": "SECRET-not-an-id"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string {
				if v, ok := tt.env[k]; ok {
					return v
				}
				return serveEnv(k)
			}
			path := writeConfig(t, tt.yaml)
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // serve must refuse before it starts anything
			var text strings.Builder
			for _, cmd := range []string{"check-config", "serve"} {
				var stdout, stderr strings.Builder
				if err := run(ctx, []string{"resetbot", cmd, "--config", path}, getenv, strings.NewReader(""), &stdout, &stderr); err == nil {
					t.Fatalf("%s accepted the config, so this test would prove nothing:\n%s%s", cmd, stdout.String(), stderr.String())
				}
				text.WriteString(stdout.String() + stderr.String())
			}
			for _, v := range tt.env {
				// Lower case too where it cannot be a word of the message:
				// url.Parse lowers a scheme.
				if strings.Contains(text.String(), v) || strings.Contains(v, "SECRET") && strings.Contains(strings.ToLower(text.String()), strings.ToLower(v)) {
					t.Errorf("the output shows %q:\n%s", v, text.String())
				}
			}
			if !strings.Contains(text.String(), tt.key+": ${"+tt.variable+"} (from the environment, not shown)") {
				t.Errorf("no problem at %s names ${%s} as not shown:\n%s", tt.key, tt.variable, text.String())
			}
		})
	}
}

// TestCheckConfigOnline: --online asks Slack whether the bot can post in
// every channel its cards go to, and Redis whether it keeps its data, and
// says what it found: a channel the bot is not in is a problem (exit 1)
// naming the channel and whose cards go there.
func TestCheckConfigOnline(t *testing.T) {
	fake := slacktest.NewServer(t, "xoxb-test-token", "")
	fake.AddChannel(slacktest.Channel{ID: "C0APPROVALS", Member: true})
	fake.AddChannel(slacktest.Channel{ID: "C0DBTEAM", Name: "db-team"})
	text := strings.NewReplacer("%REDIS%", redistest.Addr(t), "%PREFIX%", "online:",
		"http://127.0.0.1:1/api/", fake.APIURL()).Replace(serveYAML)
	withChannel := text + `    channels: {slack: C0DBTEAM}
  - name: staging-db
    provider: tencent.tdsql
    region: ap-guangzhou
    instance_id: tdsql3-staging
    user: app_user
    requesters: [eng]
    approvers: [db-approvers]
`
	var out, errOut strings.Builder
	err := run(context.Background(), []string{"resetbot", "check-config", "--online", "--config", writeConfig(t, withChannel)}, serveEnv, nil, &out, &errOut)
	if err == nil {
		t.Fatalf("check-config --online passed with a channel the bot is not in:\n%s", out.String())
	}
	if want := "problem: slack: cannot post approval cards in channel C0DBTEAM (cards of prod-db): the bot is not a member of it"; !strings.Contains(out.String(), want) {
		t.Errorf("output:\n%s\nwant it to say %q", out.String(), want)
	}
	if want := "persists nothing (save is empty and appendonly is no)"; !strings.Contains(out.String(), want) {
		t.Errorf("output:\n%s\nwant a warning that the test's Redis, run without persistence, %s", out.String(), want)
	}
	if strings.Contains(out.String(), "C0APPROVALS") {
		t.Errorf("output names C0APPROVALS, where the bot can post:\n%s", out.String())
	}
	if n := len(fake.CallsOf("users.conversations")); n != 1 {
		t.Errorf("users.conversations calls: %d, want 1", n)
	}

	// The bot joins: all well.
	fake.AddChannel(slacktest.Channel{ID: "C0DBTEAM", Name: "db-team", Member: true})
	out.Reset()
	if err := run(context.Background(), []string{"resetbot", "check-config", "--online", "--config", writeConfig(t, withChannel)}, serveEnv, nil, &out, &errOut); err != nil {
		t.Fatalf("check-config --online: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "ok (2 people, 2 accounts)") {
		t.Errorf("output:\n%s", out.String())
	}

	// An app installed from an older manifest, without the history scopes:
	// warned, not a problem.
	fake.SetScopes("commands", "chat:write", "im:write", "channels:read", "groups:read")
	out.Reset()
	if err := run(context.Background(), []string{"resetbot", "check-config", "--online", "--config", writeConfig(t, withChannel)}, serveEnv, nil, &out, &errOut); err != nil {
		t.Fatalf("check-config --online without the history scopes: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"warning: slack: the app lacks the channels:history scope: a card whose post timed out may be posted twice (deploy/slack/manifest.yaml lists them; add it and reinstall the app)",
		"warning: slack: the app lacks the groups:history scope",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output:\n%s\nwant %q", out.String(), want)
		}
	}
	fake.SetScopes(slacktest.AppScopes...)

	// A bot token Slack refuses: the platform could not be asked.
	out.Reset()
	refused := func(k string) string {
		if k == "SLACK_BOT_TOKEN" {
			return "xoxb-wrong"
		}
		return serveEnv(k)
	}
	if err := run(context.Background(), []string{"resetbot", "check-config", "--online", "--config", writeConfig(t, withChannel)}, refused, nil, &out, &errOut); err == nil ||
		!strings.Contains(out.String(), "problem: slack: could not check the approval channels: ") {
		t.Errorf("with a refused token: %v\n%s", err, out.String())
	}

	// A Redis that evicts keys when full is warned about; noeviction is not.
	own, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = own.Stop() })
	oc := redis.NewClient(&redis.Options{Addr: own.Addr})
	t.Cleanup(func() { _ = oc.Close() })
	evicting := strings.Replace(withChannel, redistest.Addr(t), own.Addr, 1)
	for _, tc := range []struct {
		maxmemory, policy string
		warned            bool
	}{{"100mb", "allkeys-lru", true}, {"100mb", "volatile-ttl", true}, {"100mb", "noeviction", false}, {"0", "allkeys-lru", false}} {
		if err := oc.ConfigSet(context.Background(), "maxmemory", tc.maxmemory).Err(); err != nil {
			t.Fatal(err)
		}
		if err := oc.ConfigSet(context.Background(), "maxmemory-policy", tc.policy).Err(); err != nil {
			t.Fatal(err)
		}
		out.Reset()
		if err := run(context.Background(), []string{"resetbot", "check-config", "--online", "--config", writeConfig(t, evicting)}, serveEnv, nil, &out, &errOut); err != nil {
			t.Fatalf("check-config --online, maxmemory %s, %s: %v\n%s", tc.maxmemory, tc.policy, err, out.String())
		}
		want := "evicts keys when it reaches maxmemory (maxmemory-policy " + tc.policy + ")"
		if got := strings.Contains(out.String(), want); got != tc.warned {
			t.Errorf("maxmemory %s, %s: warned %v, want %v:\n%s", tc.maxmemory, tc.policy, got, tc.warned, out.String())
		}
	}

	// Redis down is a problem too.
	down := strings.Replace(withChannel, redistest.Addr(t), "127.0.0.1:1", 1)
	out.Reset()
	if err := run(context.Background(), []string{"resetbot", "check-config", "--online", "--config", writeConfig(t, down)}, serveEnv, nil, &out, &errOut); err == nil ||
		!strings.Contains(out.String(), "problem: redis at redis://127.0.0.1:1/0 does not answer") {
		t.Errorf("with Redis down: %v\n%s", err, out.String())
	}
}
