package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"resetbot/adapters/slack/slacktest"
	"resetbot/bot"
	"resetbot/internal/redistest"
	"resetbot/internal/testkit"
)

// These tests log in to a redis-server that refuses clients without a
// password, through the config's redis.username and redis.password, on the
// path serve takes: the config file loaded with loadConfigFile, the bot
// built by build (which opens Redis with openRedis), and check-config
// --online.

// authYAML is serveYAML pointed at srv and at the fake Slack apiURL, with
// keys under prefix, logging in as username (the default user when empty)
// with the password "${REDIS_PASSWORD}" when withPassword.
func authYAML(srv *redistest.AuthServer, username string, withPassword bool, prefix, apiURL string) string {
	login := ""
	if username != "" {
		login += "  username: " + username + "\n"
	}
	if withPassword {
		login += "  password: \"${REDIS_PASSWORD}\"\n"
	}
	return strings.NewReplacer("%REDIS%", srv.Addr,
		"  prefix: \"%PREFIX%\"\n", "  prefix: \""+prefix+"\"\n"+login,
		"http://127.0.0.1:1/api/", apiURL).Replace(serveYAML)
}

// authEnv is serveEnv with REDIS_PASSWORD set to password.
func authEnv(password string) func(string) string {
	return func(k string) string {
		if k == "REDIS_PASSWORD" {
			return password
		}
		return serveEnv(k)
	}
}

// authSlack is a fake Slack where the bot may post in the approvals
// channel, so that only Redis can make these tests fail.
func authSlack(t *testing.T) *slacktest.Server {
	t.Helper()
	fake := slacktest.NewServer(t, "xoxb-test-token", "")
	fake.AddChannel(slacktest.Channel{ID: "C0APPROVALS", Member: true})
	return fake
}

// buildFromFile loads the config text as serve does and builds the bot from
// it, logging to logged; the bot is closed when the test ends.
func buildFromFile(t *testing.T, text string, getenv func(string) string, logged *testkit.Log) *server {
	t.Helper()
	cfg, err := loadConfigFile(writeConfig(t, text), getenv, logged)
	if err != nil {
		t.Fatalf("config: %v\n%s", err, logged.String())
	}
	srv, err := build(cfg, slog.New(slog.NewJSONHandler(logged, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	t.Cleanup(srv.close)
	return srv
}

// readyz asks the bot's own readiness handler, as a probe would.
func readyz(srv *server) (int, string) {
	rec := httptest.NewRecorder()
	srv.http.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	return rec.Code, rec.Body.String()
}

// noneShown fails the test for each of the passwords that text shows.
func noneShown(t *testing.T, what, text string, passwords ...string) {
	t.Helper()
	for _, p := range passwords {
		if strings.Contains(text, p) {
			t.Errorf("%s shows the password %q:\n%s", what, p, text)
		}
	}
}

// TestRedisLoginWithUsernameAndPassword: with redis.username and
// redis.password (from the environment), the bot logs in to a Redis that
// refuses anonymous clients: it is ready, and a request is stored and read
// back. Without a username, the password logs in as Redis's default user.
// Neither password reaches the log.
func TestRedisLoginWithUsernameAndPassword(t *testing.T) {
	rs := redistest.StartAuth(t)
	fake := authSlack(t)
	for _, tc := range []struct {
		name, username, password string
	}{
		{"ACLUser", rs.Username, rs.Password},
		{"DefaultUser", "", rs.DefaultPassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logged testkit.Log
			srv := buildFromFile(t, authYAML(rs, tc.username, true, "auth-"+tc.name+":", fake.APIURL()), authEnv(tc.password), &logged)
			if code, body := readyz(srv); code != http.StatusOK || !strings.Contains(body, "ready") {
				t.Fatalf("GET /readyz = %d %q, want 200 ready\n%s", code, body, logged.String())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			reply := srv.svc.HandleText(ctx, bot.Actor{Platform: bot.PlatformSlack, UserID: "U0ALICE"}, "prod-db rotate after the audit")
			if reply.Err != nil || reply.Request == nil {
				t.Fatalf("ask: %v %s", reply.Err, reply.Text)
			}
			got, err := srv.store.Get(ctx, reply.Request.ID)
			if err != nil {
				t.Fatalf("Get %s: %v", reply.Request.ID, err)
			}
			if got.State != bot.StatePending || got.Account != "prod-db" {
				t.Errorf("stored request: state %s, account %s; want pending, prod-db", got.State, got.Account)
			}
			noneShown(t, "the log", logged.String(), rs.Password, rs.DefaultPassword)
		})
	}
}

// TestRedisLoginRefusedWithoutShowingThePassword: a wrong password, an
// unknown user or no password at all is refused by Redis; the bot is not
// ready, the store's error says what Redis said, and no password, right or
// wrong, appears in the error, the bot's reply or the log.
func TestRedisLoginRefusedWithoutShowingThePassword(t *testing.T) {
	rs := redistest.StartAuth(t)
	fake := authSlack(t)
	const wrong = "SECRET-wrong-password-of-the-test"
	for _, tc := range []struct {
		name, username, password string
		want                     string // in the store's error
	}{
		{"WrongPassword", rs.Username, wrong, "WRONGPASS"},
		{"UnknownUser", "nobody", rs.Password, "WRONGPASS"},
		{"DefaultUserWrongPassword", "", wrong, "WRONGPASS"},
		{"NoPassword", rs.Username, "", "NOAUTH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logged testkit.Log
			srv := buildFromFile(t, authYAML(rs, tc.username, tc.password != "", "auth-refused:", fake.APIURL()), authEnv(tc.password), &logged)
			if code, body := readyz(srv); code != http.StatusServiceUnavailable {
				t.Errorf("GET /readyz = %d %q, want 503", code, body)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := srv.store.Ping(ctx)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Ping: got %v, want an error saying %s", err, tc.want)
			}
			noneShown(t, "the store's error", err.Error(), wrong, rs.Password, rs.DefaultPassword)
			reply := srv.svc.HandleText(ctx, bot.Actor{Platform: bot.PlatformSlack, UserID: "U0ALICE"}, "prod-db rotate after the audit")
			if reply.Err == nil {
				t.Fatalf("ask with Redis refusing the login: got %q, want an error", reply.Text)
			}
			noneShown(t, "the reply", reply.Text+"\n"+reply.Err.Error(), wrong, rs.Password, rs.DefaultPassword)
			noneShown(t, "the log", logged.String(), wrong, rs.Password, rs.DefaultPassword)
		})
	}
}

// TestCheckConfigOnlineLogsInToRedis: check-config --online logs in with
// redis.username and redis.password and passes; with a wrong password it
// reports Redis's refusal as a problem, and prints neither password.
func TestCheckConfigOnlineLogsInToRedis(t *testing.T) {
	rs := redistest.StartAuth(t)
	fake := authSlack(t)
	path := writeConfig(t, authYAML(rs, rs.Username, true, "auth-online:", fake.APIURL()))
	check := func(password string) (string, error) {
		var out, errOut strings.Builder
		err := run(context.Background(), []string{"resetbot", "check-config", "--online", "--config", path}, authEnv(password), nil, &out, &errOut)
		return out.String() + errOut.String(), err
	}

	out, err := check(rs.Password)
	if err != nil || strings.Contains(out, "problem:") || !strings.Contains(out, "ok (2 people, 1 accounts)") {
		t.Errorf("check-config --online with the right password: %v\n%s", err, out)
	}
	noneShown(t, "check-config", out, rs.Password)

	const wrong = "SECRET-wrong-password-of-the-test"
	out, err = check(wrong)
	if want := "problem: redis at redis://" + rs.Addr + "/0 refuses the bot: WRONGPASS"; err == nil || !strings.Contains(out, want) {
		t.Errorf("check-config --online with a wrong password: %v\n%s\nwant a line with %q", err, out, want)
	}
	noneShown(t, "check-config", out, wrong, rs.Password)
}
