package main

import (
	"net/http"

	"github.com/redis/go-redis/v9"

	"resetbot/bot"
	"resetbot/config"
	"resetbot/providers/alibaba"
	"resetbot/providers/ratelimit"
	"resetbot/providers/tencent"
)

// cloudProviders makes one provider per configured cloud, serving every kind
// of account of its package, and sharing one rate limiter in Redis so that
// every replica together keeps under each API's 20 calls a second.
// transport carries the calls (nil: the default).
func cloudProviders(cfg *config.Config, rdb redis.UniversalClient, transport http.RoundTripper) map[bot.ProviderKey]bot.Provider {
	limiter := ratelimit.New(rdb, cfg.Redis.Prefix, tencent.DefaultRate)
	m := map[bot.ProviderKey]bot.Provider{}
	serve := func(p bot.Provider, kinds []bot.AccountKind) {
		for _, k := range kinds {
			m[k.Provider()] = p
		}
	}
	if t := cfg.TencentCloud; t != nil {
		serve(tencent.New(tencent.Options{
			SecretID:  t.SecretID.Value(),
			SecretKey: t.SecretKey.Value(),
			Endpoint:  t.Endpoint,
			Scheme:    t.Scheme,
			Limiter:   limiter,
			Transport: transport,
		}), tencent.Kinds())
	}
	if a := cfg.AlibabaCloud; a != nil {
		serve(alibaba.New(alibaba.Options{
			AccessKeyID:     a.AccessKeyID.Value(),
			AccessKeySecret: a.AccessKeySecret.Value(),
			Endpoint:        a.Endpoint,
			Scheme:          a.Scheme,
			Limiter:         limiter,
			Transport:       transport,
		}), alibaba.Kinds())
	}
	return m
}
