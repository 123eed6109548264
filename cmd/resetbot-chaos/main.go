// Command resetbot-chaos measures resetbot under faults and prints the
// figures as a table.
//
// It builds the resetbot binary, starts its own redis-server (no
// persistence) on a free port, a fake Slack Web API (slacktest) and the
// cloud emulator in this process, and three `resetbot serve` processes on
// that one Redis. Simulated people then drive requests through the real
// HTTP handlers, as Slack would deliver them: signed slash commands from
// requesters, signed Approve clicks from approvers on another replica,
// Reveal clicks from the requesters, round-robin over the replicas in
// rotation; the time to acknowledge every POST is measured against Slack's
// 3 seconds. Each reset takes a while at the cloud (-reset-delay), so that
// some are always under way. Under that load it
//
//  1. kills a replica with SIGKILL while it runs resets, and measures how
//     long its resets take to end as "outcome unknown";
//  2. restarts redis-server, empty, and measures how long the replicas take
//     to answer again, and what people saw meanwhile;
//  3. pauses Redis for 10 seconds (CLIENT PAUSE), and measures the
//     acknowledgements during the pause;
//  4. stops a replica with SIGTERM during resets, and measures how long it
//     takes to stop and whether its work drained.
//
// It exits non-zero when a correctness check fails: a cloud account reset
// twice for one request, a request left executing, or a payload a replica
// acknowledged that was never answered (except by the replica killed with
// SIGKILL, whose losses are counted). A timing figure never fails the run.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "resetbot-chaos:", err)
		os.Exit(1)
	}
}

type options struct {
	lease      time.Duration
	resetDelay time.Duration
	workers    int
	keep       bool
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("resetbot-chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.lease, "lease", 15*time.Second, "execution_lease of the replicas (if this resetbot reads it; else its default)")
	fs.DurationVar(&o.resetDelay, "reset-delay", 2*time.Second, "how long the cloud takes to answer a password reset")
	fs.IntVar(&o.workers, "workers", 10, "people going through ask, approve and reveal at once")
	fs.BoolVar(&o.keep, "keep", false, "keep the working directory (replica logs, config)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.workers < 1 {
		return errors.New("-workers must be at least 1")
	}
	w, err := start(ctx, o, stderr)
	if w != nil {
		defer w.close()
	}
	if err != nil {
		return err
	}
	return w.scenarios(ctx, stdout)
}

// Secrets the replicas get from the environment, made up for the run.
const (
	botToken      = "xoxb-chaos-token"
	signingSecret = "chaos-signing-secret-0123456789"
	secretID      = "AKIDchaos"
	secretKey     = "chaos-tencent-secret-key-0123456789"
	channel       = "C0APPROVALS"
	slashCommand  = "/reset-password"
	requesters    = 40
	approvers     = 20
	accountCount  = 2500
)

func env(k string) string {
	return map[string]string{
		"SLACK_BOT_TOKEN": botToken, "SLACK_SIGNING_SECRET": signingSecret,
		"TENCENTCLOUD_SECRET_ID": secretID, "TENCENTCLOUD_SECRET_KEY": secretKey,
	}[k]
}

// configYAML is the replicas' config: requesters, approvers, and one TDSQL
// account per request, so that the cloud calls of each request are told
// apart by the instance they name.
func configYAML(redisAddr, slackAPI, cloudHost string, lease time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, `listen: "127.0.0.1:0"
redis:
  url: "redis://%s/0"
  prefix: "chaos:"
rate_limit: {requests: 100000, per: 1h}
`, redisAddr)
	if lease > 0 {
		fmt.Fprintf(&b, "execution_lease: %s\n", lease)
	}
	fmt.Fprintf(&b, `slack:
  bot_token: "${SLACK_BOT_TOKEN}"
  signing_secret: "${SLACK_SIGNING_SECRET}"
  api_url: "%s"
  approvals_channel: "%s"
tencentcloud:
  secret_id: "${TENCENTCLOUD_SECRET_ID}"
  secret_key: "${TENCENTCLOUD_SECRET_KEY}"
  endpoint: "%s"
  scheme: http
people:
`, slackAPI, channel, cloudHost)
	for i := range requesters {
		fmt.Fprintf(&b, "  - {name: req-%d, slack: %s, groups: [eng]}\n", i, requesterID(i))
	}
	for i := range approvers {
		fmt.Fprintf(&b, "  - {name: appr-%d, slack: %s, groups: [approvers]}\n", i, approverID(i))
	}
	b.WriteString("accounts:\n")
	for i := range accountCount {
		fmt.Fprintf(&b, "  - {name: chaos-%d, provider: tencent.tdsql, region: ap-guangzhou, instance_id: %s, user: app_user, requesters: [eng], approvers: [approvers]}\n",
			i, instanceOf(i))
	}
	return b.String()
}

func requesterID(i int) string { return fmt.Sprintf("U0REQ%d", i) }
func approverID(i int) string  { return fmt.Sprintf("U0APPR%d", i) }
func instanceOf(i int) string  { return fmt.Sprintf("tdsql-chaos-%d", i) }

// sign is Slack's v0 request signature of body sent at ts.
func sign(secret string, ts int64, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:%s", ts, body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// commandForm is a slash command as Slack posts it.
func commandForm(user, text, responseURL, trigger string) string {
	return url.Values{
		"token": {"unused"}, "team_id": {"T1"}, "channel_id": {"C0GENERAL"}, "user_id": {user},
		"command": {slashCommand}, "text": {text}, "response_url": {responseURL}, "trigger_id": {trigger},
	}.Encode()
}

// clickForm is a block_actions interaction: user pressed the button
// action of request id.
func clickForm(user, action, id, actionTS, responseURL, trigger, channelID string) string {
	b, _ := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": user}, "api_app_id": "A1",
		"team": map[string]any{"id": "T1"}, "trigger_id": trigger, "response_url": responseURL,
		"channel":   map[string]any{"id": channelID},
		"container": map[string]any{"type": "message", "channel_id": channelID, "message_ts": "1700000000.000001"},
		"actions": []any{map[string]any{"type": "button", "block_id": action, "action_id": action, "value": id,
			"action_ts": actionTS, "text": map[string]any{"type": "plain_text", "text": action}}},
	})
	return url.Values{"payload": {string(b)}}.Encode()
}

var (
	idRE    = regexp.MustCompile(`R-[0-9A-Z]{6}`)
	askedRE = regexp.MustCompile(`^(R-[0-9A-Z]{6}): asked`)
	refRE   = regexp.MustCompile(`\b\d{1,2}:\d{2}( [A-Z]{3,4})?\b|\b[0-9a-f]{8,}\b`)
	quoteRE = regexp.MustCompile(`chaos-\d+`)
)

// category is what a person was told, with the parts that differ from one
// request to the next (IDs, accounts, times) blanked, and cut short, so
// that the same answer is counted once.
func category(text string) string {
	s := idRE.ReplaceAllString(text, "R-…")
	s = quoteRE.ReplaceAllString(s, "chaos-…")
	s = refRE.ReplaceAllString(s, "…")
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 110 {
		s = string(r[:110]) + "…"
	}
	return s
}

// quantile is the p-quantile of d, sorted.
func quantile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(int(p*float64(len(d))), len(d)-1)]
}
