package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"resetbot/adapters/pagerduty/pdtest"
	"resetbot/adapters/slack/slacktest"
	"resetbot/bot"
	"resetbot/internal/redistest"
	"resetbot/internal/testkit"
)

// TestServeAsksPagerDuty: with a pagerduty section, serve's service asks
// PagerDuty, with the configured token at the configured api_url, and a
// request by the person on call is approved by PagerDuty; the token is
// never logged. Without the section, nothing asks PagerDuty and requests
// wait for votes.
func TestServeAsksPagerDuty(t *testing.T) {
	const token = "pd-token-for-serve-tests"
	pd := pdtest.New(t, token)
	pd.SetOnCall(pdtest.OnCall{User: "PALICE1", EscalationPolicy: "PPOLICY1", Level: 1, Schedule: "PSCHED1"})
	fake := slacktest.NewServer(t, "xoxb-test-token", "")
	fake.AddChannel(slacktest.Channel{ID: "C0APPROVALS", Member: true})
	getenv := func(k string) string {
		if k == "PAGERDUTY_TOKEN" {
			return token
		}
		return serveEnv(k)
	}
	base := strings.NewReplacer("%REDIS%", redistest.Addr(t),
		"http://127.0.0.1:1/api/", fake.APIURL(), "slack: U0ALICE,", "slack: U0ALICE, pagerduty: PALICE1,").Replace(serveYAML)
	withPD := base + `    on_call: {escalation_policy: PPOLICY1, levels: [1]}
pagerduty:
  token: "${PAGERDUTY_TOKEN}"
  api_url: "` + pd.URL + `"
`
	for _, tt := range []struct {
		name, yaml string
		want       bot.State
		calls      int
	}{
		{"OnCallApprovedByPagerDuty", withPD, bot.StateApproved, 1},
		{"NoPagerDutySectionNoCalls", base, bot.StatePending, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := pd.Calls("/oncalls")
			_, prefix := redistest.Client(t)
			var logged testkit.Log
			cfg, err := loadConfigFile(writeConfig(t, strings.Replace(tt.yaml, "%PREFIX%", prefix, 1)), getenv, &logged)
			if err != nil {
				t.Fatalf("config: %v\n%s", err, logged.String())
			}
			srv, err := build(cfg, slog.New(slog.NewJSONHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug})))
			if err != nil {
				t.Fatal(err)
			}
			defer srv.close()
			ctx := context.Background()
			reply := srv.svc.HandleText(ctx, bot.Actor{Platform: bot.PlatformSlack, UserID: "U0ALICE"}, "prod-db paged at 3am")
			if reply.Err != nil || reply.Request == nil {
				t.Fatalf("ask: %v %s", reply.Err, reply.Text)
			}
			if got, _ := srv.store.Get(ctx, reply.Request.ID); got.State != tt.want {
				t.Errorf("state: got %s, want %s (%s)", got.State, tt.want, reply.Text)
			}
			if tt.want == bot.StateApproved && (reply.Request.Review == nil || reply.Request.Review.Kind != bot.ReviewOnCall) {
				t.Errorf("review: got %+v, want on-call", reply.Request.Review)
			}
			if got := pd.Calls("/oncalls") - before; got != tt.calls {
				t.Errorf("calls of /oncalls: got %d, want %d", got, tt.calls)
			}
			if strings.Contains(logged.String(), token) {
				t.Error("the log shows the PagerDuty token")
			}
		})
	}
}
