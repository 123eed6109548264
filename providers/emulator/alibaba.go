package emulator

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"resetbot/providers/alibaba"
)

// Alibaba Cloud refuses an RPC request whose Timestamp is more than 15
// minutes off, and a SignatureNonce seen within that time.
const alibabaClockSkew = 15 * time.Minute

// alibabaCommon reports whether k is an RPC common parameter; everything
// else is the API's.
func alibabaCommon(k string) bool {
	switch k {
	case "AccessKeyId", "Action", "Format", "RegionId", "Signature", "SignatureMethod", "SignatureNonce",
		"SignatureType", "SignatureVersion", "Timestamp", "Version", "SecurityToken", "BearerToken":
		return true
	}
	return false
}

var ehpcUserParam = regexp.MustCompile(`^User\.(\d+)\.(Name|Password)$`)

func aliError(status int, code, message string) *apiError {
	return &apiError{Status: status, Code: code, Message: message}
}

// alibabaStatus is the HTTP status Alibaba sends with an error code (used for
// injected faults).
func alibabaStatus(code string) int {
	switch {
	case code == "InvalidClusterStatus":
		return http.StatusForbidden
	case code == "ClusterNotFound", code == "ManagerNotFound", code == "InvalidAccessKeyId.NotFound", code == "InvalidAction.NotFound":
		return http.StatusNotFound
	case strings.HasPrefix(code, "AgentError"), code == FaultPartFailure:
		return http.StatusNotAcceptable
	case code == "UnknownError", code == "InternalError":
		return http.StatusInternalServerError
	case code == "ServiceUnavailable":
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

func (e *Emulator) serveAlibaba(w http.ResponseWriter, r *http.Request) {
	now := e.now()
	query := r.URL.Query()
	params := map[string]string{}
	for k, v := range query {
		params[k] = v[0]
	}
	var ae *apiError
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
		form, perr := url.ParseQuery(string(body))
		if err != nil || perr != nil {
			ae = aliError(400, "InvalidParameter", "The request body is not a form.")
		}
		for k, v := range form { // the SDK signs query and form together, form last
			params[k] = v[0]
		}
	}
	c := Call{
		Time: now, Provider: alibaba.EHPC, Method: r.Method, TLS: r.TLS != nil,
		Action: params["Action"], Version: params["Version"], Region: params["RegionId"],
		Credential: params["AccessKeyId"], PasswordInURL: queryHasPassword(query),
	}
	api := map[string]string{}
	for k, v := range params {
		if !alibabaCommon(k) {
			api[k] = v
		}
	}
	c.Params = redact(api)

	switch {
	case c.PasswordInURL:
		ae = aliError(400, "InvalidParams", "A password was sent in the URL query; send it in the form body of a POST.")
	case ae != nil:
	default:
		ae = e.verifyRPC(r.Method, params, now)
	}
	if ae == nil {
		switch {
		case c.Action != "ModifyUserPasswords":
			ae = aliError(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
		case c.Version != "2018-04-12":
			ae = aliError(400, "InvalidVersion", "Specified parameter Version is not valid.")
		}
	}
	if ae != nil {
		c.Code = ae.Code
		e.record(c)
		writeAlibaba(w, r, ae)
		return
	}

	e.mu.Lock()
	code, limited := e.admitLocked(c.Action, c.Credential, now)
	switch {
	case limited:
		ae = aliError(400, "Throttling", "Request was denied due to request throttling.")
	case code == FaultHang:
		c.Code = FaultHang
		e.recordLocked(c)
		e.mu.Unlock()
		hang(r)
		return
	case code == Fault5xx:
		c.Code = Fault5xx
		e.recordLocked(c)
		e.mu.Unlock()
		writeAlibaba(w, r, aliError(http.StatusServiceUnavailable, "ServiceUnavailable", "The request has failed due to a temporary failure of the server."))
		return
	case code == FaultPasswordRefused:
		ae = aliError(400, "InvalidParams", "The specified parameter User.1.Password is invalid.")
	case code != "" && code != FaultPartFailure:
		ae = aliError(alibabaStatus(code), code, "Injected fault "+code+".")
	default:
		ae = e.ehpcModifyUserPasswords(api, code == FaultPartFailure)
	}
	if ae != nil {
		c.Code = ae.Code
	}
	e.recordLocked(c)
	e.mu.Unlock()
	writeAlibaba(w, r, ae)
}

func writeAlibaba(w http.ResponseWriter, r *http.Request, ae *apiError) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	if ae == nil {
		_ = json.NewEncoder(w).Encode(map[string]string{"RequestId": requestID()})
		return
	}
	w.WriteHeader(ae.Status)
	_ = json.NewEncoder(w).Encode(map[string]string{
		"RequestId": requestID(), "HostId": r.Host, "Code": ae.Code, "Message": ae.Message,
		"Recommend": "https://api.aliyun.com/troubleshoot?q=" + url.QueryEscape(ae.Code),
	})
}

// verifyRPC checks the AccessKeyId, the signature as the SDK's
// signRpcRequest computes it (HMAC-SHA1 over the query and form parameters,
// key = secret + "&"), the Timestamp window and the SignatureNonce.
func (e *Emulator) verifyRPC(method string, params map[string]string, now time.Time) *apiError {
	for _, k := range []string{"AccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "SignatureNonce", "Timestamp", "Action", "Version"} {
		if params[k] == "" {
			return aliError(400, "MissingParameter", "The input parameter \""+k+"\" that is mandatory for processing this request is not supplied.")
		}
	}
	if e.opts.AlibabaAccessKeyID == "" || params["AccessKeyId"] != e.opts.AlibabaAccessKeyID {
		return aliError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
	}
	if params["SignatureMethod"] != "HMAC-SHA1" || params["SignatureVersion"] != "1.0" {
		return aliError(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
	}
	ts, err := time.Parse("2006-01-02T15:04:05Z", params["Timestamp"])
	if err != nil {
		return aliError(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
	}
	if d := now.Sub(ts); d > alibabaClockSkew || d < -alibabaClockSkew {
		return aliError(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
	}
	want := rpcSignature(method, params, e.opts.AlibabaAccessKeySecret)
	if !hmac.Equal([]byte(want), []byte(params["Signature"])) {
		return aliError(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for n, t := range e.nonces {
		if now.Sub(t) > alibabaClockSkew {
			delete(e.nonces, n)
		}
	}
	nonce := params["AccessKeyId"] + "\x00" + params["SignatureNonce"]
	if _, used := e.nonces[nonce]; used {
		return aliError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
	}
	e.nonces[nonce] = now
	return nil
}

// rpcSignature computes the RPC signature of every parameter but Signature.
func rpcSignature(method string, params map[string]string, secret string) string {
	v := url.Values{}
	for k, x := range params {
		if k != "Signature" {
			v.Set(k, x)
		}
	}
	s := v.Encode()
	s = strings.ReplaceAll(s, "+", "%20")
	s = strings.ReplaceAll(s, "*", "%2A")
	s = strings.ReplaceAll(s, "%7E", "~")
	toSign := method + "&%2F&" + url.QueryEscape(s)
	m := hmac.New(sha1.New, []byte(secret+"&"))
	m.Write([]byte(toSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

type ehpcUser struct {
	n              int
	name, password string
}

// ehpcModifyUserPasswords emulates EHPC ModifyUserPasswords (2018-04-12).
// Parameters are checked for the whole call first; then each user is changed
// on its own, and users that fail (unknown, frozen, or the first one under
// an injected PartFailure) are named in the error. With Async=true the
// per-user failures are not reported, as the change happens later.
func (e *Emulator) ehpcModifyUserPasswords(api map[string]string, partFailure bool) *apiError {
	invalid := func(p string) *apiError {
		return aliError(400, "InvalidParams", "The specified parameter "+p+" is invalid.")
	}
	byN := map[int]*ehpcUser{}
	keys := make([]string, 0, len(api))
	for k := range api {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "ClusterId" || k == "Async" {
			continue
		}
		m := ehpcUserParam.FindStringSubmatch(k)
		if m == nil {
			return invalid(k)
		}
		n, err := strconv.Atoi(m[1])
		if err != nil || n < 1 || n > 100 {
			return invalid(k)
		}
		u := byN[n]
		if u == nil {
			u = &ehpcUser{n: n}
			byN[n] = u
		}
		if m[2] == "Name" {
			u.name = api[k]
		} else {
			u.password = api[k]
		}
	}
	cluster := api["ClusterId"]
	if cluster == "" {
		return invalid("ClusterId")
	}
	async := false
	if a, ok := api["Async"]; ok {
		b, err := strconv.ParseBool(a)
		if err != nil {
			return invalid("Async")
		}
		async = b
	}
	if len(byN) == 0 {
		return invalid("User")
	}
	users := make([]*ehpcUser, 0, len(byN))
	for _, u := range byN {
		users = append(users, u)
	}
	sort.Slice(users, func(i, j int) bool { return users[i].n < users[j].n })
	for _, u := range users {
		p := "User." + strconv.Itoa(u.n)
		if u.name == "" {
			return invalid(p + ".Name")
		}
		if ok, _ := ruleFor(alibaba.EHPC).check(u.password); !ok {
			return invalid(p + ".Password")
		}
	}
	if !e.resources[resourceKey{alibaba.EHPC, cluster}] {
		return aliError(404, "ClusterNotFound", "The specified cluster does not exist.")
	}
	var failed []string
	for i, x := range users {
		u := e.users[userKey{alibaba.EHPC, cluster, x.name}]
		if u == nil || u.Frozen || partFailure && i == 0 {
			failed = append(failed, x.name)
			continue
		}
		u.Password = x.password
		u.Resets++
	}
	switch {
	case async || len(failed) == 0:
		return nil
	case partFailure || len(failed) < len(users):
		return aliError(406, FaultPartFailure, "Part of the users failed: "+strings.Join(failed, ", "))
	}
	return aliError(406, "AgentError.Account.UserChangePasswordFailure", "Failed to modify user passwords in domain: "+strings.Join(failed, ", "))
}
