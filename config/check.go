package config

import (
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"resetbot/bot"
)

// checker collects problems and warnings, each located by key path and, for
// a loaded file, line.
type checker struct {
	src   *source
	errs  []Problem
	warns []Problem
}

func (k *checker) line(path string) int {
	if k.src == nil {
		return 0
	}
	for p := path; p != ""; p = parentPath(p) {
		if l, ok := k.src.lines[p]; ok {
			return l
		}
	}
	return 0
}

// written reports whether the file has a key at path.
func (k *checker) written(path string) bool {
	if k.src == nil {
		return false
	}
	_, ok := k.src.lines[path]
	return ok
}

// parentPath strips the last segment: "a[1].b" -> "a[1]" -> "a".
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

func (k *checker) errf(path, format string, args ...any) {
	k.errs = append(k.errs, Problem{Path: path, Line: k.line(path), Message: fmt.Sprintf(format, args...)})
}

func (k *checker) warnf(path, format string, args ...any) {
	k.warns = append(k.warns, Problem{Path: path, Line: k.line(path), Message: fmt.Sprintf(format, args...)})
}

// quoted is the value at path for a message: quoted when the file says it,
// not shown when it came from the environment. Every message that repeats a
// value goes through quoted or plain.
func (k *checker) quoted(path, v string) string { return k.src.show(path, strconv.Quote(v)) }

// plain is quoted without the quotes, for names and numbers.
func (k *checker) plain(path, v string) string { return k.src.show(path, v) }

// secret checks a credential: present, and (a warning) read from the
// environment rather than written in the file.
func (k *checker) secret(path string, s bot.Secret, env string) {
	if s.IsZero() {
		k.errf(path, "missing (set it to \"${%s}\")", env)
		return
	}
	if k.src != nil && !k.src.isFromEnv(path) {
		k.warnf(path, "written in the file: prefer \"${%s}\"", env)
	}
}

func (c *Config) check() (errs, warns []Problem) {
	k := &checker{src: c.src}
	c.checkServer(k)
	c.checkSlack(k)
	c.checkDiscord(k)
	people := c.checkPeople(k)
	c.checkAccounts(k, people)
	c.checkClouds(k)
	c.checkPagerDuty(k)
	c.checkAudit(k)
	c.checkLease(k)
	return k.errs, k.warns
}

func (c *Config) checkServer(k *checker) {
	listen := c.Listen
	if listen == "" {
		listen = defaultListen
	}
	if _, port, err := net.SplitHostPort(listen); err != nil {
		k.errf("listen", "%s is not host:port (like \":8080\")", k.quoted("listen", listen))
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		k.errf("listen", "%s: the port must be a number from 0 to 65535", k.quoted("listen", listen))
	}
	if c.LogLevel != "" {
		var l slog.Level
		if l.UnmarshalText([]byte(c.LogLevel)) != nil {
			k.errf("log_level", "%s is not one of debug, info, warn, error", k.quoted("log_level", c.LogLevel))
		}
	}
	c.checkRedis(k)
	if c.RateLimit != nil {
		if c.RateLimit.Requests < 1 {
			k.errf("rate_limit.requests", "must be at least 1")
		}
		if c.RateLimit.Per <= 0 {
			k.errf("rate_limit.per", "must be a positive duration like 1h")
		}
	}
}

func (c *Config) checkRedis(k *checker) {
	r := c.Redis
	var set []string
	if !r.URL.IsZero() {
		set = append(set, "url")
	}
	if r.Sentinel != nil {
		set = append(set, "sentinel")
	}
	if r.Cluster != nil {
		set = append(set, "cluster")
	}
	if len(set) > 1 {
		k.errf("redis."+set[1], "set only one of url, sentinel, cluster (this config sets %s)", strings.Join(set, " and "))
	}
	if len(set) == 0 {
		for _, extra := range []struct {
			path string
			set  bool
		}{{"redis.username", r.Username != ""}, {"redis.password", !r.Password.IsZero()}, {"redis.tls", r.TLS != nil}} {
			if extra.set {
				k.errf(extra.path, "is set but there is no Redis to use it with: set redis.url, redis.sentinel or redis.cluster")
			}
		}
		k.warnf("redis.url", "empty: the bot keeps its state in memory; run one replica only, and requests are lost on restart")
		return
	}
	if !r.Password.IsZero() && k.src != nil && !k.src.isFromEnv("redis.password") {
		k.warnf("redis.password", "written in the file: prefer \"${REDIS_PASSWORD}\"")
	}
	if r.Sentinel != nil && !r.Sentinel.Password.IsZero() && k.src != nil && !k.src.isFromEnv("redis.sentinel.password") {
		k.warnf("redis.sentinel.password", "written in the file: prefer \"${REDIS_SENTINEL_PASSWORD}\"")
	}
	if t := r.TLS; t != nil && (t.CertFile == "") != (t.KeyFile == "") {
		if t.CertFile == "" {
			k.errf("redis.tls.cert_file", "missing: key_file is set, and a client certificate needs both")
		} else {
			k.errf("redis.tls.key_file", "missing: cert_file is set, and a client certificate needs both")
		}
	}
	if !r.URL.IsZero() {
		k.redisURL(r)
	}
	if s := r.Sentinel; s != nil {
		if s.Master == "" {
			k.errf("redis.sentinel.master", "missing: the name the sentinels know the master by (like mymaster)")
		}
		k.redisAddrs("redis.sentinel.addrs", s.Addrs, "sentinel")
		if n := s.MinReplicas; n != nil && (*n < 0 || *n > maxMinReplicas) {
			k.errf("redis.sentinel.min_replicas", "%d: must be 0 to %d (default 1: each change waits until a replica has it, "+
				"so that a failover keeps it; 0: no wait, and a failover may lose the last changes)", *n, maxMinReplicas)
		}
	}
	if cl := r.Cluster; cl != nil {
		k.redisAddrs("redis.cluster.addrs", cl.Addrs, "cluster node")
	}
}

// redisAddrs checks a list of host:port addresses of Redis processes.
func (k *checker) redisAddrs(path string, addrs []string, what string) {
	if len(addrs) == 0 {
		k.errf(path, "no addresses: list at least one %s as host:port", what)
		return
	}
	for i, a := range addrs {
		p := fmt.Sprintf("%s[%d]", path, i)
		h, port, err := net.SplitHostPort(a)
		n, perr := strconv.Atoi(port)
		if err != nil || perr != nil || h == "" || n < 1 || n > 65535 {
			k.errf(p, "%s is not host:port (like 10.0.0.1:6379)", k.quoted(p, a))
		}
	}
}

func (k *checker) redisURL(r Redis) {
	raw := r.URL.Value()
	u, err := url.Parse(raw)
	if err != nil {
		// url's error quotes the URL, password and all: say it in our words.
		k.errf("redis.url", "not a URL (like redis://host:6379/0)")
		return
	}
	fromEnv := k.src.isFromEnv("redis.url")
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		if fromEnv {
			k.errf("redis.url", "the scheme of %s must be redis:// or rediss://", k.plain("redis.url", raw))
		} else {
			k.errf("redis.url", "the scheme must be redis:// or rediss://, not %q", u.Scheme)
		}
		return
	}
	if strings.Contains(u.Host, ",") {
		// go-redis takes one host from a URL: "h1:p1,h2:p2" never connects.
		k.errf("redis.url", "names several hosts, but a URL reaches one Redis node: use redis.cluster (addrs: the nodes) or redis.sentinel (master, addrs: the sentinels)")
		return
	}
	if _, err := redis.ParseURL(raw); err != nil {
		if fromEnv {
			// go-redis's reason quotes parts of the URL.
			k.errf("redis.url", "%s is not a Redis URL (like redis://host:6379/0); the reason is not shown either, as it quotes the value", k.plain("redis.url", raw))
			return
		}
		msg := strings.TrimPrefix(err.Error(), "redis: ")
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, bot.NewSecret(pw).String())
		}
		k.errf("redis.url", "%s", msg)
		return
	}
	if r.TLS != nil && u.Scheme != "rediss" {
		k.errf("redis.tls", "is set but redis.url is redis://, which never uses TLS: write rediss://")
	}
	if _, ok := u.User.Password(); ok && !r.Password.IsZero() {
		k.errf("redis.password", "redis.url carries a password too: set it in one place")
	}
}

func (k *checker) httpURL(path, raw string) {
	if raw == "" {
		return
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		k.errf(path, "%s is not an http(s) URL", k.quoted(path, raw))
	}
}

func (k *checker) scheme(path, s string) {
	switch s {
	case "", "https":
	case "http":
		k.warnf(path, "http: passwords would cross the network in clear text (fine for a local emulator only)")
	default:
		k.errf(path, "%s: must be https or http", k.quoted(path, s))
	}
}

// endpoint checks a host[:port] override.
func (k *checker) endpoint(path, e string) {
	if e == "" {
		return
	}
	if strings.Contains(e, "/") {
		k.errf(path, "%s: write host[:port] only, without scheme or path (the scheme goes in scheme:)", k.quoted(path, e))
		return
	}
	host := e
	if strings.Contains(e, ":") {
		h, port, err := net.SplitHostPort(e)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 1 || n > 65535 {
			k.errf(path, "%s is not host[:port]", k.quoted(path, e))
			return
		}
		host = h
	}
	if host == "" {
		k.errf(path, "%s: the host is missing", k.quoted(path, e))
	}
}

func (k *checker) snowflake(path, v, what string) {
	if !snowflake(v) {
		k.errf(path, "%s is not a Discord %s (digits only)", k.quoted(path, v), what)
	}
}

func (c *Config) checkSlack(k *checker) {
	if c.Slack == nil && c.Discord == nil && !c.console {
		k.errf("", "no chat platform: configure slack, discord or both (`resetbot playground` needs no config)")
	}
	s := c.Slack
	if s == nil {
		return
	}
	k.secret("slack.bot_token", s.BotToken, "SLACK_BOT_TOKEN")
	if !s.BotToken.IsZero() && !strings.HasPrefix(s.BotToken.Value(), "xoxb-") {
		k.warnf("slack.bot_token", "does not look like a bot token (xoxb-...)")
	}
	k.secret("slack.signing_secret", s.SigningSecret, "SLACK_SIGNING_SECRET")
	if !s.AppToken.IsZero() && !strings.HasPrefix(s.AppToken.Value(), "xapp-") {
		k.errf("slack.app_token", "is not an app-level token (xapp-...), which Socket Mode needs")
	}
	k.httpURL("slack.api_url", s.APIURL)
	if !slackCommand(s.Command) {
		k.errf("slack.command", "%q is not a slash command: write \"/\" then lower-case letters, digits, - and _, at most %d characters in all (default %s)",
			s.Command, maxSlackCommand, defaultSlackCommand)
	}
	if s.ApprovalsChannel == "" {
		k.errf("slack.approvals_channel", "missing: the channel ID where approval cards go")
	}
}

func (c *Config) checkDiscord(k *checker) {
	d := c.Discord
	if d == nil {
		return
	}
	k.secret("discord.bot_token", d.BotToken, "DISCORD_BOT_TOKEN")
	if d.ApplicationID == "" {
		k.errf("discord.application_id", "missing")
	} else {
		k.snowflake("discord.application_id", d.ApplicationID, "application ID")
	}
	if d.PublicKey == "" {
		k.errf("discord.public_key", "missing: the application's public key verifies /discord/interactions")
	} else if b, err := hex.DecodeString(d.PublicKey); err != nil || len(b) != 32 {
		k.errf("discord.public_key", "must be the application's Ed25519 public key: 64 hex digits")
	}
	if d.GuildID != "" {
		k.snowflake("discord.guild_id", d.GuildID, "guild ID")
	}
	k.httpURL("discord.api_url", d.APIURL)
	if d.ApprovalsChannel == "" {
		k.errf("discord.approvals_channel", "missing: the channel ID where approval cards go")
	} else {
		k.snowflake("discord.approvals_channel", d.ApprovalsChannel, "channel ID")
	}
}

// cloud is one credential section, as the checks and Accounts see it.
type cloud struct {
	key      string // the section, as kinds name it in Cloud: "tencentcloud"
	title    string // "Tencent Cloud"
	family   string // whose credential it holds, for messages: "tencent.*"
	set      bool
	endpoint string
	scheme   string
	secrets  []cloudSecret
}

type cloudSecret struct {
	key   string // "secret_id"
	value bot.Secret
	env   string // the variable the file should name
}

// clouds are the credential sections, in the order the file lists them.
func (c *Config) clouds() []cloud {
	t, a := c.TencentCloud, c.AlibabaCloud
	if t == nil {
		t = &TencentCloud{}
	}
	if a == nil {
		a = &AlibabaCloud{}
	}
	return []cloud{{
		key: "tencentcloud", title: "Tencent Cloud", family: "tencent.*",
		set: c.TencentCloud != nil, endpoint: t.Endpoint, scheme: t.Scheme,
		secrets: []cloudSecret{
			{"secret_id", t.SecretID, "TENCENTCLOUD_SECRET_ID"},
			{"secret_key", t.SecretKey, "TENCENTCLOUD_SECRET_KEY"},
		},
	}, {
		key: "alibabacloud", title: "Alibaba Cloud", family: "alibaba.*",
		set: c.AlibabaCloud != nil, endpoint: a.Endpoint, scheme: a.Scheme,
		secrets: []cloudSecret{
			{"access_key_id", a.AccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_ID"},
			{"access_key_secret", a.AccessKeySecret, "ALIBABA_CLOUD_ACCESS_KEY_SECRET"},
		},
	}}
}

// checkClouds checks each credential section against the accounts whose
// kinds need it.
func (c *Config) checkClouds(k *checker) {
	users := map[string][]string{} // section -> names of the accounts that need it
	for i, a := range c.AccountConfigs {
		if a.parsed == nil {
			continue
		}
		name := k.plain(fmt.Sprintf("accounts[%d].name", i), a.Name)
		users[a.parsed.kind.Cloud()] = append(users[a.parsed.kind.Cloud()], name)
	}
	for _, s := range c.clouds() {
		var keys []string
		for _, sec := range s.secrets {
			keys = append(keys, sec.key)
		}
		names := users[s.key]
		delete(users, s.key)
		if !s.set {
			if len(names) > 0 {
				k.errf(s.key, "missing: accounts %s use %s and need %s", strings.Join(names, ", "), s.title, strings.Join(keys, " and "))
			}
			continue
		}
		if len(names) > 0 {
			for _, sec := range s.secrets {
				k.secret(s.key+"."+sec.key, sec.value, sec.env)
			}
		} else {
			k.warnf(s.key, "no %s account uses it", s.family)
		}
		k.endpoint(s.key+".endpoint", s.endpoint)
		k.scheme(s.key+".scheme", s.scheme)
	}
	// A kind naming a section config does not have is a wiring mistake,
	// but its accounts could not run: say so rather than let them fail.
	for _, key := range slices.Sorted(maps.Keys(users)) {
		k.errf("accounts", "accounts %s need a %q credential section, which config does not have", strings.Join(users[key], ", "), key)
	}
}

// slackCommand reports whether name is a slash command Slack accepts.
func slackCommand(name string) bool {
	if len(name) < 2 || len(name) > maxSlackCommand || name[0] != '/' {
		return false
	}
	for _, r := range name[1:] {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
