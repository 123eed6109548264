package config

import (
	"net"
	"net/url"
	"strings"

	"resetbot/bot"
)

// minWebhookSecret is the shortest audit.webhook.secret accepted, in bytes:
// shorter HMAC keys can be guessed.
const minWebhookSecret = 16

// Audit is where the audit log goes besides Redis (audit:).
type Audit struct {
	// Webhook, when set, receives every audit event as a signed POST.
	Webhook *AuditWebhook `yaml:"webhook"`
}

// AuditWebhook is a SIEM's HTTPS endpoint (audit.webhook). Each POST is
// signed with HMAC-SHA256 under Secret (see package auditwebhook).
type AuditWebhook struct {
	URL    string     `yaml:"url"`
	Secret bot.Secret `yaml:"secret"`
}

// checkAudit checks audit.webhook: an https URL (http only to this
// machine, where nothing crosses the network), and a secret of at least
// minWebhookSecret bytes, from the environment.
func (c *Config) checkAudit(k *checker) {
	if c.Audit == nil {
		if k.written("audit") {
			k.errf("audit", "empty: set webhook, or leave audit out")
		}
		return
	}
	w := c.Audit.Webhook
	if w == nil {
		k.errf("audit.webhook", "missing: set url and secret, or leave audit out")
		return
	}
	switch u, err := url.Parse(w.URL); {
	case w.URL == "":
		k.errf("audit.webhook.url", "missing (like https://siem.example/resetbot)")
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		// not echoed: the path or query of a SIEM's endpoint may hold its credential
		k.errf("audit.webhook.url", "not an https URL (like https://siem.example/resetbot)")
	case u.Scheme == "http" && !loopback(u.Hostname()):
		k.errf("audit.webhook.url", "%s: must be https; http is allowed only to localhost or 127.0.0.1, where the events do not cross the network",
			k.quoted("audit.webhook.url", u.Scheme+"://"+u.Host))
	}
	k.secret("audit.webhook.secret", w.Secret, "AUDIT_WEBHOOK_SECRET")
	if !w.Secret.IsZero() && len(w.Secret.Value()) < minWebhookSecret {
		k.errf("audit.webhook.secret", "too short: at least %d bytes (like the output of `openssl rand -hex 32`)", minWebhookSecret)
	}
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
