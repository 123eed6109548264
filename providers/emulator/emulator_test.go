package emulator_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"resetbot/providers/alibaba"
	"resetbot/providers/emulator"
	"resetbot/providers/tencent"
)

func TestConcurrentCallsAreAllRecorded(t *testing.T) {
	e, srv := mustServe(t, emulator.Options{Rate: -1})
	const n = 16
	for i := range n {
		e.AddUser(tencent.CAM, "", fmt.Sprintf("user%d", i))
		e.AddUser(alibaba.EHPC, cluster, fmt.Sprintf("user%d", i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := newTencent(srv).do(testContext(t), camUpdate(fmt.Sprintf("user%d", i), goodCAM))
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := newAlibaba(srv).modifyUserPasswords(aliRequest{form: map[string]string{
				"ClusterId": cluster, "User.1.Name": fmt.Sprintf("user%d", i), "User.1.Password": goodEH1}})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := len(e.Calls()); got != 2*n {
		t.Errorf("recorded %d calls, want %d", got, 2*n)
	}
	for i := range n {
		if st, _ := e.User(tencent.CAM, "", fmt.Sprintf("user%d", i)); st.Resets != 1 {
			t.Errorf("CAM user%d reset %d times, want 1", i, st.Resets)
		}
	}
}

func TestResetForgetsCallsAndFaultsNotUsers(t *testing.T) {
	e, srv := mustServe(t, emulator.Options{})
	seed(e)
	c := newTencent(srv)
	if _, err := c.do(testContext(t), camUpdate("jack", goodCAM)); err != nil {
		t.Fatal(err)
	}
	e.Fail("UpdateUser", "FailedOperation", 5)
	e.Reset()
	if got := len(e.Calls()); got != 0 {
		t.Errorf("%d calls after Reset, want 0", got)
	}
	if _, err := c.do(testContext(t), camUpdate("jack", "Another-Pass2")); err != nil {
		t.Errorf("call after Reset got %v, want the fault forgotten", err)
	}
	if pw, ok := e.Password(tencent.CAM, "", "jack"); !ok || pw != "Another-Pass2" {
		t.Errorf("Password = %q, %v; want the user kept and updated", pw, ok)
	}
}

func TestNotACloudRequest(t *testing.T) {
	e, srv := mustServe(t, emulator.Options{})
	resp, err := srv.Client().Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("status = %d, want 400", resp.StatusCode)
	}
	if got := len(e.Calls()); got != 0 {
		t.Errorf("%d calls recorded, want 0", got)
	}
}

func Example() {
	e := emulator.New(emulator.Options{TencentSecretID: "AKIDexample", TencentSecretKey: "secret"})
	e.AddUser(tencent.CAM, "", "jack")
	srv := httptest.NewTLSServer(e)
	defer srv.Close()

	// The real SDK client, pointed at the emulator.
	prof := profile.NewClientProfile()
	prof.HttpProfile.Endpoint = strings.TrimPrefix(srv.URL, "https://")
	client := common.NewCommonClient(common.NewCredential("AKIDexample", "secret"), "", prof).
		WithHttpTransport(srv.Client().Transport)
	req := tchttp.NewCommonRequest("cam", "2019-01-16", "UpdateUser")
	_ = req.SetActionParameters(map[string]any{"Name": "jack", "ConsoleLogin": 1, "NeedResetPassword": 1, "Password": "Example-Pass1"})
	if err := client.Send(req, tchttp.NewCommonResponse()); err != nil {
		fmt.Println(err)
		return
	}
	u, _ := e.User(tencent.CAM, "", "jack")
	fmt.Println(u.Password, u.NeedResetPassword)
	fmt.Println(e.Calls()[0].Params["Password"])
	// Output:
	// Example-Pass1 true
	// [set]
}
