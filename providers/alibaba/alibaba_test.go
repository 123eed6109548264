package alibaba_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"resetbot/bot"
	"resetbot/providers/alibaba"
	"resetbot/providers/emulator"
	"resetbot/providers/internal/providertest"
	"resetbot/providers/password"
	"resetbot/providers/ratelimit"
	"resetbot/providers/tencent"
)

const (
	keyID     = "LTAIresetbottest"
	keySecret = "resetbot-test-access-key-secret"
	cluster   = "ehpc-hz-FYUr32abcd"
)

type env struct {
	emu *emulator.Emulator
	rec *providertest.Recorder
	srv *httptest.Server
}

func newEnv(tb testing.TB, o emulator.Options) *env {
	tb.Helper()
	o.AlibabaAccessKeyID, o.AlibabaAccessKeySecret = keyID, keySecret
	e := &env{emu: emulator.New(o)}
	e.rec = &providertest.Recorder{Handler: e.emu}
	e.srv = httptest.NewTLSServer(e.rec)
	tb.Cleanup(e.srv.Close)
	for _, u := range []string{"user1", "user2", "user3"} {
		e.emu.AddUser(alibaba.EHPC, cluster, u)
	}
	return e
}

func (e *env) options() alibaba.Options {
	return alibaba.Options{
		AccessKeyID:     keyID,
		AccessKeySecret: keySecret,
		Endpoint:        e.srv.Listener.Addr().String(),
		Transport:       e.srv.Client().Transport,
		Limiter:         ratelimit.NewLocal(1000),
		Timeout:         2 * time.Second,
		Backoff:         func(int) time.Duration { return time.Millisecond },
	}
}

func hpc() bot.Account {
	return bot.Account{Name: "hpc", Provider: alibaba.EHPC, Region: "cn-hangzhou",
		Users: []string{"user1", "user2", "user3"}, Selectable: true,
		Settings: alibaba.EHPCSettings{ClusterID: cluster}}
}

func ctx(tb testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	tb.Cleanup(cancel)
	return c
}

func checkDelivered(t *testing.T, e *env, r bot.UserResult) {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("%s: %v", r.User, r.Err)
	}
	got, ok := e.emu.Password(alibaba.EHPC, cluster, r.User)
	if !ok || got == "" || got != r.Password.Value() {
		t.Errorf("%s: the emulator's password is not the delivered one", r.User)
	}
}

func TestResetSetsTheDeliveredPasswords(t *testing.T) {
	tests := []struct {
		name      string
		async     bool
		length    int
		wantAsync string
	}{
		{"Default", false, 0, "false"},
		{"Async", true, 0, "true"},
		{"PasswordLength", false, 30, "false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, emulator.Options{})
			acct := hpc()
			acct.Settings = alibaba.EHPCSettings{ClusterID: cluster, Async: tt.async}
			acct.PasswordLength = tt.length
			res, err := alibaba.New(e.options()).Reset(ctx(t), acct, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 3 {
				t.Fatalf("got %d results, want 3", len(res))
			}
			rule := alibaba.Rule()
			for i, r := range res {
				if r.User != acct.Users[i] {
					t.Errorf("result %d is %s, want %s", i, r.User, acct.Users[i])
				}
				checkDelivered(t, e, r)
				if err := password.Check(rule, r.Password.Value()); err != nil {
					t.Error(err)
				}
				if tt.length > 0 && len(r.Password.Value()) != tt.length {
					t.Errorf("got %d characters, want %d", len(r.Password.Value()), tt.length)
				}
			}
			calls := e.emu.Calls()
			if len(calls) != 1 {
				t.Fatalf("got %d calls, want one for all users", len(calls))
			}
			c := calls[0]
			if c.Action != alibaba.Action || c.Version != alibaba.Version || c.Method != http.MethodPost || !c.TLS || c.PasswordInURL {
				t.Errorf("call %s %s method %s TLS %v password in URL %v", c.Action, c.Version, c.Method, c.TLS, c.PasswordInURL)
			}
			if c.Params["Async"] != tt.wantAsync || c.Params["User.3.Name"] != "user3" || c.Params["ClusterId"] != cluster {
				t.Errorf("params %v", c.Params)
			}
			for _, u := range e.rec.URLs() {
				if strings.Contains(u, "Password=") { // the action, ModifyUserPasswords, is in every URL
					t.Errorf("a URL names a password parameter")
				}
			}
		})
	}
}

func TestResetSomeUsers(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	res, err := alibaba.New(e.options()).Reset(ctx(t), hpc(), []string{"user2"})
	if err != nil || len(res) != 1 {
		t.Fatalf("got %v, %v", res, err)
	}
	checkDelivered(t, e, res[0])
	if pw, _ := e.emu.Password(alibaba.EHPC, cluster, "user1"); pw != "" {
		t.Errorf("user1 was changed too")
	}
}

func TestHundredUsersInOneCall(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	acct := hpc()
	acct.Users = nil
	for i := range alibaba.MaxUsers {
		u := fmt.Sprintf("u%03d", i)
		acct.Users = append(acct.Users, u)
		e.emu.AddUser(alibaba.EHPC, cluster, u)
	}
	p := alibaba.New(e.options())
	res, err := p.Reset(ctx(t), acct, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		checkDelivered(t, e, r)
	}
	acct.Users = append(acct.Users, "one-too-many")
	if _, err := p.Reset(ctx(t), acct, nil); bot.ErrorCode(err) != bot.EINVALID {
		t.Errorf("101 users: got %v, want %s", err, bot.EINVALID)
	}
	if n := len(e.emu.Calls()); n != 1 {
		t.Errorf("got %d calls, want 1", n)
	}
}

func TestPartFailureIsReportedPerUser(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(*env)
		users  []string
		failed string
	}{
		{"Injected", func(e *env) { e.emu.Fail(alibaba.Action, emulator.FaultPartFailure, 1) }, nil, "user1"},
		{"FrozenUser", func(e *env) { e.emu.Freeze(alibaba.EHPC, cluster, "user2") }, nil, "user2"},
		{"UnknownUser", nil, []string{"user1", "ghost", "user3"}, "ghost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, emulator.Options{})
			if tt.setup != nil {
				tt.setup(e)
			}
			res, err := alibaba.New(e.options()).Reset(ctx(t), hpc(), tt.users)
			if err != nil {
				t.Fatalf("got a whole-call error %v, want per-user results", err)
			}
			for _, r := range res {
				if r.User == tt.failed {
					if r.Err == nil || !r.Password.IsZero() {
						t.Errorf("%s: got no error, want its failure", r.User)
						continue
					}
					msg := bot.ErrorMessage(r.Err)
					if bot.ErrorCode(r.Err) != bot.EPROVIDER || !strings.Contains(msg, "hpc") || !strings.Contains(msg, "[PartFailure]") {
						t.Errorf("%s: got %q", r.User, msg)
					}
					continue
				}
				checkDelivered(t, e, r)
			}
			if n := len(e.emu.Calls()); n != 1 {
				t.Errorf("got %d calls, want 1: a part failure is not retried", n)
			}
		})
	}
}

// failure is what a test expects of a failed reset.
type failure = providertest.Failure

var checkFailure = providertest.CheckFailure

func TestResetErrors(t *testing.T) {
	tests := []struct {
		name      string
		acct      func() bot.Account
		opts      func(*alibaba.Options)
		setup     func(*env)
		wantCalls int
		want      failure
	}{
		{"AllUsersFail", func() bot.Account { a := hpc(); a.Users = []string{"user2"}; return a }, nil,
			func(e *env) { e.emu.Freeze(alibaba.EHPC, cluster, "user2") }, 1,
			failure{Code: bot.EPROVIDER, Retryable: false, Contains: []string{"E-HPC could not reset the password of hpc", "[AgentError.Account.UserChangePasswordFailure]"}}},
		{"UnknownCluster", func() bot.Account { a := hpc(); a.Settings = alibaba.EHPCSettings{ClusterID: "ehpc-nope"}; return a }, nil, nil, 1,
			failure{Code: bot.EPROVIDER, Retryable: false, Contains: []string{"cluster ehpc-nope of account hpc was not found in E-HPC (region cn-hangzhou)"}}},
		{"ClusterBusy", hpc, nil, func(e *env) { e.emu.Fail(alibaba.Action, "InvalidClusterStatus", 1) }, 1,
			failure{Code: bot.EPROVIDER, Retryable: true, Contains: []string{"busy or not running"}}},
		{"InDebt", hpc, nil, func(e *env) { e.emu.Fail(alibaba.Action, "InDebt", 1) }, 1,
			failure{Code: bot.EPROVIDER, Retryable: false, Contains: []string{"cannot use E-HPC"}}},
		{"HTTP503BeyondRetries", hpc, nil, func(e *env) { e.emu.Fail(alibaba.Action, emulator.Fault5xx, 10) }, 4,
			failure{Code: bot.EUNAVAILABLE, Retryable: true, Contains: []string{"internal error"}}},
		{"WrongSecret", hpc, func(o *alibaba.Options) { o.AccessKeySecret = "not-the-secret" }, nil, 1,
			failure{Code: bot.EPROVIDER, Retryable: false, Contains: []string{"the bot's cloud credentials were rejected by Alibaba Cloud", "alibabacloud.access_key_id", "[SignatureDoesNotMatch]"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, emulator.Options{})
			if tt.setup != nil {
				tt.setup(e)
			}
			o := e.options()
			if tt.opts != nil {
				tt.opts(&o)
			}
			res, err := alibaba.New(o).Reset(ctx(t), tt.acct(), nil)
			if res != nil {
				t.Errorf("got results with a whole-call error")
			}
			checkFailure(t, err, tt.want)
			calls, werr := e.emu.WaitCalls(ctx(t), tt.wantCalls)
			if werr != nil || len(calls) != tt.wantCalls {
				t.Errorf("got %d calls, want %d", len(e.emu.Calls()), tt.wantCalls)
			}
			providertest.Leaks(t, e.rec.Passwords(), map[string]string{"error": err.Error(), "formatted": fmt.Sprintf("%+v %#v", err, err)})
			if strings.Contains(err.Error(), "not-the-secret") {
				t.Errorf("the error shows the secret")
			}
		})
	}
}

func TestInvalidParamsNotAboutPasswordIsNotRetried(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	e.emu.Fail(alibaba.Action, "InvalidParams", 2)
	_, err := alibaba.New(e.options()).Reset(ctx(t), hpc(), nil)
	checkFailure(t, err, failure{Code: bot.EPROVIDER, Retryable: false, Contains: []string{"refused the bot's request for hpc as invalid"}})
	if n := len(e.emu.Calls()); n != 1 {
		t.Errorf("got %d calls, want 1", n)
	}
}

func TestConfigErrors(t *testing.T) {
	noCluster := hpc()
	noCluster.Settings = alibaba.EHPCSettings{}
	noRegion := hpc()
	noRegion.Region = ""
	wrongSettings := hpc()
	wrongSettings.Settings = testSettings("cluster_id=" + cluster)
	noSettings := hpc()
	noSettings.Settings = nil
	badScheme := hpc()
	badScheme.Scheme = "gopher"
	tooShort := hpc()
	tooShort.PasswordLength = 7
	tencentAcct := hpc()
	tencentAcct.Provider = tencent.CAM
	noUsers := hpc()
	noUsers.Users = nil
	e := newEnv(t, emulator.Options{})
	p := alibaba.New(e.options())
	for name, acct := range map[string]bot.Account{"NoCluster": noCluster, "NoRegion": noRegion,
		"SettingsOfAnotherKind": wrongSettings, "NoSettings": noSettings,
		"BadScheme": badScheme, "PasswordTooShort": tooShort, "NotEHPC": tencentAcct, "NoUsers": noUsers} {
		t.Run(name, func(t *testing.T) {
			_, err := p.Reset(ctx(t), acct, nil)
			if got := bot.ErrorCode(err); got != bot.EINVALID {
				t.Errorf("got %q (%v), want %q", got, err, bot.EINVALID)
			}
		})
	}
	if n := len(e.emu.Calls()); n != 0 {
		t.Errorf("got %d calls, want 0", n)
	}
}

func TestRefusesWithSDKDebugOutput(t *testing.T) {
	t.Setenv("DEBUG", "sdk")
	e := newEnv(t, emulator.Options{})
	_, err := alibaba.New(e.options()).Reset(ctx(t), hpc(), nil)
	if got := bot.ErrorCode(err); got != bot.EINTERNAL || !strings.Contains(bot.ErrorMessage(err), "DEBUG") {
		t.Errorf("got %v, want a refusal naming DEBUG", err)
	}
	if n := len(e.emu.Calls()); n != 0 {
		t.Errorf("got %d calls, want 0", n)
	}
}

// testSettings are settings of another kind that look like E-HPC's.
type testSettings string

func (s testSettings) Resource() string { return string(s) }
