package config_test

import (
	"strings"
	"testing"
)

func TestRedisProblems(t *testing.T) {
	env := envWith(map[string]string{"REDIS_PASSWORD": "SECRET-redis-pw", "REDIS_SENTINEL_PASSWORD": "SECRET-sentinel-pw"})
	tests := []struct {
		name   string
		redis  string // the redis section, prepended to baseYAML
		path   string
		msg    string
		marker string // the problem's line contains it
	}{
		{"URLAndSentinel", "redis:\n  url: redis://cache:6379/0\n  sentinel: {master: m, addrs: [\"s1:26379\"]}\n",
			"redis.sentinel", "set only one of url, sentinel, cluster (this config sets url and sentinel)", "sentinel:"},
		{"SentinelAndCluster", "redis:\n  sentinel: {master: m, addrs: [\"s1:26379\"]}\n  cluster: {addrs: [\"c1:6379\"]}\n",
			"redis.cluster", "set only one of url, sentinel, cluster (this config sets sentinel and cluster)", "cluster:"},
		{"SentinelWithoutMaster", "redis:\n  sentinel: {addrs: [\"s1:26379\"]}\n",
			"redis.sentinel.master", "missing", "sentinel:"},
		{"SentinelWithoutAddrs", "redis:\n  sentinel: {master: m}\n",
			"redis.sentinel.addrs", "no addresses", "sentinel:"},
		{"MinReplicasNegative", "redis:\n  sentinel:\n    master: m\n    addrs: [\"s1:26379\"]\n    min_replicas: -1\n",
			"redis.sentinel.min_replicas", "-1: must be 0 to 5", "min_replicas:"},
		{"ClusterWithoutAddrs", "redis:\n  cluster: {addrs: []}\n",
			"redis.cluster.addrs", "no addresses", "cluster:"},
		{"ClusterAddrNotHostPort", "redis:\n  cluster:\n    addrs:\n      - c1:6379\n      - c2\n",
			"redis.cluster.addrs[1]", `"c2" is not host:port`, "- c2"},
		{"SentinelAddrBadPort", "redis:\n  sentinel:\n    master: m\n    addrs: [\"s1:sentinel\"]\n",
			"redis.sentinel.addrs[0]", "is not host:port", "addrs:"},
		{"URLWithSeveralHosts", "redis:\n  url: redis://h1:6379,h2:6379/0\n",
			"redis.url", "use redis.cluster (addrs: the nodes) or redis.sentinel", "url:"},
		{"URLWithSeveralHostsFromEnv", "redis:\n  url: redis://:${REDIS_PASSWORD}@h1:6379,h2:6379/0\n",
			"redis.url", "names several hosts", "url:"},
		{"TLSWithPlainURL", "redis:\n  url: redis://cache:6379/0\n  tls: {ca_file: ca.pem}\n",
			"redis.tls", "write rediss://", "tls:"},
		{"ClientCertWithoutKey", "redis:\n  url: rediss://cache:6380/0\n  tls:\n    cert_file: c.pem\n",
			"redis.tls.key_file", "missing", "tls:"},
		{"PasswordTwice", "redis:\n  url: redis://:${REDIS_PASSWORD}@cache:6379/0\n  password: ${REDIS_PASSWORD}\n",
			"redis.password", "set it in one place", "password:"},
		{"PasswordWithoutRedis", "redis:\n  password: ${REDIS_PASSWORD}\n",
			"redis.password", "no Redis to use it with", "password:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.redis + baseYAML
			ce := problemsOf(t, data, env)
			p, ok := findProblem(ce.Problems, tt.path, tt.msg)
			if !ok {
				t.Fatalf("got problems:\n%v\nwant one at %q saying %q", ce, tt.path, tt.msg)
			}
			if got, want := p.Line, lineOf(t, data, tt.marker); got != want {
				t.Errorf("line of %v: got %d, want %d", p, got, want)
			}
			if s := ce.Error(); strings.Contains(s, "SECRET-") {
				t.Errorf("a secret is echoed:\n%s", s)
			}
		})
	}
}

func TestRedisAccepted(t *testing.T) {
	env := envWith(map[string]string{"REDIS_PASSWORD": "SECRET-redis-pw", "REDIS_SENTINEL_PASSWORD": "SECRET-sentinel-pw"})
	tests := []struct {
		name, redis, where string
		replicas           int // Redis.Replicas
	}{
		{"TLSURL", "redis:\n  url: rediss://cache:6380/0\n  username: bot\n  password: ${REDIS_PASSWORD}\n  tls: {ca_file: ca.pem, cert_file: c.pem, key_file: k.pem, server_name: cache.internal}\n",
			"rediss://cache:6380/0", 0},
		{"Sentinel", "redis:\n  password: ${REDIS_PASSWORD}\n  sentinel:\n    master: mymaster\n    addrs: [\"10.0.0.1:26379\", \"10.0.0.2:26379\"]\n    password: ${REDIS_SENTINEL_PASSWORD}\n",
			"sentinel master mymaster via 10.0.0.1:26379,10.0.0.2:26379", 1},
		{"SentinelWithoutWait", "redis:\n  sentinel: {master: m, addrs: [\"s:26379\"], min_replicas: 0}\n",
			"sentinel master m via s:26379", 0},
		{"SentinelTwoReplicas", "redis:\n  sentinel: {master: m, addrs: [\"s:26379\"], min_replicas: 2}\n",
			"sentinel master m via s:26379", 2},
		{"Cluster", "redis:\n  cluster: {addrs: [\"10.0.0.1:6379\", \"10.0.0.2:6379\"]}\n",
			"cluster 10.0.0.1:6379,10.0.0.2:6379", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, tt.redis+baseYAML, env)
			if cfg.Redis.Embedded() {
				t.Errorf("Embedded: got true for %s", tt.name)
			}
			if got := cfg.Redis.Where(); got != tt.where {
				t.Errorf("Where: got %q, want %q", got, tt.where)
			}
			if got := cfg.Redis.Replicas(); got != tt.replicas {
				t.Errorf("Replicas: got %d, want %d", got, tt.replicas)
			}
			for _, w := range cfg.Warnings() {
				if strings.HasPrefix(w.Path, "redis") {
					t.Errorf("unexpected warning %v", w)
				}
			}
		})
	}
	t.Run("SentinelPasswordWrittenInFile", func(t *testing.T) {
		cfg := mustLoad(t, "redis:\n  sentinel: {master: m, addrs: [\"s:26379\"], password: SECRET-inline}\n"+baseYAML, env)
		p, ok := findProblem(cfg.Warnings(), "redis.sentinel.password", "${REDIS_SENTINEL_PASSWORD}")
		if !ok {
			t.Fatalf("got warnings %v, want one at redis.sentinel.password", cfg.Warnings())
		}
		if strings.Contains(p.String(), "SECRET-") {
			t.Errorf("the warning echoes the secret: %v", p)
		}
	})
}
