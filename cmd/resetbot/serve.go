package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	oklog "github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"resetbot/adapters/auditwebhook"
	"resetbot/approvals"
	"resetbot/bot"
	"resetbot/config"
)

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return errQuiet
	}
	cfg, err := loadConfigFile(*path, getenv, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.Level()}))
	for _, w := range cfg.Warnings() {
		log.Warn("config", "warning", w.String())
	}
	srv, err := build(cfg, log)
	if err != nil {
		return err
	}
	defer srv.close()
	return srv.run(ctx, stdout)
}

// server is the bot as serve runs it: everything built from the config,
// nothing started yet.
type server struct {
	cfg      *config.Config
	log      *slog.Logger
	store    *approvals.Store
	svc      *bot.Service
	chats    []chatAdapter
	http     *http.Server
	consumer string               // this process's name in the execution queue
	webhook  *auditwebhook.Sender // nil without audit.webhook
	close    func()
}

// build makes every part of the bot from cfg and wires them: Redis, the
// store, the cloud providers, the chat adapters, PagerDuty, the service and
// the HTTP endpoints. It starts nothing but the embedded store, if one is configured.
func build(cfg *config.Config, log *slog.Logger) (*server, error) {
	rdb, closeRedis, err := openRedis(cfg, log)
	if err != nil {
		return nil, err
	}
	s := &server{cfg: cfg, log: log, close: closeRedis, consumer: consumerName()}
	providers := cloudProviders(cfg, rdb, nil)
	s.store = approvals.New(rdb, approvals.Options{Prefix: cfg.Redis.Prefix, Replicas: cfg.Redis.Replicas()})
	reg, m := botMetrics(rdb, s.store, cfg.People(), providers, routeHealthz, routeReadyz, routeMetrics)
	if s.chats, err = chatAdapters(cfg, s.store, log, m.chatTransport); err != nil {
		closeRedis()
		return nil, err
	}
	notifiers := make([]bot.Notifier, len(s.chats))
	for i, c := range s.chats {
		notifiers[i] = c
	}
	oncall, err := onCall(cfg, nil)
	if err != nil {
		closeRedis()
		return nil, err
	}
	if s.webhook, err = auditSender(cfg, s.store, s.consumer, log); err != nil {
		closeRedis()
		return nil, err
	}
	if s.webhook != nil {
		registerAuditMetrics(reg, s.webhook)
	}
	s.svc, err = bot.New(bot.Options{
		Store:     s.store,
		Providers: m.tracedProviders(providers),
		Notifiers: notifiers,
		People:    cfg.People(),
		Accounts:  cfg.Accounts(),
		Limit:     cfg.Limit(),
		OnCall:    oncall,
		Log:       log,
		Metrics:   m,
		Lease:     cfg.Lease(),
		DataLost:  registerDataLost(reg),
	})
	if err != nil {
		closeRedis()
		return nil, err
	}
	mux := http.NewServeMux()
	for _, c := range s.chats {
		c.Attach(s.svc)
		c.Register(mux)
		m.routes(c.Routes()...)
	}
	mux.HandleFunc(routeHealthz, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc(routeReadyz, func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.store.Ping(ctx); err != nil {
			http.Error(w, "redis unreachable", http.StatusServiceUnavailable)
			return
		}
		// Until the bot said that Redis lost its data, it is not ready.
		if err := s.svc.Ready(ctx); err != nil {
			http.Error(w, bot.ErrorMessage(err), http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	mux.Handle(routeMetrics, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// The chat endpoints face the internet and read a body before they can
	// check its signature: no one may hold a connection open for long.
	s.http = &http.Server{Handler: m.instrument(mux), ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: httpTimeouts.read, WriteTimeout: httpTimeouts.write, IdleTimeout: httpTimeouts.idle}
	return s, nil
}

// run serves until ctx ends or a part fails: the HTTP server, the executor,
// the expiry sweeper and every chat connection start and stop together, in
// one run group.
func (s *server) run(ctx context.Context, stdout io.Writer) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	// A chat API that is down at start is logged, not fatal: the bot still
	// serves the other platform and the text commands.
	for _, c := range s.chats {
		if err := c.Start(runCtx); err != nil {
			s.log.Error("chat start-up", "platform", c.Platform(), "err", err)
		}
	}
	// A channel the bot cannot post cards in is said at start, not found at
	// the first request; the check runs beside the serving.
	var checks sync.WaitGroup
	checks.Go(func() {
		ctx, cancel := context.WithTimeout(runCtx, onlineTimeout)
		defer cancel()
		problems := channelProblems(ctx, s.cfg, s.chats)
		if runCtx.Err() != nil {
			return // stopped before the platforms answered: nothing was found
		}
		for _, p := range problems {
			s.log.Error("approval channels", "problem", p)
		}
		for _, w := range scopeWarnings(ctx, s.chats) {
			s.log.Warn("chat app permissions", "warning", w)
		}
	})
	// A Redis that keeps nothing on disk loses every request when it
	// restarts: said at start, as check-config --online says it.
	checks.Go(func() {
		ctx, cancel := context.WithTimeout(runCtx, onlineTimeout)
		defer cancel()
		problems, warnings := redisOnline(ctx, s.cfg)
		for _, p := range problems {
			s.log.Error("redis", "problem", p)
		}
		for _, w := range warnings {
			s.log.Warn("redis", "warning", w)
		}
	})
	s.log.Info("serving", "listen", ln.Addr().String())
	fmt.Fprintf(stdout, "resetbot listening on %s\n", ln.Addr())

	var g oklog.Group
	g.Add(func() error { <-runCtx.Done(); return nil }, func(error) { cancel() })
	g.Add(func() error {
		if err := s.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}, func(error) {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = s.http.Shutdown(sctx)
	})
	g.Add(func() error { return s.svc.RunExecutor(runCtx, s.consumer) }, func(error) { cancel() })
	g.Add(func() error { return s.svc.RunSweeper(runCtx, 5*time.Second) }, func(error) { cancel() })
	if s.webhook != nil {
		g.Add(func() error { return s.webhook.Run(runCtx) }, func(error) { cancel() })
	}
	for _, c := range s.chats {
		g.Add(func() error {
			if err := c.Run(runCtx); err != nil {
				return err
			}
			<-runCtx.Done() // no connection to hold: stay until the others stop
			return nil
		}, func(error) { cancel() })
	}
	err = g.Run()
	checks.Wait()
	for _, c := range s.chats {
		c.Wait()
	}
	s.log.Info("stopped")
	return err
}

// The routes serve registers itself; the chat adapters add theirs.
const (
	routeHealthz = "GET /healthz"
	routeReadyz  = "GET /readyz"
	routeMetrics = "GET /metrics"
)

func consumerName() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// httpTimeouts bound every connection: reading a request (Slack and Discord
// send small ones at once), writing the answer (the slowest, Discord's, is
// sent within 3 seconds), and waiting idle between requests.
var httpTimeouts = struct{ read, write, idle time.Duration }{10 * time.Second, 30 * time.Second, 2 * time.Minute}
