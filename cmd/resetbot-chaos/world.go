package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/adapters/slack/slacktest"
	"resetbot/config"
	"resetbot/providers"
	"resetbot/providers/emulator"
)

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
