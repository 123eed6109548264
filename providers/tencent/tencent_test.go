package tencent_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"resetbot/bot"
	"resetbot/internal/redistest"
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
	return bot.Account{Name: "login-ciam", Provider: "tencent.ciam", Region: "ap-singapore",
		Users: []string{"u-alice"}, Settings: map[string]string{"user_store_id": "us-1"}}
}

func tdsql() bot.Account {
	return bot.Account{Name: "prod-db", Provider: "tencent.tdsql", Region: "ap-guangzhou",
		Users: []string{"app_user"}, Settings: map[string]string{"instance_id": "tdsql3-d8fffc3c", "host": "%"}}
}

func tcr() bot.Account {
	return bot.Account{Name: "registry", Provider: "tencent.tcr", Region: "ap-guangzhou",
		Users: []string{"robot"}, Settings: map[string]string{"registry_id": "tcr-gijwqid7"}}
}

func cam() bot.Account {
	return bot.Account{Name: "console", Provider: "tencent.cam", Users: []string{"alice"}, NeedResetPassword: true}
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
	tdsqlBatch.Settings["action"] = "ResetUsersPassword"
	tcrRandom := tcr()
	tcrRandom.Random = true
	camKeep := cam()
	camKeep.NeedResetPassword = false
	camLong := cam()
	camLong.PasswordLength = 28
	tests := []struct {
		name     string
		acct     bot.Account
		users    []string
		emuUser  func(user string) (provider, resource, name string)
		action   string
		checkLen int
	}{
		{"CIAMSetPassword", ciam(), []string{"u-alice", "u-bob"},
			func(u string) (string, string, string) { return tencent.CIAM, "us-1", u }, "SetPassword", 20},
		{"TDSQLResetUserPassword", tdsql(), []string{"app_user", "report"},
			func(u string) (string, string, string) { return tencent.TDSQL, "tdsql3-d8fffc3c", u + "@%" }, "ResetUserPassword", 20},
		{"TDSQLResetUsersPasswordBatch", tdsqlBatch, []string{"app_user", "report"},
			func(u string) (string, string, string) { return tencent.TDSQL, "tdsql3-d8fffc3c", u + "@%" }, "ResetUsersPassword", 20},
		{"TCROwnPassword", tcr(), nil,
			func(u string) (string, string, string) { return tencent.TCR, "tcr-gijwqid7", u }, "ModifyServiceAccountPassword", 16},
		{"TCRRandomFromTheAPI", tcrRandom, nil,
			func(u string) (string, string, string) { return tencent.TCR, "tcr-gijwqid7", u }, "ModifyServiceAccountPassword", 0},
		{"CAMUpdateUser", cam(), []string{"alice", "bob"},
			func(u string) (string, string, string) { return tencent.CAM, "", u }, "UpdateUser", 20},
		{"CAMNoResetAtLogin", camKeep, nil,
			func(u string) (string, string, string) { return tencent.CAM, "", u }, "UpdateUser", 20},
		{"CAMPasswordLength", camLong, nil,
			func(u string) (string, string, string) { return tencent.CAM, "", u }, "UpdateUser", 28},
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
			rule, _ := password.For(tt.acct.Provider)
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
			if tt.acct.Provider == "tencent.cam" {
				for _, u := range want {
					st, _ := e.emu.User(tencent.CAM, "", u)
					if !st.ConsoleLogin || st.NeedResetPassword != tt.acct.NeedResetPassword {
						t.Errorf("%s: ConsoleLogin %v NeedResetPassword %v, want true and %v", u, st.ConsoleLogin, st.NeedResetPassword, tt.acct.NeedResetPassword)
					}
				}
			}
			if tt.acct.Random {
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
type failure struct {
	code      string // bot code
	retryable bool
	contains  []string
}

func checkFailure(t *testing.T, err error, want failure) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", want.code)
	}
	if got := bot.ErrorCode(err); got != want.code {
		t.Errorf("code: got %q, want %q (%v)", got, want.code, err)
	}
	var be *bot.Error
	if errors.As(err, &be) && be.Retryable != want.retryable {
		t.Errorf("retryable: got %v, want %v", be.Retryable, want.retryable)
	}
	msg := bot.ErrorMessage(err)
	for _, s := range want.contains {
		if !strings.Contains(msg, s) {
			t.Errorf("message %q does not contain %q", msg, s)
		}
	}
}

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
			failure{bot.EPROVIDER, false, []string{"user carol does not exist in CAM", "console", "config"}}},
		{"CAMFrozenUser", cam(), nil, func(e *env) { e.emu.Freeze(tencent.CAM, "", "alice") }, 1,
			failure{bot.EPROVIDER, false, []string{"CAM could not reset", "console", "[FailedOperation]"}}},
		{"CIAMUnknownUser", ciam(), []string{"u-carol"}, nil, 1,
			failure{bot.EPROVIDER, false, []string{"user u-carol does not exist in CIAM"}}},
		{"CIAMFrozenUser", ciam(), nil, func(e *env) { e.emu.Freeze(tencent.CIAM, "us-1", "u-alice") }, 1,
			failure{bot.EPROVIDER, false, []string{"frozen", "unlock the user first", "[FailedOperation.UserIsFreeze]"}}},
		{"CIAMUnknownStore", func() bot.Account { a := ciam(); a.Settings["user_store_id"] = "us-x"; return a }(), nil, nil, 1,
			failure{bot.EPROVIDER, false, []string{"user store us-x of account login-ciam was not found"}}},
		{"TDSQLUnknownInstance", func() bot.Account { a := tdsql(); a.Settings["instance_id"] = "tdsql3-nope"; return a }(), nil, nil, 1,
			failure{bot.EPROVIDER, false, []string{"instance tdsql3-nope of account prod-db was not found in TDSQL (region ap-guangzhou)"}}},
		{"TDSQLFrozenUser", tdsql(), nil, func(e *env) { e.emu.Freeze(tencent.TDSQL, "tdsql3-d8fffc3c", "app_user@%") }, 1,
			failure{bot.EPROVIDER, false, []string{"does not allow the bot", "app_user"}}},
		{"TCRUnknownAccount", tcr(), []string{"ghost"}, nil, 1,
			failure{bot.EPROVIDER, false, []string{"user ghost does not exist in TCR"}}},
		{"TCRUnknownRegistry", func() bot.Account { a := tcr(); a.Settings["registry_id"] = "tcr-nope"; return a }(), nil, nil, 1,
			failure{bot.EPROVIDER, false, []string{"registry tcr-nope of account registry was not found"}}},
		{"PasswordRefusedTwice", cam(), nil, func(e *env) { e.emu.Fail("UpdateUser", "InvalidParameter.PasswordViolatedRules", 2) }, 2,
			failure{bot.EPROVIDER, false, []string{"refused the new password for console, a longer one too", "password_length"}}},
		{"PermissionDenied", cam(), nil, func(e *env) { e.emu.Fail("UpdateUser", "AuthFailure.UnauthorizedOperation", 1) }, 1,
			failure{bot.EPROVIDER, false, []string{"may not reset passwords in CAM for console"}}},
		{"ThrottledBeyondRetries", cam(), nil, func(e *env) { e.emu.Fail("UpdateUser", "RequestLimitExceeded", 10) }, 4,
			failure{bot.EUNAVAILABLE, true, []string{"limiting the bot's calls, nothing was changed for console"}}},
		{"InternalErrorBeyondRetries", tdsql(), nil, func(e *env) { e.emu.Fail("ResetUserPassword", "InternalError", 10) }, 4,
			failure{bot.EUNAVAILABLE, true, []string{"TDSQL failed with an internal error"}}},
		{"HTTP5xxBeyondRetries", ciam(), nil, func(e *env) { e.emu.Fail("SetPassword", emulator.Fault5xx, 10) }, 4,
			failure{bot.EUNAVAILABLE, true, []string{"internal error", "[HTTP 503]"}}},
		{"InstanceBusy", tdsql(), nil, func(e *env) { e.emu.Fail("ResetUserPassword", "OperationDenied.InstanceStatusError", 1) }, 1,
			failure{bot.EPROVIDER, true, []string{"busy or not running"}}},
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

func TestTransientFaultsDoNotReachTheRequester(t *testing.T) {
	tests := []struct {
		name  string
		acct  bot.Account
		fault string
		n     int
	}{
		{"RequestLimitExceeded", cam(), "RequestLimitExceeded", 2},
		{"InternalError", tdsql(), "InternalError", 1},
		{"HTTP503", ciam(), emulator.Fault5xx, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, emulator.Options{})
			action := map[string]string{"tencent.cam": "UpdateUser", "tencent.tdsql": "ResetUserPassword", "tencent.ciam": "SetPassword"}[tt.acct.Provider]
			e.emu.Fail(action, tt.fault, tt.n)
			res := mustReset(t, tencent.New(e.options()), tt.acct)
			if res[0].Err != nil {
				t.Fatalf("got %v, want success after retries", res[0].Err)
			}
			if got := len(e.emu.Calls()); got != tt.n+1 {
				t.Errorf("got %d calls, want %d", got, tt.n+1)
			}
		})
	}
}

func TestRefusedPasswordIsReplacedOnceByALongerOne(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	e.emu.Fail("ResetUserPassword", "InvalidParameterValue.CheckPasswdError", 1)
	res := mustReset(t, tencent.New(e.options()), tdsql())
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	got, _ := e.emu.Password(tencent.TDSQL, "tdsql3-d8fffc3c", "app_user@%")
	if got != res[0].Password.Value() || len(got) != 28 {
		t.Errorf("got a password of %d characters in force, want the delivered one, 28 long", len(got))
	}
	strong, _ := password.For("tencent.tdsql")
	strong.Need = len(strong.Classes)
	if err := password.Check(strong, got); err != nil {
		t.Errorf("the second password does not use every class: %v", err)
	}
	if n := len(e.emu.Calls()); n != 2 {
		t.Errorf("got %d calls, want 2", n)
	}
}

func TestHangEndsAsUnknownAfterOneCall(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	e.emu.Fail("UpdateUser", emulator.FaultHang, 1)
	o := e.options()
	o.Timeout = 300 * time.Millisecond
	res, err := tencent.New(o).Reset(ctx(t), cam(), nil)
	if res != nil {
		t.Errorf("got results %v with an unknown outcome", res)
	}
	checkFailure(t, err, failure{bot.EUNKNOWN, false, []string{"outcome unknown for console: check the account before asking again"}})
	calls, werr := e.emu.WaitCalls(ctx(t), 1)
	if werr != nil {
		t.Fatal(werr)
	}
	if len(calls) != 1 || calls[0].Code != emulator.FaultHang {
		t.Errorf("got %d calls, want exactly the one that hung", len(calls))
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
	checkFailure(t, err, failure{bot.EUNKNOWN, false, []string{"outcome unknown for console"}})
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

func TestGatewayErrorPageIsRetried(t *testing.T) {
	var hits int
	var mu sync.Mutex
	e := newEnv(t, emulator.Options{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		first := hits == 1
		mu.Unlock()
		if first {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
			return
		}
		e.rec.ServeHTTP(w, r)
	}))
	defer srv.Close()
	o := e.options()
	o.Endpoint, o.Transport = srv.Listener.Addr().String(), srv.Client().Transport
	res := mustReset(t, tencent.New(o), cam())
	if res[0].Err != nil {
		t.Fatalf("got %v, want success after the 502", res[0].Err)
	}
	if hits != 2 {
		t.Errorf("got %d requests, want 2", hits)
	}
}

func TestWrongSecretKey(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	o := e.options()
	o.SecretKey = "not-the-key"
	_, err := tencent.New(o).Reset(ctx(t), cam(), nil)
	checkFailure(t, err, failure{bot.EPROVIDER, false, []string{
		"the bot's cloud credentials were rejected", "tencentcloud.secret_id", "operators", "[AuthFailure.SignatureFailure]"}})
	if n := len(e.emu.Calls()); n != 1 {
		t.Errorf("got %d calls, want 1 (a bad key is not retried)", n)
	}
	if strings.Contains(err.Error(), "not-the-key") {
		t.Errorf("the error shows the secret key")
	}
}

func TestWrongSecretID(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	o := e.options()
	o.SecretID = "AKIDunknown"
	_, err := tencent.New(o).Reset(ctx(t), ciam(), nil)
	checkFailure(t, err, failure{bot.EPROVIDER, false, []string{"the bot's cloud credentials were rejected"}})
}

func TestUnreachableAPIIsRetriedThenUnavailable(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close() // connection refused from now on
	p := tencent.New(tencent.Options{SecretID: secretID, SecretKey: secretKey, Endpoint: addr,
		Limiter: ratelimit.NewLocal(1000), Backoff: func(int) time.Duration { return time.Millisecond }})
	_, err := p.Reset(ctx(t), cam(), nil)
	checkFailure(t, err, failure{bot.EUNAVAILABLE, true, []string{"could not be reached, nothing was changed for console"}})
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("the error does not say why: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	noStore := ciam()
	delete(noStore.Settings, "user_store_id")
	badAction := tdsql()
	badAction.Settings["action"] = "DropDatabase"
	noRegion := tdsql()
	noRegion.Region = ""
	badScheme := cam()
	badScheme.Scheme = "ftp"
	noUsers := cam()
	noUsers.Users = nil
	tooLong := tcr()
	tooLong.PasswordLength = 21
	other := cam()
	other.Provider = "alibaba.ehpc"
	tests := map[string]bot.Account{
		"MissingSetting": noStore, "UnknownAction": badAction, "NoRegion": noRegion, "BadScheme": badScheme,
		"NoUsers": noUsers, "PasswordTooLong": tooLong, "NotTencent": other,
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

func TestPasswordNeverLeaks(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	var texts = map[string]string{}
	out := providertest.Capture(t, func() {
		o := e.options()
		o.Timeout = 300 * time.Millisecond
		p := tencent.New(o)
		record := func(label string, res []bot.UserResult, err error) {
			if err != nil {
				texts[label+" error"] = err.Error() + fmt.Sprintf(" %+v %#v", err, err)
			}
			for i, r := range res {
				if r.Err != nil {
					texts[fmt.Sprintf("%s result %d error", label, i)] = r.Err.Error() + fmt.Sprintf(" %+v %#v", r.Err, r.Err)
				}
				texts[fmt.Sprintf("%s result %d printed", label, i)] = fmt.Sprintf("%v %+v %#v", r, r, r)
			}
		}
		for _, f := range []struct{ action, code string }{
			{"UpdateUser", "InvalidParameter.PasswordViolatedRules"},
			{"UpdateUser", "InvalidParameter.PasswordViolatedRules"},
			{"UpdateUser", emulator.FaultHang},
			{"UpdateUser", "InternalError"},
		} {
			e.emu.Fail(f.action, f.code, 1)
		}
		for i := range 4 {
			res, err := p.Reset(context.Background(), cam(), nil)
			record(fmt.Sprint("cam ", i), res, err)
		}
		e.emu.Fail("ResetUserPassword", "InvalidParameterValue.CheckPasswdError", 2)
		res, err := p.Reset(context.Background(), tdsql(), nil)
		record("tdsql", res, err)
		acct := tcr()
		acct.Random = true
		res, err = p.Reset(context.Background(), acct, nil)
		record("tcr", res, err)
	})
	pws := e.rec.Passwords()
	if len(pws) < 6 {
		t.Fatalf("recorded %d passwords, want at least 6", len(pws))
	}
	texts["output"] = out
	providertest.LeaksOnTheWire(t, pws, texts, e.rec, e.emu.Calls())
}

// A burst of 200 resets from two replicas sharing one Redis limiter: no
// RequestLimitExceeded reaches a requester, and the throughput is about the
// API's 20/s. (Every action goes through the same limiter and call code;
// BenchmarkDrain200 measures the same for the record.)
func TestBurstThroughSharedLimiter(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 10s")
	}
	const n = 200
	e := newEnv(t, emulator.Options{})
	for i := range n {
		e.emu.AddUser(tencent.CAM, "", fmt.Sprintf("u%03d", i))
	}
	rdb, prefix := redistest.Client(t)
	replicas := make([]*tencent.Provider, 2)
	for i := range replicas {
		o := e.options()
		o.Limiter = ratelimit.New(rdb, prefix, tencent.DefaultRate)
		o.Backoff = nil
		o.Timeout = 0 // the default 10s: a loaded test machine is slow
		replicas[i] = tencent.New(o)
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 20)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			res, err := replicas[i%2].Reset(context.Background(), cam(), []string{fmt.Sprintf("u%03d", i)})
			if err == nil {
				err = res[0].Err
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		t.Errorf("a reset failed: %v", err)
	}
	limited := 0
	for _, c := range e.emu.Calls() {
		if c.Code == "RequestLimitExceeded" {
			limited++
		}
	}
	t.Logf("%d resets in %v: %.1f/s; %d calls answered RequestLimitExceeded and were retried", n,
		elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), limited)
}
