package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"resetbot/config"
)

// openRedis connects to the configured Redis, or starts the embedded store
// when the config names none.
func openRedis(cfg *config.Config, log *slog.Logger) (redis.UniversalClient, func(), error) {
	if cfg.Redis.Embedded() {
		log.Warn("redis: none configured: using an embedded in-memory store; state is lost on restart and only one replica may run")
		return embeddedRedis(time.Second)
	}
	c, err := redisClient(cfg.Redis)
	if err != nil {
		return nil, nil, err
	}
	log.Info("redis", "at", cfg.Redis.Where())
	return c, func() { _ = c.Close() }, nil
}

// redisClient builds go-redis's own client for the config: a Client for a
// URL, a FailoverClient for a Sentinel setup, a ClusterClient for a Cluster.
// Its errors never quote the URL or a password.
func redisClient(r config.Redis) (redis.UniversalClient, error) {
	tlsConf, err := redisTLS(r.TLS)
	if err != nil {
		return nil, err
	}
	switch {
	case r.Sentinel != nil:
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName:       r.Sentinel.Master,
			SentinelAddrs:    r.Sentinel.Addrs,
			SentinelPassword: r.Sentinel.Password.Value(),
			Username:         r.Username,
			Password:         r.Password.Value(),
			TLSConfig:        tlsConf,
		}), nil
	case r.Cluster != nil:
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs:     r.Cluster.Addrs,
			Username:  r.Username,
			Password:  r.Password.Value(),
			TLSConfig: tlsConf,
		}), nil
	}
	opts, err := redis.ParseURL(r.URL.Value())
	if err != nil {
		return nil, errors.New("redis.url does not parse") // the URL may hold a password: not echoed
	}
	if r.Username != "" {
		opts.Username = r.Username
	}
	if !r.Password.IsZero() {
		opts.Password = r.Password.Value()
	}
	if opts.TLSConfig != nil && tlsConf != nil {
		// rediss:// set the server name from the URL's host; the files add
		// the rest, and server_name overrides it.
		if tlsConf.ServerName == "" {
			tlsConf.ServerName = opts.TLSConfig.ServerName
		}
		opts.TLSConfig = tlsConf
	}
	return redis.NewClient(opts), nil
}

// redisTLS is the TLS configuration of redis.tls, nil when it is not set.
func redisTLS(t *config.RedisTLS) (*tls.Config, error) {
	if t == nil {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("redis.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("redis.tls.ca_file: %s holds no PEM certificate", t.CAFile)
		}
		c.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("redis.tls.cert_file and key_file: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
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
