package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"resetbot/bot"
	"resetbot/providers/tencent"
)

// apiError is an error answer. Status is the HTTP status Alibaba sends with
// it; Tencent always answers 200 with the error in the envelope.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func errorf(code, format string, args ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...)}
}

const tencentClockSkew = 5 * time.Minute

// tencentInput is a Tencent call's parameters, flattened ("Users.0.Host"),
// with the JSON kind of each value ("string", "bool", "number").
type tencentInput struct {
	params    map[string]string
	kinds     map[string]string
	region    string
	fromQuery bool // a GET: every value is text
}

func (in *tencentInput) has(k string) bool { _, ok := in.params[k]; return ok }

// tencentAPI is one emulated Tencent action.
type tencentAPI struct {
	provider   bot.ProviderKey
	version    string
	known      *regexp.Regexp // accepted parameter names
	needRegion bool
	refused    *apiError // the answer to a password outside the rule
	handle     func(e *Emulator, in *tencentInput) (map[string]any, *apiError)
}

// tencentAPIFor returns the emulated action of a service, or an error
// answer.
func tencentAPIFor(service, action, version string) (*tencentAPI, *apiError) {
	var api *tencentAPI
	switch service + "/" + action {
	case "ciam/SetPassword":
		api = &tencentAPI{provider: tencent.CIAM, version: "2022-03-31", needRegion: true,
			refused: errorf("InvalidParameterValue", "Password: the password does not mix enough kinds of characters."),
			known:   regexp.MustCompile(`^(UserStoreId|UserId|Password)$`), handle: (*Emulator).ciamSetPassword}
	case "tdmysql/ResetUserPassword":
		api = &tencentAPI{provider: tencent.TDSQL, version: "2021-11-22", needRegion: true,
			refused: errorf("InvalidParameterValue.CheckPasswdError", "Password: the password does not mix enough kinds of characters."),
			known:   regexp.MustCompile(`^(InstanceId|UserName|Host|Password|EncryptedPassword)$`), handle: (*Emulator).tdsqlResetUserPassword}
	case "tdmysql/ResetUsersPassword":
		api = &tencentAPI{provider: tencent.TDSQL, version: "2021-11-22", needRegion: true,
			refused: errorf("InvalidParameterValue.CheckPasswdError", "Password: the password does not mix enough kinds of characters."),
			known:   regexp.MustCompile(`^(InstanceId|Users\.\d+\.(UserName|Host|Password|EncryptedPassword))$`), handle: (*Emulator).tdsqlResetUsersPassword}
	case "tcr/ModifyServiceAccountPassword":
		api = &tencentAPI{provider: tencent.TCR, version: "2019-09-24", needRegion: true,
			refused: errorf("InvalidParameter", "Password: the password does not mix enough kinds of characters."),
			known:   regexp.MustCompile(`^(RegistryId|Name|Random|Password)$`), handle: (*Emulator).tcrModifyServiceAccountPassword}
	case "cam/UpdateUser":
		api = &tencentAPI{provider: tencent.CAM, version: "2019-01-16",
			refused: errorf("InvalidParameter.PasswordViolatedRules", "The password does not follow the user security settings."),
			known:   regexp.MustCompile(`^(Name|Remark|ConsoleLogin|Password|NeedResetPassword|PhoneNum|CountryCode|Email)$`), handle: (*Emulator).camUpdateUser}
	default:
		return nil, errorf("InvalidAction", "The action %s of service %s is not emulated.", action, service)
	}
	if version != api.version {
		return nil, errorf("NoSuchVersion", "The version %s of %s does not exist; %s is.", version, action, api.version)
	}
	return api, nil
}

func tencentProvider(service string) bot.ProviderKey {
	switch service {
	case "ciam":
		return tencent.CIAM
	case "tdmysql":
		return tencent.TDSQL
	case "tcr":
		return tencent.TCR
	case "cam":
		return tencent.CAM
	}
	return "tencent"
}

func (e *Emulator) serveTencent(w http.ResponseWriter, r *http.Request) {
	now := e.now()
	c := Call{
		Time: now, Provider: "tencent", Method: r.Method, TLS: r.TLS != nil,
		Action: r.Header.Get("X-TC-Action"), Version: r.Header.Get("X-TC-Version"), Region: r.Header.Get("X-TC-Region"),
	}
	fail := func(ae *apiError) {
		c.Code = ae.Code
		e.record(c)
		writeTencent(w, nil, ae)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		fail(errorf("InvalidParameter", "The request body could not be read."))
		return
	}
	in, perr := tencentParams(r, body)
	if in != nil {
		c.Params = redact(in.params)
		in.region = c.Region
	}
	c.PasswordInURL = queryHasPassword(r.URL.Query())
	auth, ae := parseTC3(r.Header.Get("Authorization"))
	if auth != nil {
		c.Credential = auth.secretID
		c.Provider = tencentProvider(auth.service)
	}
	switch {
	case c.PasswordInURL:
		ae = errorf("InvalidParameter", "A password was sent in the URL query; send it in the request body.")
	case ae != nil:
	case c.Action == "" || c.Version == "":
		ae = errorf("MissingParameter", "The X-TC-Action and X-TC-Version headers are required.")
	default:
		ae = e.verifyTC3(r, body, auth, now)
	}
	if ae == nil && perr != nil {
		ae = perr
	}
	var api *tencentAPI
	if ae == nil {
		api, ae = tencentAPIFor(auth.service, c.Action, c.Version)
	}
	if ae == nil {
		ae = checkTencentParams(api, in)
	}
	if ae != nil {
		fail(ae)
		return
	}

	e.mu.Lock()
	code, limited := e.admitLocked(c.Action, auth.secretID, now)
	var result map[string]any
	switch {
	case limited:
		ae = errorf("RequestLimitExceeded", "The number of requests exceeds the frequency limit.")
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
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]any{"Response": map[string]any{"RequestId": requestID()}})
		return
	case code == FaultPasswordRefused:
		ae = api.refused
	case code != "":
		ae = errorf(code, "Injected fault %s.", code)
	default:
		result, ae = api.handle(e, in)
	}
	if ae != nil {
		c.Code = ae.Code
	}
	e.recordLocked(c)
	e.mu.Unlock()
	writeTencent(w, result, ae)
}

func writeTencent(w http.ResponseWriter, result map[string]any, ae *apiError) {
	resp := map[string]any{}
	for k, v := range result {
		resp[k] = v
	}
	if ae != nil {
		resp = map[string]any{"Error": map[string]string{"Code": ae.Code, "Message": ae.Message}}
	}
	resp["RequestId"] = requestID()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"Response": resp})
}

// tencentParams reads a call's parameters: the JSON body of a POST, or the
// query of a GET.
func tencentParams(r *http.Request, body []byte) (*tencentInput, *apiError) {
	in := &tencentInput{params: map[string]string{}, kinds: map[string]string{}}
	if r.Method == http.MethodGet {
		in.fromQuery = true
		for k, v := range r.URL.Query() {
			in.params[k], in.kinds[k] = v[0], "string"
		}
		return in, nil
	}
	if r.Method != http.MethodPost {
		return in, errorf("UnsupportedProtocol", "Only POST and GET are accepted.")
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return in, errorf("UnsupportedProtocol", "A TC3-HMAC-SHA256 POST must carry application/json.")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return in, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return in, errorf("InvalidParameter", "The request body is not a JSON object.")
	}
	flatten("", v, in)
	return in, nil
}

func flatten(prefix string, v any, in *tencentInput) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			flatten(join(k), x, in)
		}
	case []any:
		for i, x := range v {
			flatten(join(strconv.Itoa(i)), x, in)
		}
	case string:
		in.params[prefix], in.kinds[prefix] = v, "string"
	case bool:
		in.params[prefix], in.kinds[prefix] = strconv.FormatBool(v), "bool"
	case json.Number:
		in.params[prefix], in.kinds[prefix] = v.String(), "number"
	}
}

// checkTencentParams refuses unknown parameters (a misspelt name would be
// ignored, or refused, by the real API: either way the reset would not do
// what was meant) and a missing Region where the API requires one.
func checkTencentParams(api *tencentAPI, in *tencentInput) *apiError {
	keys := make([]string, 0, len(in.params))
	for k := range in.params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !api.known.MatchString(k) {
			return errorf("UnknownParameter", "The parameter %s is not recognized.", k)
		}
	}
	if api.needRegion && in.region == "" {
		return errorf("MissingParameter", "The Region parameter is required.")
	}
	return nil
}

func required(in *tencentInput, names ...string) *apiError {
	for _, n := range names {
		if in.params[n] == "" {
			return errorf("MissingParameter", "The parameter %s is required.", n)
		}
	}
	return nil
}

// ciamSetPassword emulates ciam SetPassword (2022-03-31).
func (e *Emulator) ciamSetPassword(in *tencentInput) (map[string]any, *apiError) {
	if ae := required(in, "UserStoreId", "UserId"); ae != nil {
		return nil, ae
	}
	if !in.has("Password") {
		return nil, errorf("MissingParameter", "The parameter Password is required.")
	}
	pw := in.params["Password"]
	if pw == "" {
		return nil, errorf("FailedOperation.PasswordIsNull", "The password is empty.")
	}
	if ok, why := ruleFor(tencent.CIAM).check(pw); !ok {
		return nil, errorf("InvalidParameterValue", "Password: %s.", why)
	}
	store, id := in.params["UserStoreId"], in.params["UserId"]
	if !e.resources[resourceKey{tencent.CIAM, store}] {
		return nil, errorf("FailedOperation.InvalidUserStore", "The user store %s does not exist.", store)
	}
	u := e.users[userKey{tencent.CIAM, store, id}]
	switch {
	case u == nil:
		return nil, errorf("FailedOperation.UserNotFound", "The user %s does not exist.", id)
	case u.Frozen:
		return nil, errorf("FailedOperation.UserIsFreeze", "The user %s is frozen.", id)
	}
	u.Password = pw
	u.Resets++
	return nil, nil
}

type tdsqlUser struct{ name, host, password string }

// tdsqlApply checks then sets passwords of one instance's users, all or
// none.
func (e *Emulator) tdsqlApply(instance string, users []tdsqlUser) *apiError {
	for _, x := range users {
		if ok, why := ruleFor(tencent.TDSQL).check(x.password); !ok {
			return errorf("InvalidParameterValue.CheckPasswdError", "Password of %s@%s: %s.", x.name, x.host, why)
		}
	}
	if !e.resources[resourceKey{tencent.TDSQL, instance}] {
		return errorf("ResourceNotFound.InstanceNotFound", "The instance %s does not exist.", instance)
	}
	var found []*UserState
	for _, x := range users {
		u := e.users[userKey{tencent.TDSQL, instance, x.name + "@" + x.host}]
		switch {
		case u == nil:
			return errorf("FailedOperation.QueryUserError", "The user %s@%s does not exist in instance %s.", x.name, x.host, instance)
		case u.Frozen:
			return errorf("OperationDenied", "The user %s@%s is locked.", x.name, x.host)
		}
		found = append(found, u)
	}
	for i, u := range found {
		u.Password = users[i].password
		u.Resets++
	}
	return nil
}

// tdsqlResetUserPassword emulates tdmysql ResetUserPassword (2021-11-22).
func (e *Emulator) tdsqlResetUserPassword(in *tencentInput) (map[string]any, *apiError) {
	if ae := required(in, "InstanceId", "UserName", "Host"); ae != nil {
		return nil, ae
	}
	if !in.has("Password") && in.has("EncryptedPassword") {
		return nil, errorf("InvalidParameter", "EncryptedPassword is not emulated; send Password.")
	}
	if ae := required(in, "Password"); ae != nil {
		return nil, ae
	}
	u := tdsqlUser{in.params["UserName"], in.params["Host"], in.params["Password"]}
	return nil, e.tdsqlApply(in.params["InstanceId"], []tdsqlUser{u})
}

// tdsqlResetUsersPassword emulates the batch tdmysql ResetUsersPassword
// (2021-11-22), which answers with a FlowId.
func (e *Emulator) tdsqlResetUsersPassword(in *tencentInput) (map[string]any, *apiError) {
	if ae := required(in, "InstanceId"); ae != nil {
		return nil, ae
	}
	idx := map[int]bool{}
	for k := range in.params {
		if rest, ok := strings.CutPrefix(k, "Users."); ok {
			n, _, _ := strings.Cut(rest, ".")
			i, _ := strconv.Atoi(n)
			idx[i] = true
		}
	}
	if len(idx) == 0 {
		return nil, errorf("MissingParameter", "The parameter Users is required.")
	}
	order := make([]int, 0, len(idx))
	for i := range idx {
		order = append(order, i)
	}
	sort.Ints(order)
	var users []tdsqlUser
	for _, i := range order {
		p := "Users." + strconv.Itoa(i) + "."
		if ae := required(in, p+"UserName", p+"Host", p+"Password"); ae != nil {
			return nil, ae
		}
		users = append(users, tdsqlUser{in.params[p+"UserName"], in.params[p+"Host"], in.params[p+"Password"]})
	}
	if ae := e.tdsqlApply(in.params["InstanceId"], users); ae != nil {
		return nil, ae
	}
	e.flowID++
	return map[string]any{"FlowId": e.flowID}, nil
}

// tcrModifyServiceAccountPassword emulates tcr ModifyServiceAccountPassword
// (2019-09-24). The response's Password is the password now in force,
// generated when Random is true.
func (e *Emulator) tcrModifyServiceAccountPassword(in *tencentInput) (map[string]any, *apiError) {
	if ae := required(in, "RegistryId", "Name", "Random"); ae != nil {
		return nil, ae
	}
	random, err := strconv.ParseBool(in.params["Random"])
	if err != nil || !in.fromQuery && in.kinds["Random"] != "bool" {
		return nil, errorf("InvalidParameter", "Random must be a Boolean.")
	}
	pw := in.params["Password"]
	if !random {
		if ae := required(in, "Password"); ae != nil {
			return nil, ae
		}
		if ok, why := ruleFor(tencent.TCR).check(pw); !ok {
			return nil, errorf("InvalidParameter", "Password: %s.", why)
		}
	}
	registry, name := in.params["RegistryId"], in.params["Name"]
	if !e.resources[resourceKey{tencent.TCR, registry}] {
		return nil, errorf("ResourceNotFound", "The instance %s does not exist.", registry)
	}
	u := e.users[userKey{tencent.TCR, registry, name}]
	switch {
	case u == nil:
		return nil, errorf("ResourceNotFound.TcrResourceNotFound", "The service account %s does not exist.", name)
	case u.Frozen:
		return nil, errorf("OperationDenied", "The service account %s is disabled.", name)
	}
	if random {
		pw = generate(32, uppers, lowers, digits)
	}
	u.Password = pw
	u.Resets++
	return map[string]any{"Password": pw}, nil
}

// camUpdateUser emulates cam UpdateUser (2019-01-16). A password takes
// effect only when the sub-user may log in to the console; with
// ConsoleLogin=1 and no Password, CAM makes a random one the caller never
// sees.
func (e *Emulator) camUpdateUser(in *tencentInput) (map[string]any, *apiError) {
	if ae := required(in, "Name"); ae != nil {
		return nil, ae
	}
	flag := func(k string) (set, on bool, ae *apiError) {
		if !in.has(k) {
			return false, false, nil
		}
		switch in.params[k] {
		case "0":
			return true, false, nil
		case "1":
			return true, true, nil
		}
		return false, false, errorf("InvalidParameter.ParamError", "%s must be 0 or 1.", k)
	}
	loginSet, login, ae := flag("ConsoleLogin")
	if ae != nil {
		return nil, ae
	}
	resetSet, reset, ae := flag("NeedResetPassword")
	if ae != nil {
		return nil, ae
	}
	pw := in.params["Password"]
	if pw != "" {
		if ok, why := ruleFor(tencent.CAM).check(pw); !ok {
			return nil, errorf("InvalidParameter.PasswordViolatedRules", "The password does not follow the user security settings: %s.", why)
		}
	}
	name := in.params["Name"]
	u := e.users[userKey{tencent.CAM, "", name}]
	switch {
	case u == nil:
		return nil, errorf("ResourceNotFound.UserNotExist", "The sub-user %s does not exist.", name)
	case u.Frozen:
		return nil, errorf("FailedOperation", "The sub-user %s cannot be updated.", name)
	}
	if loginSet {
		u.ConsoleLogin = login
	}
	if resetSet {
		u.NeedResetPassword = reset
	}
	switch {
	case !u.ConsoleLogin:
	case pw != "":
		u.Password = pw
		u.Resets++
	case loginSet && login:
		u.Password = generate(32, uppers, lowers, digits, symbols)
		u.Resets++
	}
	return nil, nil
}

// queryHasPassword reports whether a URL query names a password parameter.
func queryHasPassword(q url.Values) bool {
	for k := range q {
		if isPasswordKey(k) {
			return true
		}
	}
	return false
}
