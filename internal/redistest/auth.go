package redistest

import (
	"context"
	"crypto/rand"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// AuthServer is a redis-server that lets no one in without a password: an
// ACL user, Username, logs in with Password, and the default user (the one a
// client without a username logs in as) with DefaultPassword. Each password
// is random and starts with "SECRET-", so that a test can look for it in
// what the bot prints.
type AuthServer struct {
	Addr            string
	Username        string
	Password        string
	DefaultPassword string
}

// StartAuth starts an AuthServer of the test's own, on a free port, stopped
// when the test ends. It fails the test unless the server answers the user's
// login and refuses a client that sends none, so that a test which logs in
// proves the login was needed.
func StartAuth(tb testing.TB) *AuthServer {
	tb.Helper()
	s := &AuthServer{Username: "resetbot", Password: secret(), DefaultPassword: secret()}
	port, err := freePort()
	if err != nil {
		tb.Fatal(err)
	}
	s.Addr = "127.0.0.1:" + strconv.Itoa(port)
	// The default user exists before the config is read, with nopass; a
	// password of its own replaces nopass.
	cmd, err := proc(tb.TempDir(), "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
		"--user", s.Username, "on", ">"+s.Password, "~*", "&*", "+@all",
		"--user", "default", "on", ">"+s.DefaultPassword, "~*", "&*", "+@all")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	user := redis.NewClient(&redis.Options{Addr: s.Addr, Username: s.Username, Password: s.Password, MaxRetries: -1})
	defer user.Close()
	if err := until(10*time.Second, func(ctx context.Context) error { return user.Ping(ctx).Err() }); err != nil {
		tb.Fatalf("redis-server with ACL users on %s: %v", s.Addr, err)
	}
	anon := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
	defer anon.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := anon.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		tb.Fatalf("redis-server on %s answered a client without a password: %v, want NOAUTH", s.Addr, err)
	}
	return s
}

// secret is a random password, recognisable by its "SECRET-" start.
func secret() string { return "SECRET-" + rand.Text() }
