package emulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"resetbot/providers/alibaba"
	"resetbot/providers/emulator"
)

const (
	cluster = "ehpc-hz-FYUr32"
	goodEH1 = "Ehpc#Pass1"
	goodEH2 = "ehpc-pass-2X"
)

func twoUsers() map[string]string {
	return map[string]string{
		"ClusterId":   cluster,
		"User.1.Name": "user1", "User.1.Password": goodEH1,
		"User.2.Name": "user2", "User.2.Password": goodEH2,
	}
}

func TestEHPCSuccess(t *testing.T) {
	e, srv := mustServe(t, emulator.Options{})
	seed(e)
	body, err := newAlibaba(srv).modifyUserPasswords(aliRequest{form: twoUsers()})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	var resp map[string]string
	if err := json.Unmarshal([]byte(body), &resp); err != nil || resp["RequestId"] == "" {
		t.Errorf("response %q has no RequestId (%v)", body, err)
	}
	for user, want := range map[string]string{"user1": goodEH1, "user2": goodEH2} {
		if got, _ := e.Password(alibaba.EHPC, cluster, user); got != want {
			t.Errorf("Password(%s) = %q, want %q", user, got, want)
		}
	}
	calls := e.Calls()
	if len(calls) != 1 {
		t.Fatalf("got %d calls, want 1", len(calls))
	}
	c := calls[0]
	if c.Provider != alibaba.EHPC || c.Action != "ModifyUserPasswords" || c.Version != "2018-04-12" || c.Region != "cn-hangzhou" ||
		c.Code != "" || c.Method != http.MethodPost || !c.TLS || c.PasswordInURL || c.Credential != aliID {
		t.Errorf("call = %+v, want a successful POST over TLS", c)
	}
	if c.Params["User.1.Password"] != "[set]" || c.Params["User.2.Name"] != "user2" || c.Params["ClusterId"] != cluster {
		t.Errorf("recorded params = %v", c.Params)
	}
	if s := fmt.Sprint(calls); strings.Contains(s, goodEH1) || strings.Contains(s, goodEH2) {
		t.Errorf("a password appears in the recorded calls: %s", s)
	}
}

func TestEHPCErrors(t *testing.T) {
	tests := []struct {
		name       string
		client     func(c *aliClient)
		opts       emulator.Options
		setup      func(e *emulator.Emulator)
		req        aliRequest
		wantCode   string
		wantStatus int
		wantReset  []string // users whose password changed anyway
		wantInMsg  string
	}{
		{name: "BadSignature", client: func(c *aliClient) { c.secret = "wrong" }, req: aliRequest{form: twoUsers()}, wantCode: "SignatureDoesNotMatch", wantStatus: 400},
		{name: "UnknownAccessKey", client: func(c *aliClient) { c.id = "LTAIunknown" }, req: aliRequest{form: twoUsers()}, wantCode: "InvalidAccessKeyId.NotFound", wantStatus: 404},
		{name: "StaleTimestamp", opts: emulator.Options{Now: func() time.Time { return time.Now().Add(16 * time.Minute) }}, req: aliRequest{form: twoUsers()}, wantCode: "InvalidTimeStamp.Expired", wantStatus: 400},
		{name: "UnknownCluster", req: aliRequest{form: map[string]string{"ClusterId": "ehpc-nope", "User.1.Name": "user1", "User.1.Password": goodEH1}}, wantCode: "ClusterNotFound", wantStatus: 404},
		{name: "PasswordTwoClasses", req: aliRequest{form: map[string]string{"ClusterId": cluster, "User.1.Name": "user1", "User.1.Password": "onlylower123"}}, wantCode: "InvalidParams", wantStatus: 400, wantInMsg: "User.1.Password"},
		{name: "PasswordTooLong", req: aliRequest{form: map[string]string{"ClusterId": cluster, "User.1.Name": "user1", "User.1.Password": "Aa1" + strings.Repeat("x", 28)}}, wantCode: "InvalidParams", wantStatus: 400},
		{name: "UserIndexOver100", req: aliRequest{form: map[string]string{"ClusterId": cluster, "User.101.Name": "user1", "User.101.Password": goodEH1}}, wantCode: "InvalidParams", wantStatus: 400},
		{name: "MisspeltParameter", req: aliRequest{form: map[string]string{"ClusterId": cluster, "Users.1.Name": "user1", "Users.1.Password": goodEH1}}, wantCode: "InvalidParams", wantStatus: 400},
		{name: "OneUnknownUserIsPartFailure",
			req:      aliRequest{form: map[string]string{"ClusterId": cluster, "User.1.Name": "ghost", "User.1.Password": goodEH1, "User.2.Name": "user2", "User.2.Password": goodEH2}},
			wantCode: "PartFailure", wantStatus: 406, wantReset: []string{"user2"}, wantInMsg: "ghost"},
		{name: "FrozenOnlyUserIsAgentError", setup: func(e *emulator.Emulator) { e.Freeze(alibaba.EHPC, cluster, "user1") },
			req:      aliRequest{form: map[string]string{"ClusterId": cluster, "User.1.Name": "user1", "User.1.Password": goodEH1}},
			wantCode: "AgentError.Account.UserChangePasswordFailure", wantStatus: 406, wantInMsg: "user1"},
		{name: "InjectedPartFailure", setup: func(e *emulator.Emulator) { e.Fail("ModifyUserPasswords", emulator.FaultPartFailure, 1) },
			req: aliRequest{form: twoUsers()}, wantCode: "PartFailure", wantStatus: 406, wantReset: []string{"user2"}, wantInMsg: "user1"},
		{name: "InjectedCode", setup: func(e *emulator.Emulator) { e.Fail("ModifyUserPasswords", "InvalidClusterStatus", 1) },
			req: aliRequest{form: twoUsers()}, wantCode: "InvalidClusterStatus", wantStatus: 403},
		{name: "Injected5xx", setup: func(e *emulator.Emulator) { e.Fail("ModifyUserPasswords", emulator.Fault5xx, 1) },
			req: aliRequest{form: twoUsers()}, wantCode: "ServiceUnavailable", wantStatus: 503},
		{name: "PasswordInURL", req: aliRequest{query: map[string]string{"User.1.Password": goodEH1}, form: map[string]string{"ClusterId": cluster, "User.1.Name": "user1"}},
			wantCode: "InvalidParams", wantStatus: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, srv := mustServe(t, tt.opts)
			seed(e)
			if tt.setup != nil {
				tt.setup(e)
			}
			c := newAlibaba(srv)
			if tt.client != nil {
				tt.client(c)
			}
			_, err := c.modifyUserPasswords(tt.req)
			code, msg, status := aliServerError(err)
			if code != tt.wantCode || status != tt.wantStatus {
				t.Fatalf("error = %q (HTTP %d), want %q (HTTP %d); err %v", code, status, tt.wantCode, tt.wantStatus, err)
			}
			if !strings.Contains(msg, tt.wantInMsg) {
				t.Errorf("message %q does not name %q", msg, tt.wantInMsg)
			}
			for _, user := range []string{"user1", "user2"} {
				st, _ := e.User(alibaba.EHPC, cluster, user)
				want := 0
				for _, u := range tt.wantReset {
					if u == user {
						want = 1
					}
				}
				if st.Resets != want {
					t.Errorf("%s reset %d times, want %d", user, st.Resets, want)
				}
			}
			calls := e.Calls()
			if len(calls) != 1 {
				t.Fatalf("got %d calls, want 1", len(calls))
			}
			wantRecorded := tt.wantCode
			if tt.name == "Injected5xx" {
				wantRecorded = emulator.Fault5xx
			}
			if calls[0].Code != wantRecorded {
				t.Errorf("recorded code = %q, want %q", calls[0].Code, wantRecorded)
			}
			if got, want := calls[0].PasswordInURL, tt.name == "PasswordInURL"; got != want {
				t.Errorf("PasswordInURL = %v, want %v", got, want)
			}
		})
	}
}

func TestEHPCAsyncHidesPerUserFailures(t *testing.T) {
	e, srv := mustServe(t, emulator.Options{})
	seed(e)
	form := twoUsers()
	form["User.1.Name"] = "ghost"
	form["Async"] = "true"
	if _, err := newAlibaba(srv).modifyUserPasswords(aliRequest{form: form}); err != nil {
		t.Fatalf("call: %v", err)
	}
	if got, _ := e.Password(alibaba.EHPC, cluster, "user2"); got != goodEH2 {
		t.Errorf("user2's password = %q, want %q", got, goodEH2)
	}
}

func TestEHPCNonceReuseRefused(t *testing.T) {
	e, srv := mustServe(t, emulator.Options{})
	seed(e)
	c := newAlibaba(srv)
	rec := &recorder{next: c.transport}
	c.transport = rec
	if _, err := c.modifyUserPasswords(aliRequest{form: twoUsers()}); err != nil {
		t.Fatalf("first call: %v", err)
	}
	resp := replay(t, srv.Client(), rec.last(t))
	body, _ := io.ReadAll(resp.Body)
	var got struct{ Code string }
	_ = json.Unmarshal(body, &got)
	if resp.StatusCode != http.StatusBadRequest || got.Code != "SignatureNonceUsed" {
		t.Errorf("replay answered HTTP %d %s, want 400 SignatureNonceUsed", resp.StatusCode, body)
	}
	if st, _ := e.User(alibaba.EHPC, cluster, "user1"); st.Resets != 1 {
		t.Errorf("user1 reset %d times, want 1", st.Resets)
	}
}

func TestEHPCRateLimit(t *testing.T) {
	clk := newClock(time.Now())
	e, srv := mustServe(t, emulator.Options{Now: clk.Now, Rate: 3})
	seed(e)
	c := newAlibaba(srv)
	for i := range 3 {
		if _, err := c.modifyUserPasswords(aliRequest{form: twoUsers()}); err != nil {
			t.Fatalf("call %d within the limit: %v", i+1, err)
		}
	}
	_, err := c.modifyUserPasswords(aliRequest{form: twoUsers()})
	if code, _, status := aliServerError(err); code != "Throttling" || status != 400 {
		t.Fatalf("4th call in one second: %q (HTTP %d), want Throttling (HTTP 400)", code, status)
	}
	clk.Add(time.Second)
	if _, err := c.modifyUserPasswords(aliRequest{form: twoUsers()}); err != nil {
		t.Errorf("call a second later: %v", err)
	}
}

func TestEHPCHangUntilClientGivesUp(t *testing.T) {
	e, srv := mustServe(t, emulator.Options{})
	seed(e)
	e.Fail("ModifyUserPasswords", emulator.FaultHang, 1)
	// The SDK takes no context, so a request it signed is sent here with a
	// context that stands for a client giving up.
	signed := signWithSDK(t)
	u, err := url.Parse(signed.url)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, signed.method, srv.URL+"/?"+u.RawQuery, bytes.NewReader(signed.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = signed.header.Clone()
	errc := make(chan error, 1)
	go func() {
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	calls, err := e.WaitCalls(testContext(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if calls[0].Code != emulator.FaultHang {
		t.Errorf("recorded code = %q, want %q", calls[0].Code, emulator.FaultHang)
	}
	// recorded, and still no answer while its client waits
	select {
	case err := <-errc:
		t.Fatalf("the hung call returned before its client gave up (err %v)", err)
	default:
	}
	cancel()
	// Once the client gives up, the call returns; with an error as a rule,
	// though net/http may hand over the empty answer the handler leaves as
	// it returns, when that wins the race with the cancellation.
	select {
	case <-errc:
	case <-testContext(t).Done():
		t.Fatal("the call did not return after its context ended")
	}
	if st, _ := e.User(alibaba.EHPC, cluster, "user1"); st.Resets != 0 {
		t.Error("a hung call changed a password")
	}
}

// signWithSDK has the SDK sign and send a ModifyUserPasswords call to a
// throwaway emulator with the same keys, and returns the request as sent.
// The RPC signature does not cover the host, so it can be sent elsewhere.
func signWithSDK(t *testing.T) recorded {
	t.Helper()
	_, other := mustServe(t, emulator.Options{})
	c := newAlibaba(other)
	rec := &recorder{next: c.transport}
	c.transport = rec
	_, _ = c.modifyUserPasswords(aliRequest{form: twoUsers()})
	return rec.last(t)
}
