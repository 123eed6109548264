package main

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"resetbot/config"
)

// openRedis connects to the configured Redis, or starts the embedded store
// when redis.url is empty.
func openRedis(cfg *config.Config, log *slog.Logger) (redis.UniversalClient, func(), error) {
	if cfg.Redis.URL.IsZero() {
		log.Warn("redis.url is empty: using an embedded in-memory store; state is lost on restart and only one replica may run")
		return embeddedRedis(time.Second)
	}
	opts, err := redis.ParseURL(cfg.Redis.URL.Value())
	if err != nil {
		return nil, nil, errors.New("redis.url does not parse") // the URL may hold a password: not echoed
	}
	c := redis.NewClient(opts)
	log.Info("redis", "url", cfg.Redis.RedactedURL())
	return c, func() { _ = c.Close() }, nil
}

// embeddedRedis starts an in-process store (miniredis) and a client of it.
// miniredis's clock stands still unless moved, so a ticker moves it by tick
// and keys' TTLs run out. The returned function stops all of it.
func embeddedRedis(tick time.Duration) (*redis.Client, func(), error) {
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		return nil, nil, fmt.Errorf("start the embedded store: %w", err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				mr.FastForward(tick)
			}
		}
	}()
	c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	return c, func() { close(stop); wg.Wait(); _ = c.Close(); mr.Close() }, nil
}
