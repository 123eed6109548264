package main

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"gopkg.in/yaml.v3"

	"resetbot/bot"
)

// Defaults that apply when the config leaves a key out.
const (
	defaultListen         = ":8080"
	defaultRedisPrefix    = "resetbot:"
	defaultLogLevel       = "info"
	defaultScheme         = "https"
	defaultRateRequests   = 10
	defaultRatePer        = time.Hour
	defaultApprovals      = 1
	defaultTTL            = 30 * time.Minute
	maxTTL                = 24 * time.Hour
	defaultTDSQLHost      = "%"
	actionResetUser       = "ResetUserPassword"
	actionResetUsers      = "ResetUsersPassword"
	maxEHPCUsers          = 100
	redactedText          = "[redacted]"
	providerTencentTDSQL  = "tencent.tdsql"
	providerTencentCIAM   = "tencent.ciam"
	providerTencentTCR    = "tencent.tcr"
	providerTencentCAM    = "tencent.cam"
	providerAlibabaEHPC   = "alibaba.ehpc"
	tencentProviderPrefix = "tencent."
)

// Config is the YAML file read by `resetbot serve` and `resetbot
// check-config`. deploy/config.example.yaml documents every key.
//
// The people and accounts lists are PersonConfigs and AccountConfigs here:
// People and Accounts are the methods that turn them into the bot's
// vocabulary.
type Config struct {
	Listen         string              `yaml:"listen"`
	LogLevel       string              `yaml:"log_level"`
	Redis          RedisConfig         `yaml:"redis"`
	RateLimit      *RateLimitConfig    `yaml:"rate_limit"`
	Slack          *SlackConfig        `yaml:"slack"`
	Discord        *DiscordConfig      `yaml:"discord"`
	TencentCloud   *TencentCloudConfig `yaml:"tencentcloud"`
	AlibabaCloud   *AlibabaCloudConfig `yaml:"alibabacloud"`
	PersonConfigs  []PersonConfig      `yaml:"people"`
	AccountConfigs []AccountConfig     `yaml:"accounts"`

	// src locates keys in the file, so that problems name their line. A
	// pointer, so that printing a Config does not dump it.
	src *configSource
}

// RedisConfig says where the shared state lives. An empty URL means an
// embedded in-memory store.
type RedisConfig struct {
	URL    RedisURL `yaml:"url"`
	Prefix string   `yaml:"prefix"`
}

// RateLimitConfig caps how many requests one person may make.
type RateLimitConfig struct {
	Requests int           `yaml:"requests"`
	Per      time.Duration `yaml:"per"`
}

// SlackConfig is the Slack app. Socket Mode is used when AppToken is set.
type SlackConfig struct {
	BotToken         Secret `yaml:"bot_token"`
	SigningSecret    Secret `yaml:"signing_secret"`
	AppToken         Secret `yaml:"app_token"`
	APIURL           string `yaml:"api_url"`
	ApprovalsChannel string `yaml:"approvals_channel"`
}

// DiscordConfig is the Discord application. The Gateway is used when Gateway
// is true.
type DiscordConfig struct {
	BotToken         Secret `yaml:"bot_token"`
	ApplicationID    string `yaml:"application_id"`
	PublicKey        string `yaml:"public_key"` // hex Ed25519 key
	GuildID          string `yaml:"guild_id"`
	APIURL           string `yaml:"api_url"`
	ApprovalsChannel string `yaml:"approvals_channel"`
	Gateway          bool   `yaml:"gateway"`
}

// TencentCloudConfig holds the credential of every tencent.* account.
type TencentCloudConfig struct {
	SecretID  Secret `yaml:"secret_id"`
	SecretKey Secret `yaml:"secret_key"`
	Endpoint  string `yaml:"endpoint"` // host[:port]
	Scheme    string `yaml:"scheme"`
}

// AlibabaCloudConfig holds the credential of every alibaba.* account.
type AlibabaCloudConfig struct {
	AccessKeyID     Secret `yaml:"access_key_id"`
	AccessKeySecret Secret `yaml:"access_key_secret"`
	Endpoint        string `yaml:"endpoint"` // host[:port]
	Scheme          string `yaml:"scheme"`
}

// PersonConfig is one entry of `people:`.
type PersonConfig struct {
	Name    string   `yaml:"name"`
	Slack   string   `yaml:"slack"`
	Discord string   `yaml:"discord"`
	Groups  []string `yaml:"groups"`
}

// AccountConfig is one entry of `accounts:`. Pointers mark keys whose
// default is not the zero value, so that an explicit 0 can be refused.
//
// The user to reset is `user` (one) or `users` (several the requester may
// pick among). The TCR API calls its service account `Name`, but `name:`
// is the account's own key: a tencent.tcr account names its service account
// with `service_account` (or `user`, as every provider does). Likewise
// tencent.ciam takes `user_id` (or `user`).
type AccountConfig struct {
	Name     string   `yaml:"name"`
	Provider string   `yaml:"provider"`
	Region   string   `yaml:"region"`
	User     string   `yaml:"user"`
	Users    []string `yaml:"users"`

	InstanceID string `yaml:"instance_id"` // tencent.tdsql
	Host       string `yaml:"host"`        // tencent.tdsql, default "%"
	Action     string `yaml:"action"`      // tencent.tdsql: ResetUserPassword (default) or ResetUsersPassword

	UserStoreID string `yaml:"user_store_id"` // tencent.ciam
	UserID      string `yaml:"user_id"`       // tencent.ciam: the user

	RegistryID     string `yaml:"registry_id"`     // tencent.tcr
	ServiceAccount string `yaml:"service_account"` // tencent.tcr: the user
	Random         bool   `yaml:"random"`          // tencent.tcr: the API makes the password

	NeedResetPassword *bool `yaml:"need_reset_password"` // tencent.cam, default true

	ClusterID string `yaml:"cluster_id"` // alibaba.ehpc
	Async     bool   `yaml:"async"`      // alibaba.ehpc

	PasswordLength int    `yaml:"password_length"` // 0: the provider's default
	Endpoint       string `yaml:"endpoint"`        // host[:port], overrides the cloud's
	Scheme         string `yaml:"scheme"`          // overrides the cloud's

	Requesters    []string       `yaml:"requesters"`
	Approvers     []string       `yaml:"approvers"`
	ApproverRoles []string       `yaml:"approver_roles"` // Discord role IDs
	Approvals     *int           `yaml:"approvals"`      // default 1
	TTL           *time.Duration `yaml:"ttl"`            // default 30m
}

// Secret is a credential read from config. Every way of printing or encoding
// it gives "[redacted]" ("" when it is empty); only Value gives the value.
// The value sits behind a pointer: where fmt skips the methods (an unexported
// field, a wrong verb on an enclosing pointer) it prints an address, not the
// credential.
type Secret struct{ v *string }

// NewSecret wraps a credential.
func NewSecret(v string) Secret {
	if v == "" {
		return Secret{}
	}
	return Secret{v: &v}
}

// Value returns the credential, for the client that needs it.
func (s Secret) Value() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// IsZero reports whether the credential is empty.
func (s Secret) IsZero() bool { return s.Value() == "" }

func (s Secret) redacted() string {
	if s.IsZero() {
		return ""
	}
	return redactedText
}

func (s Secret) String() string                { return s.redacted() }
func (s Secret) GoString() string              { return strconv.Quote(s.redacted()) }
func (s Secret) MarshalText() ([]byte, error)  { return []byte(s.redacted()), nil }
func (s Secret) Format(f fmt.State, verb rune) { _, _ = io.WriteString(f, s.redacted()) }
func (s Secret) LogValue() slog.Value          { return slog.StringValue(s.redacted()) }

// RedisURL is a Redis URL that may hold a password. It prints with the
// password replaced (entirely redacted when it does not parse); Value gives
// the value. Like Secret, it keeps the value behind a pointer.
type RedisURL struct{ v *string }

// NewRedisURL wraps a Redis URL.
func NewRedisURL(v string) RedisURL {
	if v == "" {
		return RedisURL{}
	}
	return RedisURL{v: &v}
}

// Value returns the URL, for the Redis client.
func (u RedisURL) Value() string {
	if u.v == nil {
		return ""
	}
	return *u.v
}

// IsZero reports whether no URL is set (the embedded store is used).
func (u RedisURL) IsZero() bool { return u.Value() == "" }

func (u RedisURL) redacted() string {
	if u.IsZero() {
		return ""
	}
	p, err := url.Parse(u.Value())
	if err != nil {
		return redactedText
	}
	return p.Redacted()
}

func (u RedisURL) String() string                { return u.redacted() }
func (u RedisURL) GoString() string              { return strconv.Quote(u.redacted()) }
func (u RedisURL) MarshalText() ([]byte, error)  { return []byte(u.redacted()), nil }
func (u RedisURL) Format(f fmt.State, verb rune) { _, _ = io.WriteString(f, u.redacted()) }
func (u RedisURL) LogValue() slog.Value          { return slog.StringValue(u.redacted()) }

// Problem is one thing wrong with a config, located by key path
// ("accounts[2].approvals") and, when read from a file, line.
type Problem struct {
	Path    string // "" for the file as a whole
	Line    int    // 0 when unknown
	Message string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// ConfigError lists every problem of a config at once, and the warnings
// found along with them.
type ConfigError struct {
	Problems []Problem
	Warnings []Problem
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	if len(e.Problems) == 1 {
		b.WriteString("config: 1 problem:")
	} else {
		fmt.Fprintf(&b, "config: %d problems:", len(e.Problems))
	}
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// LoadConfig parses a config file, expands ${VAR} from getenv inside scalar
// values, fills in defaults and checks it. The error is a *ConfigError that
// lists every problem, each with its key path and line.
//
// Expansion happens after parsing, so a variable's value is always one plain
// string: it can never add keys or structure. `$${` stands for a literal
// `${`. A variable that is unset or empty is a problem: leave the key out
// instead.
func LoadConfig(data []byte, getenv func(string) string) (*Config, error) {
	c := &Config{}
	d := &decoder{getenv: getenv, src: &configSource{lines: map[string]int{}, fromEnv: map[string]string{}}}
	c.src = d.src

	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &ConfigError{Problems: []Problem{{Message: "the file is empty"}}}
		}
		return nil, &ConfigError{Problems: []Problem{{Message: strings.TrimPrefix(err.Error(), "yaml: ")}}}
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
		return nil, &ConfigError{Problems: []Problem{{Line: root.Line, Message: "the file must be a mapping of keys (listen, slack, people, accounts, ...)"}}}
	}
	d.decode(root, reflect.ValueOf(c).Elem(), "")
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
		return nil, &ConfigError{Problems: problems, Warnings: warns}
	}
	return c, nil
}

// coveredBy reports whether a problem at path was already reported by the
// decoder, at that path or above it (a failed decode leaves a zero value that
// Check would report again).
func coveredBy(path string, decoded []Problem) bool {
	for _, p := range decoded {
		if p.Path != "" && (path == p.Path || strings.HasPrefix(path, p.Path+".") || strings.HasPrefix(path, p.Path+"[")) {
			return true
		}
	}
	return false
}

// setDefaults fills the top-level keys the rest of the program reads
// directly. Accounts' defaults are applied by Accounts.
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
		out = append(out, bot.Person{Name: p.Name, Slack: p.Slack, Discord: p.Discord, Groups: slices.Clone(p.Groups)})
	}
	return out
}

// Accounts converts `accounts:` to the bot's vocabulary, with defaults
// applied. The provider's own keys go to Settings; the user(s) to reset,
// including TCR's service account and CIAM's user_id, go to Users.
func (c *Config) Accounts() []bot.Account {
	out := make([]bot.Account, 0, len(c.AccountConfigs))
	for _, a := range c.AccountConfigs {
		endpoint, scheme := c.cloudEndpoint(a.Provider)
		if a.Endpoint != "" {
			endpoint = a.Endpoint
		}
		if a.Scheme != "" {
			scheme = a.Scheme
		}
		acct := bot.Account{
			Name:              a.Name,
			Provider:          a.Provider,
			Region:            a.Region,
			Users:             slices.Clone(a.Users),
			Selectable:        len(a.Users) > 0,
			Settings:          a.settings(),
			Random:            a.Random,
			NeedResetPassword: a.NeedResetPassword == nil || *a.NeedResetPassword,
			PasswordLength:    a.PasswordLength,
			Endpoint:          endpoint,
			Scheme:            scheme,
			Requesters:        slices.Clone(a.Requesters),
			Approvers:         slices.Clone(a.Approvers),
			ApproverRoles:     slices.Clone(a.ApproverRoles),
			Approvals:         a.approvals(),
			TTL:               a.ttl(),
		}
		if len(a.Users) == 0 {
			if u := a.singleUser(); u != "" {
				acct.Users = []string{u}
			}
		}
		out = append(out, acct)
	}
	return out
}

func (c *Config) cloudEndpoint(provider string) (endpoint, scheme string) {
	scheme = defaultScheme
	switch {
	case strings.HasPrefix(provider, tencentProviderPrefix) && c.TencentCloud != nil:
		endpoint = c.TencentCloud.Endpoint
		if c.TencentCloud.Scheme != "" {
			scheme = c.TencentCloud.Scheme
		}
	case provider == providerAlibabaEHPC && c.AlibabaCloud != nil:
		endpoint = c.AlibabaCloud.Endpoint
		if c.AlibabaCloud.Scheme != "" {
			scheme = c.AlibabaCloud.Scheme
		}
	}
	return endpoint, scheme
}

func (a AccountConfig) settings() map[string]string {
	s := map[string]string{}
	switch a.Provider {
	case providerTencentTDSQL:
		s["instance_id"] = a.InstanceID
		s["host"] = orDefault(a.Host, defaultTDSQLHost)
		s["action"] = orDefault(a.Action, actionResetUser)
	case providerTencentCIAM:
		s["user_store_id"] = a.UserStoreID
	case providerTencentTCR:
		s["registry_id"] = a.RegistryID
	case providerAlibabaEHPC:
		s["cluster_id"] = a.ClusterID
		s["async"] = strconv.FormatBool(a.Async)
	}
	return s
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// singleUser is the one user named by `user` or its provider's own key.
func (a AccountConfig) singleUser() string {
	for _, u := range []string{a.User, a.ServiceAccount, a.UserID} {
		if u != "" {
			return u
		}
	}
	return ""
}

func (a AccountConfig) approvals() int {
	if a.Approvals == nil {
		return defaultApprovals
	}
	return *a.Approvals
}

func (a AccountConfig) ttl() time.Duration {
	if a.TTL == nil {
		return defaultTTL
	}
	return *a.TTL
}

// providerSpec is what config needs to know of each provider.
type providerSpec struct {
	region   bool     // the API needs a region
	userKeys []string // keys naming one user, preferred first; `users` always works
	minLen   int      // password_length range, from the seed API documents
	maxLen   int
	maxUsers int // 0: no limit
}

func specFor(provider string) (providerSpec, bool) {
	switch provider {
	case providerTencentTDSQL:
		return providerSpec{region: true, userKeys: []string{"user"}, minLen: 8, maxLen: 32}, true
	case providerTencentCIAM:
		return providerSpec{region: true, userKeys: []string{"user_id", "user"}, minLen: 16, maxLen: 64}, true
	case providerTencentTCR:
		return providerSpec{region: true, userKeys: []string{"service_account", "user"}, minLen: 8, maxLen: 20}, true
	case providerTencentCAM:
		// CAM is a global service: its API takes no region.
		return providerSpec{userKeys: []string{"user"}, minLen: 8, maxLen: 32}, true
	case providerAlibabaEHPC:
		return providerSpec{region: true, userKeys: []string{"user"}, minLen: 8, maxLen: 30, maxUsers: maxEHPCUsers}, true
	}
	return providerSpec{}, false
}

func knownProvider(p string) bool {
	_, ok := specFor(p)
	return ok
}

func providerNames() string {
	return strings.Join([]string{providerAlibabaEHPC, providerTencentCAM, providerTencentCIAM, providerTencentTCR, providerTencentTDSQL}, ", ")
}

// Check lists every problem of the config at once, each with its key path
// (and line, when it was read by LoadConfig). Warnings are apart.
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

// configSource is what LoadConfig learned about the file.
type configSource struct {
	lines   map[string]int    // key path -> line
	fromEnv map[string]string // key path -> its text as written, for values with ${VAR}
}

func (s *configSource) isFromEnv(path string) bool {
	if s == nil {
		return false
	}
	_, ok := s.fromEnv[path]
	return ok
}

// show gives v, already formatted, for a message about the value at path;
// but a value from the environment may be a secret in the wrong key
// (application_id: "${DISCORD_BOT_TOKEN}"), so for one of those it gives
// what the file says instead.
func (s *configSource) show(path, v string) string {
	if !s.isFromEnv(path) {
		return v
	}
	written := s.fromEnv[path]
	if !(strings.HasPrefix(written, "${") && strings.HasSuffix(written, "}") && envName(written[2:len(written)-1])) {
		written = strconv.Quote(written)
	}
	return written + " (from the environment, not shown)"
}

type checker struct {
	src   *configSource
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
func (k *checker) secret(path string, s Secret, env string) {
	if s.IsZero() {
		k.errf(path, "missing (set it to \"${%s}\")", env)
		return
	}
	if k.src != nil && !k.src.isFromEnv(path) {
		k.warnf(path, "written in the file: prefer \"${%s}\"", env)
	}
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }
func isLower(r rune) bool { return r >= 'a' && r <= 'z' }
func isUpper(r rune) bool { return r >= 'A' && r <= 'Z' }

func every(s string, ok func(rune) bool) bool {
	for _, r := range s {
		if !ok(r) {
			return false
		}
	}
	return true
}

// validAccountName: letters, digits, '.', '_', '-', starting with a letter
// or digit, so that it can be typed in a command.
func validAccountName(s string) bool {
	return s != "" && (isDigit(rune(s[0])) || isLower(rune(s[0])) || isUpper(rune(s[0]))) &&
		every(s, func(r rune) bool { return isDigit(r) || isLower(r) || isUpper(r) || strings.ContainsRune("._-", r) })
}

// slackUserID: U... or W... (Enterprise Grid), upper-case letters and digits.
func slackUserID(s string) bool {
	return len(s) >= 3 && (s[0] == 'U' || s[0] == 'W') && every(s, func(r rune) bool { return isDigit(r) || isUpper(r) })
}

// snowflake: a Discord ID, up to 20 digits.
func snowflake(s string) bool { return s != "" && len(s) <= 20 && every(s, isDigit) }

// regionID: like ap-guangzhou, cn-hangzhou, ap-shanghai-fsi.
func regionID(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) < 2 || len(parts[0]) < 2 || !every(parts[0], isLower) {
		return false
	}
	for _, p := range parts[1:] {
		if p == "" || !every(p, func(r rune) bool { return isLower(r) || isDigit(r) }) {
			return false
		}
	}
	return true
}

// envName: letters, digits and _, not starting with a digit.
func envName(s string) bool {
	return s != "" && !isDigit(rune(s[0])) && every(s, func(r rune) bool { return isDigit(r) || isLower(r) || isUpper(r) || r == '_' })
}

// reservedAccountNames are the command words: an account so named could
// not be asked for.
func reservedAccountName(name string) bool {
	switch strings.ToLower(name) {
	case "list", "help", "status", "cancel", "approve", "deny":
		return true
	}
	return false
}

func (c *Config) check() (errs, warns []Problem) {
	k := &checker{src: c.src}
	c.checkServer(k)
	c.checkSlack(k)
	c.checkDiscord(k)
	people := c.checkPeople(k)
	c.checkAccounts(k, people)
	c.checkClouds(k)
	return k.errs, k.warns
}

func (c *Config) checkServer(k *checker) {
	listen := orDefault(c.Listen, defaultListen)
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
	raw := c.Redis.URL.Value()
	if raw == "" {
		k.warnf("redis.url", "empty: the bot keeps its state in memory; run one replica only, and requests are lost on restart")
		return
	}
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
	if _, err := redis.ParseURL(raw); err != nil {
		if fromEnv {
			// go-redis's reason quotes parts of the URL.
			k.errf("redis.url", "%s is not a Redis URL (like redis://host:6379/0); the reason is not shown either, as it quotes the value", k.plain("redis.url", raw))
			return
		}
		msg := strings.TrimPrefix(err.Error(), "redis: ")
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, redactedText)
		}
		k.errf("redis.url", "%s", msg)
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
	if c.Slack == nil && c.Discord == nil {
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

// checkPeople returns the people whose entries are usable for the account
// checks.
func (c *Config) checkPeople(k *checker) []bot.Person {
	if len(c.PersonConfigs) == 0 {
		k.errf("people", "no people: nobody could ask or approve")
	}
	names := map[string]int{}
	slackIDs := map[string]int{}
	discordIDs := map[string]int{}
	groupAt := map[string]string{} // group name -> where it is first listed
	var people []bot.Person
	for i, p := range c.PersonConfigs {
		at := fmt.Sprintf("people[%d]", i)
		switch {
		case p.Name == "":
			k.errf(at+".name", "missing")
		case strings.ContainsAny(p.Name, " \t\n,:"):
			k.errf(at+".name", "%s: a name has no spaces, commas or colons", k.quoted(at+".name", p.Name))
		default:
			if j, dup := names[p.Name]; dup {
				k.errf(at+".name", "person %s is already people[%d]", k.quoted(at+".name", p.Name), j)
			} else {
				names[p.Name] = i
			}
		}
		if p.Slack == "" && p.Discord == "" {
			who := "this person"
			if p.Name != "" {
				who = k.plain(at+".name", p.Name)
			}
			k.errf(at, "neither a slack nor a discord ID: %s could never be recognised", who)
		}
		if p.Slack != "" {
			if !slackUserID(p.Slack) {
				k.errf(at+".slack", "%s is not a Slack user ID (like U012AB3CD)", k.quoted(at+".slack", p.Slack))
			} else if j, dup := slackIDs[p.Slack]; dup {
				k.errf(at+".slack", "%s is already people[%d]'s Slack ID", k.plain(at+".slack", p.Slack), j)
			} else {
				slackIDs[p.Slack] = i
			}
		}
		if p.Discord != "" {
			if !snowflake(p.Discord) {
				k.errf(at+".discord", "%s is not a Discord user ID (digits only)", k.quoted(at+".discord", p.Discord))
			} else if j, dup := discordIDs[p.Discord]; dup {
				k.errf(at+".discord", "%s is already people[%d]'s Discord ID", k.plain(at+".discord", p.Discord), j)
			} else {
				discordIDs[p.Discord] = i
			}
		}
		for j, g := range p.Groups {
			if path := fmt.Sprintf("%s.groups[%d]", at, j); g == "" || strings.ContainsAny(g, " \t\n,:") {
				k.errf(path, "%s: a group name is not empty and has no spaces, commas or colons", k.quoted(path, g))
			} else if _, seen := groupAt[g]; !seen {
				groupAt[g] = path
			}
		}
		if p.Name != "" {
			people = append(people, bot.Person{Name: p.Name, Slack: p.Slack, Discord: p.Discord, Groups: p.Groups})
		}
	}
	// Approvers and requesters name people and groups alike (bot.Person.In),
	// so a person named like a group would be a member of it whatever their
	// groups say.
	for i, p := range c.PersonConfigs {
		if g, ok := groupAt[p.Name]; ok {
			at := fmt.Sprintf("people[%d].name", i)
			k.errf(at, "%s is also a group name (%s): rename the person or the group", k.quoted(at, p.Name), g)
		}
	}
	return people
}

func (c *Config) checkAccounts(k *checker, people []bot.Person) {
	if len(c.AccountConfigs) == 0 {
		k.warnf("accounts", "no accounts: nothing can be reset")
	}
	known := map[string]bool{}
	for _, p := range people {
		known[p.Name] = true
		for _, g := range p.Groups {
			known[g] = true
		}
	}
	names := map[string]int{}
	for i, a := range c.AccountConfigs {
		at := fmt.Sprintf("accounts[%d]", i)
		switch {
		case a.Name == "":
			k.errf(at+".name", "missing")
		case !validAccountName(a.Name):
			k.errf(at+".name", "%s: an account name is letters, digits, '.', '_' and '-' (it is typed in commands)", k.quoted(at+".name", a.Name))
		case reservedAccountName(a.Name):
			if k.src.isFromEnv(at + ".name") {
				k.errf(at+".name", "%s is a command word (list, help, status, cancel, approve, deny): /reset-password would not ask for it", k.plain(at+".name", a.Name))
			} else {
				k.errf(at+".name", "%q is a command word: /reset-password %s would not ask for it", a.Name, a.Name)
			}
		default:
			if j, dup := names[a.Name]; dup {
				k.errf(at+".name", "account %s is already accounts[%d]", k.quoted(at+".name", a.Name), j)
			} else {
				names[a.Name] = i
			}
		}
		spec, ok := specFor(a.Provider)
		switch {
		case a.Provider == "":
			k.errf(at+".provider", "missing: one of %s", providerNames())
		case !ok:
			k.errf(at+".provider", "unknown provider %s: one of %s", k.quoted(at+".provider", a.Provider), providerNames())
		default:
			c.checkProviderKeys(k, at, a, spec)
		}
		k.endpoint(at+".endpoint", a.Endpoint)
		k.scheme(at+".scheme", a.Scheme)
		c.checkPolicy(k, at, a, people, known)
	}
}

func (c *Config) checkProviderKeys(k *checker, at string, a AccountConfig, spec providerSpec) {
	// Keys of one provider set on another are mistakes (a cluster_id on a
	// TDSQL account would be silently ignored).
	own := []struct {
		key, provider string
		set           bool
	}{
		{"instance_id", providerTencentTDSQL, a.InstanceID != ""},
		{"host", providerTencentTDSQL, a.Host != ""},
		{"action", providerTencentTDSQL, a.Action != ""},
		{"user_store_id", providerTencentCIAM, a.UserStoreID != ""},
		{"user_id", providerTencentCIAM, a.UserID != ""},
		{"registry_id", providerTencentTCR, a.RegistryID != ""},
		{"service_account", providerTencentTCR, a.ServiceAccount != ""},
		{"random", providerTencentTCR, a.Random},
		{"need_reset_password", providerTencentCAM, a.NeedResetPassword != nil},
		{"cluster_id", providerAlibabaEHPC, a.ClusterID != ""},
		{"async", providerAlibabaEHPC, a.Async},
	}
	for _, o := range own {
		if o.set && o.provider != a.Provider {
			k.errf(at+"."+o.key, "not a %s key (it belongs to %s)", a.Provider, o.provider)
		}
	}

	if spec.region {
		if a.Region == "" {
			k.errf(at+".region", "missing: %s needs a region (like ap-guangzhou or cn-hangzhou)", a.Provider)
		}
	}
	if a.Region != "" && !regionID(a.Region) {
		k.errf(at+".region", "%s is not a region ID (like ap-guangzhou or cn-hangzhou)", k.quoted(at+".region", a.Region))
	}

	required := map[string]struct{ key, value string }{
		providerTencentTDSQL: {"instance_id", a.InstanceID},
		providerTencentCIAM:  {"user_store_id", a.UserStoreID},
		providerTencentTCR:   {"registry_id", a.RegistryID},
		providerAlibabaEHPC:  {"cluster_id", a.ClusterID},
	}
	if r, ok := required[a.Provider]; ok && r.value == "" {
		k.errf(at+"."+r.key, "missing: %s needs it", a.Provider)
	}
	if a.Provider == providerTencentTDSQL {
		switch a.Action {
		case "", actionResetUser, actionResetUsers:
		default:
			k.errf(at+".action", "%s: must be %s (the default) or %s", k.quoted(at+".action", a.Action), actionResetUser, actionResetUsers)
		}
	}

	c.checkUsers(k, at, a, spec)

	switch {
	case a.PasswordLength == 0:
	case a.Random:
		k.errf(at+".password_length", "has no effect with random: true (the API makes the password)")
	case a.PasswordLength < spec.minLen || a.PasswordLength > spec.maxLen:
		k.errf(at+".password_length", "%s: %s takes %d to %d", k.plain(at+".password_length", strconv.Itoa(a.PasswordLength)), a.Provider, spec.minLen, spec.maxLen)
	}
}

func (c *Config) checkUsers(k *checker, at string, a AccountConfig, spec providerSpec) {
	values := map[string]string{"user": a.User, "service_account": a.ServiceAccount, "user_id": a.UserID}
	var set []string
	for _, key := range spec.userKeys {
		if values[key] != "" {
			set = append(set, key)
		}
	}
	if len(a.Users) > 0 {
		set = append(set, "users")
	}
	switch len(set) {
	case 0:
		k.errf(at, "no user to reset: set %s (one) or users (several)", strings.Join(spec.userKeys, " or "))
		return
	case 1:
	default:
		k.errf(at+"."+set[1], "set only one of %s", strings.Join(set, ", "))
	}
	for _, key := range spec.userKeys {
		if v := values[key]; v != "" && strings.ContainsAny(v, " \t\n,:") {
			k.errf(at+"."+key, "%s: a user has no spaces, commas or colons (they separate users in commands)", k.quoted(at+"."+key, v))
		}
	}
	seen := map[string]bool{}
	for j, u := range a.Users {
		path := fmt.Sprintf("%s.users[%d]", at, j)
		switch {
		case u == "" || strings.ContainsAny(u, " \t\n,:"):
			k.errf(path, "%s: a user is not empty and has no spaces, commas or colons (they separate users in commands)", k.quoted(path, u))
		case seen[u]:
			k.errf(path, "%s is listed twice", k.quoted(path, u))
		}
		seen[u] = true
	}
	if spec.maxUsers > 0 && len(a.Users) > spec.maxUsers {
		k.errf(at+".users", "%d users: %s takes at most %d", len(a.Users), a.Provider, spec.maxUsers)
	}
}

func (c *Config) checkPolicy(k *checker, at string, a AccountConfig, people []bot.Person, known map[string]bool) {
	if len(a.Requesters) == 0 {
		k.errf(at+".requesters", "missing: nobody could ask for this account")
	}
	for j, n := range a.Requesters {
		if path := fmt.Sprintf("%s.requesters[%d]", at, j); !known[n] {
			k.errf(path, "%s is neither a person nor a group of people", k.quoted(path, n))
		}
	}
	for j, n := range a.Approvers {
		if path := fmt.Sprintf("%s.approvers[%d]", at, j); !known[n] {
			k.errf(path, "%s is neither a person nor a group of people", k.quoted(path, n))
		}
	}
	for j, r := range a.ApproverRoles {
		k.snowflake(fmt.Sprintf("%s.approver_roles[%d]", at, j), r, "role ID")
	}
	if len(a.ApproverRoles) > 0 && c.Discord == nil {
		k.warnf(at+".approver_roles", "Discord roles are set but discord is not configured: they are ignored")
	}
	if len(a.Approvers) == 0 && len(a.ApproverRoles) == 0 {
		k.errf(at+".approvers", "missing: nobody could approve this account")
	}

	n := a.approvals()
	shownN := k.plain(at+".approvals", strconv.Itoa(n))
	if n < 1 {
		k.errf(at+".approvals", "%s: must be at least 1", shownN)
	} else if len(a.Approvers) > 0 || len(a.ApproverRoles) > 0 {
		// Role holders must still be people in config, and any of them may
		// hold a role: with roles, everyone is a possible approver.
		var pool []string
		for _, p := range people {
			if len(a.ApproverRoles) > 0 || p.In(a.Approvers) {
				pool = append(pool, p.Name)
			}
		}
		if n > len(pool) {
			k.errf(at+".approvals", "%s approvals needed but only %d people may approve", shownN, len(pool))
		} else {
			// Nobody approves their own request: a requester who is also in
			// the pool needs n others.
			var stuck []string
			for _, p := range people {
				if p.In(a.Requesters) && slices.Contains(pool, p.Name) && len(pool)-1 < n {
					stuck = append(stuck, k.plain(c.personPath(p.Name), p.Name))
				}
			}
			if len(stuck) > 0 {
				// A warning, not an error: such a requester may still ask for
				// other accounts, and the design's own example has one.
				k.warnf(at+".approvals", "%s approvals needed: requests by %s could never be approved (only %d other people may approve)", shownN, strings.Join(stuck, ", "), len(pool)-1)
			}
		}
	}
	if ttl := a.ttl(); ttl <= 0 || ttl > maxTTL {
		k.errf(at+".ttl", "%s: must be more than 0 and at most %s", k.plain(at+".ttl", shortDuration(ttl)), shortDuration(maxTTL))
	}
}

// personPath is the key path of the first person so named.
func (c *Config) personPath(name string) string {
	for i, p := range c.PersonConfigs {
		if p.Name == name {
			return fmt.Sprintf("people[%d].name", i)
		}
	}
	return ""
}

// shortDuration writes 24h rather than 24h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func (c *Config) checkClouds(k *checker) {
	var tencent, alibaba []string
	for i, a := range c.AccountConfigs {
		name := k.plain(fmt.Sprintf("accounts[%d].name", i), a.Name)
		switch {
		case !knownProvider(a.Provider):
		case strings.HasPrefix(a.Provider, tencentProviderPrefix):
			tencent = append(tencent, name)
		case a.Provider == providerAlibabaEHPC:
			alibaba = append(alibaba, name)
		}
	}
	if t := c.TencentCloud; t == nil {
		if len(tencent) > 0 {
			k.errf("tencentcloud", "missing: accounts %s use Tencent Cloud and need secret_id and secret_key", strings.Join(tencent, ", "))
		}
	} else {
		if len(tencent) > 0 {
			k.secret("tencentcloud.secret_id", t.SecretID, "TENCENTCLOUD_SECRET_ID")
			k.secret("tencentcloud.secret_key", t.SecretKey, "TENCENTCLOUD_SECRET_KEY")
		} else {
			k.warnf("tencentcloud", "no tencent.* account uses it")
		}
		k.endpoint("tencentcloud.endpoint", t.Endpoint)
		k.scheme("tencentcloud.scheme", t.Scheme)
	}
	if a := c.AlibabaCloud; a == nil {
		if len(alibaba) > 0 {
			k.errf("alibabacloud", "missing: accounts %s use Alibaba Cloud and need access_key_id and access_key_secret", strings.Join(alibaba, ", "))
		}
	} else {
		if len(alibaba) > 0 {
			k.secret("alibabacloud.access_key_id", a.AccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_ID")
			k.secret("alibabacloud.access_key_secret", a.AccessKeySecret, "ALIBABA_CLOUD_ACCESS_KEY_SECRET")
		} else {
			k.warnf("alibabacloud", "no alibaba.* account uses it")
		}
		k.endpoint("alibabacloud.endpoint", a.Endpoint)
		k.scheme("alibabacloud.scheme", a.Scheme)
	}
}

// decoder fills a Config from a yaml.Node. yaml.v3 has no strict mode for
// Node.Decode and stops at the first unknown key, so the walk is ours: it
// reports every unknown or repeated key, every bad value and every missing
// variable, each with its key path and line.
type decoder struct {
	getenv   func(string) string
	src      *configSource
	problems []Problem
}

func (d *decoder) problemf(path string, line int, format string, args ...any) {
	d.problems = append(d.problems, Problem{Path: path, Line: line, Message: fmt.Sprintf(format, args...)})
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch {
	case v.Type() == reflect.TypeFor[Secret]() || v.Type() == reflect.TypeFor[RedisURL]():
		d.scalar(n, v, path)
	case v.Kind() == reflect.Pointer:
		if isNull(n) {
			return
		}
		p := reflect.New(v.Type().Elem())
		d.decode(n, p.Elem(), path)
		v.Set(p)
	case v.Kind() == reflect.Struct:
		d.mapping(n, v, path)
	case v.Kind() == reflect.Slice:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.problemf(path, n.Line, "want a list, like [a, b]")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, e := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			d.src.lines[p] = e.Line
			d.decode(e, s.Index(i), p)
		}
		v.Set(s)
	default:
		d.scalar(n, v, path)
	}
}

// mapping fills a struct, with YAML merge keys (<<) applied first so that
// the mapping's own keys override them.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.problemf(path, n.Line, "want a mapping of keys")
		return
	}
	fields := map[string]int{}
	var names []string
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if tag := strings.Split(f.Tag.Get("yaml"), ",")[0]; tag != "" && tag != "-" && f.IsExported() {
			fields[tag] = i
			names = append(names, tag)
		}
	}
	seen := map[string]int{}
	var pairs func(m *yaml.Node, merged bool)
	isMerge := func(key *yaml.Node) bool {
		return key.Kind == yaml.ScalarNode && key.Value == "<<" && key.ShortTag() == "!!merge"
	}
	pairs = func(m *yaml.Node, merged bool) {
		// Merged keys first, wherever << stands, so that the mapping's own
		// keys win.
		for i := 0; i+1 < len(m.Content); i += 2 {
			if isMerge(m.Content[i]) {
				d.merge(m.Content[i+1], pairs, path)
			}
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			key, val := m.Content[i], m.Content[i+1]
			if isMerge(key) {
				continue
			}
			at := key.Value
			if path != "" {
				at = path + "." + key.Value
			}
			if !merged {
				if first, dup := seen[key.Value]; dup {
					msg := fmt.Sprintf("key %q repeated (first at line %d)", key.Value, first)
					if key.Value == "name" && strings.HasPrefix(path, "accounts[") {
						msg += "; a tencent.tcr service account goes in service_account"
					}
					d.problemf(at, key.Line, "%s", msg)
					continue
				}
				seen[key.Value] = key.Line
			}
			fi, ok := fields[key.Value]
			if !ok {
				msg := fmt.Sprintf("unknown key %q", key.Value)
				if s := closest(key.Value, names); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				d.problemf(at, key.Line, "%s", msg)
				continue
			}
			d.src.lines[at] = key.Line
			d.decode(val, v.Field(fi), at)
		}
	}
	pairs(n, false)
}

func (d *decoder) merge(val *yaml.Node, pairs func(*yaml.Node, bool), path string) {
	if val.Kind == yaml.AliasNode && val.Alias != nil {
		val = val.Alias
	}
	switch val.Kind {
	case yaml.MappingNode:
		pairs(val, true)
	case yaml.SequenceNode:
		// Earlier mappings win over later ones.
		for i := len(val.Content) - 1; i >= 0; i-- {
			d.merge(val.Content[i], pairs, path)
		}
	default:
		d.problemf(path, val.Line, "<< must merge a mapping or a list of mappings")
	}
}

// scalar fills a string, bool, int or duration. Values never go through the
// YAML parser again, so an expanded variable is always one plain value.
func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.ScalarNode {
		d.problemf(path, n.Line, "want a single value, not a list or mapping")
		return
	}
	s := d.expand(n, path)
	// A value from the environment may be a secret: never echo it.
	shown := ", not " + d.src.show(path, strconv.Quote(s))
	switch {
	case v.Type() == reflect.TypeFor[Secret]():
		v.Set(reflect.ValueOf(NewSecret(s)))
	case v.Type() == reflect.TypeFor[RedisURL]():
		v.Set(reflect.ValueOf(NewRedisURL(s)))
	case v.Kind() == reflect.String:
		v.SetString(s)
	case v.Kind() == reflect.Bool:
		switch strings.ToLower(s) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			d.problemf(path, n.Line, "want true or false%s", shown)
		}
	case v.Type() == reflect.TypeFor[time.Duration]():
		dur, err := time.ParseDuration(s)
		if err != nil {
			d.problemf(path, n.Line, "want a duration like 30m or 1h%s", shown)
			return
		}
		v.SetInt(int64(dur))
	case v.Kind() == reflect.Int:
		i, err := strconv.Atoi(s)
		if err != nil {
			d.problemf(path, n.Line, "want a whole number%s", shown)
			return
		}
		v.SetInt(int64(i))
	default:
		// Only reachable if a field of an unsupported type is added.
		d.problemf(path, n.Line, "cannot read a %s", v.Type())
	}
}

// expand replaces ${VAR} in a scalar's text, and notes in src.fromEnv
// whether anything came from the environment.
func (d *decoder) expand(n *yaml.Node, path string) string {
	// A merged (<<) value may have been noted at this path before.
	delete(d.src.fromEnv, path)
	s := n.Value
	if !strings.Contains(s, "${") {
		return s
	}
	var b strings.Builder
	expanded := false
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		if i > 0 && s[i-1] == '$' {
			// $${ is a literal ${.
			b.WriteString(s[:i-1] + "${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			d.problemf(path, n.Line, "unterminated ${: write ${NAME}, or $${ for a literal ${")
			return ""
		}
		name := s[i+2 : i+end]
		s = s[i+end+1:]
		if !envName(name) {
			d.problemf(path, n.Line, "${%s}: a variable name is letters, digits and _", name)
			continue
		}
		expanded = true
		val := d.getenv(name)
		if val == "" {
			d.problemf(path, n.Line, "environment variable %s is not set (or empty)", name)
		}
		b.WriteString(val)
	}
	if expanded {
		d.src.fromEnv[path] = n.Value
	}
	return b.String()
}

// closest returns the candidate within two edits of s, if any.
func closest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
