// Command resetbot-load puts load on resetbot's workflow and prints figures.
//
// It runs several replicas of the service in one process, sharing one real
// Redis (-redis, or RESETBOT_TEST_REDIS as `make bench` sets it), each with
// its executor and the real Tencent provider signing calls to the cloud
// emulator, behind the limiter that keeps the bot under the API's 20 calls a
// second. Then -requests requesters ask at once (-concurrency at a time),
// approvers approve every request on a replica other than the one asked, and
// it prints the latency of asks and approvals, the time from an approval to
// the Reveal offer, and, as every requester clicks Reveal on another
// replica, the time from the click to the password in its answer, with and
// without the provider's own time, and the resets per second.
//
// The chat platform is a sink that notes when an offer was made; the click's
// answer counts the passwords and keeps none.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/approvals"
	"resetbot/bot"
	"resetbot/config"
	"resetbot/providers"
	"resetbot/providers/emulator"
	"resetbot/providers/ratelimit"
	"resetbot/providers/tencent"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "resetbot-load:", err)
		os.Exit(1)
	}
}

type options struct {
	redis       string
	requests    int
	concurrency int
	replicas    int
	rate        int
	timeout     time.Duration
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var c options
	fs := flag.NewFlagSet("resetbot-load", flag.ContinueOnError)
	defRedis := os.Getenv("RESETBOT_TEST_REDIS")
	if defRedis == "" {
		defRedis = "127.0.0.1:6379"
	}
	fs.StringVar(&c.redis, "redis", defRedis, "Redis address (host:port); keys go under a prefix of their own, removed at the end")
	fs.IntVar(&c.requests, "requests", 200, "requests to ask, approve and execute")
	fs.IntVar(&c.concurrency, "concurrency", 50, "asks or approvals in flight at once")
	fs.IntVar(&c.replicas, "replicas", 3, "service replicas sharing the Redis, each with its executor")
	fs.IntVar(&c.rate, "rate", tencent.DefaultRate, "cloud API calls a second allowed (the emulator enforces it, the bot's limiter keeps under it)")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.requests < 1 || c.concurrency < 1 || c.replicas < 1 || c.rate < 1 {
		return errors.New("-requests, -concurrency, -replicas and -rate must be at least 1")
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return load(ctx, c, out)
}

const account = "load-db"

// approvers is how many people approve the requests, in turn.
const approvers = 10

// loadConfig is the config of the load: one requester per request, the
// approvers, and one TDSQL account, read by the same code as a real config.
func loadConfig(c options) string {
	var b strings.Builder
	b.WriteString(`tencentcloud:
  secret_id: "${SECRET_ID}"
  secret_key: "${SECRET_KEY}"
  endpoint: "${ENDPOINT}"
accounts:
  - name: ` + account + `
    provider: tencent.tdsql
    region: ap-guangzhou
    instance_id: tdsql-load
    user: app_user
    requesters: [load]
    approvers: [approvers]
    ttl: 30m
people:
`)
	for i := range c.requests {
		fmt.Fprintf(&b, "  - {name: req-%d, slack: U0REQ%d, groups: [load]}\n", i, i)
	}
	for i := range approvers {
		fmt.Fprintf(&b, "  - {name: appr-%d, slack: U0APPR%d, groups: [approvers]}\n", i, i)
	}
	return b.String()
}

// sink is the chat platform: it notes when each request was offered for
// Reveal, and keeps no password.
type sink struct {
	mu      sync.Mutex
	offered map[string]time.Time
	done    chan struct{}
	want    int
}

func (s *sink) Platform() bot.Platform { return bot.PlatformConsole }

func (s *sink) Card(_ context.Context, req bot.Request, _ bot.Account, ref string) (string, error) {
	if ref == "" {
		ref = "card-" + req.ID
	}
	return ref, nil
}

func (s *sink) Notify(context.Context, bot.Person, bot.Request, string) error { return nil }

func (s *sink) Offer(_ context.Context, _ bot.Person, req bot.Request) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.offered[req.ID]; !dup {
		s.offered[req.ID] = time.Now()
		if len(s.offered) == s.want {
			close(s.done)
		}
	}
	return "offer-" + req.ID, nil
}

func (s *sink) Withdraw(context.Context, bot.Request, string) error { return nil }

func (s *sink) Announce(context.Context, string, string) error { return nil }

func (s *sink) Remind(context.Context, bot.Request, string, []bot.Person, string) error { return nil }

// timed is the provider with its time counted into the *time.Duration a
// Reveal's context carries, so that the bot's own time can be told apart.
type timed struct{ bot.Provider }

type spentKey struct{}

func (t timed) Reset(ctx context.Context, acct bot.Account, users []string) ([]bot.UserResult, error) {
	start := time.Now()
	res, err := t.Provider.Reset(ctx, acct, users)
	if p, ok := ctx.Value(spentKey{}).(*time.Duration); ok {
		*p += time.Since(start)
	}
	return res, err
}

func load(ctx context.Context, c options, out io.Writer) error {
	prefix := "resetbot-load:" + randomHex(6) + ":"
	admin := redis.NewClient(&redis.Options{Addr: c.redis})
	defer admin.Close()
	if err := admin.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis at %s: %w", c.redis, err)
	}
	defer cleanup(admin, prefix)

	secretID, secretKey := "AKIDload", randomHex(16)
	emu := emulator.New(emulator.Options{TencentSecretID: secretID, TencentSecretKey: secretKey, Rate: c.rate})
	cloud := httptest.NewTLSServer(emu)
	defer cloud.Close()

	cfg, err := config.LoadConsole([]byte(loadConfig(c)), func(k string) string {
		return map[string]string{"SECRET_ID": secretID, "SECRET_KEY": secretKey,
			"ENDPOINT": strings.TrimPrefix(cloud.URL, "https://")}[k]
	}, providers.Kinds())
	if err != nil {
		return err
	}
	accounts := cfg.Accounts()
	for _, a := range accounts {
		if err := emu.AddAccount(a); err != nil {
			return err
		}
	}
	tdsql := accounts[0].Provider
	chat := &sink{offered: map[string]time.Time{}, done: make(chan struct{}), want: c.requests}

	execCtx, stopExec := context.WithCancel(context.WithoutCancel(ctx))
	var execs sync.WaitGroup
	defer func() { stopExec(); execs.Wait() }()
	var svcs []*bot.Service
	for r := range c.replicas {
		client := redis.NewClient(&redis.Options{Addr: c.redis, PoolSize: 4 * c.concurrency})
		defer client.Close()
		prov := tencent.New(tencent.Options{
			SecretID: secretID, SecretKey: secretKey,
			Endpoint: cfg.TencentCloud.Endpoint, Transport: cloud.Client().Transport,
			Limiter: ratelimit.New(client, prefix, c.rate),
		})
		svc, err := bot.New(bot.Options{
			Store:     approvals.New(client, approvals.Options{Prefix: prefix}),
			Providers: map[bot.ProviderKey]bot.Provider{tdsql: timed{prov}},
			Notifiers: []bot.Notifier{chat},
			People:    cfg.People(),
			Accounts:  accounts,
			Limit:     bot.Limit{N: 1000, Window: time.Hour},
		})
		if err != nil {
			return err
		}
		svcs = append(svcs, svc)
		execs.Add(1)
		go func() {
			defer execs.Done()
			_ = svc.RunExecutor(execCtx, fmt.Sprintf("load-%d", r))
		}()
	}

	fmt.Fprintf(out, "resetbot-load: %d requests, %d at a time, %d replicas on Redis %s, cloud limit %d calls/s\n",
		c.requests, c.concurrency, c.replicas, c.redis, c.rate)

	ids := make([]string, c.requests)
	askStart := time.Now()
	asks, askErrs := each(ctx, c, func(i int) error {
		r := svcs[i%len(svcs)].HandleText(ctx, bot.Actor{Platform: bot.PlatformConsole, UserID: fmt.Sprintf("req-%d", i)},
			account+" load test")
		if r.Err != nil {
			return r.Err
		}
		ids[i] = r.Request.ID
		return nil
	})
	report(out, "ask", asks, askErrs, time.Since(askStart))
	if askErrs > 0 {
		return fmt.Errorf("%d asks failed", askErrs)
	}

	var approvedAt sync.Map // request ID -> time the approval returned
	approveStart := time.Now()
	votes, voteErrs := each(ctx, c, func(i int) error {
		r := svcs[(i+1)%len(svcs)].HandleText(ctx, bot.Actor{Platform: bot.PlatformConsole, UserID: fmt.Sprintf("appr-%d", i%approvers)},
			"approve "+ids[i])
		if r.Err != nil {
			return r.Err
		}
		approvedAt.Store(ids[i], time.Now())
		return nil
	})
	report(out, "approve", votes, voteErrs, time.Since(approveStart))
	if voteErrs > 0 {
		return fmt.Errorf("%d approvals failed", voteErrs)
	}

	select {
	case <-chat.done:
	case <-ctx.Done():
		chat.mu.Lock()
		n := len(chat.offered)
		chat.mu.Unlock()
		return fmt.Errorf("%d of %d requests offered for Reveal before giving up: %w", n, c.requests, ctx.Err())
	}
	chat.mu.Lock()
	var toOffer []time.Duration
	for id, at := range chat.offered {
		if v, ok := approvedAt.Load(id); ok {
			toOffer = append(toOffer, max(at.Sub(v.(time.Time)), 0))
		}
	}
	chat.mu.Unlock()
	report(out, "approval to Reveal offer", toOffer, 0, 0)

	// Each requester clicks Reveal on a replica other than the one that
	// offered; the answer to the click is where the password is shown.
	var mu sync.Mutex
	var overhead []time.Duration
	users := 0
	revealStart := time.Now()
	clicks, clickErrs := each(ctx, c, func(i int) error {
		var spent time.Duration
		start := time.Now()
		var shownAt time.Time
		err := svcs[(i+2)%len(svcs)].Reveal(context.WithValue(ctx, spentKey{}, &spent),
			bot.Actor{Platform: bot.PlatformConsole, UserID: fmt.Sprintf("req-%d", i)}, ids[i],
			func(_ context.Context, results []bot.UserResult) error {
				shownAt = time.Now()
				mu.Lock()
				defer mu.Unlock()
				for _, r := range results {
					if r.Err == nil && !r.Password.IsZero() {
						users++
					}
				}
				return nil
			})
		if err != nil {
			return err
		}
		mu.Lock()
		overhead = append(overhead, max(shownAt.Sub(start)-spent, 0))
		mu.Unlock()
		return nil
	})
	wall := time.Since(revealStart)
	report(out, "Reveal click to password", clicks, clickErrs, wall)
	report(out, "Reveal click to password, less the provider's time (bot overhead)", overhead, 0, 0)
	resets := 0
	limited := 0
	for _, call := range emu.Calls() {
		switch {
		case call.Action == "ResetUserPassword" && call.Code == "":
			resets++
		case strings.Contains(call.Code, "LimitExceeded"):
			limited++
		}
	}
	fmt.Fprintf(out, "resets: %d done, %d passwords shown, %d refused by the cloud's rate limit; %.2f resets/s from the first click to the last answer (%s)\n",
		resets, users, limited, float64(resets)/wall.Seconds(), wall.Round(time.Millisecond))
	if resets != c.requests || users != c.requests {
		return fmt.Errorf("want %d resets and passwords shown, got %d and %d", c.requests, resets, users)
	}
	if p99 := quantile(overhead, 0.99); p99 > 50*time.Millisecond {
		fmt.Fprintf(out, "warning: the bot's overhead at p99 is %s, over the 50ms it should stay within\n", p99)
	}
	return nil
}

// each runs fn for 0..n-1, c.concurrency at a time, and returns the
// latencies of the calls that succeeded and the number that failed.
func each(ctx context.Context, c options, fn func(i int) error) ([]time.Duration, int) {
	var mu sync.Mutex
	var lat []time.Duration
	var failed atomic.Int64
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range c.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= c.requests || ctx.Err() != nil {
					return
				}
				start := time.Now()
				if err := fn(i); err != nil {
					if failed.Add(1) <= 3 {
						fmt.Fprintln(os.Stderr, "resetbot-load:", bot.ErrorMessage(err))
					}
					continue
				}
				d := time.Since(start)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return lat, int(failed.Load())
}

// report prints a line of latency figures; wall > 0 adds the rate.
func report(out io.Writer, what string, lat []time.Duration, failed int, wall time.Duration) {
	if len(lat) == 0 {
		fmt.Fprintf(out, "%s: none succeeded, %d failed\n", what, failed)
		return
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return quantile(lat, p).Round(10 * time.Microsecond) }
	line := fmt.Sprintf("%s: n=%d p50=%s p95=%s p99=%s max=%s", what, len(lat), q(0.50), q(0.95), q(0.99), lat[len(lat)-1].Round(10*time.Microsecond))
	if wall > 0 {
		line += fmt.Sprintf(" (%.0f/s)", float64(len(lat))/wall.Seconds())
	}
	if failed > 0 {
		line += fmt.Sprintf(", %d failed", failed)
	}
	fmt.Fprintln(out, line)
}

// quantile is the p-quantile of lat, sorted.
func quantile(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	return lat[min(int(p*float64(len(lat))), len(lat)-1)]
}

func cleanup(c *redis.Client, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	iter := c.Scan(ctx, 0, "{"+prefix+"}*", 1000).Iterator()
	for iter.Next(ctx) {
		c.Del(ctx, iter.Val())
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
