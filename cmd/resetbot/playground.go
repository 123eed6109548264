package main

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"resetbot/adapters/auditwebhook"
	"resetbot/adapters/console"
	"resetbot/adapters/pagerduty/pdtest"
	"resetbot/approvals"
	"resetbot/bot"
	"resetbot/config"
	"resetbot/providers"
	"resetbot/providers/emulator"
)

// playgroundYAML is the playground's config: sample people and one sample
// account per provider, checked by the same code as a real config.
//
//go:embed playground.yaml
var playgroundYAML []byte

// playground runs the bot in a console: embedded Redis, in-process
// emulators of the five cloud APIs and of PagerDuty, sample people and
// accounts, the audit log sent to an emulated SIEM, and /metrics.
func playground(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("playground", flag.ContinueOnError)
	fs.SetOutput(stderr)
	metricsAddr := fs.String("metrics", "127.0.0.1:0", "serve /metrics on `ADDR` (by default a free loopback port)")
	if err := fs.Parse(args); err != nil {
		return errQuiet
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The console, the SIEM emulator and the banner print from different
	// goroutines: each line is one Write, and one at a time.
	stdout = &lineWriter{w: stdout}

	rdb, closeRedis, err := embeddedRedis(100 * time.Millisecond)
	if err != nil {
		return err
	}
	defer closeRedis()
	store := approvals.New(rdb, approvals.Options{Prefix: "resetbot:", Poll: 200 * time.Millisecond})

	// The emulator of the five cloud APIs runs on a loopback TLS server in
	// this process, with credentials made up at each start; the real
	// providers call it, so every reset is a real signed API call.
	emuOpts := emulator.Options{
		TencentSecretID: "AKIDplayground", TencentSecretKey: randomHex(16),
		AlibabaAccessKeyID: "LTAIplayground", AlibabaAccessKeySecret: randomHex(16),
	}
	emu := emulator.New(emuOpts)
	cloud := httptest.NewTLSServer(emu)
	defer cloud.Close()
	// PagerDuty's emulator, in this process too: carol is on call for the
	// escalation policy of demo-tcr's on_call, and its service has an
	// incident, so her requests of demo-tcr are approved by PagerDuty.
	pd := pdtest.NewServer(playgroundPagerDutyToken)
	defer pd.Close()
	pd.SetOnCall(pdtest.OnCall{User: "PCAROL1", EscalationPolicy: "PDEMOPOLICY", Level: 1, Schedule: "PDEMOSCHED"})
	pd.SetIncidents(pdtest.Incident{ID: "PDEMOINC", Number: 42, Status: pdtest.Triggered, Service: "PDEMOSVC", Title: "db down"})
	env := map[string]string{
		"TENCENTCLOUD_SECRET_ID": emuOpts.TencentSecretID, "TENCENTCLOUD_SECRET_KEY": emuOpts.TencentSecretKey,
		"ALIBABA_CLOUD_ACCESS_KEY_ID": emuOpts.AlibabaAccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": emuOpts.AlibabaAccessKeySecret,
		"CLOUD_ENDPOINT":  strings.TrimPrefix(cloud.URL, "https://"),
		"PAGERDUTY_TOKEN": playgroundPagerDutyToken, "PAGERDUTY_API_URL": pd.URL,
	}
	cfg, err := config.LoadConsole(playgroundYAML, func(k string) string { return env[k] }, providers.Kinds())
	if err != nil {
		return reportLoad("playground.yaml", err, stderr)
	}
	var names []string
	for _, a := range cfg.Accounts() {
		if err := emu.AddAccount(a); err != nil {
			return fmt.Errorf("seed the emulator: %w", err)
		}
		names = append(names, a.Name)
	}

	oncall, err := onCall(cfg, nil)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	// The metrics are serve's: the same series, with the playground's
	// providers, and the same hook counting the Redis commands that fail.
	provs := cloudProviders(cfg, rdb, cloud.Client().Transport)
	reg, m := botMetrics(rdb, store, cfg.People(), provs, routeMetrics)

	// The audit log goes to a SIEM as serve sends it: the real Sender,
	// reading the playground's Redis through the consumer group, posts each
	// event signed with a secret made up at this start to a receiver in
	// this process, which checks the signature as a SIEM must and prints
	// the events it accepts.
	secret := bot.NewSecret(randomHex(32))
	siem := httptest.NewServer(siemReceiver(secret, stdout))
	defer siem.Close()
	sender, err := auditwebhook.New(auditwebhook.Options{
		URL: siem.URL + "/siem", Secret: secret, Log: store, Consumer: "playground", Logger: log,
		// Short waits, so that the playground stops at once at the end of
		// its input and the lag metrics follow what is typed.
		Block: 250 * time.Millisecond, LagEvery: time.Second, MinBackoff: 250 * time.Millisecond,
	})
	if err != nil {
		return err
	}
	registerAuditMetrics(reg, sender)

	con := console.New(stdout, nil)
	svc, err := bot.New(bot.Options{
		Store:     store,
		Providers: m.tracedProviders(provs),
		Notifiers: []bot.Notifier{con},
		People:    cfg.People(),
		Accounts:  cfg.Accounts(),
		OnCall:    oncall,
		Log:       log,
		Metrics:   m,
		DataLost:  registerDataLost(reg),
	})
	if err != nil {
		return err
	}
	con.Attach(svc)

	ln, err := net.Listen("tcp", *metricsAddr)
	if err != nil {
		return fmt.Errorf("listen for /metrics on %s: %w", *metricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle(routeMetrics, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	metricsSrv := &http.Server{Handler: m.instrument(mux), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan struct{})
	go func() { defer close(served); _ = metricsSrv.Serve(ln) }()
	defer func() { _ = metricsSrv.Close(); <-served }()

	fmt.Fprintf(stdout, `resetbot playground: embedded Redis, the real Tencent and Alibaba provider code calling an emulator of the five cloud APIs at %s,
and the real PagerDuty client calling an emulator of PagerDuty at %s.
Metrics: curl http://%s/metrics
SIEM: the audit log is posted, signed, to a receiver at %s; each event it accepts is printed as [SIEM].
People: alice (requester), bob and carol (approvers), dave (security), erin (managers). Accounts: %s.
demo-prod needs approvers and security, reminds after 20s and escalates to managers after 30s.
demo-cam has break-glass for alice: reset at once, reviewed within 10m; rejected, the password is reset again and shown to nobody.
demo-tcr has on-call: carol is on call (PagerDuty), so her request is approved by PagerDuty and reviewed afterwards.
Type lines as a person, for example:
  alice> /reset-password demo-tdsql locked out
  bob> approve R-XXXXXX
  alice> reveal R-XXXXXX
  alice> /reset-password break-glass demo-cam INC-42 db down
  bob> reject R-YYYYYY not an incident
  carol> /reset-password demo-tcr pipeline stuck
  bob> confirm R-ZZZZZZ
  alice> /reset-password help
End of input (Ctrl-D) quits.
`, cloud.URL, pd.URL, ln.Addr(), siem.URL+"/siem", strings.Join(names, ", "))

	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Add(3)
	go func() { defer wg.Done(); _ = svc.RunExecutor(ctx, "playground") }()
	go func() { defer wg.Done(); _ = svc.RunSweeper(ctx, time.Second) }()
	go func() { defer wg.Done(); _ = sender.Run(ctx) }()

	ids, err := con.Run(ctx, stdin)
	if err != nil {
		return err
	}
	// Piped input ends at once: let approved requests finish so their
	// deliveries are shown, then let the SIEM receive the last events.
	console.Settle(ctx, store.Get, ids, 15*time.Second)
	siemCatchUp(ctx, store, 5*time.Second)
	return nil
}

// siemCatchUp waits until the audit webhook's consumer group has delivered
// every event of the audit log, or timeout passes.
func siemCatchUp(ctx context.Context, store *approvals.Store, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		if n, _, err := store.AuditGroupLag(ctx, auditwebhook.DefaultGroup); err == nil && n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// siemReceiver is the playground's SIEM: it takes the audit webhook's
// POSTs, checks each as the design asks a receiver to (auditwebhook.Verify:
// the HMAC over the timestamp and the raw body, and a timestamp within five
// minutes), and prints one short line for each event it accepts. An event
// holds no password, and the line shows only its kind, request, actor and
// platform.
func siemReceiver(secret bot.Secret, out io.Writer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err == nil {
			err = auditwebhook.Verify(secret, r.Header, body, time.Now(), 5*time.Minute)
		}
		var e bot.Event
		if err == nil && (r.Method != http.MethodPost || json.Unmarshal(body, &e) != nil || e.Kind == "") {
			err = errors.New("not a POST of an audit event")
		}
		if err != nil {
			fmt.Fprintf(out, "%s [SIEM] refused a delivery: %v\n", time.Now().Format("15:04:05"), err)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(out, "%s [SIEM] %s\n", time.Now().Format("15:04:05"), siemLine(e))
		w.WriteHeader(http.StatusNoContent)
	})
}

// siemLine is an event as the playground's SIEM prints it:
// "requested R-7F3K9Q by alice (console)".
func siemLine(e bot.Event) string {
	var b strings.Builder
	b.WriteString(string(e.Kind))
	if e.RequestID != "" {
		b.WriteString(" " + e.RequestID)
	}
	b.WriteString(" by " + e.Actor)
	if e.Platform != "" {
		b.WriteString(" (" + string(e.Platform) + ")")
	}
	return b.String()
}

// lineWriter lets several goroutines print to w: each Write (a whole line,
// as fmt.Fprintf makes it) goes out alone.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// playgroundPagerDutyToken is the token the playground's PagerDuty emulator
// accepts: nothing outside the process can reach it, so it is no secret.
const playgroundPagerDutyToken = "playground-pd-token"

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
