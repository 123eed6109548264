package main

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"resetbot/config"
	"resetbot/providers"
)

// TestSignatureIsSlacks: the load's payloads carry a signature that
// slack-go's verifier, which the bot uses, accepts, and one it refuses
// for another body.
func TestSignatureIsSlacks(t *testing.T) {
	body := commandForm("U0REQ1", "chaos-1 a reason", "http://127.0.0.1/hooks/h1", "trigger-1")
	ts := time.Now().Unix()
	for _, tt := range []struct {
		name, signed string
		ok           bool
	}{
		{"SameBody", body, true},
		{"OtherBody", body + "x", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			h.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
			h.Set("X-Slack-Signature", sign(signingSecret, ts, tt.signed))
			sv, err := slack.NewSecretsVerifier(h, signingSecret)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = sv.Write([]byte(body))
			if err := sv.Ensure(); (err == nil) != tt.ok {
				t.Errorf("Ensure() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// TestConfigLoads: the config the replicas get is one resetbot accepts,
// with every account the load may ask for.
func TestConfigLoads(t *testing.T) {
	text := configYAML("127.0.0.1:6379", "http://127.0.0.1:1/api/", "127.0.0.1:2", 0)
	cfg, err := config.Load([]byte(text), env, providers.Kinds())
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	if got := len(cfg.Accounts()); got != accountCount {
		t.Errorf("accounts: %d, want %d", got, accountCount)
	}
	if got, want := len(cfg.People()), requesters+approvers; got != want {
		t.Errorf("people: %d, want %d", got, want)
	}
}

// TestCategory: answers that differ only in IDs, accounts and times count
// as one.
func TestCategory(t *testing.T) {
	a := category("R-7F3K9Q: asked to reset chaos-12 (app_user). Waiting for 1 approval; expires 16:45 UTC.")
	b := category("R-ABC123: asked to reset chaos-345 (app_user). Waiting for 1 approval; expires 09:02 UTC.")
	if a != b {
		t.Errorf("category:\n%q\n%q\nwant the same", a, b)
	}
	if strings.Contains(a, "R-7F3K9Q") || strings.Contains(a, "chaos-12") {
		t.Errorf("category kept an ID or account: %q", a)
	}
	if long := category(strings.Repeat("word ", 100)); len([]rune(long)) > 111 {
		t.Errorf("category of a long answer has %d characters, want at most 111", len([]rune(long)))
	}
}

func TestQuantile(t *testing.T) {
	d := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tt := range []struct {
		p    float64
		want time.Duration
	}{{0.5, 6}, {0.99, 10}, {0, 1}} {
		if got := quantile(d, tt.p); got != tt.want {
			t.Errorf("quantile(%v) = %v, want %v", tt.p, got, tt.want)
		}
	}
	if got := quantile(nil, 0.5); got != 0 {
		t.Errorf("quantile of none = %v, want 0", got)
	}
}
