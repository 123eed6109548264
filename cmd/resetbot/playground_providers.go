package main

import (
	"crypto/rand"
	"encoding/hex"
	"net/http/httptest"
	"strings"

	"github.com/redis/go-redis/v9"

	"resetbot/bot"
	"resetbot/providers/alibaba"
	"resetbot/providers/emulator"
	"resetbot/providers/ratelimit"
	"resetbot/providers/tencent"
)

// playgroundProviders runs the emulator of the five cloud APIs on a loopback
// TLS server inside this process, and the real providers against it: every
// reset in the playground is a real signed API call. The credentials are
// made up at each start.
func playgroundProviders(rdb redis.UniversalClient) (map[string]bot.Provider, string, func(), error) {
	secret := func() string {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		return hex.EncodeToString(b)
	}
	opts := emulator.Options{
		TencentSecretID: "AKIDplayground", TencentSecretKey: secret(),
		AlibabaAccessKeyID: "LTAIplayground", AlibabaAccessKeySecret: secret(),
	}
	emu := emulator.New(opts)
	for _, a := range sampleAccounts() {
		for _, u := range a.Users {
			switch a.Provider {
			case "tencent.tdsql":
				emu.AddUser(a.Provider, a.Settings["instance_id"], u+"@"+a.Settings["host"])
			case "tencent.cam":
				emu.AddUser(a.Provider, "", u)
			case "tencent.ciam":
				emu.AddUser(a.Provider, a.Settings["user_store_id"], u)
			case "tencent.tcr":
				emu.AddUser(a.Provider, a.Settings["registry_id"], u)
			case "alibaba.ehpc":
				emu.AddUser(a.Provider, a.Settings["cluster_id"], u)
			}
		}
	}
	srv := httptest.NewTLSServer(emu)
	endpoint := strings.TrimPrefix(srv.URL, "https://")
	limiter := ratelimit.New(rdb, "resetbot:ratelimit:", tencent.DefaultRate)
	tc := tencent.New(tencent.Options{
		SecretID: opts.TencentSecretID, SecretKey: opts.TencentSecretKey,
		Endpoint: endpoint, Scheme: "https", Limiter: limiter, Transport: srv.Client().Transport,
	})
	ali := alibaba.New(alibaba.Options{
		AccessKeyID: opts.AlibabaAccessKeyID, AccessKeySecret: opts.AlibabaAccessKeySecret,
		Endpoint: endpoint, Scheme: "https", Limiter: limiter, Transport: srv.Client().Transport,
	})
	m := map[string]bot.Provider{"alibaba.ehpc": ali}
	for _, k := range []string{"tencent.tdsql", "tencent.cam", "tencent.ciam", "tencent.tcr"} {
		m[k] = tc
	}
	return m, "the real Tencent and Alibaba provider code calling an emulator of the five cloud APIs at " + srv.URL, srv.Close, nil
}
