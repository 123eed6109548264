package call

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"syscall"
	"time"

	"resetbot/bot"
)

// Limiter is waited on before every attempt (ratelimit.Limiter,
// ratelimit.Local).
type Limiter interface {
	Wait(ctx context.Context, key string) error
}

// Defaults for a Policy's zero fields.
const (
	DefaultTimeout = 10 * time.Second
	DefaultRetries = 3
)

// APIError is an answer of a cloud API that refused a call. It holds no text
// from the answer but the code, so it is safe to log.
type APIError struct {
	API       string // "cam.UpdateUser"
	Code      string // the API's error code, or "HTTP 503" for a bare status
	RequestID string
	Status    int // HTTP status, 0 if unknown
	Attempts  int // attempts made, retries included
}

func (e *APIError) Error() string {
	s := e.API + " answered " + e.Code
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	if e.Attempts > 1 {
		s += fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	return s
}

// ErrUnreadable is what a send function returns (wrapped or not) for an
// answer it could not read. Do treats it as an HTTP error when the status was
// 5xx, and as no answer otherwise.
var ErrUnreadable = errors.New("the answer could not be read")

// TransportError is a call that got no usable answer, described without the
// HTTP client's text.
type TransportError struct {
	API    string
	Reason string // "connection refused", "no answer within 10s", ...
	Sent   bool   // the request was fully written
}

func (e *TransportError) Error() string {
	if e.Sent {
		return e.API + " was sent, then " + e.Reason
	}
	return e.API + " was not sent: " + e.Reason
}

// Policy says how calls of one API action under one credential are sent.
type Policy struct {
	API     string  // "cam.UpdateUser", for errors
	Account string  // the config account, for messages
	Limiter Limiter // nil: no limit
	Key     string  // the limiter's key (ratelimit.Key)
	Timeout time.Duration
	Retries int // further attempts after the first; < 0: none
	// Backoff is the pause before retry n (1, 2, ...); nil: Backoff.
	Backoff func(n int) time.Duration
	// Retryable tells which API answers are worth another attempt; nil:
	// none.
	Retryable func(*APIError) bool
}

// Backoff is exponential from 200ms, capped at 5s, with jitter over the
// upper half so that replicas retrying together spread out.
func Backoff(n int) time.Duration {
	d := 200 * time.Millisecond << min(n-1, 5)
	d = min(d, 5*time.Second)
	return d/2 + rand.N(d/2+1)
}

// Do runs send until it succeeds, fails for good, or its outcome becomes
// unknown. send makes the call with the context it is given and returns nil,
// an *APIError for an API refusal, or any other error when no usable answer
// came; its HTTP client must use Transport (or Bind) so that Do can tell
// whether the request was sent.
//
// Do returns nil; the last *APIError (final, or retryable with the retries
// spent); or an error wrapping a *bot.Error: EUNKNOWN when a request was sent
// and no answer came, EUNAVAILABLE when nothing could be sent (the message
// says so), each wrapping a *TransportError or the limiter's error as the
// cause.
func (p Policy) Do(ctx context.Context, send func(ctx context.Context) error) error {
	err := p.do(ctx, send)
	if t, ok := ctx.Value(traceKey{}).(*Trace); ok && t.Done != nil {
		t.Done(p.API, p.result(err))
	}
	return err
}

func (p Policy) do(ctx context.Context, send func(ctx context.Context) error) error {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	retries := p.Retries
	if retries == 0 {
		retries = DefaultRetries
	}
	retries = max(retries, 0)
	backoff := p.Backoff
	if backoff == nil {
		backoff = Backoff
	}
	for n := 0; ; n++ {
		if n > 0 {
			if err := sleep(ctx, backoff(n)); err != nil {
				return p.notSent(err)
			}
		}
		if p.Limiter != nil {
			if err := p.Limiter.Wait(ctx, p.Key); err != nil {
				return p.notSent(fmt.Errorf("rate limit wait: %w", err))
			}
		}
		a, err := p.attempt(ctx, timeout, send)
		if err == nil {
			return nil
		}
		if status := int(a.status.Load()); status >= 500 && errors.Is(err, ErrUnreadable) {
			err = &APIError{Status: status}
		}
		var apiErr *APIError
		if errors.As(err, &apiErr) {
			apiErr.API, apiErr.Attempts = p.API, n+1
			if apiErr.Status == 0 {
				apiErr.Status = int(a.status.Load())
			}
			if apiErr.Code == "" {
				apiErr.Code = fmt.Sprintf("HTTP %d", apiErr.Status)
			}
			if n < retries && p.Retryable != nil && p.Retryable(apiErr) {
				continue
			}
			return apiErr
		}
		te := &TransportError{API: p.API, Reason: Describe(err, timeout), Sent: a.sent.Load()}
		if te.Sent {
			return fmt.Errorf("%w: %w", &bot.Error{
				Code:    bot.EUNKNOWN,
				Message: "outcome unknown for " + p.Account + ": check the account before asking again",
			}, te)
		}
		if ctx.Err() != nil {
			return p.notSent(fmt.Errorf("%w: %w", te, ctx.Err()))
		}
		if n >= retries {
			return p.notSent(te)
		}
	}
}

// Result is how one call that Do ran ended, in a word: never the API's
// text, so that it can label a metric.
type Result string

// Every Result.
const (
	ResultOK          Result = "ok"
	ResultRefused     Result = "refused"     // the API refused it for good (an *APIError)
	ResultTransient   Result = "transient"   // the API was throttled or failed, past the retries
	ResultUnknown     Result = "unknown"     // sent, and no answer came (EUNKNOWN)
	ResultUnreachable Result = "unreachable" // nothing could be sent (EUNAVAILABLE)
)

// Results lists every Result.
var Results = []Result{ResultOK, ResultRefused, ResultTransient, ResultUnknown, ResultUnreachable}

// Trace is told how each call Do runs under a context carrying it ends, as
// net/http/httptrace's ClientTrace is told about requests: the composition
// root counts cloud calls without every provider taking a metrics option.
type Trace struct {
	// Done gets the call's Policy.API ("cam.UpdateUser") and its result.
	Done func(api string, result Result)
}

type traceKey struct{}

// WithTrace returns ctx carrying t: every Do under it reports to t.
func WithTrace(ctx context.Context, t *Trace) context.Context {
	return context.WithValue(ctx, traceKey{}, t)
}

func (p Policy) result(err error) Result {
	var apiErr *APIError
	switch {
	case err == nil:
		return ResultOK
	case errors.As(err, &apiErr):
		if p.Retryable != nil && p.Retryable(apiErr) {
			return ResultTransient
		}
		return ResultRefused
	case bot.ErrorCode(err) == bot.EUNKNOWN:
		return ResultUnknown
	}
	return ResultUnreachable
}

func (p Policy) attempt(ctx context.Context, timeout time.Duration, send func(context.Context) error) (*attempt, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ctx, a := track(ctx)
	err := send(ctx)
	return a, err
}

func (p Policy) notSent(cause error) error {
	msg := "the cloud API could not be reached, nothing was changed for " + p.Account + ": try again later"
	if errors.Is(cause, context.Canceled) || errors.Is(cause, context.DeadlineExceeded) {
		msg = "the reset of " + p.Account + " was not sent in time, nothing was changed: try again"
	}
	return fmt.Errorf("%w: %w", &bot.Error{Code: bot.EUNAVAILABLE, Message: msg, Retryable: true}, cause)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Describe names the class of a transport failure without quoting it.
func Describe(err error, timeout time.Duration) string {
	var dnsErr *net.DNSError
	var unknownAuthority x509.UnknownAuthorityError
	var certInvalid x509.CertificateInvalidError
	var hostname x509.HostnameError
	var recordHeader tls.RecordHeaderError
	var netErr net.Error
	switch {
	case errors.Is(err, ErrUnreadable):
		return "the answer could not be read"
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %s", timeout)
	case errors.Is(err, context.Canceled):
		return "the call was cancelled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the connection closed without a complete answer"
	case errors.As(err, &dnsErr):
		return "the API's host name did not resolve"
	case errors.As(err, &unknownAuthority), errors.As(err, &certInvalid), errors.As(err, &hostname),
		errors.As(err, &recordHeader):
		return "the API's TLS certificate was not accepted"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "a network timeout"
	}
	return fmt.Sprintf("a transport error (%T)", err)
}

// attempt records what one attempt did on the wire.
type attempt struct {
	sent   atomic.Bool
	status atomic.Int32
}

type attemptKey struct{}

func track(ctx context.Context) (context.Context, *attempt) {
	a := &attempt{}
	ctx = context.WithValue(ctx, attemptKey{}, a)
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				a.sent.Store(true)
			}
		},
	})
	return ctx, a
}

// Transport wraps base (nil: http.DefaultTransport) so that calls made under
// Do record the HTTP status of their answer.
func Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return transport{base: base}
}

type transport struct{ base http.RoundTripper }

func (t transport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if a, ok := r.Context().Value(attemptKey{}).(*attempt); ok && resp != nil {
		a.sent.Store(true)
		a.status.Store(int32(resp.StatusCode))
	}
	return resp, err
}

// Bind is Transport for SDKs that build requests without a context (the
// Alibaba Cloud SDK): every request goes out under ctx, the context Do gave
// the attempt, so it gets the attempt's deadline and tracing.
func Bind(ctx context.Context, base http.RoundTripper) http.RoundTripper {
	return bound{ctx: ctx, next: Transport(base)}
}

type bound struct {
	ctx  context.Context
	next http.RoundTripper
}

func (b bound) RoundTrip(r *http.Request) (*http.Response, error) {
	return b.next.RoundTrip(r.WithContext(b.ctx))
}
