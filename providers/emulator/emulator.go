package emulator

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"resetbot/bot"
)

// Special fault codes for Fail.
const (
	Fault5xx         = "5xx"         // HTTP 503
	FaultHang        = "hang"        // no answer until the request's context ends
	FaultPartFailure = "PartFailure" // EHPC: the first user fails, the rest succeed
	// FaultPasswordRefused answers as the API answers a password outside its
	// rule, with that API's own code.
	FaultPasswordRefused = "password-refused"
)

// Options configures an Emulator.
type Options struct {
	TencentSecretID, TencentSecretKey          string
	AlibabaAccessKeyID, AlibabaAccessKeySecret string
	// Now tells the time for the signature clock window and the rate limit;
	// nil means time.Now.
	Now func() time.Time
	// Rate is the number of calls a second allowed per action and credential
	// (default 20, the documented limit of every API here); a call over it
	// gets the API's rate-limit error. Negative disables the limit.
	Rate int
}

// Call is one request the emulator received, whatever its outcome.
type Call struct {
	Time time.Time
	// Provider is the API's provider key (tencent.TDSQL), or "tencent" or
	// "alibaba" when the API could not be told.
	Provider bot.ProviderKey
	Action   string
	Version  string
	Region   string
	// Params are the API parameters (flattened: "Users.0.UserName",
	// "User.1.Name"), passwords replaced by "[set]".
	Params map[string]string
	Code   string // "" on success; the error code, "5xx" or "hang" otherwise

	Method     string // HTTP method
	TLS        bool   // the request came over TLS
	Credential string // SecretId or AccessKeyId the request claimed
	// PasswordInURL is true when a password parameter was found in the URL
	// query. The emulator refuses such a request; tests assert it never happens.
	PasswordInURL bool
}

// UserState is what the emulator knows of one user.
type UserState struct {
	Password string
	Frozen   bool
	// Resets counts the successful password changes.
	Resets int
	// ConsoleLogin and NeedResetPassword are the CAM sub-user's settings as
	// the last UpdateUser left them.
	ConsoleLogin      bool
	NeedResetPassword bool
}

type userKey struct {
	provider       bot.ProviderKey
	resource, user string
}

type resourceKey struct {
	provider bot.ProviderKey
	resource string
}

type fault struct {
	code string
	left int
}

// Emulator serves the five cloud APIs from memory. It is safe for concurrent
// use.
type Emulator struct {
	opts Options
	now  func() time.Time
	rate int

	mu        sync.Mutex
	users     map[userKey]*UserState
	resources map[resourceKey]bool
	calls     []Call
	faults    map[string][]*fault
	window    map[string][]time.Time // rate limit: recent call times per action and credential
	nonces    map[string]time.Time   // Alibaba SignatureNonce -> when first seen
	flowID    int64
	changed   chan struct{} // closed and replaced whenever a call is recorded
}

// New returns an emulator that accepts the credentials in o.
func New(o Options) *Emulator {
	e := &Emulator{
		opts:      o,
		now:       o.Now,
		rate:      o.Rate,
		users:     map[userKey]*UserState{},
		resources: map[resourceKey]bool{},
		faults:    map[string][]*fault{},
		window:    map[string][]time.Time{},
		nonces:    map[string]time.Time{},
		flowID:    4295045700,
		changed:   make(chan struct{}),
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.rate == 0 {
		e.rate = 20
	}
	return e
}

// AddUser declares a user. provider is a design.md provider key; resource is
// the ciam UserStoreId, tdsql InstanceId, tcr RegistryId, "" for cam, or the
// ehpc ClusterId; user is the ciam UserId, tdsql "UserName@Host", tcr service
// account Name, cam sub-user Name, or ehpc user Name. A resource exists once
// one of its users was added.
func (e *Emulator) AddUser(provider bot.ProviderKey, resource, user string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.userLocked(provider, resource, user)
}

func (e *Emulator) userLocked(provider bot.ProviderKey, resource, user string) *UserState {
	k := userKey{provider, resource, user}
	u := e.users[k]
	if u == nil {
		u = &UserState{}
		e.users[k] = u
		e.resources[resourceKey{provider, resource}] = true
	}
	return u
}

// Password returns a user's current password ("" until one was set), and
// whether the user exists.
func (e *Emulator) Password(provider bot.ProviderKey, resource, user string) (string, bool) {
	u, ok := e.User(provider, resource, user)
	return u.Password, ok
}

// User returns what the emulator knows of a user, and whether it exists.
func (e *Emulator) User(provider bot.ProviderKey, resource, user string) (UserState, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, ok := e.users[userKey{provider, resource, user}]
	if !ok {
		return UserState{}, false
	}
	return *u, true
}

// Freeze makes a user exist in a frozen (locked) state: resetting its
// password fails with the error doc.go lists for the provider.
func (e *Emulator) Freeze(provider bot.ProviderKey, resource, user string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.userLocked(provider, resource, user).Frozen = true
}

// Fail makes the next n calls of action answer with code: one of that API's
// error codes, or Fault5xx, FaultHang, FaultPartFailure,
// FaultPasswordRefused. Faults for the same
// action queue up in the order given. A fault applies to a call that passed
// the signature check and the rate limit.
func (e *Emulator) Fail(action, code string, n int) {
	if n <= 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults[action] = append(e.faults[action], &fault{code: code, left: n})
}

// Calls returns every call received since New or Reset, oldest first.
func (e *Emulator) Calls() []Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Call, len(e.calls))
	for i, c := range e.calls {
		c.Params = copyMap(c.Params)
		out[i] = c
	}
	return out
}

// Reset forgets calls, faults and the rate limit's history; users and their
// passwords stay, and so do used nonces (a replay stays a replay).
func (e *Emulator) Reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = nil
	e.faults = map[string][]*fault{}
	e.window = map[string][]time.Time{}
}

// ServeHTTP answers a Tencent Cloud API 3.0 request (TC3-HMAC-SHA256) or an
// Alibaba Cloud RPC request, told apart by their signature parameters.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	form := strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
	switch {
	case r.Header.Get("X-TC-Action") != "" || strings.HasPrefix(r.Header.Get("Authorization"), "TC3-"):
		e.serveTencent(w, r)
	case r.URL.Query().Get("SecretId") != "" || form && bodyHas(r, "SecretId"):
		// Tencent's older HmacSHA1/HmacSHA256 signature: not emulated.
		e.record(Call{Time: e.now(), Provider: "tencent", Action: r.FormValue("Action"), Method: r.Method, TLS: r.TLS != nil,
			Code: "AuthFailure.InvalidAuthorization", PasswordInURL: queryHasPassword(r.URL.Query())})
		writeTencent(w, nil, errorf("AuthFailure.InvalidAuthorization", "Only TC3-HMAC-SHA256 signatures are emulated."))
	case r.URL.Query().Get("AccessKeyId") != "" || r.URL.Query().Get("Signature") != "" || r.URL.Query().Get("Action") != "" || form:
		e.serveAlibaba(w, r)
	default:
		http.Error(w, "emulator: neither a Tencent Cloud nor an Alibaba Cloud API request", http.StatusBadRequest)
	}
}

// admit applies the rate limit and the fault queue to a call that passed
// authentication. It returns the fault code to answer with, or "" to go on;
// limited reports that the rate limit refused the call.
func (e *Emulator) admitLocked(action, credential string, now time.Time) (faultCode string, limited bool) {
	if e.rate > 0 {
		key := action + "\x00" + credential
		recent := e.window[key][:0]
		for _, t := range e.window[key] {
			if now.Sub(t) < time.Second {
				recent = append(recent, t)
			}
		}
		if len(recent) >= e.rate {
			e.window[key] = recent
			return "", true
		}
		e.window[key] = append(recent, now)
	}
	q := e.faults[action]
	if len(q) == 0 {
		return "", false
	}
	f := q[0]
	f.left--
	if f.left <= 0 {
		e.faults[action] = q[1:]
	}
	return f.code, false
}

func (e *Emulator) recordLocked(c Call) {
	e.calls = append(e.calls, c)
	close(e.changed)
	e.changed = make(chan struct{})
}

// WaitCalls blocks until at least n calls were recorded since New or Reset,
// and returns them; or returns ctx's error. A call that hangs is recorded
// as soon as it arrives, so tests can wait for it.
func (e *Emulator) WaitCalls(ctx context.Context, n int) ([]Call, error) {
	for {
		e.mu.Lock()
		got, ch := len(e.calls), e.changed
		e.mu.Unlock()
		if got >= n {
			return e.Calls(), nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for %d emulator calls, got %d: %w", n, got, ctx.Err())
		}
	}
}

func (e *Emulator) record(c Call) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.recordLocked(c)
}

// bodyHas reports whether a form body has parameter k, leaving the body to
// be read again.
func bodyHas(r *http.Request, k string) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	r.Body = io.NopCloser(bytes.NewReader(b))
	if err != nil {
		return false
	}
	v, err := url.ParseQuery(string(b))
	return err == nil && v.Has(k)
}

// hang blocks until the client gives up.
func hang(r *http.Request) {
	<-r.Context().Done()
}

func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return strings.ToUpper(h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32])
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// isPasswordKey reports whether a (flattened) parameter name carries a
// password: "Password", "Users.0.Password", "User.1.Password",
// "EncryptedPassword" (but not "NeedResetPassword").
func isPasswordKey(k string) bool {
	if i := strings.LastIndexByte(k, '.'); i >= 0 {
		k = k[i+1:]
	}
	k = strings.ToLower(k)
	return k == "password" || k == "encryptedpassword"
}

// redact copies params with every password replaced by "[set]".
func redact(params map[string]string) map[string]string {
	out := make(map[string]string, len(params))
	for k, v := range params {
		if isPasswordKey(k) {
			v = "[set]"
		}
		out[k] = v
	}
	return out
}
