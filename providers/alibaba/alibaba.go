package alibaba

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	alierrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"

	"resetbot/bot"
	"resetbot/providers/call"
	"resetbot/providers/internal/accountkind"
	"resetbot/providers/password"
	"resetbot/providers/ratelimit"
)

// The API, from the seed document.
const (
	Product  = "EHPC"
	Version  = "2018-04-12"
	Action   = "ModifyUserPasswords"
	MaxUsers = 100
	// DefaultRate is the API's documented limit, per action and credential.
	DefaultRate = 20
)

// Options configures a Provider.
type Options struct {
	AccessKeyID, AccessKeySecret string
	// Endpoint is host[:port] ("" for ehpc.<region>.aliyuncs.com); Scheme
	// is "https" (default) or "http". An account's own endpoint and scheme
	// win.
	Endpoint, Scheme string
	// Limiter is waited on before every attempt, keyed by action and a hash
	// of AccessKeyID; nil limits this process alone to DefaultRate.
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

// Provider resets passwords of E-HPC accounts. It is safe for
// concurrent use.
type Provider struct {
	opts      Options
	limiter   call.Limiter
	rnd       io.Reader
	transport http.RoundTripper
	sdkDebug  bool
}

var _ bot.Provider = (*Provider)(nil)

// New returns a Provider calling with opts' credentials.
func New(opts Options) *Provider {
	if opts.Timeout <= 0 {
		opts.Timeout = call.DefaultTimeout
	}
	p := &Provider{opts: opts, limiter: opts.Limiter, rnd: opts.Rand, transport: opts.Transport,
		sdkDebug: slices.Contains(strings.Split(os.Getenv("DEBUG"), ","), "sdk")}
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

// request is what one ModifyUserPasswords call needs.
type request struct {
	region, domain, scheme string
	cluster                string
	async                  bool
	users                  []string
}

// Reset sets new passwords for users of acct (acct.Users when users is
// empty) in one ModifyUserPasswords call. Users the API names in a
// PartFailure get an error in their UserResult, the others their password;
// an error for the whole call is returned as such. Errors wrap a *bot.Error:
// use bot.ErrorCode and bot.ErrorMessage, or errors.As.
func (p *Provider) Reset(ctx context.Context, acct bot.Account, users []string) ([]bot.UserResult, error) {
	req, err := p.check(acct, users)
	if err != nil {
		return nil, err
	}
	rule, length := rule, acct.PasswordLength
	for try := 0; ; try++ {
		secrets := make([]bot.Secret, len(req.users))
		for i := range secrets {
			if secrets[i], err = password.Generate(p.rnd, rule, length); err != nil {
				return nil, err
			}
		}
		var answer answer
		err := p.policy(acct).Do(ctx, func(ctx context.Context) error {
			var err error
			answer, err = p.send(ctx, req, secrets)
			return err
		})
		if err == nil {
			return success(req.users, secrets), nil
		}
		var apiErr *call.APIError
		if !errors.As(err, &apiErr) {
			return nil, err
		}
		if apiErr.Code == "PartFailure" {
			return partFailure(acct, req.users, secrets, answer.failed, apiErr), nil
		}
		k := kind(apiErr.Code, answer.aboutPassword)
		if k == call.KindPasswordRejected && try == 0 {
			rule, length = rule.Stronger(length)
			continue
		}
		return nil, call.Refuse(k, target(acct, req.users), apiErr)
	}
}

func (p *Provider) check(acct bot.Account, users []string) (request, error) {
	if acct.Provider != EHPC {
		return request{}, bot.Errorf(bot.EINVALID, "account %s: provider %q is not %s", acct.Name, acct.Provider, EHPC)
	}
	if p.sdkDebug {
		return request{}, bot.Errorf(bot.EINTERNAL, "the Alibaba Cloud SDK's debug output (DEBUG=sdk) can print passwords: unset DEBUG to reset %s", acct.Name)
	}
	if len(users) == 0 {
		users = acct.Users
	}
	if len(users) == 0 || len(users) > MaxUsers {
		return request{}, bot.Errorf(bot.EINVALID, "account %s: E-HPC resets 1 to %d users in one call, not %d", acct.Name, MaxUsers, len(users))
	}
	if err := rule.CheckLength(acct.PasswordLength); err != nil {
		return request{}, err
	}
	s, err := accountkind.SettingsOf[EHPCSettings](acct)
	if err != nil {
		return request{}, err
	}
	r := request{region: acct.Region, cluster: s.ClusterID, async: s.Async, users: users}
	if r.cluster == "" {
		return request{}, bot.Errorf(bot.EINVALID, "account %s has no cluster_id", acct.Name)
	}
	if r.region == "" {
		return request{}, bot.Errorf(bot.EINVALID, "account %s has no region", acct.Name)
	}
	r.domain = cmp.Or(acct.Endpoint, p.opts.Endpoint, "ehpc."+r.region+".aliyuncs.com")
	r.scheme = strings.ToLower(cmp.Or(acct.Scheme, p.opts.Scheme, "https"))
	if r.scheme != "https" && r.scheme != "http" {
		return request{}, bot.Errorf(bot.EINVALID, "account %s: scheme %q is neither https nor http", acct.Name, r.scheme)
	}
	return r, nil
}

// answer is what the bot reads of an error answer beyond its code, without
// keeping its text: the users a PartFailure names (only names that were
// sent), and whether an InvalidParams is about a password.
type answer struct {
	failed        []string
	aboutPassword bool
}

// send makes one call with a client of its own.
func (p *Provider) send(ctx context.Context, req request, secrets []bot.Secret) (answer, error) {
	config := sdk.NewConfig()
	config.AutoRetry = false // package call retries, and never an unknown outcome
	config.MaxRetryTime = 0
	config.Scheme = strings.ToUpper(req.scheme)
	config.Transport = call.Bind(ctx, p.transport)
	client, err := sdk.NewClientWithOptions(req.region, config,
		credentials.NewAccessKeyCredential(p.opts.AccessKeyID, p.opts.AccessKeySecret))
	if err != nil {
		return answer{}, err
	}
	r := requests.NewCommonRequest()
	r.Method = requests.POST
	r.Scheme = strings.ToUpper(req.scheme)
	r.Domain = req.domain
	r.Product = Product
	r.Version = Version
	r.ApiName = Action
	// The attempt's context ends first; the SDK's read timeout is a backstop.
	r.SetReadTimeout(p.opts.Timeout + 5*time.Second)
	r.FormParams["ClusterId"] = req.cluster
	r.FormParams["Async"] = strconv.FormatBool(req.async)
	for i, user := range req.users {
		n := strconv.Itoa(i + 1)
		r.FormParams["User."+n+".Name"] = user
		r.FormParams["User."+n+".Password"] = secrets[i].Value()
	}
	_, err = client.ProcessCommonRequest(r)
	if err == nil {
		return answer{}, nil
	}
	var serverErr *alierrors.ServerError
	if errors.As(err, &serverErr) {
		a := answer{aboutPassword: serverErr.ErrorCode() == "InvalidParams" && strings.Contains(serverErr.Message(), "Password")}
		switch serverErr.ErrorCode() {
		case "PartFailure", "AgentError.Account.UserChangePasswordFailure":
			a.failed = named(serverErr.Message(), req.users)
		}
		if serverErr.ErrorCode() == "" {
			return a, call.ErrUnreadable // an HTTP error, or no answer, as Do decides from the status
		}
		return a, &call.APIError{Code: serverErr.ErrorCode(), RequestID: serverErr.RequestId(), Status: serverErr.HttpStatus()}
	}
	var clientErr *alierrors.ClientError
	if errors.As(err, &clientErr) && clientErr.OriginError() != nil {
		return answer{}, clientErr.OriginError() // the SDK's wrapper hides its cause from errors.Is
	}
	return answer{}, err
}

// named returns the users of sent that msg names, in sent's order.
func named(msg string, sent []string) []string {
	_, list, ok := strings.Cut(msg, ": ")
	if !ok {
		return nil
	}
	names := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		names[strings.TrimSpace(n)] = true
	}
	var out []string
	for _, u := range sent {
		if names[u] {
			out = append(out, u)
		}
	}
	return out
}

func success(users []string, secrets []bot.Secret) []bot.UserResult {
	res := make([]bot.UserResult, len(users))
	for i, u := range users {
		res[i] = bot.UserResult{User: u, Password: secrets[i]}
	}
	return res
}

// partFailure gives the users the answer names an error and the others their
// password. When no sent name can be read from the answer, nobody knows
// which users changed: every user's outcome is unknown.
func partFailure(acct bot.Account, users []string, secrets []bot.Secret, failed []string, cause *call.APIError) []bot.UserResult {
	res := make([]bot.UserResult, len(users))
	for i, u := range users {
		switch {
		case len(failed) == 0:
			res[i] = bot.UserResult{User: u, Err: &bot.Error{Code: bot.EUNKNOWN,
				Message: "outcome unknown for " + acct.Name + " (user " + u + "): check the account before asking again"}}
		case slices.Contains(failed, u):
			res[i] = bot.UserResult{User: u, Err: call.Refuse(call.KindFailed, target(acct, []string{u}), cause)}
		default:
			res[i] = bot.UserResult{User: u, Password: secrets[i]}
		}
	}
	return res
}

func (p *Provider) policy(acct bot.Account) call.Policy {
	api := "ehpc." + Action
	return call.Policy{
		API:     api,
		Account: acct.Name,
		Limiter: p.limiter,
		Key:     ratelimit.Key(api, p.opts.AccessKeyID),
		Timeout: p.opts.Timeout,
		Retries: p.opts.Retries,
		Backoff: p.opts.Backoff,
		Retryable: func(e *call.APIError) bool {
			return e.Status >= 500 || kind(e.Code, false).Retryable()
		},
	}
}
