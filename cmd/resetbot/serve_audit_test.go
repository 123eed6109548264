package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"resetbot/adapters/auditwebhook/webhooktest"
	"resetbot/approvals"
	"resetbot/bot"
	"resetbot/internal/redistest"
	"resetbot/internal/testkit"
)

// TestServeSendsTheAuditLogToTheWebhook: with audit.webhook, serve posts
// every audit event, signed, and exports how far behind the SIEM is.
func TestServeSendsTheAuditLogToTheWebhook(t *testing.T) {
	const secret = "SECRET-audit-webhook-for-tests"
	recv := webhooktest.New(t, bot.NewSecret(secret))
	rdb, prefix := redistest.Client(t)
	store := approvals.New(rdb, approvals.Options{Prefix: prefix})
	if err := store.Audit(context.Background(), bot.Event{Kind: bot.EventRequested, RequestID: "R-AAAAAA", Actor: "alice", Detail: "before serve"}); err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer("%REDIS%", redistest.Addr(t), "%PREFIX%", prefix).Replace(serveYAML) +
		"audit:\n  webhook: {url: \"" + recv.URL + "\", secret: \"${AUDIT_WEBHOOK_SECRET}\"}\n"
	env := func(k string) string {
		if k == "AUDIT_WEBHOOK_SECRET" {
			return secret
		}
		return serveEnv(k)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	stderr := &testkit.Log{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"resetbot", "serve", "--config", writeConfig(t, cfg)}, env, strings.NewReader(""), outW, stderr)
		outW.Close()
	}()
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	addr := readLines(outR).waitFor(wctx, t, regexp.MustCompile(`listening on (\S+)`))[1]

	recv.WaitFor(t, 10*time.Second, "the event written before serve", func(r *webhooktest.Receiver) bool { return len(r.Events()) == 1 })
	if err := store.Audit(ctx, bot.Event{Kind: bot.EventRefused, Actor: "slack:U0NOBODY", Detail: "while serving", Stranger: true}); err != nil {
		t.Fatal(err)
	}
	recv.WaitFor(t, 10*time.Second, "the event written while serving", func(r *webhooktest.Receiver) bool { return len(r.Events()) == 2 })
	if got := recv.Events(); got[0].Detail != "before serve" || got[1].Detail != "while serving" || !got[1].Stranger {
		t.Errorf("received %+v, want the two events in order", got)
	}

	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{"resetbot_audit_webhook_lag_events ", "resetbot_audit_webhook_oldest_seconds "} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics has no %s", strings.TrimSpace(want))
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after shutdown, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after its context ended")
	}
	if strings.Contains(stderr.String(), secret) {
		t.Errorf("the log shows the webhook secret:\n%s", stderr)
	}
	if bad := recv.Refused(); len(bad) > 0 {
		t.Errorf("the receiver refused deliveries: %v", bad)
	}
}
