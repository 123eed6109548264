package emulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	alisdk "github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	alierrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"resetbot/providers/emulator"
)

const (
	tcID      = "AKIDemulatortest"
	tcKey     = "tencent-secret-key"
	aliID     = "LTAIemulatortest"
	aliSecret = "alibaba-access-key-secret"
)

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// mustServe starts the emulator behind a TLS test server.
func mustServe(tb testing.TB, o emulator.Options) (*emulator.Emulator, *httptest.Server) {
	tb.Helper()
	if o.TencentSecretID == "" {
		o.TencentSecretID, o.TencentSecretKey = tcID, tcKey
	}
	if o.AlibabaAccessKeyID == "" {
		o.AlibabaAccessKeyID, o.AlibabaAccessKeySecret = aliID, aliSecret
	}
	e := emulator.New(o)
	srv := httptest.NewTLSServer(e)
	tb.Cleanup(srv.Close)
	return e, srv
}

// tencentClient signs with the real SDK. service is the TC3 service name.
type tencentClient struct {
	srv       *httptest.Server
	id, key   string
	region    string
	transport http.RoundTripper
	sign      string // profile SignMethod; "" for the default TC3-HMAC-SHA256
}

func newTencent(srv *httptest.Server) *tencentClient {
	return &tencentClient{srv: srv, id: tcID, key: tcKey, region: "ap-guangzhou", transport: srv.Client().Transport}
}

// call sends one action and returns the "Response" object.
func (c *tencentClient) call(ctx context.Context, service, version, action string, params map[string]any) (map[string]any, error) {
	prof := profile.NewClientProfile()
	prof.HttpProfile.Endpoint = strings.TrimPrefix(c.srv.URL, "https://")
	if c.sign != "" {
		prof.SignMethod = c.sign
	}
	client := common.NewCommonClient(common.NewCredential(c.id, c.key), c.region, prof).WithHttpTransport(c.transport)
	req := tchttp.NewCommonRequest(service, version, action)
	if err := req.SetActionParameters(params); err != nil {
		return nil, err
	}
	req.SetContext(ctx)
	resp := tchttp.NewCommonResponse()
	if err := client.Send(req, resp); err != nil {
		return nil, err
	}
	var out struct{ Response map[string]any }
	if err := json.Unmarshal(resp.GetBody(), &out); err != nil {
		return nil, err
	}
	return out.Response, nil
}

func tencentCode(err error) string {
	var e *tcerrors.TencentCloudSDKError
	if errors.As(err, &e) {
		return e.Code
	}
	if err != nil {
		return "not a TencentCloudSDKError: " + err.Error()
	}
	return ""
}

// aliClient signs EHPC calls with the real SDK, POST over https with form
// parameters.
type aliClient struct {
	srv        *httptest.Server
	id, secret string
	transport  http.RoundTripper
}

func newAlibaba(srv *httptest.Server) *aliClient {
	// A transport of its own: the SDK writes to the transport's TLS config on
	// every call.
	tr := srv.Client().Transport.(*http.Transport).Clone()
	return &aliClient{srv: srv, id: aliID, secret: aliSecret, transport: tr}
}

type aliRequest struct {
	form  map[string]string
	query map[string]string
	get   bool
}

func (c *aliClient) modifyUserPasswords(r aliRequest) (string, error) {
	client, err := alisdk.NewClientWithAccessKey("cn-hangzhou", c.id, c.secret)
	if err != nil {
		return "", err
	}
	client.SetTransport(c.transport)
	req := requests.NewCommonRequest()
	req.Method = "POST"
	if r.get {
		req.Method = "GET"
	}
	req.Scheme = "https"
	req.Domain = strings.TrimPrefix(c.srv.URL, "https://")
	req.Product = "EHPC"
	req.Version = "2018-04-12"
	req.ApiName = "ModifyUserPasswords"
	for k, v := range r.form {
		req.FormParams[k] = v
	}
	for k, v := range r.query {
		req.QueryParams[k] = v
	}
	resp, err := client.ProcessCommonRequest(req)
	if err != nil {
		return "", err
	}
	return resp.GetHttpContentString(), nil
}

func aliServerError(err error) (code, message string, status int) {
	var e *alierrors.ServerError
	if errors.As(err, &e) {
		return e.ErrorCode(), e.Message(), e.HttpStatus()
	}
	if err != nil {
		return "not a ServerError: " + err.Error(), "", 0
	}
	return "", "", 0
}

// recorder keeps a copy of every request a transport sends, to replay one.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	method, url string
	header      http.Header
	body        []byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.Method, req.URL.String(), req.Header.Clone(), body})
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *recorder) last(tb testing.TB) recorded {
	tb.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		tb.Fatal("no request was recorded")
	}
	return r.reqs[len(r.reqs)-1]
}

// replay sends a recorded request again, byte for byte.
func replay(tb testing.TB, client *http.Client, rec recorded) *http.Response {
	tb.Helper()
	req, err := http.NewRequest(rec.method, rec.url, bytes.NewReader(rec.body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header = rec.header.Clone()
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { resp.Body.Close() })
	return resp
}

func testContext(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	tb.Cleanup(cancel)
	return ctx
}
