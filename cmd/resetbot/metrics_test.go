package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/redis/go-redis/v9"

	"resetbot/adapters/auditwebhook/webhooktest"
	"resetbot/adapters/slack/slacktest"
	"resetbot/bot"
	"resetbot/internal/redistest"
	"resetbot/internal/testkit"
	"resetbot/providers/call"
	"resetbot/providers/emulator"
	"resetbot/providers/tencent"
)

// scrape is one /metrics answer, by family name.
type scrape map[string]*dto.MetricFamily

func mustScrape(t *testing.T, addr string) scrape {
	t.Helper()
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d", res.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value is the series of name with exactly labels (name=value pairs): a
// counter's or gauge's value, a histogram's count; ok false when absent.
func (s scrape) value(name string, labels ...string) (float64, bool) {
	f := s[name]
	if f == nil {
		return 0, false
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
next:
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(want) {
			continue
		}
		for _, l := range m.GetLabel() {
			if v, ok := want[l.GetName()]; !ok || v != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// has reports whether a series named name (a family, or a histogram's
// _bucket, _sum or _count) is in the scrape.
func (s scrape) has(name string) bool {
	if _, ok := s[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if f, ok := s[strings.TrimSuffix(name, suffix)]; ok && strings.HasSuffix(name, suffix) && f.GetType() == dto.MetricType_HISTOGRAM {
			return true
		}
	}
	return false
}

// labelValues are every label value in the scrape, for leak checks.
func (s scrape) labelValues() []string {
	var out []string
	for _, f := range s {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				out = append(out, l.GetValue())
			}
		}
	}
	return out
}

// metricsWorld is serve's server on real Redis, Slack's fake and the
// Tencent Cloud emulator, serving on a free port.
type metricsWorld struct {
	srv  *server
	addr string
	log  *testkit.Log
}

const metricsWebhookSecret = "SECRET-audit-webhook-of-the-metrics-test"

func startMetricsWorld(t *testing.T) *metricsWorld {
	t.Helper()
	_, prefix := redistest.Client(t)
	return startWorldOn(t, redistest.Addr(t), prefix, worldOptions{})
}

// worldOptions change a world: more config, and a cloud that does more
// than the emulator (wrapping it).
type worldOptions struct {
	yaml  string
	cloud func(http.Handler) http.Handler
}

// startWorldOn is the same world on the Redis at addr (redis.url), under
// prefix; it leaves the keys behind.
func startWorldOn(t *testing.T, addr, prefix string, o worldOptions) *metricsWorld {
	t.Helper()
	fake := slacktest.NewServer(t, "xoxb-test-token", "")
	fake.AddChannel(slacktest.Channel{ID: "C0APPROVALS", Member: true})
	emu := emulator.New(emulator.Options{TencentSecretID: serveEnv("TENCENTCLOUD_SECRET_ID"), TencentSecretKey: serveEnv("TENCENTCLOUD_SECRET_KEY")})
	var api http.Handler = emu
	if o.cloud != nil {
		api = o.cloud(emu)
	}
	cloud := httptest.NewServer(api)
	t.Cleanup(cloud.Close)
	yaml := o.yaml + strings.NewReplacer("%REDIS%", addr, "%PREFIX%", prefix, "http://127.0.0.1:1/api/", fake.APIURL(),
		`secret_key: "${TENCENTCLOUD_SECRET_KEY}"`, `secret_key: "${TENCENTCLOUD_SECRET_KEY}"`+"\n  endpoint: \""+
			strings.TrimPrefix(cloud.URL, "http://")+"\"\n  scheme: http").Replace(serveYAML)
	// with the audit webhook, whose lag the alerts read
	recv := webhooktest.New(t, bot.NewSecret(metricsWebhookSecret))
	yaml += "audit:\n  webhook: {url: \"" + recv.URL + "\", secret: \"${AUDIT_WEBHOOK_SECRET}\"}\n"
	env := func(k string) string {
		if k == "AUDIT_WEBHOOK_SECRET" {
			return metricsWebhookSecret
		}
		return serveEnv(k)
	}
	w := &metricsWorld{log: &testkit.Log{}}
	cfg, err := loadConfigFile(writeConfig(t, yaml), env, w.log)
	if err != nil {
		t.Fatalf("config: %v\n%s", err, w.log.String())
	}
	for _, a := range cfg.Accounts() {
		if err := emu.AddAccount(a); err != nil {
			t.Fatal(err)
		}
	}
	if w.srv, err = build(cfg, slog.New(slog.NewJSONHandler(w.log, nil))); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- w.srv.run(ctx, outW); outW.Close() }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		w.srv.close()
		if t.Failed() {
			t.Logf("serve's log:\n%s", w.log.String())
		}
	})
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	w.addr = readLines(outR).waitFor(wctx, t, regexp.MustCompile(`listening on (\S+)`))[1]
	go func() { _, _ = io.Copy(io.Discard, outR) }()
	return w
}

// TestMetricsFromTheStartAndAfterAReset: /metrics shows every series whose
// labels are known at start, at zero, before any request; an ask, an
// approval and a reveal move the counters and histograms; no label value
// holds a password, a reason, a request ID or a person.
func TestMetricsFromTheStartAndAfterAReset(t *testing.T) {
	w := startMetricsWorld(t)
	start := mustScrape(t, w.addr)

	type series struct {
		name   string
		labels []string
		want   float64
	}
	var atStart []series
	for _, k := range bot.EventKinds {
		atStart = append(atStart, series{"resetbot_events_total", []string{"event", string(k)}, 0})
	}
	for _, d := range []string{"approved", "denied", "expired"} {
		atStart = append(atStart, series{"resetbot_decision_seconds", []string{"decision", d}, 0})
	}
	for _, s := range []string{"pending", "approved", "offered", "executing"} {
		atStart = append(atStart, series{"resetbot_requests", []string{"state", s}, 0},
			series{"resetbot_requests_oldest_seconds", []string{"state", s}, 0})
	}
	for _, c := range []string{"connection", "reply", "unreplicated"} {
		atStart = append(atStart, series{"resetbot_redis_errors_total", []string{"class", c}, 0})
	}
	for _, k := range tencent.Kinds() {
		for _, r := range call.Results {
			atStart = append(atStart, series{"resetbot_cloud_api_calls_total", []string{"provider", string(k.Provider()), "result", string(r)}, 0})
		}
		for _, r := range []string{"ok", "error"} {
			atStart = append(atStart, series{"resetbot_provider_call_seconds", []string{"provider", string(k.Provider()), "result", r}, 0})
		}
	}
	for _, r := range []string{routeHealthz, routeReadyz, routeMetrics, routeUnmatched, "POST /slack/commands", "POST /slack/interactions"} {
		atStart = append(atStart, series{"resetbot_http_request_duration_seconds", []string{"route", r}, 0})
		for _, code := range []string{"200", "401", "403", "429", "500", "503"} {
			atStart = append(atStart, series{"resetbot_http_requests_total", []string{"route", r, "code", code}, 0})
		}
	}
	for _, method := range []string{"chat.postMessage", "chat.update", "views.open", "views.update", "response_url"} {
		for _, res := range chatResults {
			atStart = append(atStart, series{"resetbot_chat_api_calls_total", []string{"platform", "slack", "method", method, "result", res}, 0})
		}
	}
	atStart = append(atStart,
		series{"resetbot_reveal_seconds", nil, 0},
		series{"resetbot_redis_up", nil, 1})
	for _, s := range atStart {
		if got, ok := start.value(s.name, s.labels...); !ok || got != s.want {
			t.Errorf("at start, %s%v: got %v (present %v), want %v", s.name, s.labels, got, ok, s.want)
		}
	}
	if f := start["resetbot_build_info"]; f == nil || len(f.GetMetric()) != 1 || f.GetMetric()[0].GetGauge().GetValue() != 1 {
		t.Errorf("resetbot_build_info: got %v, want one series at 1", f)
	}

	// One request, asked, approved, revealed.
	const reason = "metrics-test-reason-7731"
	id, passwords := w.reset(t, reason)
	after := mustScrape(t, w.addr)

	for _, s := range []series{
		{"resetbot_events_total", []string{"event", "requested"}, 1},
		{"resetbot_events_total", []string{"event", "voted"}, 1},
		{"resetbot_events_total", []string{"event", "approved"}, 1},
		{"resetbot_events_total", []string{"event", "offered"}, 1},
		{"resetbot_events_total", []string{"event", "delivered"}, 1},
		{"resetbot_decision_seconds", []string{"decision", "approved"}, 1},
		{"resetbot_reveal_seconds", nil, 1},
		{"resetbot_cloud_api_calls_total", []string{"provider", "tencent.tdsql", "result", "ok"}, 1},
		{"resetbot_provider_call_seconds", []string{"provider", "tencent.tdsql", "result", "ok"}, 1},
		{"resetbot_chat_api_calls_total", []string{"platform", "slack", "method", "chat.postMessage", "result", "ok"}, 1},
		{"resetbot_http_requests_total", []string{"route", routeMetrics, "code", "200"}, 1},
	} {
		if got, _ := after.value(s.name, s.labels...); got < s.want {
			t.Errorf("after a reset, %s%v: got %v, want at least %v", s.name, s.labels, got, s.want)
		}
	}
	if got, _ := after.value("resetbot_chat_api_calls_total", "platform", "slack", "method", "chat.postMessage", "result", "refused"); got != 0 {
		t.Errorf("chat.postMessage refused: got %v, want 0 (its results exist at zero)", got)
	}

	// The calls the reset made were all known at start.
	for _, m := range after["resetbot_chat_api_calls_total"].GetMetric() {
		var platform, method string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "platform":
				platform = l.GetValue()
			case "method":
				method = l.GetValue()
			}
		}
		if !slices.Contains(chatMethods[bot.Platform(platform)], method) {
			t.Errorf("%s's %s was called but its series did not exist at start: add it to chatMethods", platform, method)
		}
	}

	secrets := append([]string{reason, id, "U0ALICE", "U0BOB", "alice", "bob", "xoxb-test-token", "tencent-secret-key-for-tests", metricsWebhookSecret}, passwords...)
	for _, v := range after.labelValues() {
		for _, s := range secrets {
			if strings.Contains(v, s) {
				t.Errorf("label value %q holds %q", v, s)
			}
		}
	}

	// Every metric the alerts and the dashboard read is served.
	for _, name := range append(alertMetricNames(t), dashboardMetricNames(t)...) {
		if !after.has(name) {
			t.Errorf("%s, read by deploy/prometheus or deploy/grafana, is not in /metrics", name)
		}
	}
}

// reset has alice ask for prod-db, giving reason, bob approve and alice
// reveal; it returns the request's ID and the passwords shown.
func (w *metricsWorld) reset(t *testing.T, reason string) (id string, passwords []string) {
	t.Helper()
	ctx := context.Background()
	alice := bot.Actor{Platform: bot.PlatformSlack, UserID: "U0ALICE"}
	reply := w.srv.svc.HandleText(ctx, alice, "prod-db "+reason)
	if reply.Err != nil || reply.Request == nil {
		t.Fatalf("ask: %v %s", reply.Err, reply.Text)
	}
	id = reply.Request.ID
	if r := w.srv.svc.HandleText(ctx, bot.Actor{Platform: bot.PlatformSlack, UserID: "U0BOB"}, "approve "+id); r.Err != nil {
		t.Fatalf("approve: %v %s", r.Err, r.Text)
	}
	waitState(t, w.srv, id, bot.StateOffered)
	err := w.srv.svc.Reveal(ctx, alice, id, func(_ context.Context, rs []bot.UserResult) error {
		for _, r := range rs {
			passwords = append(passwords, r.Password.Value())
		}
		return nil
	})
	if err != nil || len(passwords) == 0 {
		t.Fatalf("reveal: %v, %d passwords", err, len(passwords))
	}
	return id, passwords
}

func waitState(t *testing.T, srv *server, id string, want bot.State) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		r, err := srv.store.Get(ctx, id)
		if err == nil && r.State == want {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: got %s (%v), want %s", id, r.State, err, want)
		case <-tick.C:
		}
	}
}

var promql = parser.NewParser(parser.Options{})

// metricNames are the metric names expr selects; it fails the test when
// expr is not PromQL.
func metricNames(t *testing.T, where, expr string) []string {
	t.Helper()
	e, err := promql.ParseExpr(expr)
	if err != nil {
		t.Errorf("%s: %q is not PromQL: %v", where, expr, err)
		return nil
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names
}

// alertMetricNames parses the alerting rules as Prometheus does, and
// returns the metrics they read.
func alertMetricNames(t *testing.T) []string {
	t.Helper()
	groups, errs := rulefmt.ParseFile("../../deploy/prometheus/alerts.yaml", false, model.UTF8Validation, promql, slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		t.Fatalf("deploy/prometheus/alerts.yaml: %v", errors.Join(errs...))
	}
	var names []string
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			names = append(names, metricNames(t, r.Alert, r.Expr)...)
		}
	}
	return names
}

// dashboardMetricNames reads the dashboard's panels (rows' too) and
// returns the metrics their queries read; each must be PromQL.
func dashboardMetricNames(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../deploy/grafana/resetbot.json")
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var dash struct {
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("deploy/grafana/resetbot.json: %v", err)
	}
	var names []string
	var walk func([]json.RawMessage)
	walk = func(raw []json.RawMessage) {
		for _, r := range raw {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				t.Fatalf("a panel: %v", err)
			}
			for _, tg := range p.Targets {
				// Grafana's variables, as Prometheus would get them.
				expr := strings.NewReplacer("$__rate_interval", "1m", "$__interval", "1m").Replace(tg.Expr)
				names = append(names, metricNames(t, "panel "+p.Title, expr)...)
			}
			walk(p.Panels)
		}
	}
	walk(dash.Panels)
	if len(names) == 0 {
		t.Fatal("the dashboard reads no metric")
	}
	return names
}

// TestAlertsAreValidRules checks the alerting rules with Prometheus's own
// parser, and that each pages with a severity, a summary and a
// description, and waits a while (for) before firing.
func TestAlertsAreValidRules(t *testing.T) {
	groups, errs := rulefmt.ParseFile("../../deploy/prometheus/alerts.yaml", false, model.UTF8Validation, promql, slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		t.Fatalf("deploy/prometheus/alerts.yaml: %v", errors.Join(errs...))
	}
	var alerts []string
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			if r.For == 0 {
				t.Errorf("%s: no for", r.Alert)
			}
			if s := r.Labels["severity"]; s != "page" && s != "warning" {
				t.Errorf("%s: severity %q, want page or warning", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: want a summary and a description", r.Alert)
			}
		}
	}
	for _, want := range []string{"ResetbotExecutorStuck", "ResetbotChatAPIFailing", "ResetbotCloudAPIFailing",
		"ResetbotRedisUnreachable", "ResetbotReviewsOverdue", "ResetbotRotationFailing",
		"ResetbotRedisUnreplicated", "ResetbotAuditWebhookBehind"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("alert %s missing; have %v", want, alerts)
		}
	}
}

// TestRedisErrorsCounted: a command that gets no answer counts as a
// connection error, an error answer as a reply error, a WAIT that fewer
// replicas answered than it asked for as unreplicated; a nil answer, a
// NOSCRIPT (go-redis loads the script), a BUSYGROUP, XINFO of a stream not
// written yet and a caller that gave up do not.
func TestRedisErrorsCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg, metricsOptions{})
	client, prefix := redistest.Client(t)
	client.AddHook(m.redisHook())
	ctx := context.Background()
	if err := client.Get(ctx, prefix+"absent").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET absent: %v", err)
	}
	if err := redis.NewScript(`return 1`).Run(ctx, client, []string{prefix + "k"}).Err(); err != nil {
		t.Fatalf("script: %v", err) // EVALSHA's NOSCRIPT, then EVAL
	}
	if err := client.Do(ctx, "NOSUCHCOMMAND").Err(); err == nil {
		t.Fatal("an unknown command succeeded")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_ = client.Get(cctx, prefix+"k").Err()
	// answers the bot acts on: the group it creates exists; no stream yet
	for range 2 {
		_ = client.XGroupCreateMkStream(ctx, prefix+"stream", "g", "0").Err() // the second: BUSYGROUP
	}
	if err := client.XInfoGroups(ctx, prefix+"absent-stream").Err(); err == nil {
		t.Fatal("XINFO GROUPS of no stream succeeded")
	}
	// no replica: WAIT 1 answers 0; WAIT 0 is met
	_, err := client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, prefix+"k", "v", time.Minute)
		p.Do(ctx, "wait", 1, 10)
		p.Do(ctx, "wait", 0, 10)
		return nil
	})
	if err != nil {
		t.Fatalf("SET and WAIT: %v", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens there now
	down := redis.NewClient(&redis.Options{Addr: dead, MaxRetries: -1, DialTimeout: time.Second})
	defer down.Close()
	down.AddHook(m.redisHook())
	if err := down.Ping(ctx).Err(); err == nil {
		t.Fatal("PING to a closed port succeeded")
	}

	got := gather(t, reg)
	for class, want := range map[string]float64{"reply": 1, "connection": 1, "unreplicated": 1} {
		if v, _ := got.value("resetbot_redis_errors_total", "class", class); v != want {
			t.Errorf("redis errors of class %s: got %v, want %v", class, v, want)
		}
	}
}

func gather(t *testing.T, reg *prometheus.Registry) scrape {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	s := scrape{}
	for _, f := range fams {
		s[f.GetName()] = f
	}
	return s
}

// TestChatCallsClassified: each answer of a chat API lands in its result
// class, under a method name from a fixed vocabulary: Slack's method,
// Discord's route with IDs and tokens blanked.
func TestChatCallsClassified(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("answer") {
		case "ok":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"ok":true}`)
		case "refused":
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			fmt.Fprint(w, `{"ok":false,"error":"channel_not_found"}`)
		case "ratelimited":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"ok":false,"error":"ratelimited"}`)
		case "429":
			w.WriteHeader(http.StatusTooManyRequests)
		case "502":
			w.WriteHeader(http.StatusBadGateway)
		case "404":
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer api.Close()
	reg := prometheus.NewRegistry()
	m := newMetrics(reg, metricsOptions{})
	slackClient := &http.Client{Transport: m.chatTransport(bot.PlatformSlack, nil)}
	discordClient := &http.Client{Transport: m.chatTransport(bot.PlatformDiscord, nil)}
	const interactionToken = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzQ1Njc4OTA"
	for _, c := range []struct {
		client *http.Client
		method string
		path   string
		answer string
	}{
		{slackClient, "POST", "/api/chat.postMessage", "ok"},
		{slackClient, "POST", "/api/chat.postMessage", "refused"},
		{slackClient, "POST", "/api/chat.update", "ratelimited"},
		{slackClient, "POST", "/api/views.open", "502"},
		{slackClient, "POST", "/hooks/T0TEAM/B0HOOK/secretpart", "ok"},
		{discordClient, "POST", "/api/v10/channels/123456789012345678/messages", "ok"},
		{discordClient, "PATCH", "/api/v10/webhooks/42/" + interactionToken + "/messages/@original", "404"},
		{discordClient, "POST", "/api/v10/interactions/99/" + interactionToken + "/callback", "429"},
	} {
		req, _ := http.NewRequest(c.method, api.URL+c.path+"?answer="+c.answer, nil)
		res, err := c.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if c.answer == "refused" && !strings.Contains(string(body), "channel_not_found") {
			t.Errorf("the adapter lost Slack's answer: got %q", body)
		}
	}
	deadAPI := httptest.NewServer(http.NotFoundHandler())
	deadAPI.Close()
	if _, err := slackClient.Post(deadAPI.URL+"/api/auth.test", "", nil); err == nil {
		t.Fatal("a call to a closed server succeeded")
	}

	got := gather(t, reg)
	for _, c := range []struct{ platform, method, result string }{
		{"slack", "chat.postMessage", "ok"},
		{"slack", "chat.postMessage", "refused"},
		{"slack", "chat.update", "rate_limited"},
		{"slack", "views.open", "server_error"},
		{"slack", "response_url", "ok"},
		{"slack", "auth.test", "network"},
		{"discord", "POST /channels/:id/messages", "ok"},
		{"discord", "PATCH /webhooks/:id/:id/messages/@original", "refused"},
		{"discord", "POST /interactions/:id/:id/callback", "rate_limited"},
	} {
		if v, _ := got.value("resetbot_chat_api_calls_total", "platform", c.platform, "method", c.method, "result", c.result); v != 1 {
			t.Errorf("%s %s %s: got %v, want 1", c.platform, c.method, c.result, v)
		}
	}
	if v, ok := got.value("resetbot_chat_api_calls_total", "platform", "slack", "method", "chat.update", "result", "ok"); !ok || v != 0 {
		t.Errorf("chat.update ok: got %v (present %v), want 0: a method's results exist from the start", v, ok)
	}
	for _, v := range got.labelValues() {
		if strings.Contains(v, interactionToken) || strings.Contains(v, "secretpart") || strings.Contains(v, "123456789012345678") {
			t.Errorf("label value %q holds a token or an ID", v)
		}
	}
}
