package emulator_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"resetbot/bot"
	"resetbot/providers/alibaba"
	"resetbot/providers/emulator"
	"resetbot/providers/tencent"
)

const (
	goodCIAM  = "Aa1!Bb2@Cc3#Dd4$"
	goodTDSQL = "dasdfadasdf231!@"
	goodTCR   = "NewPass123"
	goodCAM   = "Sub-User-Pass1"
)

// seed declares one user per API.
func seed(e *emulator.Emulator) {
	e.AddUser(tencent.CIAM, "store-1", "user-1")
	e.AddUser(tencent.TDSQL, "tdsql3-d8fffc3c", "app_user@%")
	e.AddUser(tencent.TDSQL, "tdsql3-d8fffc3c", "report@10.0.%")
	e.AddUser(tencent.TCR, "tcr-gijwqid7", "robot")
	e.AddUser(tencent.CAM, "", "jack")
	e.AddUser(alibaba.EHPC, "ehpc-hz-FYUr32", "user1")
	e.AddUser(alibaba.EHPC, "ehpc-hz-FYUr32", "user2")
}

type tencentCase struct {
	service, version, action string
	params                   map[string]any
}

func ciamSet(user, pw string) tencentCase {
	return tencentCase{"ciam", "2022-03-31", "SetPassword", map[string]any{"UserStoreId": "store-1", "UserId": user, "Password": pw}}
}

func tdsqlReset(user, host, pw string) tencentCase {
	return tencentCase{"tdmysql", "2021-11-22", "ResetUserPassword", map[string]any{"InstanceId": "tdsql3-d8fffc3c", "UserName": user, "Host": host, "Password": pw}}
}

func tcrModify(name, pw string) tencentCase {
	return tencentCase{"tcr", "2019-09-24", "ModifyServiceAccountPassword", map[string]any{"RegistryId": "tcr-gijwqid7", "Name": name, "Random": false, "Password": pw}}
}

func camUpdate(name, pw string) tencentCase {
	return tencentCase{"cam", "2019-01-16", "UpdateUser", map[string]any{"Name": name, "ConsoleLogin": 1, "NeedResetPassword": 1, "Password": pw}}
}

func (c *tencentClient) do(ctx context.Context, tc tencentCase) (map[string]any, error) {
	return c.call(ctx, tc.service, tc.version, tc.action, tc.params)
}

func TestTencentSuccess(t *testing.T) {
	tests := []struct {
		name           string
		call           tencentCase
		provider       bot.ProviderKey
		resource, user string
		want           string
	}{
		{"CIAMSetPassword", ciamSet("user-1", goodCIAM), tencent.CIAM, "store-1", "user-1", goodCIAM},
		{"TDSQLResetUserPassword", tdsqlReset("app_user", "%", goodTDSQL), tencent.TDSQL, "tdsql3-d8fffc3c", "app_user@%", goodTDSQL},
		{"TCRCustomPassword", tcrModify("robot", goodTCR), tencent.TCR, "tcr-gijwqid7", "robot", goodTCR},
		{"CAMUpdateUser", camUpdate("jack", goodCAM), tencent.CAM, "", "jack", goodCAM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, srv := mustServe(t, emulator.Options{})
			seed(e)
			if _, err := newTencent(srv).do(testContext(t), tt.call); err != nil {
				t.Fatalf("call: %v", err)
			}
			got, ok := e.Password(tt.provider, tt.resource, tt.user)
			if !ok || got != tt.want {
				t.Errorf("Password() = %q, %v; want %q, true", got, ok, tt.want)
			}
			calls := e.Calls()
			if len(calls) != 1 {
				t.Fatalf("got %d calls, want 1", len(calls))
			}
			c := calls[0]
			if c.Provider != tt.provider || c.Action != tt.call.action || c.Version != tt.call.version || c.Code != "" || c.Credential != tcID || !c.TLS || c.Method != http.MethodPost {
				t.Errorf("call = %+v, want provider %s action %s version %s, success, POST over TLS", c, tt.provider, tt.call.action, tt.call.version)
			}
			if c.Params["Password"] != "[set]" {
				t.Errorf("recorded Password = %q, want [set]", c.Params["Password"])
			}
		})
	}
}

func TestTencentBatchResetUsersPasswordReturnsFlowID(t *testing.T) {
	e, srv := mustServe(t, emulator.Options{})
	seed(e)
	resp, err := newTencent(srv).call(testContext(t), "tdmysql", "2021-11-22", "ResetUsersPassword", map[string]any{
		"InstanceId": "tdsql3-d8fffc3c",
		"Users": []any{
			map[string]any{"UserName": "app_user", "Host": "%", "Password": "tdstore@123"},
			map[string]any{"UserName": "report", "Host": "10.0.%", "Password": "tdstore@456"},
		},
	})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if _, ok := resp["FlowId"].(float64); !ok {
		t.Errorf("response %v has no numeric FlowId", resp)
	}
	for user, want := range map[string]string{"app_user@%": "tdstore@123", "report@10.0.%": "tdstore@456"} {
		if got, _ := e.Password(tencent.TDSQL, "tdsql3-d8fffc3c", user); got != want {
			t.Errorf("Password(%s) = %q, want %q", user, got, want)
		}
	}
	if got := e.Calls()[0].Params["Users.1.Password"]; got != "[set]" {
		t.Errorf("recorded Users.1.Password = %q, want [set]", got)
	}
}

func TestTencentBatchIsAllOrNothing(t *testing.T) {
	e, srv := mustServe(t, emulator.Options{})
	seed(e)
	_, err := newTencent(srv).call(testContext(t), "tdmysql", "2021-11-22", "ResetUsersPassword", map[string]any{
		"InstanceId": "tdsql3-d8fffc3c",
		"Users": []any{
			map[string]any{"UserName": "app_user", "Host": "%", "Password": "tdstore@123"},
			map[string]any{"UserName": "ghost", "Host": "%", "Password": "tdstore@456"},
		},
	})
	if got, want := tencentCode(err), "FailedOperation.QueryUserError"; got != want {
		t.Fatalf("code = %q, want %q", got, want)
	}
	if got, _ := e.Password(tencent.TDSQL, "tdsql3-d8fffc3c", "app_user@%"); got != "" {
		t.Errorf("app_user's password changed to %q by a refused batch", got)
	}
}

func TestTencentTCRRandomReturnsPassword(t *testing.T) {
	e, srv := mustServe(t, emulator.Options{})
	seed(e)
	resp, err := newTencent(srv).call(testContext(t), "tcr", "2019-09-24", "ModifyServiceAccountPassword",
		map[string]any{"RegistryId": "tcr-gijwqid7", "Name": "robot", "Random": true})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	got, _ := resp["Password"].(string)
	want, _ := e.Password(tencent.TCR, "tcr-gijwqid7", "robot")
	if got == "" || got != want {
		t.Errorf("response Password = %q, emulator has %q; want the same, not empty", got, want)
	}
	if calls := e.Calls(); strings.Contains(fmt.Sprint(calls), got) {
		t.Errorf("the generated password appears in the recorded calls: %v", calls)
	}
}

func TestTencentTCRRandomMustBeBoolean(t *testing.T) {
	e, srv := mustServe(t, emulator.Options{})
	seed(e)
	_, err := newTencent(srv).call(testContext(t), "tcr", "2019-09-24", "ModifyServiceAccountPassword",
		map[string]any{"RegistryId": "tcr-gijwqid7", "Name": "robot", "Random": "true"})
	if got, want := tencentCode(err), "InvalidParameter"; got != want {
		t.Errorf("code = %q, want %q", got, want)
	}
}

func TestTencentCAMSettings(t *testing.T) {
	tests := []struct {
		name           string
		params         map[string]any
		wantPassword   bool // the given password is in force
		wantGenerated  bool // some other password is in force
		wantNeedsReset bool
	}{
		{"PasswordWithConsoleLogin", map[string]any{"Name": "jack", "ConsoleLogin": 1, "NeedResetPassword": 0, "Password": goodCAM}, true, false, false},
		{"NeedResetPasswordAsDocumentedString", map[string]any{"Name": "jack", "ConsoleLogin": "1", "NeedResetPassword": "1", "Password": goodCAM}, true, false, true},
		{"PasswordIgnoredWithoutConsoleLogin", map[string]any{"Name": "jack", "Password": goodCAM}, false, false, false},
		{"ConsoleLoginWithoutPasswordMakesARandomOne", map[string]any{"Name": "jack", "ConsoleLogin": 1}, false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, srv := mustServe(t, emulator.Options{})
			seed(e)
			if _, err := newTencent(srv).call(testContext(t), "cam", "2019-01-16", "UpdateUser", tt.params); err != nil {
				t.Fatalf("call: %v", err)
			}
			u, _ := e.User(tencent.CAM, "", "jack")
			if got := u.Password == goodCAM; got != tt.wantPassword {
				t.Errorf("given password in force = %v, want %v", got, tt.wantPassword)
			}
			if got := u.Password != "" && u.Password != goodCAM; got != tt.wantGenerated {
				t.Errorf("generated password in force = %v, want %v", got, tt.wantGenerated)
			}
			if u.NeedResetPassword != tt.wantNeedsReset {
				t.Errorf("NeedResetPassword = %v, want %v", u.NeedResetPassword, tt.wantNeedsReset)
			}
		})
	}
}

func TestTencentErrors(t *testing.T) {
	tests := []struct {
		name   string
		client func(c *tencentClient)
		opts   emulator.Options
		setup  func(e *emulator.Emulator)
		call   tencentCase
		want   string
	}{
		{name: "BadSignature", client: func(c *tencentClient) { c.key = "wrong-key" }, call: camUpdate("jack", goodCAM), want: "AuthFailure.SignatureFailure"},
		{name: "UnknownSecretId", client: func(c *tencentClient) { c.id = "AKIDunknown" }, call: camUpdate("jack", goodCAM), want: "AuthFailure.SecretIdNotFound"},
		{name: "OldSignatureMethod", client: func(c *tencentClient) { c.sign = "HmacSHA256" }, call: camUpdate("jack", goodCAM), want: "AuthFailure.InvalidAuthorization"},
		{name: "StaleTimestamp", opts: emulator.Options{Now: func() time.Time { return time.Now().Add(6 * time.Minute) }}, call: camUpdate("jack", goodCAM), want: "AuthFailure.SignatureExpire"},
		{name: "FutureTimestamp", opts: emulator.Options{Now: func() time.Time { return time.Now().Add(-6 * time.Minute) }}, call: camUpdate("jack", goodCAM), want: "AuthFailure.SignatureExpire"},
		{name: "WrongVersion", call: tencentCase{"cam", "2017-03-12", "UpdateUser", map[string]any{"Name": "jack"}}, want: "NoSuchVersion"},
		{name: "UnknownAction", call: tencentCase{"cam", "2019-01-16", "DeleteUser", map[string]any{"Name": "jack"}}, want: "InvalidAction"},
		{name: "UnknownParameter", call: tencentCase{"ciam", "2022-03-31", "SetPassword", map[string]any{"UserStoreId": "store-1", "UserID": "user-1", "Password": goodCIAM}}, want: "UnknownParameter"},
		{name: "MissingRegion", client: func(c *tencentClient) { c.region = "" }, call: ciamSet("user-1", goodCIAM), want: "MissingParameter"},

		{name: "CIAMUnknownStore", call: tencentCase{"ciam", "2022-03-31", "SetPassword", map[string]any{"UserStoreId": "nope", "UserId": "user-1", "Password": goodCIAM}}, want: "FailedOperation.InvalidUserStore"},
		{name: "CIAMUnknownUser", call: ciamSet("ghost", goodCIAM), want: "FailedOperation.UserNotFound"},
		{name: "CIAMFrozenUser", setup: func(e *emulator.Emulator) { e.Freeze(tencent.CIAM, "store-1", "user-1") }, call: ciamSet("user-1", goodCIAM), want: "FailedOperation.UserIsFreeze"},
		{name: "CIAMEmptyPassword", call: ciamSet("user-1", ""), want: "FailedOperation.PasswordIsNull"},
		{name: "CIAMPasswordRule", call: ciamSet("user-1", "Aa1!short"), want: "InvalidParameterValue"},

		{name: "TDSQLUnknownInstance", call: tencentCase{"tdmysql", "2021-11-22", "ResetUserPassword", map[string]any{"InstanceId": "tdsql3-nope", "UserName": "app_user", "Host": "%", "Password": goodTDSQL}}, want: "ResourceNotFound.InstanceNotFound"},
		{name: "TDSQLUnknownUser", call: tdsqlReset("app_user", "10.%", goodTDSQL), want: "FailedOperation.QueryUserError"},
		{name: "TDSQLPasswordOneClass", call: tdsqlReset("app_user", "%", "onlyletters"), want: "InvalidParameterValue.CheckPasswdError"},
		{name: "TDSQLPasswordTooLong", call: tdsqlReset("app_user", "%", strings.Repeat("a1", 17)), want: "InvalidParameterValue.CheckPasswdError"},
		{name: "TDSQLPasswordQuote", call: tdsqlReset("app_user", "%", `abc123'def`), want: "InvalidParameterValue.CheckPasswdError"},

		{name: "TCRUnknownRegistry", call: tencentCase{"tcr", "2019-09-24", "ModifyServiceAccountPassword", map[string]any{"RegistryId": "tcr-nope", "Name": "robot", "Random": false, "Password": goodTCR}}, want: "ResourceNotFound"},
		{name: "TCRUnknownAccount", call: tcrModify("ghost", goodTCR), want: "ResourceNotFound.TcrResourceNotFound"},
		{name: "TCRPasswordNoUpper", call: tcrModify("robot", "newpass123"), want: "InvalidParameter"},
		{name: "TCRPasswordTooLong", call: tcrModify("robot", "NewPass123NewPass1234"), want: "InvalidParameter"},

		{name: "CAMUnknownUser", call: camUpdate("ghost", goodCAM), want: "ResourceNotFound.UserNotExist"},
		{name: "CAMPasswordNoSpecial", call: camUpdate("jack", "SubUserPass1"), want: "InvalidParameter.PasswordViolatedRules"},

		{name: "InjectedFault", setup: func(e *emulator.Emulator) { e.Fail("UpdateUser", "FailedOperation", 1) }, call: camUpdate("jack", goodCAM), want: "FailedOperation"},
		{name: "Injected5xx", setup: func(e *emulator.Emulator) { e.Fail("SetPassword", emulator.Fault5xx, 1) }, call: ciamSet("user-1", goodCIAM), want: "ClientError.HttpStatusCodeError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, srv := mustServe(t, tt.opts)
			seed(e)
			if tt.setup != nil {
				tt.setup(e)
			}
			c := newTencent(srv)
			if tt.client != nil {
				tt.client(c)
			}
			_, err := c.do(testContext(t), tt.call)
			if got := tencentCode(err); got != tt.want {
				t.Fatalf("code = %q, want %q (err %v)", got, tt.want, err)
			}
			for _, u := range []struct {
				p    bot.ProviderKey
				r, n string
			}{
				{tencent.CIAM, "store-1", "user-1"}, {tencent.TDSQL, "tdsql3-d8fffc3c", "app_user@%"},
				{tencent.TCR, "tcr-gijwqid7", "robot"}, {tencent.CAM, "", "jack"},
			} {
				if st, _ := e.User(u.p, u.r, u.n); st.Resets != 0 {
					t.Errorf("%s %s was reset by a refused call", u.p, u.n)
				}
			}
			calls := e.Calls()
			if len(calls) != 1 {
				t.Fatalf("got %d calls, want 1", len(calls))
			}
			wantCode := tt.want
			if tt.want == "ClientError.HttpStatusCodeError" {
				wantCode = emulator.Fault5xx
			}
			if calls[0].Code != wantCode {
				t.Errorf("recorded code = %q, want %q", calls[0].Code, wantCode)
			}
		})
	}
}

func TestTencentFaultsCountDown(t *testing.T) {
	e, srv := mustServe(t, emulator.Options{})
	seed(e)
	e.Fail("UpdateUser", "RequestLimitExceeded", 2)
	c := newTencent(srv)
	var got []string
	for range 3 {
		_, err := c.do(testContext(t), camUpdate("jack", goodCAM))
		got = append(got, tencentCode(err))
	}
	if want := []string{"RequestLimitExceeded", "RequestLimitExceeded", ""}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("codes = %q, want %q", got, want)
	}
}

func TestTencentRateLimit(t *testing.T) {
	clk := newClock(time.Now())
	e, srv := mustServe(t, emulator.Options{Now: clk.Now})
	seed(e)
	c := newTencent(srv)
	for i := range 20 {
		if _, err := c.do(testContext(t), camUpdate("jack", goodCAM)); err != nil {
			t.Fatalf("call %d within the limit: %v", i+1, err)
		}
	}
	_, err := c.do(testContext(t), camUpdate("jack", goodCAM))
	if got, want := tencentCode(err), "RequestLimitExceeded"; got != want {
		t.Fatalf("21st call in one second: code = %q, want %q", got, want)
	}
	t.Run("OtherActionHasItsOwnLimit", func(t *testing.T) {
		if _, err := c.do(testContext(t), ciamSet("user-1", goodCIAM)); err != nil {
			t.Errorf("SetPassword: %v", err)
		}
	})
	t.Run("NextSecondAllowed", func(t *testing.T) {
		clk.Add(time.Second)
		if _, err := c.do(testContext(t), camUpdate("jack", goodCAM)); err != nil {
			t.Errorf("call a second later: %v", err)
		}
	})
}

func TestTencentHangUntilClientGivesUp(t *testing.T) {
	e, srv := mustServe(t, emulator.Options{})
	seed(e)
	e.Fail("SetPassword", emulator.FaultHang, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := newTencent(srv).do(ctx, ciamSet("user-1", goodCIAM))
		errc <- err
	}()
	calls, err := e.WaitCalls(testContext(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if calls[0].Code != emulator.FaultHang {
		t.Errorf("recorded code = %q, want %q", calls[0].Code, emulator.FaultHang)
	}
	select {
	case err := <-errc:
		t.Fatalf("the call returned (%v) before the client gave up", err)
	default:
	}
	cancel()
	select {
	case err := <-errc:
		if err == nil {
			t.Error("a hung call succeeded")
		}
	case <-testContext(t).Done():
		t.Fatal("the call did not return after its context ended")
	}
	if pw, _ := e.Password(tencent.CIAM, "store-1", "user-1"); pw != "" {
		t.Error("a hung call changed the password")
	}
}

func TestTencentPasswordInURLRefused(t *testing.T) {
	e, srv := mustServe(t, emulator.Options{})
	seed(e)
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/?UserStoreId=store-1&UserId=user-1&Password="+goodCIAM[:4], nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-TC-Action", "SetPassword")
	req.Header.Set("X-TC-Version", "2022-03-31")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	calls := e.Calls()
	if len(calls) != 1 || !calls[0].PasswordInURL || calls[0].Code != "InvalidParameter" {
		t.Errorf("calls = %+v, want one refused call with PasswordInURL", calls)
	}
	if pw, _ := e.Password(tencent.CIAM, "store-1", "user-1"); pw != "" {
		t.Error("the password was set from the URL")
	}
}
