package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"resetbot/bot"
)

// Defaults that apply when the config leaves a key out.
const (
	defaultListen        = ":8080"
	defaultSlackCommand  = "/reset-password"
	maxSlackCommand      = 32 // Slack's limit on a slash command's name, with its "/"
	defaultRedisPrefix   = "resetbot:"
	defaultLogLevel      = "info"
	defaultScheme        = "https"
	defaultRateRequests  = 10
	defaultRatePer       = time.Hour
	defaultApprovals     = 1
	defaultTTL           = 30 * time.Minute
	maxTTL               = 24 * time.Hour
	defaultRevealWithin  = 30 * time.Minute
	maxRevealWithin      = 24 * time.Hour
	defaultRemindBackoff = 1
)

// Config is the YAML file read by `resetbot serve` and `resetbot
// check-config`. deploy/config.example.yaml documents every key.
//
// The people and accounts lists are Persons and Accounts here: People and
// Accounts are the methods that turn them into the bot's vocabulary.
type Config struct {
	Listen         string        `yaml:"listen"`
	LogLevel       string        `yaml:"log_level"`
	Redis          Redis         `yaml:"redis"`
	RateLimit      *RateLimit    `yaml:"rate_limit"`
	Slack          *Slack        `yaml:"slack"`
	Discord        *Discord      `yaml:"discord"`
	TencentCloud   *TencentCloud `yaml:"tencentcloud"`
	AlibabaCloud   *AlibabaCloud `yaml:"alibabacloud"`
	PagerDuty      *PagerDuty    `yaml:"pagerduty"` // on_call's API; nil: no pagerduty section
	Audit          *Audit        `yaml:"audit"`     // audit.webhook; nil: the log stays in Redis only
	PersonConfigs  []Person      `yaml:"people"`
	AccountConfigs []Account     `yaml:"accounts"`

	// ExecutionLease is execution_lease (lease.go); 0: the default.
	ExecutionLease time.Duration `yaml:"execution_lease"`

	// src locates keys in the file, so that problems name their line. A
	// pointer, so that printing a Config does not dump it.
	src *source
	// kinds are the account kinds Load was given, by provider key.
	kinds map[bot.ProviderKey]bot.AccountKind
	// console is set by LoadConsole: the console is the chat platform.
	console bool
}

// Redis says where the shared state lives: one node (URL), a Sentinel
// setup, or a Cluster; exactly one of them. None of them means an embedded
// in-memory store.
type Redis struct {
	// URL may hold a password: it prints redacted. RedactedURL is the form
	// for logs.
	URL bot.Secret `yaml:"url"`
	// Username and Password log in to the Redis nodes (the master of a
	// Sentinel setup, each node of a Cluster), whichever of URL, Sentinel
	// and Cluster is set; a URL may carry its own instead.
	Username string     `yaml:"username"`
	Password bot.Secret `yaml:"password"`
	// TLS is the files of a TLS connection: with rediss:// URLs, and with
	// Sentinel or Cluster, whose connections it turns to TLS.
	TLS      *RedisTLS      `yaml:"tls"`
	Sentinel *RedisSentinel `yaml:"sentinel"`
	Cluster  *RedisCluster  `yaml:"cluster"`
	Prefix   string         `yaml:"prefix"`
}

// RedisTLS names PEM files: the CA that signs the server's certificate (the
// system's pool when empty), the client's certificate and key (both or
// neither), and the name the server's certificate must hold (the host's by
// default).
type RedisTLS struct {
	CAFile     string `yaml:"ca_file"`
	CertFile   string `yaml:"cert_file"`
	KeyFile    string `yaml:"key_file"`
	ServerName string `yaml:"server_name"`
}

// RedisSentinel is a Sentinel setup: the name of the master the sentinels
// watch, their host:port addresses, their own password if they need one,
// and how many replicas must confirm each change (Replicas).
type RedisSentinel struct {
	Master   string     `yaml:"master"`
	Addrs    []string   `yaml:"addrs"`
	Password bot.Secret `yaml:"password"`
	// MinReplicas is min_replicas; nil: the default, 1.
	MinReplicas *int `yaml:"min_replicas"`
}

// maxMinReplicas bounds redis.sentinel.min_replicas: more replicas than that
// behind one master is not a setup anyone runs.
const maxMinReplicas = 5

// Replicas is how many replicas must confirm each change before a person is
// told it happened (approvals.Options.Replicas): min_replicas, by default 1,
// so that a failover, which promotes a replica, keeps every change the bot
// acknowledged. 0 when no Sentinel is configured.
func (r Redis) Replicas() int {
	switch {
	case r.Sentinel == nil:
		return 0
	case r.Sentinel.MinReplicas == nil:
		return 1
	}
	return *r.Sentinel.MinReplicas
}

// RedisCluster is a Redis Cluster: the host:port of some of its nodes, from
// which the client learns the others.
type RedisCluster struct {
	Addrs []string `yaml:"addrs"`
}

// Embedded reports whether none of url, sentinel and cluster is set: the
// bot then keeps its state in an in-memory store of its own.
func (r Redis) Embedded() bool {
	return r.URL.IsZero() && r.Sentinel == nil && r.Cluster == nil
}

// Where says, for logs, which Redis the config names: the redacted URL, or
// the sentinels' or cluster nodes' addresses. It holds no secret.
func (r Redis) Where() string {
	switch {
	case r.Sentinel != nil:
		return "sentinel master " + r.Sentinel.Master + " via " + strings.Join(r.Sentinel.Addrs, ",")
	case r.Cluster != nil:
		return "cluster " + strings.Join(r.Cluster.Addrs, ",")
	}
	return r.RedactedURL()
}

// RedactedURL is the URL with its password replaced, for logs: "" when
// none is set, "[redacted]" entirely when it does not parse.
func (r Redis) RedactedURL() string {
	if r.URL.IsZero() {
		return ""
	}
	u, err := url.Parse(r.URL.Value())
	if err != nil {
		return r.URL.String()
	}
	return u.Redacted()
}

// RateLimit caps how many requests one person may make.
type RateLimit struct {
	Requests int           `yaml:"requests"`
	Per      time.Duration `yaml:"per"`
}

// Slack is the Slack app. Socket Mode is used when AppToken is set.
type Slack struct {
	BotToken         bot.Secret `yaml:"bot_token"`
	SigningSecret    bot.Secret `yaml:"signing_secret"`
	AppToken         bot.Secret `yaml:"app_token"`
	APIURL           string     `yaml:"api_url"`
	ApprovalsChannel string     `yaml:"approvals_channel"`
	// Command is the slash command's name, as the Slack app declares it
	// (default "/reset-password"); the bot refuses any other command sent to
	// its URL.
	Command string `yaml:"command"`
}

// Discord is the Discord application. The Gateway is used when Gateway is
// true.
type Discord struct {
	BotToken         bot.Secret `yaml:"bot_token"`
	ApplicationID    string     `yaml:"application_id"`
	PublicKey        string     `yaml:"public_key"` // hex Ed25519 key
	GuildID          string     `yaml:"guild_id"`
	APIURL           string     `yaml:"api_url"`
	ApprovalsChannel string     `yaml:"approvals_channel"`
	Gateway          bool       `yaml:"gateway"`
}

// TencentCloud holds the credential of every account whose kind's Cloud is
// "tencentcloud".
type TencentCloud struct {
	SecretID  bot.Secret `yaml:"secret_id"`
	SecretKey bot.Secret `yaml:"secret_key"`
	Endpoint  string     `yaml:"endpoint"` // host[:port]
	Scheme    string     `yaml:"scheme"`
}

// AlibabaCloud holds the credential of every account whose kind's Cloud is
// "alibabacloud".
type AlibabaCloud struct {
	AccessKeyID     bot.Secret `yaml:"access_key_id"`
	AccessKeySecret bot.Secret `yaml:"access_key_secret"`
	Endpoint        string     `yaml:"endpoint"` // host[:port]
	Scheme          string     `yaml:"scheme"`
}

// PagerDuty is the PagerDuty REST API that on-call auto-approval asks
// (pagerduty:). Token is an API token, read-only is enough.
type PagerDuty struct {
	Token  bot.Secret `yaml:"token"`
	APIURL string     `yaml:"api_url"` // "": the client's default, https://api.pagerduty.com
}

// Person is one entry of `people:`.
type Person struct {
	Name    string `yaml:"name"`
	Slack   string `yaml:"slack"`
	Discord string `yaml:"discord"`
	// PagerDuty is the person's PagerDuty user ID (like PALICE1): on-call
	// auto-approval matches people by it, never by email.
	PagerDuty string   `yaml:"pagerduty"`
	Groups    []string `yaml:"groups"`
}

// Load parses a config file, expands ${VAR} from getenv inside scalar
// values, fills in defaults and checks it. kinds are the providers' account
// kinds: an account's provider must be one of them, and its provider's keys
// are the kind's to check (see the package doc). The error is an *Error
// that lists every problem, each with its key path and line.
//
// Expansion happens after parsing, so a variable's value is always one plain
// string: it can never add keys or structure. `$${` stands for a literal
// `${`. A variable that is unset or empty is a problem: leave the key out
// instead.
func Load(data []byte, getenv func(string) string, kinds []bot.AccountKind) (*Config, error) {
	return load(data, getenv, kinds, false)
}

// LoadConsole is Load for a bot whose chat is the console alone (the
// playground): a config without slack and discord is then complete.
func LoadConsole(data []byte, getenv func(string) string, kinds []bot.AccountKind) (*Config, error) {
	return load(data, getenv, kinds, true)
}

func load(data []byte, getenv func(string) string, kinds []bot.AccountKind, console bool) (*Config, error) {
	c := &Config{kinds: map[bot.ProviderKey]bot.AccountKind{}, console: console}
	for _, k := range kinds {
		if _, dup := c.kinds[k.Provider()]; dup {
			return nil, fmt.Errorf("config: two account kinds for provider %s", k.Provider())
		}
		c.kinds[k.Provider()] = k
	}
	d := &decoder{
		getenv:   getenv,
		src:      &source{lines: map[string]int{}, fromEnv: map[string]string{}},
		own:      map[string]map[string]*yaml.Node{},
		nameHint: c.userKeyHint(),
	}
	c.src = d.src

	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{Problems: []Problem{{Message: "the file is empty"}}}
		}
		return nil, &Error{Problems: []Problem{{Message: strings.TrimPrefix(err.Error(), "yaml: ")}}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		d.problemf("", extra.Line, "the file holds more than one YAML document; only one is read")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{Problems: []Problem{{Line: root.Line, Message: "the file must be a mapping of keys (listen, slack, people, accounts, ...)"}}}
	}
	d.decode(root, reflect.ValueOf(c).Elem(), "")
	c.parseAccounts(d)
	c.setDefaults()

	errs, warns := c.check()
	problems := d.problems
	for _, p := range errs {
		if !coveredBy(p.Path, d.problems) {
			problems = append(problems, p)
		}
	}
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].Line < problems[j].Line })
	if len(problems) > 0 {
		return nil, &Error{Problems: problems, Warnings: warns}
	}
	return c, nil
}

// coveredBy reports whether a problem at path was already reported by the
// decoder, at that path or above it (a failed decode leaves a zero value that
// the checks would report again).
func coveredBy(path string, decoded []Problem) bool {
	for _, p := range decoded {
		if p.Path != "" && (path == p.Path || strings.HasPrefix(path, p.Path+".") || strings.HasPrefix(path, p.Path+"[")) {
			return true
		}
	}
	return false
}

// setDefaults fills the top-level keys the rest of the program reads
// directly. Accounts' defaults are applied by Accounts and their kinds.
func (c *Config) setDefaults() {
	if c.Listen == "" {
		c.Listen = defaultListen
	}
	if c.LogLevel == "" {
		c.LogLevel = defaultLogLevel
	}
	if c.Redis.Prefix == "" {
		c.Redis.Prefix = defaultRedisPrefix
	}
	if c.Slack != nil && c.Slack.Command == "" {
		c.Slack.Command = defaultSlackCommand
	}
	if c.TencentCloud != nil && c.TencentCloud.Scheme == "" {
		c.TencentCloud.Scheme = defaultScheme
	}
	if c.AlibabaCloud != nil && c.AlibabaCloud.Scheme == "" {
		c.AlibabaCloud.Scheme = defaultScheme
	}
}

// Limit is the per-requester rate limit (default 10 an hour).
func (c *Config) Limit() bot.Limit {
	if c.RateLimit == nil {
		return bot.Limit{N: defaultRateRequests, Window: defaultRatePer}
	}
	return bot.Limit{N: c.RateLimit.Requests, Window: c.RateLimit.Per}
}

// Level is the log level (default info).
func (c *Config) Level() slog.Level {
	var l slog.Level
	if c.LogLevel == "" || l.UnmarshalText([]byte(c.LogLevel)) != nil {
		return slog.LevelInfo
	}
	return l
}

// People converts `people:` to the bot's vocabulary.
func (c *Config) People() []bot.Person {
	out := make([]bot.Person, 0, len(c.PersonConfigs))
	for _, p := range c.PersonConfigs {
		out = append(out, bot.Person{Name: p.Name, Slack: p.Slack, Discord: p.Discord, PagerDuty: p.PagerDuty, Groups: slices.Clone(p.Groups)})
	}
	return out
}

// Check lists every problem of the config at once, each with its key path
// (and line, when it was read by Load). Warnings are apart. A Config that
// Load did not make knows no account kinds: its accounts' providers are
// unknown.
func (c *Config) Check() []Problem {
	errs, _ := c.check()
	return errs
}

// Warnings lists what is allowed but probably not meant: an embedded store,
// a credential written in the file, an unused cloud section...
func (c *Config) Warnings() []Problem {
	_, warns := c.check()
	return warns
}
