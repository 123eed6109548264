package main

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

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
// accounts.
func playground(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("playground", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return errQuiet
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

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
	con := console.New(stdout, nil)
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc, err := bot.New(bot.Options{
		Store:     store,
		Providers: cloudProviders(cfg, rdb, cloud.Client().Transport),
		Notifiers: []bot.Notifier{con},
		People:    cfg.People(),
		Accounts:  cfg.Accounts(),
		OnCall:    oncall,
		Log:       log,
	})
	if err != nil {
		return err
	}
	con.Attach(svc)

	fmt.Fprintf(stdout, `resetbot playground: embedded Redis, the real Tencent and Alibaba provider code calling an emulator of the five cloud APIs at %s,
and the real PagerDuty client calling an emulator of PagerDuty at %s.
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
`, cloud.URL, pd.URL, strings.Join(names, ", "))

	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Add(2)
	go func() { defer wg.Done(); _ = svc.RunExecutor(ctx, "playground") }()
	go func() { defer wg.Done(); _ = svc.RunSweeper(ctx, time.Second) }()

	ids, err := con.Run(ctx, stdin)
	if err != nil {
		return err
	}
	// Piped input ends at once: let approved requests finish so their
	// deliveries are shown.
	console.Settle(ctx, store.Get, ids, 15*time.Second)
	return nil
}

// playgroundPagerDutyToken is the token the playground's PagerDuty emulator
// accepts: nothing outside the process can reach it, so it is no secret.
const playgroundPagerDutyToken = "playground-pd-token"

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
