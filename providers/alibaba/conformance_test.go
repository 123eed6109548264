package alibaba_test

import (
	"testing"

	"resetbot/bot"
	"resetbot/providers/alibaba"
	"resetbot/providers/emulator"
	"resetbot/providers/internal/providertest"
)

func TestConformance(t *testing.T) {
	providertest.Run(t, providertest.Harness{
		Credentials: func(o *emulator.Options) { o.AlibabaAccessKeyID, o.AlibabaAccessKeySecret = keyID, keySecret },
		New: func(c providertest.Config) bot.Provider {
			o := alibaba.Options{AccessKeyID: keyID, AccessKeySecret: keySecret, Endpoint: c.Endpoint,
				Transport: c.Transport, Limiter: c.Limiter, Timeout: c.Timeout, Backoff: c.Backoff}
			if c.ID != "" {
				o.AccessKeyID = c.ID
			}
			if c.Secret != "" {
				o.AccessKeySecret = c.Secret
			}
			return alibaba.New(o)
		},
		Account:   hpc,
		Action:    alibaba.Action,
		Throttled: "Throttling",
		Transient: []string{"ServiceUnavailable", "SignatureNonceUsed"},
		Rule:      alibaba.Rule(),
		Rate:      alibaba.DefaultRate,
		Burst:     true,
	})
}
