package chattest

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/approvals"
	"resetbot/bot"
	"resetbot/internal/redistest"
	"resetbot/internal/testkit"
	"resetbot/providers/emulator"
	"resetbot/providers/ratelimit"
	"resetbot/providers/tencent"
)

// The credential the emulated cloud accepts.
const (
	SecretID  = "AKIDresetbotchattest"
	SecretKey = "resetbot-chat-test-key"
)

// TDSQL is the provider key of the accounts the Cloud resets.
const TDSQL = tencent.TDSQL

// TDSQLSettings are the settings of a TDSQL account on instance, users
// connecting from any host. The approval card shows their Resource,
// "instance_id=<instance>".
func TDSQLSettings(instance string) bot.AccountSettings {
	return tencent.TDSQLSettings{InstanceID: instance, Host: tencent.DefaultHost}
}

// Backend is everything below the chat adapters: Redis, the approvals
// store on it, the cloud, and one log that every part writes to.
type Backend struct {
	Redis  *redis.Client
	Prefix string // of every key this test writes
	Store  *approvals.Store
	Cloud  *Cloud
	Logs   *testkit.Log
}

// NewBackend starts a Backend. store's Prefix is set to the test's own;
// users maps each TDSQL instance to the users it has ("app_user@%").
func NewBackend(t testing.TB, store approvals.Options, users map[string][]string) *Backend {
	t.Helper()
	client, prefix := redistest.Client(t)
	store.Prefix = prefix
	b := &Backend{Redis: client, Prefix: prefix, Store: approvals.New(client, store),
		Cloud: NewCloud(t, users), Logs: &testkit.Log{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the bot's log:\n%s", b.Logs)
		}
	})
	return b
}

// Log is a logger into Logs, at debug level.
func (b *Backend) Log() *slog.Logger {
	return slog.New(slog.NewTextHandler(b.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// RedisDump is every key of the test with its value, as text.
func (b *Backend) RedisDump(t testing.TB) string {
	t.Helper()
	return testkit.RedisDump(t, b.Redis, "*"+b.Prefix+"*")
}

// CheckNoSecrets fails the test when one of passwords is in the log or in
// Redis: a password leaves the process only in the one private message
// that shows it, which the adapter's own test checks.
func (b *Backend) CheckNoSecrets(t testing.TB, passwords ...string) {
	t.Helper()
	logs, dump := b.Logs.String(), b.RedisDump(t)
	for _, pw := range passwords {
		if pw == "" {
			continue
		}
		if strings.Contains(logs, pw) {
			t.Errorf("the log holds a password")
		}
		if strings.Contains(dump, pw) {
			t.Errorf("Redis holds a password")
		}
	}
}

// Cloud is Tencent Cloud's TDSQL API, emulated with real signature checks,
// behind the real Tencent provider.
type Cloud struct {
	Emulator *emulator.Emulator
	Provider *tencent.Provider
}

// NewCloud starts a Cloud whose instances have users (instance -> users
// such as "app_user@%"); it stops when the test ends.
func NewCloud(t testing.TB, users map[string][]string) *Cloud {
	t.Helper()
	emu := emulator.New(emulator.Options{TencentSecretID: SecretID, TencentSecretKey: SecretKey})
	for instance, us := range users {
		for _, u := range us {
			emu.AddUser(TDSQL, instance, u)
		}
	}
	srv := httptest.NewTLSServer(emu)
	t.Cleanup(srv.Close)
	prov := tencent.New(tencent.Options{
		SecretID: SecretID, SecretKey: SecretKey,
		Endpoint:  srv.Listener.Addr().String(),
		Transport: srv.Client().Transport,
		Limiter:   ratelimit.NewLocal(1000),
		Timeout:   5 * time.Second,
		Backoff:   func(int) time.Duration { return time.Millisecond },
	})
	return &Cloud{Emulator: emu, Provider: prov}
}

// Resets counts the password resets the API made (calls that changed a
// password).
func (c *Cloud) Resets() int {
	n := 0
	for _, call := range c.Emulator.Calls() {
		if call.Provider == TDSQL && call.Action == "ResetUserPassword" && call.Code == "" {
			n++
		}
	}
	return n
}

// Password is the password user of instance has now; "" when it was never
// reset.
func (c *Cloud) Password(instance, user string) string {
	pw, _ := c.Emulator.Password(TDSQL, instance, user)
	return pw
}

// StartExecutor runs svc's executor until the returned stop, which waits
// for it to return.
func StartExecutor(svc *bot.Service) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = svc.RunExecutor(ctx, "test")
	}()
	return func() {
		cancel()
		<-done
	}
}
