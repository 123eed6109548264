package config_test

import (
	"strings"
	"testing"
)

// withAudit is baseYAML with an audit section written before it.
func withAudit(section string) string { return section + "\n" + baseYAML }

const webhookSecret = "SECRET-webhook-0123456789"

func TestAuditWebhookLoads(t *testing.T) {
	for name, url := range map[string]string{
		"HTTPS":          "https://siem.example/resetbot",
		"HTTPLocalhost":  "http://localhost:8088/hook",
		"HTTPLoopbackV4": "http://127.0.0.1:8088/hook",
		"HTTPLoopbackV6": "http://[::1]:8088/hook",
	} {
		t.Run(name, func(t *testing.T) {
			cfg := mustLoad(t, withAudit(`audit:
  webhook: {url: "`+url+`", secret: "${AUDIT_WEBHOOK_SECRET}"}`), envWith(map[string]string{"AUDIT_WEBHOOK_SECRET": webhookSecret}))
			w := cfg.Audit.Webhook
			if w.URL != url || w.Secret.Value() != webhookSecret {
				t.Errorf("webhook: got %s and a secret of %d bytes, want %s and the variable's", w.URL, len(w.Secret.Value()), url)
			}
			for _, w := range cfg.Warnings() {
				if strings.HasPrefix(w.Path, "audit") {
					t.Errorf("warning: %s", w)
				}
			}
		})
	}
	if cfg := mustLoad(t, baseYAML, getenvFrom(testEnv)); cfg.Audit != nil {
		t.Errorf("Audit without an audit section: got %+v, want nil", cfg.Audit)
	}
}

func TestAuditWebhookProblems(t *testing.T) {
	env := map[string]string{"AUDIT_WEBHOOK_SECRET": webhookSecret}
	hook := func(url, secret string) string {
		return withAudit("audit:\n  webhook:\n    url: " + url + "\n    secret: " + secret)
	}
	good := `"${AUDIT_WEBHOOK_SECRET}"`
	tests := []struct {
		name, yaml     string
		env            map[string]string
		path, msg      string
		marker         string
		secretNotShown string
	}{
		{"Empty", withAudit("audit:"), env, "audit", "empty: set webhook, or leave audit out", "audit:", ""},
		{"WebhookEmpty", withAudit("audit:\n  webhook:"), env, "audit.webhook", "missing: set url and secret, or leave audit out", "webhook:", ""},
		{"Mistyped", withAudit("audit:\n  webhok: {url: https://siem.example}"), env, "audit.webhok", `unknown key "webhok" (did you mean "webhook"?)`, "webhok", ""},
		{"URLMissing", hook(`""`, good), env, "audit.webhook.url", "missing (like https://siem.example/resetbot)", "url:", ""},
		{"HTTPElsewhere", hook("http://siem.example/resetbot", good), env, "audit.webhook.url",
			`"http://siem.example": must be https; http is allowed only to localhost or 127.0.0.1, where the events do not cross the network`, "url:", ""},
		{"NotAURL", hook("siem.example", good), env, "audit.webhook.url", `not an https URL (like https://siem.example/resetbot)`, "url:", ""},
		{"OtherScheme", hook("ftp://siem.example/x", good), env, "audit.webhook.url", `not an https URL`, "url:", ""},
		{"URLFromEnvNotShown", hook(`"${AUDIT_URL}"`, good), map[string]string{"AUDIT_WEBHOOK_SECRET": webhookSecret, "AUDIT_URL": "http://siem.example/?token=SECRET-in-url"},
			"audit.webhook.url", "${AUDIT_URL} (from the environment, not shown): must be https", "url:", "SECRET-in-url"},
		{"SecretMissing", withAudit("audit:\n  webhook: {url: https://siem.example/resetbot}"), env, "audit.webhook.secret",
			`missing (set it to "${AUDIT_WEBHOOK_SECRET}")`, "webhook:", ""},
		{"SecretVariableUnset", hook("https://siem.example/resetbot", good), nil, "audit.webhook.secret",
			"environment variable AUDIT_WEBHOOK_SECRET is not set (or empty)", "^    secret:", ""},
		{"SecretShort", hook("https://siem.example/resetbot", good), map[string]string{"AUDIT_WEBHOOK_SECRET": "SECRET-15-bytes"},
			"audit.webhook.secret", "too short: at least 16 bytes", "^    secret:", "SECRET-15-bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ce := problemsOf(t, tc.yaml, envWith(tc.env))
			p, ok := findProblem(ce.Problems, tc.path, tc.msg)
			if !ok {
				t.Fatalf("no problem at %s saying %q; got:\n%v", tc.path, tc.msg, ce)
			}
			if want := lineOf(t, tc.yaml, tc.marker); p.Line != want {
				t.Errorf("line: got %d, want %d (%s)", p.Line, want, p)
			}
			if tc.secretNotShown != "" && strings.Contains(ce.Error(), tc.secretNotShown) {
				t.Errorf("the problems show the secret:\n%v", ce)
			}
		})
	}
}

// TestAuditWebhookSecretInFile: a secret written in the file works, with
// a warning, as other secrets do.
func TestAuditWebhookSecretInFile(t *testing.T) {
	cfg := mustLoad(t, withAudit(`audit:
  webhook: {url: "https://siem.example/resetbot", secret: "`+webhookSecret+`"}`), getenvFrom(testEnv))
	warns := cfg.Warnings()
	if _, ok := findProblem(warns, "audit.webhook.secret", `written in the file: prefer "${AUDIT_WEBHOOK_SECRET}"`); !ok {
		t.Errorf("warnings: got %v, want one about the secret written in the file", warns)
	}
	for _, w := range warns {
		if strings.Contains(w.String(), webhookSecret) {
			t.Errorf("warning shows the secret: %s", w)
		}
	}
}
