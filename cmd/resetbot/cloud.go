package main

import (
	"github.com/redis/go-redis/v9"

	"resetbot/bot"
	"resetbot/providers/alibaba"
	"resetbot/providers/ratelimit"
	"resetbot/providers/tencent"
)

// cloudProviders makes one provider per configured cloud, sharing one rate
// limiter in Redis so that every replica together keeps under each API's
// 20 calls a second.
func cloudProviders(cfg *Config, rdb redis.UniversalClient) (map[string]bot.Provider, error) {
	limiter := ratelimit.New(rdb, cfg.Redis.Prefix+"ratelimit:", tencent.DefaultRate)
	m := map[string]bot.Provider{}
	if t := cfg.TencentCloud; t != nil {
		p := tencent.New(tencent.Options{
			SecretID:  t.SecretID.Value(),
			SecretKey: t.SecretKey.Value(),
			Endpoint:  t.Endpoint,
			Scheme:    t.Scheme,
			Limiter:   limiter,
		})
		for _, k := range []string{"tencent.ciam", "tencent.tdsql", "tencent.tcr", "tencent.cam"} {
			m[k] = p
		}
	}
	if a := cfg.AlibabaCloud; a != nil {
		m["alibaba.ehpc"] = alibaba.New(alibaba.Options{
			AccessKeyID:     a.AccessKeyID.Value(),
			AccessKeySecret: a.AccessKeySecret.Value(),
			Endpoint:        a.Endpoint,
			Scheme:          a.Scheme,
			Limiter:         limiter,
		})
	}
	return m, nil
}
