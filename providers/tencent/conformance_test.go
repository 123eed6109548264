package tencent_test

import (
	"testing"

	"resetbot/bot"
	"resetbot/providers/emulator"
	"resetbot/providers/internal/providertest"
	"resetbot/providers/tencent"
)

// harness is the conformance suite's view of one of the four APIs.
func harness(key bot.ProviderKey, action string, acct func() bot.Account) providertest.Harness {
	rule, _ := tencent.Rule(key)
	return providertest.Harness{
		Credentials: func(o *emulator.Options) { o.TencentSecretID, o.TencentSecretKey = secretID, secretKey },
		New: func(c providertest.Config) bot.Provider {
			o := tencent.Options{SecretID: secretID, SecretKey: secretKey, Endpoint: c.Endpoint,
				Transport: c.Transport, Limiter: c.Limiter, Timeout: c.Timeout, Backoff: c.Backoff}
			if c.ID != "" {
				o.SecretID = c.ID
			}
			if c.Secret != "" {
				o.SecretKey = c.Secret
			}
			return tencent.New(o)
		},
		Account:   acct,
		Action:    action,
		Throttled: "RequestLimitExceeded",
		Transient: []string{"InternalError"},
		Rule:      rule,
		Rate:      tencent.DefaultRate,
		Burst:     key == tencent.CAM,
	}
}

func TestConformance(t *testing.T) {
	two := func(acct bot.Account, second string) func() bot.Account {
		return func() bot.Account { acct.Users = append(acct.Users[:1:1], second); return acct }
	}
	t.Run("CIAM", func(t *testing.T) { providertest.Run(t, harness(tencent.CIAM, "SetPassword", two(ciam(), "u-bob"))) })
	t.Run("TDSQL", func(t *testing.T) {
		providertest.Run(t, harness(tencent.TDSQL, "ResetUserPassword", two(tdsql(), "report")))
	})
	t.Run("TCR", func(t *testing.T) {
		providertest.Run(t, harness(tencent.TCR, "ModifyServiceAccountPassword", two(tcr(), "robot2")))
	})
	t.Run("CAM", func(t *testing.T) { providertest.Run(t, harness(tencent.CAM, "UpdateUser", two(cam(), "bob"))) })
}
