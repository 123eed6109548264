package main

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/redis/go-redis/v9"

	"resetbot/bot"
)

// playgroundProviders: until the cloud providers land, a provider that
// changes nothing and says so.
func playgroundProviders(_ redis.UniversalClient) (map[string]bot.Provider, string, func(), error) {
	p := nochange{}
	m := map[string]bot.Provider{}
	for _, k := range []string{"tencent.tdsql", "tencent.cam", "tencent.ciam", "tencent.tcr", "alibaba.ehpc"} {
		m[k] = p
	}
	return m, "and a provider that CHANGES NOTHING (no cloud is called)", func() {}, nil
}

type nochange struct{}

func (nochange) Reset(_ context.Context, _ bot.Account, users []string) ([]bot.UserResult, error) {
	var out []bot.UserResult
	for _, u := range users {
		b := make([]byte, 12)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		out = append(out, bot.UserResult{User: u, Password: bot.NewSecret(fmt.Sprintf("nochange-%x", b))})
	}
	return out, nil
}
