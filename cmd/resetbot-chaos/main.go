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
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/adapters/slack/slacktest"
	"resetbot/bot"
	"resetbot/config"
	"resetbot/providers"
	"resetbot/providers/emulator"
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

// fakeT lets the fake Slack, made for tests, run in this program: it
// keeps the cleanups for the end of the run, and turns a test failure
// (which the calls used here never make) into an error in the log.
type fakeT struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
	log      io.Writer
}

func (t *fakeT) Helper() {}
func (t *fakeT) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}
func (t *fakeT) Fatalf(format string, args ...any) {
	fmt.Fprintf(t.log, "fake Slack: "+format+"\n", args...)
}
func (t *fakeT) Errorf(format string, args ...any) {
	fmt.Fprintf(t.log, "fake Slack: "+format+"\n", args...)
}
func (t *fakeT) Logf(format string, args ...any) {}
func (t *fakeT) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// replica is one `resetbot serve` process.
type replica struct {
	name    string
	cmd     *exec.Cmd
	addr    string
	exited  chan struct{}
	waitErr error
	inRot   atomic.Bool // in the load balancer's rotation
}

// world is everything the run started.
type world struct {
	o       options
	dir     string
	bin     string
	cfgPath string
	stderr  io.Writer

	redisPort int
	redisCmd  *exec.Cmd
	redisDone chan struct{}
	obs       *redis.Client // observes the requests' state

	fake  *slacktest.Server
	fakeT *fakeT
	emu   *emulator.Emulator
	cloud *httptest.Server

	mu       sync.Mutex
	replicas []*replica
	rr       int
	seq      atomic.Int64
	accounts atomic.Int64
	posts    []*post
	reqs     map[string]*request
	notes    map[string]map[string]int // phase -> what a person saw -> count
	phase    string
	hub      hub

	client *http.Client
	stop   atomic.Bool
	wg     sync.WaitGroup
}

// post is one payload sent to a replica.
type post struct {
	kind    string // ask, approve, reveal
	rep     *replica
	start   time.Time
	dur     time.Duration
	status  int
	err     error
	ackText string // what the acknowledgement itself said
	hook    string
	trigger string
	phase   string
}

func (p *post) acked() bool { return p.err == nil && p.status == http.StatusOK }

// request is one request the load asked for, as far as it is known.
type request struct {
	id, requester, account string
	phase                  string
	askRep                 *replica
	askAt                  time.Time
	revealRep              *replica
	revealAt               time.Time
	state, outcome         string
	endedAt                time.Time
	vanished               bool
}

// hub follows the calls the fake Slack receives: the replies to each
// response_url and the Reveal offers sent by direct message.
type hub struct {
	mu      sync.Mutex
	seen    int
	replies map[string][]answer
	offers  map[string]time.Time
	dms     map[string][]string // request ID -> texts of the direct messages about it
}

// answer is a reply to a response_url, as it reached Slack.
type answer struct {
	text string
	at   time.Time
}

func start(ctx context.Context, o options, stderr io.Writer) (*world, error) {
	dir, err := os.MkdirTemp("", "resetbot-chaos-")
	if err != nil {
		return nil, err
	}
	w := &world{o: o, dir: dir, stderr: stderr, reqs: map[string]*request{}, notes: map[string]map[string]int{},
		hub:    hub{replies: map[string][]answer{}, offers: map[string]time.Time{}, dms: map[string][]string{}},
		client: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}}
	if _, err := exec.LookPath("redis-server"); err != nil {
		return w, errors.New("redis-server not found: install it (Debian/Ubuntu: apt-get install redis-server)")
	}
	fmt.Fprintln(stderr, "resetbot-chaos: building resetbot")
	w.bin = filepath.Join(dir, "resetbot")
	gocmd := os.Getenv("GO")
	if gocmd == "" {
		gocmd = "go"
	}
	build := exec.CommandContext(ctx, gocmd, "build", "-o", w.bin, "./cmd/resetbot")
	build.Stdout, build.Stderr = stderr, stderr
	if err := build.Run(); err != nil {
		return w, fmt.Errorf("build resetbot (run from the repository's root): %w", err)
	}
	if w.redisPort, err = freePort(); err != nil {
		return w, err
	}
	if err := w.startRedis(ctx); err != nil {
		return w, err
	}
	w.obs = redis.NewClient(&redis.Options{Addr: w.redisAddr(), DialTimeout: time.Second, ReadTimeout: 2 * time.Second,
		WriteTimeout: time.Second, MaxRetries: -1, PoolSize: 4 * o.workers})

	w.fakeT = &fakeT{log: stderr}
	w.fake = slacktest.NewServer(w.fakeT, botToken, "")
	w.fake.AddChannel(slacktest.Channel{ID: channel, Member: true})
	w.emu = emulator.New(emulator.Options{TencentSecretID: secretID, TencentSecretKey: secretKey})
	w.cloud = httptest.NewServer(slowResets(w.emu, o.resetDelay))

	text := configYAML(w.redisAddr(), w.fake.APIURL(), strings.TrimPrefix(w.cloud.URL, "http://"), o.lease)
	cfg, err := config.Load([]byte(text), env, providers.Kinds())
	if err != nil && o.lease > 0 && strings.Contains(err.Error(), "execution_lease") {
		fmt.Fprintf(stderr, "resetbot-chaos: this resetbot does not read execution_lease: its default lease applies\n")
		w.o.lease = 0
		text = configYAML(w.redisAddr(), w.fake.APIURL(), strings.TrimPrefix(w.cloud.URL, "http://"), 0)
		cfg, err = config.Load([]byte(text), env, providers.Kinds())
	}
	if err != nil {
		return w, fmt.Errorf("the run's config: %w", err)
	}
	for _, a := range cfg.Accounts() {
		if err := w.emu.AddAccount(a); err != nil {
			return w, err
		}
	}
	w.cfgPath = filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(w.cfgPath, []byte(text), 0o600); err != nil {
		return w, err
	}
	for i := range 3 {
		r, err := w.startReplica(ctx, fmt.Sprintf("r%d", i+1))
		if err != nil {
			return w, err
		}
		w.replicas = append(w.replicas, r)
	}
	go w.follow(ctx)
	return w, nil
}

// slowResets makes every password reset take delay at the cloud, which
// carries it out whether or not the caller is still there to hear the
// answer, as a real cloud would.
func slowResets(emu *emulator.Emulator, delay time.Duration) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("X-TC-Action"), "Reset") {
			time.Sleep(delay)
		}
		emu.ServeHTTP(rw, r)
	})
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (w *world) redisAddr() string { return "127.0.0.1:" + strconv.Itoa(w.redisPort) }

// startRedis starts redis-server on the run's port, empty, persisting
// nothing, and waits until it answers.
func (w *world) startRedis(ctx context.Context) error {
	logf, err := os.OpenFile(filepath.Join(w.dir, "redis.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(w.redisPort), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", w.dir, "--daemonize", "no", "--loglevel", "warning")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	w.redisCmd, w.redisDone = cmd, done
	c := redis.NewClient(&redis.Options{Addr: w.redisAddr(), MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(ctx).Err() != nil {
		select {
		case <-done:
			return errors.New("redis-server exited at start: see redis.log (-keep)")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("redis-server did not answer within 10s")
		}
	}
	return nil
}

// stopRedis stops redis-server (SIGTERM: with nothing to save, it exits at
// once) and waits for it.
func (w *world) stopRedis() {
	if w.redisCmd == nil || w.redisCmd.Process == nil {
		return
	}
	_ = w.redisCmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.redisDone:
	case <-time.After(10 * time.Second):
		_ = w.redisCmd.Process.Kill()
		<-w.redisDone
	}
}

// startReplica starts `resetbot serve`, and waits until it listens and is
// ready.
func (w *world) startReplica(ctx context.Context, name string) (*replica, error) {
	logf, err := os.OpenFile(filepath.Join(w.dir, name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(w.bin, "serve", "--config", w.cfgPath)
	cmd.Env = append(os.Environ(), "SLACK_BOT_TOKEN="+botToken, "SLACK_SIGNING_SECRET="+signingSecret,
		"TENCENTCLOUD_SECRET_ID="+secretID, "TENCENTCLOUD_SECRET_KEY="+secretKey)
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	r := &replica{name: name, cmd: cmd, exited: make(chan struct{})}
	addrs := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		re := regexp.MustCompile(`listening on (\S+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addrs <- m[1]:
				default:
				}
			}
		}
	}()
	go func() { r.waitErr = cmd.Wait(); logf.Close(); close(r.exited) }()
	select {
	case r.addr = <-addrs:
	case <-r.exited:
		return nil, fmt.Errorf("%s exited at start (%v): its log is %s.log (-keep)", name, r.waitErr, name)
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("%s did not listen within 30s", name)
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		return nil, ctx.Err()
	}
	if !w.waitReady(ctx, r, 30*time.Second) {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("%s was not ready within 30s", name)
	}
	r.inRot.Store(true)
	return r, nil
}

// ready reports whether r's /readyz answers 200.
func (w *world) ready(r *replica) bool {
	c := http.Client{Timeout: time.Second}
	res, err := c.Get("http://" + r.addr + "/readyz")
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

func (w *world) waitReady(ctx context.Context, r *replica, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for !w.ready(r) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

func (w *world) close() {
	w.stop.Store(true)
	for _, r := range w.replicas {
		if r.cmd.Process != nil {
			select {
			case <-r.exited:
			default:
				_ = r.cmd.Process.Kill()
				<-r.exited
			}
		}
	}
	w.stopRedis()
	if w.obs != nil {
		w.obs.Close()
	}
	if w.cloud != nil {
		w.cloud.Close()
	}
	if w.fakeT != nil {
		w.fakeT.close()
	}
	if w.o.keep {
		fmt.Fprintln(w.stderr, "resetbot-chaos: logs and config kept in", w.dir)
		return
	}
	_ = os.RemoveAll(w.dir)
}

// follow reads what the fake Slack received, as it comes.
func (w *world) follow(ctx context.Context) {
	for ctx.Err() == nil {
		calls := w.fake.Calls()
		w.hub.mu.Lock()
		for _, c := range calls[w.hub.seen:] {
			if (c.Method == "chat.postMessage" || c.Method == "chat.update") && strings.HasPrefix(c.Get("channel"), "D") {
				if id := idRE.FindString(c.Get("text")); id != "" {
					w.hub.dms[id] = append(w.hub.dms[id], c.Get("text"))
				}
			}
			switch {
			case c.Method == "hook":
				w.hub.replies[c.Hook] = append(w.hub.replies[c.Hook], answer{c.Get("text"), c.At})
			case c.Method == "chat.postMessage" && strings.HasPrefix(c.Get("channel"), "D") &&
				strings.Contains(c.Get("blocks"), `"action_id":"reveal"`):
				if id := idRE.FindString(c.Get("text")); id != "" {
					if _, ok := w.hub.offers[id]; !ok {
						w.hub.offers[id] = c.At
					}
				}
			}
		}
		w.hub.seen = len(calls)
		w.hub.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
}

func (w *world) reply(hook string) (string, bool) {
	a, ok := w.replyAt(hook)
	return a.text, ok
}

func (w *world) replyAt(hook string) (answer, bool) {
	w.hub.mu.Lock()
	defer w.hub.mu.Unlock()
	r := w.hub.replies[hook]
	if len(r) == 0 {
		return answer{}, false
	}
	return r[0], true
}

// toldByDM reports whether the requester of id got a direct message about
// it that says substr.
func (w *world) toldByDM(id, substr string) bool {
	w.hub.mu.Lock()
	defer w.hub.mu.Unlock()
	for _, t := range w.hub.dms[id] {
		if strings.Contains(t, substr) {
			return true
		}
	}
	return false
}

func (w *world) offered(id string) bool {
	w.hub.mu.Lock()
	defer w.hub.mu.Unlock()
	_, ok := w.hub.offers[id]
	return ok
}

// answered reports whether p got its answer: a reply, or for a Reveal its
// window updated.
func (w *world) answered(p *post) bool {
	if p.ackText != "" {
		return true
	}
	if _, ok := w.reply(p.hook); ok {
		return true
	}
	if p.kind == "reveal" {
		if v, ok := w.fake.ViewOpenedWith(p.trigger); ok && v.Updates > 0 {
			return true
		}
	}
	return false
}

func (w *world) setPhase(p string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.phase = p
}

func (w *world) note(what string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.notes[w.phase]
	if m == nil {
		m = map[string]int{}
		w.notes[w.phase] = m
	}
	m[category(what)]++
}

// pick is the next replica in rotation other than not.
func (w *world) pick(not *replica) *replica {
	w.mu.Lock()
	defer w.mu.Unlock()
	for range len(w.replicas) {
		w.rr++
		r := w.replicas[w.rr%len(w.replicas)]
		if r.inRot.Load() && (r != not || not == nil) {
			return r
		}
	}
	for _, r := range w.replicas {
		if r.inRot.Load() {
			return r
		}
	}
	return nil
}

// send posts a payload to a replica in rotation (not to not, if another is
// there), signed as Slack signs, and tries another replica when the POST
// gets no answer, as a load balancer would; each attempt is recorded.
func (w *world) send(ctx context.Context, kind, path string, not *replica, body func(hook, trigger string) string) *post {
	for try := 0; try < 5 && ctx.Err() == nil; try++ {
		r := w.pick(not)
		if r == nil {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		n := w.seq.Add(1)
		hook := fmt.Sprintf("h%d", n)
		trigger := w.fake.Trigger(fmt.Sprintf("trigger-%d", n))
		p := &post{kind: kind, rep: r, hook: hook, trigger: trigger}
		text := body(w.fake.HookURL(hook), trigger)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+r.addr+path, strings.NewReader(text))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		p.start = time.Now()
		ts := p.start.Unix()
		req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("X-Slack-Signature", sign(signingSecret, ts, text))
		res, err := w.client.Do(req)
		p.dur = time.Since(p.start)
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			p.status = res.StatusCode
			var m struct {
				Text string `json:"text"`
			}
			if json.Unmarshal(b, &m) == nil && m.Text != "" {
				p.ackText = m.Text
			} else if p.status != http.StatusOK {
				p.ackText = strings.TrimSpace(string(b))
			}
		} else {
			p.err = err
		}
		w.mu.Lock()
		p.phase = w.phase
		w.posts = append(w.posts, p)
		w.mu.Unlock()
		if p.ackText != "" {
			w.note(p.ackText)
		}
		if p.err == nil && p.status < 500 {
			return p
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// state reads a request's state and outcome from Redis; ok is false when
// Redis did not answer, gone true when the request is not there.
func (w *world) state(ctx context.Context, id string) (state, outcome string, gone, ok bool) {
	v, err := w.obs.HMGet(ctx, "{chaos:}req:"+id, "state", "outcome").Result()
	if err != nil {
		return "", "", false, false
	}
	s, _ := v[0].(string)
	o, _ := v[1].(string)
	return s, o, s == "", true
}

// waitFor polls cond every 50ms until it holds or limit passes.
func waitFor(ctx context.Context, limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (w *world) lease() time.Duration {
	if w.o.lease > 0 {
		return w.o.lease
	}
	return 2 * time.Minute
}

// person runs one simulated person's loop: ask, have it approved, reveal,
// until the load stops.
func (w *world) person(ctx context.Context, n int) {
	defer w.wg.Done()
	for i := n; !w.stop.Load() && ctx.Err() == nil; i += w.o.workers {
		acct := int(w.accounts.Add(1) - 1)
		if acct >= accountCount {
			return
		}
		w.flow(ctx, requesterID(i%requesters), approverID((i/2)%approvers), acct)
	}
}

func (w *world) flow(ctx context.Context, requester, approver string, acct int) {
	account := fmt.Sprintf("chaos-%d", acct)
	ask := w.send(ctx, "ask", "/slack/commands", nil, func(hook, trigger string) string {
		return commandForm(requester, account+" chaos run", hook, trigger)
	})
	if ask == nil {
		return
	}
	if ask.ackText != "" {
		time.Sleep(time.Second)
		return
	}
	var text string
	if !waitFor(ctx, 35*time.Second, func() bool { var ok bool; text, ok = w.reply(ask.hook); return ok }) {
		return // counted as unanswered at the end
	}
	m := askedRE.FindStringSubmatch(text)
	if m == nil {
		w.note(text)
		time.Sleep(500 * time.Millisecond)
		return
	}
	rq := &request{id: m[1], requester: requester, account: account, askRep: ask.rep, askAt: ask.start}
	w.mu.Lock()
	rq.phase = w.phase
	w.reqs[rq.id] = rq
	w.mu.Unlock()

	gone := func() bool {
		_, _, g, ok := w.state(ctx, rq.id)
		return ok && g
	}
	// Approve, on another replica than the ask's; again, as a person
	// would, when nothing happened.
	approved := false
	for try := 0; try < 3 && !approved && ctx.Err() == nil; try++ {
		vote := w.send(ctx, "approve", "/slack/interactions", ask.rep, func(hook, trigger string) string {
			return clickForm(approver, "approve", rq.id, fmt.Sprintf("%d.%06d", time.Now().Unix(), w.seq.Add(1)), hook, trigger, channel)
		})
		if vote == nil {
			continue
		}
		approved = waitFor(ctx, 20*time.Second+w.lease(), func() bool {
			if w.offered(rq.id) {
				return true
			}
			s, _, g, ok := w.state(ctx, rq.id)
			if ok && (g || bot.State(s).Terminal()) {
				return true
			}
			// A vote that was lost leaves it pending: click again.
			return ok && s == string(bot.StatePending) && time.Since(vote.start) > 15*time.Second
		}) && w.offered(rq.id)
		if g := gone(); g {
			w.markGone(rq)
			w.clickGone(ctx, approver, rq.id)
			return
		}
	}
	if !approved {
		return
	}
	// Reveal, on whichever replica is next; again when the click did not
	// start the reset (its window did not open).
	for try := 0; try < 3 && ctx.Err() == nil; try++ {
		click := w.send(ctx, "reveal", "/slack/interactions", nil, func(hook, trigger string) string {
			return clickForm(requester, "reveal", rq.id, fmt.Sprintf("%d.%06d", time.Now().Unix(), w.seq.Add(1)), hook, trigger, "D"+requester)
		})
		if click == nil {
			continue
		}
		w.mu.Lock()
		rq.revealRep, rq.revealAt = click.rep, click.start
		w.mu.Unlock()
		again := false
		waitFor(ctx, 30*time.Second+w.lease(), func() bool {
			s, o, g, ok := w.state(ctx, rq.id)
			switch {
			case !ok:
				return false
			case g:
				return true
			case bot.State(s).Terminal():
				w.mu.Lock()
				rq.state, rq.outcome, rq.endedAt = s, o, time.Now()
				w.mu.Unlock()
				return true
			case s == string(bot.StateOffered) && time.Since(click.start) > 8*time.Second:
				again = true
				return true
			}
			return false
		})
		if gone() {
			w.markGone(rq)
			return
		}
		if !again {
			return
		}
		if t, ok := w.reply(click.hook); ok {
			w.note(t)
		}
	}
}

func (w *world) markGone(rq *request) {
	w.mu.Lock()
	defer w.mu.Unlock()
	rq.vanished = true
}

// clickGone presses Approve on a request that vanished, as its approver
// would, and notes the answer.
func (w *world) clickGone(ctx context.Context, approver, id string) {
	p := w.send(ctx, "approve", "/slack/interactions", nil, func(hook, trigger string) string {
		return clickForm(approver, "approve", id, fmt.Sprintf("%d.%06d", time.Now().Unix(), w.seq.Add(1)), hook, trigger, channel)
	})
	if p == nil {
		return
	}
	var text string
	if waitFor(ctx, 10*time.Second, func() bool { var ok bool; text, ok = w.reply(p.hook); return ok }) {
		w.mu.Lock()
		phase := w.phase
		w.mu.Unlock()
		w.mu.Lock()
		m := w.notes[phase+" (a click on a vanished request)"]
		if m == nil {
			m = map[string]int{}
			w.notes[phase+" (a click on a vanished request)"] = m
		}
		m[category(text)]++
		w.mu.Unlock()
	}
}

// probe types an ask for a fresh account every interval, round-robin over
// the replicas, until stop is closed, as people do who keep working during
// a fault; it returns what it sent once stop is closed.
func (w *world) probe(ctx context.Context, stop <-chan struct{}, every time.Duration) <-chan []*post {
	out := make(chan []*post, 1)
	go func() {
		var mu sync.Mutex
		var sent []*post
		var wg sync.WaitGroup
		tick := time.NewTicker(every)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				wg.Wait()
				out <- sent
				return
			case <-ctx.Done():
				wg.Wait()
				out <- sent
				return
			case <-tick.C:
			}
			acct := int(w.accounts.Add(1) - 1)
			if acct >= accountCount {
				continue
			}
			wg.Go(func() {
				user := requesterID(i % requesters)
				p := w.send(ctx, "ask", "/slack/commands", nil, func(hook, trigger string) string {
					return commandForm(user, fmt.Sprintf("chaos-%d typed during a fault", acct), hook, trigger)
				})
				if p != nil {
					mu.Lock()
					sent = append(sent, p)
					mu.Unlock()
				}
			})
		}
	}()
	return out
}

// probeRows waits for the answers to the asks a probe sent and adds what
// they show: how fast they were acknowledged and answered, and what the
// answers said when they were not a request ID.
func (w *world) probeRows(ctx context.Context, t *table, scenario string, sent []*post) {
	waitFor(ctx, 40*time.Second, func() bool {
		for _, p := range sent {
			if p.acked() && p.ackText == "" {
				if _, ok := w.reply(p.hook); !ok {
					return false
				}
			}
		}
		return true
	})
	var ack, ans []time.Duration
	over, unanswered, ids := 0, 0, 0
	told := map[string]int{}
	for _, p := range sent {
		if !p.acked() {
			continue
		}
		ack = append(ack, p.dur)
		if p.dur > 3*time.Second {
			over++
		}
		if p.ackText != "" {
			told[category(p.ackText)]++
			continue
		}
		a, ok := w.replyAt(p.hook)
		switch {
		case !ok:
			unanswered++
		case askedRE.MatchString(a.text):
			ids++
			ans = append(ans, a.at.Sub(p.start))
		default:
			ans = append(ans, a.at.Sub(p.start))
			told[category(a.text)]++
		}
	}
	slices.Sort(ack)
	slices.Sort(ans)
	last := func(d []time.Duration) time.Duration {
		if len(d) == 0 {
			return 0
		}
		return d[len(d)-1]
	}
	t.add(scenario, "asks typed meanwhile (one each 200 ms)", "%d sent, %d acknowledged: ack p50 %s, p99 %s, max %s, %d over 3 s",
		len(sent), len(ack), ms(quantile(ack, 0.5)), ms(quantile(ack, 0.99)), ms(last(ack)), over)
	t.add(scenario, "their answers", "%d with a request ID, %d other, %d none within 40 s; answered after p50 %s, max %s",
		ids, len(ans)-ids, unanswered, ms(quantile(ans, 0.5)), ms(last(ans)))
	if len(told) > 0 {
		t.add(scenario, "what those other answers said", "%s", topText(told))
	}
}

// topText lists the most frequent answers first.
func topText(m map[string]int) string {
	type kv struct {
		k string
		v int
	}
	var all []kv
	for k, v := range m {
		all = append(all, kv{k, v})
	}
	slices.SortFunc(all, func(a, b kv) int {
		if a.v != b.v {
			return b.v - a.v
		}
		return strings.Compare(a.k, b.k)
	})
	var parts []string
	for i, e := range all {
		if i == 4 {
			parts = append(parts, fmt.Sprintf("%d other answers", len(all)-4))
			break
		}
		parts = append(parts, fmt.Sprintf("%d× “%s”", e.v, e.k))
	}
	return strings.Join(parts, "; ")
}

// table collects the figures.
type table struct{ rows [][3]string }

func (t *table) add(scenario, figure string, format string, args ...any) {
	t.rows = append(t.rows, [3]string{scenario, figure, fmt.Sprintf(format, args...)})
}

func (t *table) print(out io.Writer) {
	fmt.Fprintln(out, "| scenario | figure | value |")
	fmt.Fprintln(out, "| --- | --- | --- |")
	for _, r := range t.rows {
		fmt.Fprintf(out, "| %s | %s | %s |\n", r[0], r[1], strings.ReplaceAll(r[2], "|", "/"))
	}
}

func ms(d time.Duration) string {
	if d < time.Millisecond {
		return "<1ms"
	}
	if d >= 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// acks sums up the acknowledgement times of the POSTs started in [from, to).
func (w *world) acks(from, to time.Time) (n int, p50, p99, maxd time.Duration, over, failed int) {
	w.mu.Lock()
	var d []time.Duration
	for _, p := range w.posts {
		if p.start.Before(from) || !p.start.Before(to) {
			continue
		}
		if !p.acked() {
			failed++
			continue
		}
		d = append(d, p.dur)
		if p.dur > 3*time.Second {
			over++
		}
	}
	w.mu.Unlock()
	slices.Sort(d)
	if len(d) > 0 {
		maxd = d[len(d)-1]
	}
	return len(d), quantile(d, 0.5), quantile(d, 0.99), maxd, over, failed
}

func (w *world) ackRow(t *table, scenario string, from, to time.Time) {
	n, p50, p99, mx, over, failed := w.acks(from, to)
	t.add(scenario, "acks (POSTs answered 200)", "%d: p50 %s, p99 %s, max %s; %d over 3 s; %d POSTs not acknowledged (refused or no answer)",
		n, ms(p50), ms(p99), ms(mx), over, failed)
}

// sawRow lists what people were told in a phase, most often first.
func (w *world) sawRow(t *table, scenario, phase string) {
	w.mu.Lock()
	m := maps.Clone(w.notes[phase])
	w.mu.Unlock()
	if len(m) == 0 {
		return
	}
	t.add(scenario, "people were told (besides normal answers)", "%s", topText(m))
}

// inflight is the requests whose Reveal click went to r and that are
// executing now.
func (w *world) inflight(ctx context.Context, r *replica) []*request {
	w.mu.Lock()
	var cand []*request
	for _, rq := range w.reqs {
		if rq.revealRep == r && rq.endedAt.IsZero() && !rq.vanished {
			cand = append(cand, rq)
		}
	}
	w.mu.Unlock()
	var out []*request
	for _, rq := range cand {
		if s, _, _, ok := w.state(ctx, rq.id); ok && s == string(bot.StateExecuting) {
			out = append(out, rq)
		}
	}
	return out
}

func (w *world) scenarios(ctx context.Context, out io.Writer) error {
	var t table
	var failures []string
	lease := "2m, the default: this resetbot reads no execution_lease"
	if w.o.lease > 0 {
		lease = w.o.lease.String()
	}
	fmt.Fprintf(w.stderr, "resetbot-chaos: 3 replicas up; load: %d people at once, resets take %s at the cloud, execution lease %s\n",
		w.o.workers, w.o.resetDelay, lease)
	runStart := time.Now()
	w.setPhase("warm-up")
	for i := range w.o.workers {
		w.wg.Add(1)
		go w.person(ctx, i)
	}
	time.Sleep(5 * time.Second)
	w.ackRow(&t, "0. load alone", runStart, time.Now())

	// 1. SIGKILL during resets.
	s1 := "1. SIGKILL during resets"
	w.setPhase(s1)
	victim := w.replicas[0]
	var caught []*request
	waitFor(ctx, 20*time.Second, func() bool { caught = w.inflight(ctx, victim); return len(caught) >= 2 })
	killAt := time.Now()
	victim.inRot.Store(false)
	_ = victim.cmd.Process.Signal(syscall.SIGKILL)
	<-victim.exited
	fmt.Fprintf(w.stderr, "resetbot-chaos: killed %s with %d resets under way\n", victim.name, len(caught))
	var ends []time.Duration
	unknown, other := 0, map[string]int{}
	waitFor(ctx, w.lease()+40*time.Second, func() bool {
		for _, rq := range caught {
			w.mu.Lock()
			done := !rq.endedAt.IsZero()
			w.mu.Unlock()
			if !done {
				s, o, _, ok := w.state(ctx, rq.id)
				if !ok || !bot.State(s).Terminal() {
					return false
				}
				w.mu.Lock()
				rq.state, rq.outcome, rq.endedAt = s, o, time.Now()
				w.mu.Unlock()
			}
		}
		return true
	})
	for _, rq := range caught {
		w.mu.Lock()
		s, o, end := rq.state, rq.outcome, rq.endedAt
		w.mu.Unlock()
		switch {
		case end.IsZero():
			other["still not ended"]++
			failures = append(failures, fmt.Sprintf("%s: %s was still executing %s after the kill", s1, rq.id, ms(time.Since(killAt))))
		case s == string(bot.StateFailed) && strings.Contains(o, "outcome unknown"):
			unknown++
			ends = append(ends, end.Sub(killAt))
		default:
			other[s]++
			ends = append(ends, end.Sub(killAt))
		}
	}
	slices.Sort(ends)
	t.add(s1, "resets under way on the killed replica", "%d", len(caught))
	if len(ends) > 0 {
		t.add(s1, "kill to their end", "min %s, max %s (lease %s)", ms(ends[0]), ms(ends[len(ends)-1]), lease)
	}
	t.add(s1, "ended as failed, outcome unknown", "%d of %d%s", unknown, len(caught), otherStates(other))
	toldDM := 0
	waitFor(ctx, 15*time.Second, func() bool { // the message follows the end
		for _, rq := range caught {
			if !w.toldByDM(rq.id, "outcome unknown") {
				return false
			}
		}
		return true
	})
	for _, rq := range caught {
		if w.toldByDM(rq.id, "outcome unknown") {
			toldDM++
		}
	}
	t.add(s1, "their requesters told so by direct message", "%d of %d (the Reveal window the killed replica opened stays at its first text)", toldDM, len(caught))
	restartAt := time.Now()
	r, err := w.startReplica(ctx, victim.name+"b")
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.replicas = append(w.replicas, r)
	w.mu.Unlock()
	t.add(s1, "a new replica started and ready", "in %s", ms(time.Since(restartAt)))
	w.ackRow(&t, s1, killAt, time.Now())
	w.sawRow(&t, s1, s1)
	time.Sleep(3 * time.Second)

	// 2. Redis restarted, empty.
	s2 := "2. Redis restarted, empty"
	w.setPhase(s2)
	live := w.live()
	probeStop := make(chan struct{})
	probed := w.probe(ctx, probeStop, 200*time.Millisecond)
	time.Sleep(time.Second)
	stopAt := time.Now()
	w.stopRedis()
	if err := w.startRedis(ctx); err != nil {
		return err
	}
	upAt := time.Now()
	readyIn := make([]time.Duration, len(live))
	var rw sync.WaitGroup
	for i, r := range live {
		rw.Go(func() {
			if w.waitReady(ctx, r, 60*time.Second) {
				readyIn[i] = time.Since(upAt)
			} else {
				readyIn[i] = -1
			}
		})
	}
	rw.Wait()
	time.Sleep(2 * time.Second)
	close(probeStop)
	w.probeRows(ctx, &t, s2, <-probed)
	t.add(s2, "redis-server down (stop to answering again)", "%s", ms(upAt.Sub(stopAt)))
	var readyText []string
	for i, d := range readyIn {
		if d < 0 {
			readyText = append(readyText, live[i].name+" not within 60s")
		} else {
			readyText = append(readyText, live[i].name+" "+ms(d))
		}
	}
	t.add(s2, "Redis back to /readyz 200", "%s", strings.Join(readyText, ", "))
	time.Sleep(3 * time.Second)
	w.mu.Lock()
	lost := 0
	for _, rq := range w.reqs {
		if rq.vanished {
			lost++
		}
	}
	w.mu.Unlock()
	t.add(s2, "requests under way that vanished with Redis's data", "%d (nobody was told)", lost)
	w.ackRow(&t, s2, stopAt, time.Now())
	w.sawRow(&t, s2, s2)
	w.sawRow(&t, s2+", an Approve click on a vanished request", s2+" (a click on a vanished request)")
	time.Sleep(3 * time.Second)

	// 3. Redis paused for 10 s.
	s3 := "3. Redis paused 10 s"
	w.setPhase(s3)
	pauseAt := time.Now()
	if err := w.obs.Do(ctx, "CLIENT", "PAUSE", "10000", "ALL").Err(); err != nil {
		return fmt.Errorf("CLIENT PAUSE: %w", err)
	}
	probeStop = make(chan struct{})
	probed = w.probe(ctx, probeStop, 200*time.Millisecond)
	time.Sleep(10 * time.Second)
	close(probeStop)
	w.ackRow(&t, s3, pauseAt, pauseAt.Add(10*time.Second))
	w.probeRows(ctx, &t, s3, <-probed)
	w.sawRow(&t, s3, s3)

	// 4. SIGTERM during resets.
	s4 := "4. SIGTERM during resets"
	w.setPhase(s4)
	victim = w.live()[0]
	caught = nil
	waitFor(ctx, 20*time.Second, func() bool { caught = w.inflight(ctx, victim); return len(caught) >= 2 })
	termAt := time.Now()
	victim.inRot.Store(false)
	_ = victim.cmd.Process.Signal(syscall.SIGTERM)
	var stopTook time.Duration
	select {
	case <-victim.exited:
		stopTook = time.Since(termAt)
	case <-time.After(60 * time.Second):
		failures = append(failures, s4+": the replica did not stop within 60s of SIGTERM")
		_ = victim.cmd.Process.Kill()
		<-victim.exited
		stopTook = time.Since(termAt)
	}
	t.add(s4, "resets under way on the stopped replica", "%d", len(caught))
	t.add(s4, "SIGTERM to exit", "%s (exit: %v)", ms(stopTook), exitText(victim.waitErr))
	states := map[string]int{}
	for _, rq := range caught {
		s, _, _, _ := w.state(ctx, rq.id)
		states[s]++
	}
	t.add(s4, "those resets, once it exited", "%s", countText(states))
	w.ackRow(&t, s4, termAt.Add(-5*time.Second), time.Now())

	// The load stops; every flow under way finishes.
	w.setPhase("drain")
	w.stop.Store(true)
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(w.lease() + 90*time.Second):
		failures = append(failures, "the load did not finish within the lease and 90s")
	}
	// Answers still on their way.
	waitFor(ctx, 35*time.Second, func() bool { return len(w.unanswered(victim, false)) == 0 })

	// Correctness.
	resets := map[string]int{}
	calls := 0
	for _, c := range w.emu.Calls() {
		if strings.HasPrefix(c.Action, "Reset") {
			calls++
			if c.Code == "" {
				resets[c.Params["InstanceId"]]++
			}
		}
	}
	twice := 0
	for inst, n := range resets {
		if n > 1 {
			twice++
			failures = append(failures, fmt.Sprintf("%s was reset %d times for one request", inst, n))
		}
	}
	w.mu.Lock()
	final := map[string]int{}
	resetLost := 0
	for _, rq := range w.reqs {
		if rq.vanished {
			final["vanished with Redis"]++
			if resets["tdsql-"+rq.account] > 0 {
				resetLost++
			}
			continue
		}
		if rq.state != "" {
			final[rq.state]++
			continue
		}
		s, _, gone, ok := w.state(ctx, rq.id)
		switch {
		case !ok:
			final["unreadable"]++
		case gone:
			final["not in Redis"]++
		default:
			final[s]++
			if s == string(bot.StateExecuting) {
				failures = append(failures, fmt.Sprintf("%s is still executing at the end", rq.id))
			}
		}
	}
	nreq := len(w.reqs)
	nposts := len(w.posts)
	w.mu.Unlock()
	killed := w.replicas[0]
	lostKill := w.unanswered(killed, true)
	lostOther := w.unanswered(killed, false)
	for _, p := range lostOther {
		failures = append(failures, fmt.Sprintf("a %s acknowledged by %s at %s (%s) was never answered", p.kind, p.rep.name,
			p.start.Format("15:04:05.000"), p.phase))
	}
	all := "all"
	t.add(all, "requests asked; payloads posted", "%d; %d", nreq, nposts)
	t.add(all, "requests by final state", "%s", countText(final))
	t.add(all, "reset calls at the cloud; accounts reset twice", "%d; %d", calls, twice)
	t.add(all, "requests that vanished with Redis but whose reset went through", "%d", resetLost)
	t.add(all, "payloads acknowledged by the SIGKILLed replica and never answered", "%d%s", len(lostKill), kinds(lostKill))
	t.add(all, "payloads acknowledged by the other replicas and never answered", "%d", len(lostOther))
	w.ackRow(&t, all, runStart, time.Now())
	t.add(all, "run took", "%s", ms(time.Since(runStart)))

	t.print(out)
	if len(failures) > 0 {
		for _, f := range failures {
			fmt.Fprintln(w.stderr, "FAIL:", f)
		}
		return fmt.Errorf("%d correctness checks failed", len(failures))
	}
	return nil
}

// unanswered is the acknowledged payloads never answered: those of r when
// of is true, the others' otherwise.
func (w *world) unanswered(r *replica, of bool) []*post {
	w.mu.Lock()
	ps := slices.Clone(w.posts)
	w.mu.Unlock()
	var out []*post
	for _, p := range ps {
		if p.acked() && (p.rep == r) == of && !w.answered(p) {
			out = append(out, p)
		}
	}
	return out
}

func (w *world) live() []*replica {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*replica
	for _, r := range w.replicas {
		if r.inRot.Load() {
			out = append(out, r)
		}
	}
	return out
}

func kinds(ps []*post) string {
	m := map[string]int{}
	for _, p := range ps {
		m[p.kind]++
	}
	if len(m) == 0 {
		return ""
	}
	return " (" + countText(m) + ")"
}

func countText(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		name := k
		if name == "" {
			name = "none"
		}
		parts = append(parts, fmt.Sprintf("%s %d", name, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func otherStates(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	return "; others: " + countText(m)
}

func exitText(err error) string {
	if err == nil {
		return "status 0"
	}
	return err.Error()
}
