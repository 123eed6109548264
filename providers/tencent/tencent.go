package tencent

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"resetbot/bot"
	"resetbot/providers/call"
	"resetbot/providers/internal/accountkind"
	"resetbot/providers/password"
	"resetbot/providers/ratelimit"
)

// DefaultRate is every Tencent API's documented limit, per action and
// credential.
const DefaultRate = 20

// Options configures a Provider.
type Options struct {
	SecretID, SecretKey string
	// Endpoint is host[:port] for every call ("" for
	// <service>.tencentcloudapi.com); Scheme is "https" (default) or "http".
	// An account's own endpoint and scheme win.
	Endpoint, Scheme string
	// Limiter is waited on before every attempt, keyed by action and a hash
	// of SecretID (ratelimit.Limiter shares it across replicas); nil limits
	// this process alone to DefaultRate.
	Limiter call.Limiter
	// Rand is the randomness of passwords; nil is crypto/rand.
	Rand io.Reader
	// Timeout bounds one attempt (default 10s); Retries is the number of
	// further attempts after a transient failure (default 3, negative none).
	Timeout time.Duration
	Retries int
	// Backoff is the pause before retry n; nil is call.Backoff.
	Backoff func(n int) time.Duration
	// Transport carries the calls; nil is a clone of http.DefaultTransport.
	Transport http.RoundTripper
}

// Provider resets passwords of CIAM, TDSQL, TCR and CAM accounts. It is safe for concurrent use.
type Provider struct {
	opts      Options
	cred      *common.Credential
	limiter   call.Limiter
	rnd       io.Reader
	transport http.RoundTripper

	mu      sync.Mutex
	clients map[clientKey]*common.Client
}

var _ bot.Provider = (*Provider)(nil)

type clientKey struct{ region, endpoint, scheme string }

// New returns a Provider calling with opts' credentials.
func New(opts Options) *Provider {
	if opts.Timeout <= 0 {
		opts.Timeout = call.DefaultTimeout
	}
	p := &Provider{
		opts:      opts,
		cred:      common.NewCredential(opts.SecretID, opts.SecretKey),
		limiter:   opts.Limiter,
		rnd:       opts.Rand,
		transport: opts.Transport,
		clients:   map[clientKey]*common.Client{},
	}
	if p.limiter == nil {
		p.limiter = ratelimit.NewLocal(DefaultRate)
	}
	if p.rnd == nil {
		p.rnd = rand.Reader
	}
	if p.transport == nil {
		p.transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	return p
}

// action is one API action.
type action struct{ service, version, name string }

func (a action) api() string { return a.service + "." + a.name }

func (a action) request() *tchttp.BaseRequest { return newRequest(a.service, a.version, a.name) }

// sendFunc makes one call for user with pw ("" when the API makes it) and
// returns the password the API reports, if any.
type sendFunc func(ctx context.Context, c *common.Client, user, pw string) (string, error)

// Reset sets new passwords for users of acct (acct.Users when users is
// empty). Users are reset one call each, in order, except with TDSQL's batch
// action. An error about one user (no such user, frozen, password refused)
// is that user's UserResult.Err; an error about the call (credentials,
// rate, outcome unknown, ...) is returned for the whole reset when it hits
// the first call, and otherwise ends the request, the users not tried
// getting call.Skipped errors. Errors wrap a *bot.Error: use bot.ErrorCode
// and bot.ErrorMessage, or errors.As.
func (p *Provider) Reset(ctx context.Context, acct bot.Account, users []string) ([]bot.UserResult, error) {
	if len(users) == 0 {
		users = acct.Users
	}
	if len(users) == 0 {
		return nil, bot.Errorf(bot.EINVALID, "account %s names no user to reset", acct.Name)
	}
	rule, ok := Rule(acct.Provider)
	if !ok {
		return nil, bot.Errorf(bot.EINVALID, "account %s: provider %q is not a Tencent Cloud API", acct.Name, acct.Provider)
	}
	if err := rule.CheckLength(acct.PasswordLength); err != nil {
		return nil, err
	}
	c, err := p.client(acct)
	if err != nil {
		return nil, err
	}
	switch acct.Provider {
	case CIAM:
		s, err := accountkind.SettingsOf[CIAMSettings](acct)
		if err != nil {
			return nil, err
		}
		if err := required(acct, "user_store_id", s.UserStoreID); err != nil {
			return nil, err
		}
		return p.each(ctx, c, acct, rule, users, setPassword, func(ctx context.Context, c *common.Client, user, pw string) (string, error) {
			req := &SetPasswordRequest{BaseRequest: setPassword.request(),
				UserStoreId: s.UserStoreID, UserId: user, Password: pw}
			return "", send(ctx, c, req, &EmptyResponse{BaseResponse: &tchttp.BaseResponse{}})
		})
	case TDSQL:
		s, err := accountkind.SettingsOf[TDSQLSettings](acct)
		if err != nil {
			return nil, err
		}
		if err := required(acct, "instance_id", s.InstanceID); err != nil {
			return nil, err
		}
		switch s.Action {
		case "", resetUserPassword.name:
			return p.each(ctx, c, acct, rule, users, resetUserPassword, func(ctx context.Context, c *common.Client, user, pw string) (string, error) {
				name, host := s.UserHost(user)
				req := &ResetUserPasswordRequest{BaseRequest: resetUserPassword.request(),
					InstanceId: s.InstanceID, UserName: name, Host: host, Password: pw}
				return "", send(ctx, c, req, &EmptyResponse{BaseResponse: &tchttp.BaseResponse{}})
			})
		case resetUsersPassword.name:
			return p.batch(ctx, c, acct, rule, users, s)
		}
		return nil, bot.Errorf(bot.EINVALID, "account %s: action %q is neither %s nor %s", acct.Name, s.Action, ActionResetUserPassword, ActionResetUsersPassword)
	case TCR:
		s, err := accountkind.SettingsOf[TCRSettings](acct)
		if err != nil {
			return nil, err
		}
		if err := required(acct, "registry_id", s.RegistryID); err != nil {
			return nil, err
		}
		return p.each(ctx, c, acct, rule, users, modifyServiceAccountPassword, func(ctx context.Context, c *common.Client, user, pw string) (string, error) {
			req := &ModifyServiceAccountPasswordRequest{BaseRequest: modifyServiceAccountPassword.request(),
				RegistryId: s.RegistryID, Name: user, Random: s.Random}
			if !s.Random {
				req.Password = &pw
			}
			resp := &ModifyServiceAccountPasswordResponse{BaseResponse: &tchttp.BaseResponse{}}
			if err := send(ctx, c, req, resp); err != nil {
				return "", err
			}
			if resp.Response == nil {
				return "", nil
			}
			return resp.Response.Password, nil
		})
	default: // CAM
		s, err := accountkind.SettingsOf[CAMSettings](acct)
		if err != nil {
			return nil, err
		}
		need := uint64(0)
		if s.NeedResetPassword {
			need = 1
		}
		return p.each(ctx, c, acct, rule, users, updateUser, func(ctx context.Context, c *common.Client, user, pw string) (string, error) {
			req := &UpdateUserRequest{BaseRequest: updateUser.request(),
				Name: user, ConsoleLogin: 1, Password: pw, NeedResetPassword: need}
			return "", send(ctx, c, req, &EmptyResponse{BaseResponse: &tchttp.BaseResponse{}})
		})
	}
}

// The actions, from the API documents.
var (
	setPassword                  = action{"ciam", VersionCIAM, "SetPassword"}
	resetUserPassword            = action{"tdmysql", VersionTDSQL, ActionResetUserPassword}
	resetUsersPassword           = action{"tdmysql", VersionTDSQL, ActionResetUsersPassword}
	modifyServiceAccountPassword = action{"tcr", VersionTCR, "ModifyServiceAccountPassword"}
	updateUser                   = action{"cam", VersionCAM, "UpdateUser"}
)

// each resets users one call at a time.
func (p *Provider) each(ctx context.Context, c *common.Client, acct bot.Account, rule password.Rule, users []string, act action, fn sendFunc) ([]bot.UserResult, error) {
	results := make([]bot.UserResult, 0, len(users))
	for i, user := range users {
		secret, err := p.resetOne(ctx, c, acct, rule, user, act, fn)
		if err == nil {
			results = append(results, bot.UserResult{User: user, Password: secret})
			continue
		}
		if call.UserLevel(err) {
			results = append(results, bot.UserResult{User: user, Err: err})
			continue
		}
		if i == 0 {
			return nil, err
		}
		results = append(results, bot.UserResult{User: user, Err: err})
		for _, rest := range users[i+1:] {
			results = append(results, bot.UserResult{User: rest, Err: call.Skipped(acct.Name, rest, err)})
		}
		return results, nil
	}
	return results, nil
}

// random reports whether the API makes the password (TCR Random).
func random(acct bot.Account) bool {
	s, ok := acct.Settings.(TCRSettings)
	return ok && acct.Provider == TCR && s.Random
}

// resetOne resets one user, with one more try under a stronger rule when the
// API refuses the password.
func (p *Provider) resetOne(ctx context.Context, c *common.Client, acct bot.Account, rule password.Rule, user string, act action, fn sendFunc) (bot.Secret, error) {
	length := acct.PasswordLength
	for try := 0; ; try++ {
		var pw bot.Secret
		if !random(acct) {
			var err error
			if pw, err = password.Generate(p.rnd, rule, length); err != nil {
				return bot.Secret{}, err
			}
		}
		var got string
		err := p.policy(acct, act).Do(ctx, func(ctx context.Context) error {
			var err error
			got, err = fn(ctx, c, user, pw.Value())
			return err
		})
		if err == nil {
			if random(acct) {
				if got == "" {
					return bot.Secret{}, bot.Errorf(bot.EPROVIDER, "TCR changed the password of %s (account %s) but did not return it: ask again", user, acct.Name)
				}
				return bot.NewSecret(got), nil
			}
			return pw, nil
		}
		var apiErr *call.APIError
		if !errors.As(err, &apiErr) {
			return bot.Secret{}, err
		}
		k := kind(acct, apiErr.Code)
		if k == call.KindPasswordRejected && try == 0 && !random(acct) {
			rule, length = rule.Stronger(length)
			continue
		}
		return bot.Secret{}, call.Refuse(k, target(acct, []string{user}), apiErr)
	}
}

// batch resets every user of a TDSQL instance in one ResetUsersPassword
// call: all of them or none.
func (p *Provider) batch(ctx context.Context, c *common.Client, acct bot.Account, rule password.Rule, users []string, s TDSQLSettings) ([]bot.UserResult, error) {
	act := resetUsersPassword
	length := acct.PasswordLength
	for try := 0; ; try++ {
		secrets := make([]bot.Secret, len(users))
		infos := make([]ResetUserPasswordInfo, len(users))
		for i, user := range users {
			pw, err := password.Generate(p.rnd, rule, length)
			if err != nil {
				return nil, err
			}
			name, host := s.UserHost(user)
			secrets[i] = pw
			infos[i] = ResetUserPasswordInfo{UserName: name, Host: host, Password: pw.Value()}
		}
		err := p.policy(acct, act).Do(ctx, func(ctx context.Context) error {
			req := &ResetUsersPasswordRequest{BaseRequest: act.request(),
				InstanceId: s.InstanceID, Users: infos}
			return send(ctx, c, req, &ResetUsersPasswordResponse{BaseResponse: &tchttp.BaseResponse{}})
		})
		if err == nil {
			results := make([]bot.UserResult, len(users))
			for i, user := range users {
				results[i] = bot.UserResult{User: user, Password: secrets[i]}
			}
			return results, nil
		}
		var apiErr *call.APIError
		if !errors.As(err, &apiErr) {
			return nil, err
		}
		k := kind(acct, apiErr.Code)
		if k == call.KindPasswordRejected && try == 0 {
			rule, length = rule.Stronger(length)
			continue
		}
		return nil, call.Refuse(k, target(acct, users), apiErr)
	}
}

func (p *Provider) policy(acct bot.Account, act action) call.Policy {
	return call.Policy{
		API:     act.api(),
		Account: acct.Name,
		Limiter: p.limiter,
		Key:     ratelimit.Key(act.api(), p.opts.SecretID),
		Timeout: p.opts.Timeout,
		Retries: p.opts.Retries,
		Backoff: p.opts.Backoff,
		Retryable: func(e *call.APIError) bool {
			return e.Status >= 500 || kind(acct, e.Code).Retryable()
		},
	}
}

// client returns the SDK client for acct's region, endpoint and scheme.
func (p *Provider) client(acct bot.Account) (*common.Client, error) {
	endpoint := cmp.Or(acct.Endpoint, p.opts.Endpoint)
	scheme := strings.ToLower(cmp.Or(acct.Scheme, p.opts.Scheme, "https"))
	if scheme != "https" && scheme != "http" {
		return nil, bot.Errorf(bot.EINVALID, "account %s: scheme %q is neither https nor http", acct.Name, scheme)
	}
	if acct.Region == "" && acct.Provider != CAM {
		return nil, bot.Errorf(bot.EINVALID, "account %s has no region", acct.Name)
	}
	k := clientKey{acct.Region, endpoint, scheme}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := p.clients[k]; c != nil {
		return c, nil
	}
	prof := profile.NewClientProfile()
	prof.HttpProfile.ReqMethod = "POST" // the parameters, password included, go in the body
	prof.HttpProfile.Scheme = strings.ToUpper(scheme)
	prof.HttpProfile.Endpoint = endpoint
	// The attempt's context ends first; the client's own timeout is a backstop.
	prof.HttpProfile.ReqTimeout = int(p.opts.Timeout/time.Second) + 5
	prof.Language = "en-US"
	// Retries are package call's: the SDK's would resend unknown outcomes.
	prof.NetworkFailureMaxRetries, prof.RateLimitExceededMaxRetries = 0, 0
	c := common.NewCommonClient(p.cred, acct.Region, prof)
	c.WithHttpTransport(call.Transport(p.transport))
	p.clients[k] = c
	return c, nil
}

// send makes one SDK call and turns its error into what call.Policy.Do
// expects: an *call.APIError holding only the code for an API answer, the
// transport failure otherwise.
func send(ctx context.Context, c *common.Client, req tchttp.Request, resp tchttp.Response) error {
	req.SetContext(ctx)
	err := c.Send(req, resp)
	if err == nil {
		return nil
	}
	var sdkErr *tcerr.TencentCloudSDKError
	if !errors.As(err, &sdkErr) {
		return err
	}
	switch {
	case sdkErr.Code == "ClientError.HttpStatusCodeError":
		return &call.APIError{RequestID: sdkErr.RequestId} // Do fills in the status
	case sdkErr.Code == "ClientError.ParseJsonError", sdkErr.Code == "ClientError.IOError":
		return call.ErrUnreadable // its message quotes the body
	case strings.HasPrefix(sdkErr.Code, "ClientError."):
		return sdkErr // no answer the bot could read
	}
	return &call.APIError{Code: sdkErr.Code, RequestID: sdkErr.RequestId}
}

// required refuses an account built by hand without a key its kind
// requires.
func required(acct bot.Account, key, value string) error {
	if value == "" {
		return bot.Errorf(bot.EINVALID, "account %s has no %s", acct.Name, key)
	}
	return nil
}
