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
	"time"

	"github.com/alicebob/miniredis/v2"
	oklog "github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"resetbot/approvals"
	"resetbot/bot"
)

// loadConfigFile reads and checks the config, printing every problem.
func loadConfigFile(path string, getenv func(string) string, stderr io.Writer) (*Config, error) {
	if path == "" {
		fmt.Fprintln(stderr, "no config: pass --config FILE or set RESETBOT_CONFIG")
		return nil, errQuiet
	}
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "read config: %v\n", err)
		return nil, errQuiet
	}
	cfg, err := LoadConfig(data, getenv)
	if err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			fmt.Fprintf(stderr, "%s: %s\n", path, ce.Error())
			for _, w := range ce.Warnings {
				fmt.Fprintf(stderr, "  warning: %s\n", w)
			}
			return nil, errQuiet
		}
		return nil, err
	}
	return cfg, nil
}

func checkConfig(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return errQuiet
	}
	cfg, err := loadConfigFile(*path, getenv, stdout)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	fmt.Fprintf(stdout, "%s: ok (%d people, %d accounts)\n", *path, len(cfg.PersonConfigs), len(cfg.AccountConfigs))
	return nil
}

// openRedis connects to cfg's Redis, or starts the embedded store.
func openRedis(cfg *Config, log *slog.Logger) (redis.UniversalClient, func(), error) {
	if cfg.Redis.URL.IsZero() {
		log.Warn("redis.url is empty: using an embedded in-memory store; state is lost on restart and only one replica may run")
		mr := miniredis.NewMiniRedis()
		if err := mr.Start(); err != nil {
			return nil, nil, fmt.Errorf("start embedded store: %w", err)
		}
		stop := make(chan struct{})
		go func() { // miniredis's clock only moves when told to
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					mr.FastForward(time.Second)
				}
			}
		}()
		c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		return c, func() { close(stop); _ = c.Close(); mr.Close() }, nil
	}
	opts, err := redis.ParseURL(cfg.Redis.URL.Value())
	if err != nil {
		return nil, nil, errors.New("redis.url does not parse") // the URL may hold a password: not echoed
	}
	c := redis.NewClient(opts)
	return c, func() { _ = c.Close() }, nil
}

func consumerName() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

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

	rdb, closeRedis, err := openRedis(cfg, log)
	if err != nil {
		return err
	}
	defer closeRedis()
	store := approvals.New(rdb, approvals.Options{Prefix: cfg.Redis.Prefix})

	providers, err := cloudProviders(cfg, rdb)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	mux := http.NewServeMux()
	chat, err := chatAdapters(cfg, store, log)
	if err != nil {
		return err
	}
	svc, err := bot.New(bot.Options{
		Store:     store,
		Providers: providers,
		Notifiers: chat.notifiers,
		People:    cfg.People(),
		Accounts:  cfg.Accounts(),
		Limit:     cfg.Limit(),
		Log:       log,
		Metrics:   newMetrics(reg),
	})
	if err != nil {
		return err
	}
	chat.attach(svc)
	chat.register(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := store.Ping(ctx); err != nil {
			http.Error(w, "redis unreachable", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	// The chat endpoints face the internet and read a body before they can
	// check its signature: no one may hold a connection open for long.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: httpTimeouts.read, WriteTimeout: httpTimeouts.write, IdleTimeout: httpTimeouts.idle}
	chat.start(ctx, log)
	log.Info("serving", "listen", ln.Addr().String())
	fmt.Fprintf(stdout, "resetbot listening on %s\n", ln.Addr())

	var g oklog.Group
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	g.Add(func() error { <-runCtx.Done(); return nil }, func(error) { cancel() })
	g.Add(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}, func(error) {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
	})
	consumer := consumerName()
	g.Add(func() error { return svc.RunExecutor(runCtx, consumer) }, func(error) { cancel() })
	g.Add(func() error { return svc.RunSweeper(runCtx, 5*time.Second) }, func(error) { cancel() })
	for _, r := range chat.runners {
		g.Add(func() error { return r(runCtx) }, func(error) { cancel() })
	}
	err = g.Run()
	chat.wait()
	log.Info("stopped")
	return err
}

// httpTimeouts bound every connection: reading a request (Slack and Discord
// send small ones at once), writing the answer (the slowest, Discord's, is
// sent within 3 seconds), and waiting idle between requests.
var httpTimeouts = struct{ read, write, idle time.Duration }{10 * time.Second, 30 * time.Second, 2 * time.Minute}
