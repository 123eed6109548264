package tencent_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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
	secretID  = "AKIDresetbottest"
	secretKey = "resetbot-test-secret-key"
)

// env is an emulator behind a TLS test server, with a recorder in front.
type env struct {
	emu *emulator.Emulator
	rec *providertest.Recorder
	srv *httptest.Server
}

func newEnv(tb testing.TB, o emulator.Options) *env {
	tb.Helper()
	o.TencentSecretID, o.TencentSecretKey = secretID, secretKey
	e := &env{emu: emulator.New(o)}
	e.rec = &providertest.Recorder{Handler: e.emu}
	e.srv = httptest.NewTLSServer(e.rec)
	tb.Cleanup(e.srv.Close)
	e.emu.AddUser(tencent.CIAM, "us-1", "u-alice")
	e.emu.AddUser(tencent.CIAM, "us-1", "u-bob")
	e.emu.AddUser(tencent.TDSQL, "tdsql3-d8fffc3c", "app_user@%")
	e.emu.AddUser(tencent.TDSQL, "tdsql3-d8fffc3c", "report@%")
	e.emu.AddUser(tencent.TCR, "tcr-gijwqid7", "robot")
	e.emu.AddUser(tencent.CAM, "", "alice")
	e.emu.AddUser(tencent.CAM, "", "bob")
	return e
}

// options points a provider at the emulator, with quick retries and a
// limiter well above the API's rate unless a test sets one.
func (e *env) options() tencent.Options {
	return tencent.Options{
		SecretID:  secretID,
		SecretKey: secretKey,
		Endpoint:  e.srv.Listener.Addr().String(),
		Transport: e.srv.Client().Transport,
		Limiter:   ratelimit.NewLocal(1000),
		Timeout:   2 * time.Second,
		Backoff:   func(int) time.Duration { return time.Millisecond },
	}
}

func ciam() bot.Account {
	return bot.Account{Name: "login-ciam", Provider: tencent.CIAM, Region: "ap-singapore",
		Users: []string{"u-alice"}, Settings: tencent.CIAMSettings{UserStoreID: "us-1"}}
}

func tdsql() bot.Account {
	return bot.Account{Name: "prod-db", Provider: tencent.TDSQL, Region: "ap-guangzhou",
		Users: []string{"app_user"}, Settings: tencent.TDSQLSettings{InstanceID: "tdsql3-d8fffc3c", Host: "%"}}
}

func tcr() bot.Account {
	return bot.Account{Name: "registry", Provider: tencent.TCR, Region: "ap-guangzhou",
		Users: []string{"robot"}, Settings: tencent.TCRSettings{RegistryID: "tcr-gijwqid7"}}
}

func cam() bot.Account {
	return bot.Account{Name: "console", Provider: tencent.CAM, Users: []string{"alice"},
		Settings: tencent.CAMSettings{NeedResetPassword: true}}
}

func ctx(tb testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	tb.Cleanup(cancel)
	return c
}

func mustReset(t *testing.T, p *tencent.Provider, acct bot.Account, users ...string) []bot.UserResult {
	t.Helper()
	res, err := p.Reset(ctx(t), acct, users)
	if err != nil {
		t.Fatalf("Reset: %v", err)
	}
	return res
}

func TestResetSetsTheDeliveredPassword(t *testing.T) {
	tdsqlBatch := tdsql()
	tdsqlBatch.Settings = tencent.TDSQLSettings{InstanceID: "tdsql3-d8fffc3c", Action: tencent.ActionResetUsersPassword}
	tcrRandom := tcr()
	tcrRandom.Settings = tencent.TCRSettings{RegistryID: "tcr-gijwqid7", Random: true}
	camKeep := cam()
	camKeep.Settings = tencent.CAMSettings{NeedResetPassword: false}
	camLong := cam()
	camLong.PasswordLength = 28
	tests := []struct {
		name     string
		acct     bot.Account
		users    []string
		emuUser  func(user string) (provider bot.ProviderKey, resource, name string)
		action   string
		checkLen int
	}{
		{"CIAMSetPassword", ciam(), []string{"u-alice", "u-bob"},
			func(u string) (bot.ProviderKey, string, string) { return tencent.CIAM, "us-1", u }, "SetPassword", 20},
		{"TDSQLResetUserPassword", tdsql(), []string{"app_user", "report"},
			func(u string) (bot.ProviderKey, string, string) { return tencent.TDSQL, "tdsql3-d8fffc3c", u + "@%" }, "ResetUserPassword", 20},
		{"TDSQLResetUsersPasswordBatch", tdsqlBatch, []string{"app_user", "report"},
			func(u string) (bot.ProviderKey, string, string) { return tencent.TDSQL, "tdsql3-d8fffc3c", u + "@%" }, "ResetUsersPassword", 20},
		{"TCROwnPassword", tcr(), nil,
			func(u string) (bot.ProviderKey, string, string) { return tencent.TCR, "tcr-gijwqid7", u }, "ModifyServiceAccountPassword", 16},
		{"TCRRandomFromTheAPI", tcrRandom, nil,
			func(u string) (bot.ProviderKey, string, string) { return tencent.TCR, "tcr-gijwqid7", u }, "ModifyServiceAccountPassword", 0},
		{"CAMUpdateUser", cam(), []string{"alice", "bob"},
			func(u string) (bot.ProviderKey, string, string) { return tencent.CAM, "", u }, "UpdateUser", 20},
		{"CAMNoResetAtLogin", camKeep, nil,
			func(u string) (bot.ProviderKey, string, string) { return tencent.CAM, "", u }, "UpdateUser", 20},
		{"CAMPasswordLength", camLong, nil,
			func(u string) (bot.ProviderKey, string, string) { return tencent.CAM, "", u }, "UpdateUser", 28},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, emulator.Options{})
			p := tencent.New(e.options())
			res := mustReset(t, p, tt.acct, tt.users...)
			want := tt.users
			if len(want) == 0 {
				want = tt.acct.Users
			}
			if len(res) != len(want) {
				t.Fatalf("got %d results, want %d", len(res), len(want))
			}
			rule, _ := tencent.Rule(tt.acct.Provider)
			for i, r := range res {
				if r.User != want[i] || r.Err != nil {
					t.Fatalf("result %d: user %q err %v, want %q and no error", i, r.User, r.Err, want[i])
				}
				prov, resource, name := tt.emuUser(r.User)
				got, ok := e.emu.Password(prov, resource, name)
				if !ok || got != r.Password.Value() {
					t.Errorf("%s: the emulator's password is not the delivered one", r.User)
				}
				if tt.checkLen > 0 {
					if len(got) != tt.checkLen {
						t.Errorf("%s: password of %d characters, want %d", r.User, len(got), tt.checkLen)
					}
					if err := password.Check(rule, got); err != nil {
						t.Error(err)
					}
				}
			}
			calls := e.emu.Calls()
			wantCalls := len(want)
			if tt.action == "ResetUsersPassword" {
				wantCalls = 1
			}
			if len(calls) != wantCalls {
				t.Fatalf("got %d calls, want %d", len(calls), wantCalls)
			}
			for _, c := range calls {
				if c.Action != tt.action || c.Code != "" || !c.TLS || c.Method != http.MethodPost || c.PasswordInURL {
					t.Errorf("call %s code %q tls %v method %s password in URL %v", c.Action, c.Code, c.TLS, c.Method, c.PasswordInURL)
				}
			}
			if s, ok := tt.acct.Settings.(tencent.CAMSettings); ok {
				for _, u := range want {
					st, _ := e.emu.User(tencent.CAM, "", u)
					if !st.ConsoleLogin || st.NeedResetPassword != s.NeedResetPassword {
						t.Errorf("%s: ConsoleLogin %v NeedResetPassword %v, want true and %v", u, st.ConsoleLogin, st.NeedResetPassword, s.NeedResetPassword)
					}
				}
			}
			if s, ok := tt.acct.Settings.(tencent.TCRSettings); ok && s.Random {
				if v := calls[0].Params["Random"]; v != "true" {
					t.Errorf("Random sent as %q, want true", v)
				}
				if _, sent := calls[0].Params["Password"]; sent {
					t.Errorf("a password was sent with Random")
				}
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
		acct      bot.Account
		users     []string
		setup     func(*env)
		wantCalls int
		want      failure
	}{
		{"CAMUnknownUser", cam(), []string{"carol"}, nil, 1,
			failure{Code: bot.EPROVIDER, Retryable: false, Contains: []string{"user carol does not exist in CAM", "console", "config"}}},
		{"CAMFrozenUser", cam(), nil, func(e *env) { e.emu.Freeze(tencent.CAM, "", "alice") }, 1,
			failure{Code: bot.EPROVIDER, Retryable: false, Contains: []string{"CAM could not reset", "console", "[FailedOperation]"}}},
		{"CIAMUnknownUser", ciam(), []string{"u-carol"}, nil, 1,
			failure{Code: bot.EPROVIDER, Retryable: false, Contains: []string{"user u-carol does not exist in CIAM"}}},
		{"CIAMFrozenUser", ciam(), nil, func(e *env) { e.emu.Freeze(tencent.CIAM, "us-1", "u-alice") }, 1,
			failure{Code: bot.EPROVIDER, Retryable: false, Contains: []string{"frozen", "unlock the user first", "[FailedOperation.UserIsFreeze]"}}},
		{"CIAMUnknownStore", func() bot.Account { a := ciam(); a.Settings = tencent.CIAMSettings{UserStoreID: "us-x"}; return a }(), nil, nil, 1,
			failure{Code: bot.EPROVIDER, Retryable: false, Contains: []string{"user store us-x of account login-ciam was not found"}}},
		{"TDSQLUnknownInstance", func() bot.Account {
			a := tdsql()
			a.Settings = tencent.TDSQLSettings{InstanceID: "tdsql3-nope"}
			return a
		}(), nil, nil, 1,
			failure{Code: bot.EPROVIDER, Retryable: false, Contains: []string{"instance tdsql3-nope of account prod-db was not found in TDSQL (region ap-guangzhou)"}}},
		{"TDSQLFrozenUser", tdsql(), nil, func(e *env) { e.emu.Freeze(tencent.TDSQL, "tdsql3-d8fffc3c", "app_user@%") }, 1,
			failure{Code: bot.EPROVIDER, Retryable: false, Contains: []string{"does not allow the bot", "app_user"}}},
		{"TCRUnknownAccount", tcr(), []string{"ghost"}, nil, 1,
			failure{Code: bot.EPROVIDER, Retryable: false, Contains: []string{"user ghost does not exist in TCR"}}},
		{"TCRUnknownRegistry", func() bot.Account { a := tcr(); a.Settings = tencent.TCRSettings{RegistryID: "tcr-nope"}; return a }(), nil, nil, 1,
			failure{Code: bot.EPROVIDER, Retryable: false, Contains: []string{"registry tcr-nope of account registry was not found"}}},
		{"PermissionDenied", cam(), nil, func(e *env) { e.emu.Fail("UpdateUser", "AuthFailure.UnauthorizedOperation", 1) }, 1,
			failure{Code: bot.EPROVIDER, Retryable: false, Contains: []string{"may not reset passwords in CAM for console"}}},
		{"InternalErrorBeyondRetries", tdsql(), nil, func(e *env) { e.emu.Fail("ResetUserPassword", "InternalError", 10) }, 4,
			failure{Code: bot.EUNAVAILABLE, Retryable: true, Contains: []string{"TDSQL failed with an internal error"}}},
		{"HTTP5xxBeyondRetries", ciam(), nil, func(e *env) { e.emu.Fail("SetPassword", emulator.Fault5xx, 10) }, 4,
			failure{Code: bot.EUNAVAILABLE, Retryable: true, Contains: []string{"internal error", "[HTTP 503]"}}},
		{"InstanceBusy", tdsql(), nil, func(e *env) { e.emu.Fail("ResetUserPassword", "OperationDenied.InstanceStatusError", 1) }, 1,
			failure{Code: bot.EPROVIDER, Retryable: true, Contains: []string{"busy or not running"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, emulator.Options{})
			if tt.setup != nil {
				tt.setup(e)
			}
			p := tencent.New(e.options())
			res, err := p.Reset(ctx(t), tt.acct, tt.users)
			if err == nil {
				if len(res) != 1 {
					t.Fatalf("got %d results and no error", len(res))
				}
				err = res[0].Err
				if !res[0].Password.IsZero() {
					t.Errorf("a failed user got a password")
				}
			}
			checkFailure(t, err, tt.want)
			if got := len(e.emu.Calls()); got != tt.wantCalls {
				t.Errorf("got %d calls, want %d", got, tt.wantCalls)
			}
			providertest.Leaks(t, e.rec.Passwords(), map[string]string{"error": err.Error(), "formatted error": fmt.Sprintf("%+v %#v", err, err)})
		})
	}
}

func TestUnknownFirstCallEndsTheReset(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	e.emu.AddUser(tencent.CAM, "", "carol")
	e.emu.Fail("UpdateUser", emulator.FaultHang, 1)
	o := e.options()
	o.Timeout = 300 * time.Millisecond
	res, err := tencent.New(o).Reset(ctx(t), cam(), []string{"alice", "bob", "carol"})
	if res != nil {
		t.Errorf("got results with the first call's outcome unknown")
	}
	checkFailure(t, err, failure{Code: bot.EUNKNOWN, Retryable: false, Contains: []string{"outcome unknown for console"}})
	if n := len(e.emu.Calls()); n != 1 {
		t.Errorf("got %d calls, want 1: nothing more is sent after an unknown outcome", n)
	}
}

func TestLaterCallFailureKeepsEarlierPasswords(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	e.emu.AddUser(tencent.CAM, "", "carol")
	// The second call hangs: alice's new password must still be delivered,
	// bob's outcome is unknown, carol is not tried.
	hangSecond := &secondCallHangs{next: e.rec}
	srv := httptest.NewTLSServer(hangSecond)
	defer srv.Close()
	o := e.options()
	o.Timeout = 300 * time.Millisecond
	o.Endpoint, o.Transport = srv.Listener.Addr().String(), srv.Client().Transport
	p := tencent.New(o)
	res, err := p.Reset(ctx(t), cam(), []string{"alice", "bob", "carol"})
	if err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if len(res) != 3 {
		t.Fatalf("got %d results, want 3", len(res))
	}
	if res[0].Err != nil || res[0].Password.IsZero() {
		t.Errorf("alice: got %v, want her new password", res[0].Err)
	}
	if got := bot.ErrorCode(res[1].Err); got != bot.EUNKNOWN {
		t.Errorf("bob: got %q, want %q", got, bot.EUNKNOWN)
	}
	if got := bot.ErrorCode(res[2].Err); got != bot.EUNAVAILABLE || !strings.Contains(bot.ErrorMessage(res[2].Err), "carol") {
		t.Errorf("carol: got %v, want not tried", res[2].Err)
	}
	if n := hangSecond.count(); n != 2 {
		t.Errorf("got %d calls, want 2", n)
	}
}

// secondCallHangs passes calls through, except the second, which gets no
// answer until the client gives up.
type secondCallHangs struct {
	next http.Handler
	mu   sync.Mutex
	n    int
}

func (s *secondCallHangs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.n++
	n := s.n
	s.mu.Unlock()
	if n == 2 {
		_, _ = io.Copy(io.Discard, r.Body) // the server notices the client leaving only once the body is read
		<-r.Context().Done()
		return
	}
	s.next.ServeHTTP(w, r)
}

func (s *secondCallHangs) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func TestWrongSecretKey(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	o := e.options()
	o.SecretKey = "not-the-key"
	_, err := tencent.New(o).Reset(ctx(t), cam(), nil)
	checkFailure(t, err, failure{Code: bot.EPROVIDER, Retryable: false, Contains: []string{
		"the bot's cloud credentials were rejected", "tencentcloud.secret_id", "operators", "[AuthFailure.SignatureFailure]"}})
	if n := len(e.emu.Calls()); n != 1 {
		t.Errorf("got %d calls, want 1 (a bad key is not retried)", n)
	}
	if strings.Contains(err.Error(), "not-the-key") {
		t.Errorf("the error shows the secret key")
	}
}

func TestConfigErrors(t *testing.T) {
	noStore := ciam()
	noStore.Settings = tencent.CIAMSettings{}
	badAction := tdsql()
	badAction.Settings = tencent.TDSQLSettings{InstanceID: "tdsql3-d8fffc3c", Action: "DropDatabase"}
	wrongSettings := tdsql()
	wrongSettings.Settings = tencent.CAMSettings{}
	noSettings := cam()
	noSettings.Settings = nil
	noRegion := tdsql()
	noRegion.Region = ""
	badScheme := cam()
	badScheme.Scheme = "ftp"
	noUsers := cam()
	noUsers.Users = nil
	tooLong := tcr()
	tooLong.PasswordLength = 21
	other := cam()
	other.Provider = alibaba.EHPC
	tests := map[string]bot.Account{
		"MissingSetting": noStore, "UnknownAction": badAction, "NoRegion": noRegion, "BadScheme": badScheme,
		"NoUsers": noUsers, "PasswordTooLong": tooLong, "NotTencent": other,
		"SettingsOfAnotherKind": wrongSettings, "NoSettings": noSettings,
	}
	e := newEnv(t, emulator.Options{})
	p := tencent.New(e.options())
	for name, acct := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := p.Reset(ctx(t), acct, nil)
			if got := bot.ErrorCode(err); got != bot.EINVALID {
				t.Errorf("got %q (%v), want %q", got, err, bot.EINVALID)
			}
		})
	}
	if n := len(e.emu.Calls()); n != 0 {
		t.Errorf("got %d calls for bad config, want 0", n)
	}
}

func TestAccountEndpointWins(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	o := e.options()
	o.Endpoint = "127.0.0.1:1" // nothing listens there
	acct := cam()
	acct.Endpoint = e.srv.Listener.Addr().String()
	acct.Scheme = "https"
	mustReset(t, tencent.New(o), acct)
}

// TCR's Random makes the API answer with the password: it must show
// nowhere but in the result (the conformance suite's leak scan sends the
// password itself).
func TestRandomPasswordNeverLeaks(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	acct := tcr()
	acct.Settings = tencent.TCRSettings{RegistryID: "tcr-gijwqid7", Random: true}
	texts := map[string]string{}
	out := providertest.Capture(t, func() {
		p := tencent.New(e.options())
		res, err := p.Reset(context.Background(), acct, nil)
		if err != nil {
			t.Errorf("Reset: %v", err)
			return
		}
		texts["result printed"] = fmt.Sprintf("%v %+v %#v", res[0], res[0], res[0])
		e.emu.Fail("ModifyServiceAccountPassword", "InternalError", 10)
		_, err = p.Reset(context.Background(), acct, nil)
		texts["error"] = fmt.Sprintf("%v %+v %#v", err, err, err)
	})
	pws := e.rec.Passwords()
	if len(pws) != 1 {
		t.Fatalf("recorded %d passwords, want the one the API made", len(pws))
	}
	texts["output"] = out
	providertest.LeaksOnTheWire(t, pws, texts, e.rec, e.emu.Calls())
}
