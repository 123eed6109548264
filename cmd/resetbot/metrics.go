package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"resetbot/approvals"
	"resetbot/bot"
	"resetbot/providers/call"
)

// metrics backs bot.Metrics with Prometheus, and counts what the bot asks
// of the outside: chat APIs, cloud APIs, Redis, and the HTTP answers it
// gives. Every label value is a word of the code or of config (an event
// kind, a state, a platform, a provider key, an API method, a result
// class, a route pattern): nothing a person typed, never a password, a
// reason, a user or a request ID.
//
// Every series whose labels are known at start exists from the start, at
// zero: a counter that first appears at 1 is invisible to rate(), and so
// to an alert.
type metrics struct {
	events      *prometheus.CounterVec
	executions  *prometheus.HistogramVec
	decisions   *prometheus.HistogramVec
	reveals     prometheus.Histogram
	redisErrors *prometheus.CounterVec
	chatCalls   *prometheus.CounterVec
	cloudCalls  *prometheus.CounterVec
	httpAnswers *prometheus.CounterVec
	httpSeconds *prometheus.HistogramVec

	chatSeen sync.Map // platform + " " + method: its results exist
}

var _ bot.Metrics = (*metrics)(nil)

// metricsOptions are the label values known at start.
type metricsOptions struct {
	Providers []bot.ProviderKey // the provider keys of the configured clouds
	Routes    []string          // the HTTP server's route patterns known before the chat adapters register theirs
}

// The classes of a failed Redis command.
const (
	redisConnection = "connection" // no answer: network, timeout, a full pool, a closed client
	redisReply      = "reply"      // Redis answered with an error (LOADING, READONLY, MOVED, ...)
	// a change no replica confirmed in time (WAIT, redis.sentinel.min_replicas)
	redisUnreplicated = "unreplicated"
)

// decisionBuckets span a quick approval (seconds) to a request's longest
// wait (a day).
var decisionBuckets = []float64{5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 43200, 86400}

// botMetrics is a registry of the bot's metrics, as serve and the
// playground serve them: the Go and process collectors, newMetrics's
// series (providers' and routes' at zero), the hook on rdb that counts the
// Redis commands that fail, and the open requests counted in store.
func botMetrics(rdb redis.UniversalClient, store *approvals.Store, people []bot.Person,
	providers map[bot.ProviderKey]bot.Provider, routes ...string) (*prometheus.Registry, *metrics) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := newMetrics(reg, metricsOptions{Providers: slices.Sorted(maps.Keys(providers)), Routes: routes})
	rdb.AddHook(m.redisHook())
	reg.MustRegister(newRequestsCollector(store, people, 5*time.Second))
	return reg, m
}

func newMetrics(reg prometheus.Registerer, o metricsOptions) *metrics {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resetbot_events_total",
			Help: "Workflow events by kind (requested, voted, refused, approved, denied, expired, succeeded, failed, delivered, review_overdue, rotation_failed, ...).",
		}, []string{"event"}),
		executions: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "resetbot_provider_call_seconds",
			Help:    "Time of one reset through a cloud provider, by provider and result (ok, error).",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 10),
		}, []string{"provider", "result"}),
		decisions: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "resetbot_decision_seconds",
			Help:    "Time from a request's ask to its decision: approved, denied, or expired unapproved.",
			Buckets: decisionBuckets,
		}, []string{"decision"}),
		reveals: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "resetbot_reveal_seconds",
			Help:    "Time from a request's approval to its requester being shown the new password.",
			Buckets: decisionBuckets,
		}),
		redisErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resetbot_redis_errors_total",
			Help: "Redis commands that failed, by class: connection (no answer), reply (an error answer) or unreplicated (a change fewer replicas confirmed in time than redis.sentinel.min_replicas asks).",
		}, []string{"class"}),
		chatCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resetbot_chat_api_calls_total",
			Help: "Chat platform API calls, by platform, method (Slack's Web API method, Discord's route) and result (ok, refused, rate_limited, server_error, timeout, network).",
		}, []string{"platform", "method", "result"}),
		cloudCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resetbot_cloud_api_calls_total",
			Help: "Cloud API calls, retries included in one, by provider and result (ok, refused, transient, unknown, unreachable).",
		}, []string{"provider", "result"}),
		httpAnswers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resetbot_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "code"}),
		httpSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "resetbot_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"route"}),
	}
	reg.MustRegister(m.events, m.executions, m.decisions, m.reveals, m.redisErrors,
		m.chatCalls, m.cloudCalls, m.httpAnswers, m.httpSeconds, buildInfo())
	for _, k := range bot.EventKinds {
		m.events.WithLabelValues(string(k))
	}
	for _, d := range []bot.State{bot.StateApproved, bot.StateDenied, bot.StateExpired} {
		m.decisions.WithLabelValues(string(d))
	}
	for _, c := range []string{redisConnection, redisReply, redisUnreplicated} {
		m.redisErrors.WithLabelValues(c)
	}
	for _, p := range o.Providers {
		for _, r := range []string{"ok", "error"} {
			m.executions.WithLabelValues(string(p), r)
		}
		for _, r := range call.Results {
			m.cloudCalls.WithLabelValues(string(p), string(r))
		}
	}
	m.routes(append(o.Routes, routeUnmatched)...)
	return m
}

// httpCodes are the status codes the bot's routes answer with: each
// route's answers exist at zero for these from the start.
var httpCodes = []string{"200", "400", "401", "403", "404", "405", "413", "429", "500", "503"}

// routes makes each route's series exist, at zero.
func (m *metrics) routes(patterns ...string) {
	for _, r := range patterns {
		m.httpSeconds.WithLabelValues(r)
		for _, c := range httpCodes {
			m.httpAnswers.WithLabelValues(r, c)
		}
	}
}

func (m *metrics) Event(kind bot.EventKind) { m.events.WithLabelValues(string(kind)).Inc() }

func (m *metrics) Execution(provider bot.ProviderKey, d time.Duration, ok bool) {
	result := "ok"
	if !ok {
		result = "error"
	}
	m.executions.WithLabelValues(string(provider), result).Observe(d.Seconds())
}

func (m *metrics) Decided(decision bot.State, d time.Duration) {
	m.decisions.WithLabelValues(string(decision)).Observe(max(d, 0).Seconds())
}

func (m *metrics) Revealed(d time.Duration) { m.reveals.Observe(max(d, 0).Seconds()) }

// buildInfo is resetbot_build_info: 1, labelled with the version and the
// Go version the binary was built with.
func buildInfo() prometheus.Collector {
	version := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			version = v
		} else {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					version = "devel-" + s.Value[:12]
				}
			}
		}
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "resetbot_build_info",
		Help:        "1, labelled with the bot's version and the Go version it was built with.",
		ConstLabels: prometheus.Labels{"version": version, "go_version": runtime.Version()},
	})
	g.Set(1)
	return g
}

// routeUnmatched is the route of a request no pattern matched: its path is
// not a label, since anyone can send any path.
const routeUnmatched = "unmatched"

// instrument counts next's answers by route pattern (as the ServeMux
// matched it, never the raw path) and status, and times them.
func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		route := r.Pattern // set by the ServeMux on r
		if route == "" {
			route = routeUnmatched
		}
		m.httpSeconds.WithLabelValues(route).Observe(time.Since(start).Seconds())
		m.httpAnswers.WithLabelValues(route, httpCode(rec.code)).Inc()
	})
}

func httpCode(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code)
}

type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.code, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// redisHook counts the Redis commands that fail. It sits on the client, so
// every user of Redis (the store, the rate limiter, readiness) is counted
// in one place: a command that answers nil (redis.Nil) did not fail, one
// whose caller gave up (its context ended) is not Redis's fault, an answer
// the bot expects and acts on (expectedReply) is none, and a refused step of a new
// connection's handshake (CLIENT SETINFO on an older Redis) is ignored by
// go-redis.
type redisHook struct{ m *metrics }

var _ redis.Hook = redisHook{}

func (m *metrics) redisHook() redis.Hook { return redisHook{m} }

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd) // set on cmd by the caller, after the hooks
		h.count(ctx, cmd, err)
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, c := range cmds {
			h.count(ctx, c, c.Err())
		}
		return err
	}
}

func (h redisHook) count(ctx context.Context, cmd redis.Cmder, err error) {
	name := cmd.Name()
	if err == nil && name == "wait" && unreplicated(cmd) {
		h.m.redisErrors.WithLabelValues(redisUnreplicated).Inc()
		return
	}
	if err == nil || errors.Is(err, redis.Nil) || ctx.Err() != nil {
		return
	}
	if name == "hello" || name == "client" {
		return // a new connection's handshake, whose refusals go-redis ignores
	}
	var reply redis.Error
	if errors.As(err, &reply) {
		if expectedReply(name, reply.Error()) {
			return
		}
		h.m.redisErrors.WithLabelValues(redisReply).Inc()
		return
	}
	h.m.redisErrors.WithLabelValues(redisConnection).Inc()
}

// expectedReply reports whether an error answer is one the bot asks for
// and acts on, not a failure: NOSCRIPT (the script is loaded), BUSYGROUP
// (the consumer group it creates exists), NOGROUP (it creates the group),
// and XINFO's "no such key" (a stream not written yet holds no event).
func expectedReply(name, msg string) bool {
	for _, p := range []string{"NOSCRIPT", "BUSYGROUP", "NOGROUP"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return name == "xinfo" && strings.Contains(msg, "no such key")
}

// unreplicated reports whether a WAIT answered that fewer replicas than it
// asked for confirmed the connection's writes.
func unreplicated(cmd redis.Cmder) bool {
	args := cmd.Args()
	if len(args) < 2 {
		return false
	}
	want, err := strconv.ParseInt(fmt.Sprint(args[1]), 10, 64)
	if err != nil {
		return false
	}
	var got int64
	switch c := cmd.(type) {
	case *redis.Cmd:
		got, err = c.Int64()
	case *redis.IntCmd:
		got, err = c.Result()
	default:
		return false
	}
	return err == nil && got < want
}

// tracedProviders wraps each provider so that the cloud API calls of its
// resets are counted under the account's provider key.
func (m *metrics) tracedProviders(ps map[bot.ProviderKey]bot.Provider) map[bot.ProviderKey]bot.Provider {
	out := make(map[bot.ProviderKey]bot.Provider, len(ps))
	for k, p := range ps {
		out[k] = tracedProvider{Provider: p, m: m}
	}
	return out
}

type tracedProvider struct {
	bot.Provider
	m *metrics
}

func (p tracedProvider) Reset(ctx context.Context, acct bot.Account, users []string) ([]bot.UserResult, error) {
	ctx = call.WithTrace(ctx, &call.Trace{Done: func(_ string, r call.Result) {
		p.m.cloudCalls.WithLabelValues(string(acct.Provider), string(r)).Inc()
	}})
	return p.Provider.Reset(ctx, acct, users)
}
