package config

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"resetbot/bot"
)

// Account is one entry of `accounts:`: the keys every account has. The
// keys of its provider (instance_id, cluster_id, random...) are not fields:
// Load hands them to the provider's bot.AccountKind, which parses them
// into the bot.AccountSettings that Accounts returns. Pointers mark keys
// whose default is not the zero value, so that an explicit 0 can be
// refused.
//
// The user to reset is `user` (one), a key of the provider's own that its
// kind names among UserKeys (one), or `users` (several the requester may
// pick among).
type Account struct {
	Name     string          `yaml:"name"`
	Provider bot.ProviderKey `yaml:"provider"`
	Region   string          `yaml:"region"`
	User     string          `yaml:"user"`
	Users    []string        `yaml:"users"`

	PasswordLength int    `yaml:"password_length"` // 0: the provider's default
	Endpoint       string `yaml:"endpoint"`        // host[:port], overrides the cloud's
	Scheme         string `yaml:"scheme"`          // overrides the cloud's

	Requesters    []string `yaml:"requesters"`
	Approvers     []string `yaml:"approvers"`
	ApproverRoles []string `yaml:"approver_roles"` // Discord role IDs
	Approvals     *int     `yaml:"approvals"`      // default 1
	// ApprovalRules must all hold; an account sets them or the
	// approvers/approvals shorthand for one rule, not both.
	ApprovalRules []Rule `yaml:"approval_rules"`
	// Channels are where this account's cards go, instead of each
	// platform's approvals_channel.
	Channels Channels       `yaml:"channels"`
	TTL      *time.Duration `yaml:"ttl"` // default 30m
	// RevealWithin is how long an approved request's Reveal button works
	// (default 30m); then the request expires with nothing reset.
	RevealWithin *time.Duration `yaml:"reveal_within"`
	// RemindAfter is how long a pending request waits before its first
	// reminder; 0: never. Each later one waits RemindBackoff times longer
	// (default 1, at most bot.MaxRemindBackoff).
	RemindAfter   time.Duration `yaml:"remind_after"`
	RemindBackoff *float64      `yaml:"remind_backoff"`
	// EscalateAfter is how long a pending request waits before the people
	// of EscalateTo (people or groups) may approve it too, counting toward
	// any rule; 0: never.
	EscalateAfter time.Duration `yaml:"escalate_after"`
	EscalateTo    []string      `yaml:"escalate_to"`

	// BreakGlass lets some people reset without a prior vote, reviewed
	// afterwards; nil: nobody may.
	BreakGlass *BreakGlass `yaml:"break_glass"`
	// OnCall auto-approves requests by whoever PagerDuty says is on call,
	// reviewed as break-glass is; nil: never.
	OnCall *OnCall `yaml:"on_call"`

	// parsed is what the account's kind made of its provider keys, once, at
	// load. A pointer, so that printing an Account does not dump it.
	parsed *parsed
}

// Rule is one entry of an account's `approval_rules:`: Count distinct people
// named by From (people or groups) must approve. Count is a pointer so that a
// missing count is told apart from 0.
type Rule struct {
	From  []string `yaml:"from"`
	Count *int     `yaml:"count"`
}

// BreakGlass is an account's `break_glass:`. ReviewWithin is a pointer so
// that a missing review_within is told apart from 0.
type BreakGlass struct {
	Who          []string       `yaml:"who"`           // people or groups
	ReviewWithin *time.Duration `yaml:"review_within"` // an approver must confirm by then
	PerPerson    string         `yaml:"per_person"`    // "N/duration", like 2/24h; "": no limit
}

// OnCall is an account's `on_call:`, PagerDuty IDs all.
type OnCall struct {
	EscalationPolicy string   `yaml:"escalation_policy"`
	Levels           []int    `yaml:"levels"`      // 1 is the first
	IncidentOn       []string `yaml:"incident_on"` // services; empty: no incident needed
}

// Channels is an account's `channels:`, a channel ID per platform; empty:
// that platform's approvals_channel.
type Channels struct {
	Slack   string `yaml:"slack"`
	Discord string `yaml:"discord"`
}

// parsed is one account's provider keys, as its kind saw them.
type parsed struct {
	kind bot.AccountKind
	// values are the kind's keys the account set, as written (after
	// ${VAR}), a Bool setting as "true" or "false". User keys of the kind
	// that are not settings are here too.
	values   map[string]string
	settings bot.AccountSettings
	problems []bot.SettingProblem
}

// commonKeys are the keys every account has, whatever its provider.
func commonKeys() []string {
	keys, _ := yamlFields(reflect.TypeFor[Account]())
	return keys
}

// kindKeys are the keys a kind's accounts set besides the common ones: its
// settings and its user keys.
func kindKeys(k bot.AccountKind) []string {
	var keys []string
	for _, s := range k.Settings() {
		keys = append(keys, s.Key)
	}
	for _, u := range k.UserKeys() {
		if !slices.Contains(keys, u) {
			keys = append(keys, u)
		}
	}
	return slices.DeleteFunc(keys, func(key string) bool { return slices.Contains(commonKeys(), key) })
}

// sortedKinds are the kinds by provider key, so that lists in messages do
// not change from one run to the next.
func (c *Config) sortedKinds() []bot.AccountKind {
	var out []bot.AccountKind
	for _, k := range c.kinds {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Provider() < out[j].Provider() })
	return out
}

// providerNames lists the known providers, for messages.
func (c *Config) providerNames() string {
	var names []string
	for _, k := range c.sortedKinds() {
		names = append(names, string(k.Provider()))
	}
	if len(names) == 0 {
		return "(none known)"
	}
	return strings.Join(names, ", ")
}

// userKeyHint is said when an account repeats `name:`: some APIs call the
// user to reset Name (TCR's service account), but name is the account's own.
func (c *Config) userKeyHint() string {
	var keys []string
	for _, k := range c.sortedKinds() {
		for _, u := range k.UserKeys() {
			if !slices.Contains(commonKeys(), u) {
				keys = append(keys, fmt.Sprintf("%s (%s)", u, k.Provider()))
			}
		}
	}
	hint := "; name is the account's own: the user to reset goes in user or users"
	if len(keys) > 0 {
		hint += ", or " + strings.Join(keys, ", ")
	}
	return hint
}

// parseAccounts sorts each account's provider keys, which the decoder
// captured, into those of its kind, those of another kind (a mistake: a
// cluster_id on a TDSQL account would be ignored) and unknown ones, then has
// the kind parse its own. Its problems are the decoder's: they are about
// what the file says.
func (c *Config) parseAccounts(d *decoder) {
	owners := map[string][]string{} // key -> the providers whose key it is
	candidates := commonKeys()
	for _, k := range c.sortedKinds() {
		for _, key := range kindKeys(k) {
			owners[key] = append(owners[key], string(k.Provider()))
			if !slices.Contains(candidates, key) {
				candidates = append(candidates, key)
			}
		}
	}
	for i := range c.AccountConfigs {
		a := &c.AccountConfigs[i]
		at := fmt.Sprintf("accounts[%d]", i)
		kind := c.kinds[a.Provider]
		own := d.own[at]
		keys := make([]string, 0, len(own))
		for key := range own {
			keys = append(keys, key)
		}
		sort.Slice(keys, func(x, y int) bool { return d.src.lines[at+"."+keys[x]] < d.src.lines[at+"."+keys[y]] })

		var mine []string
		if kind != nil {
			mine = kindKeys(kind)
		}
		values := map[string]string{}
		for _, key := range keys {
			path, line := at+"."+key, d.src.lines[at+"."+key]
			switch {
			case slices.Contains(mine, key):
				if v, ok := d.ownValue(own[key], path, isBool(kind, key)); ok {
					values[key] = v
				}
			case len(owners[key]) > 0:
				// With an unknown provider, the provider is the problem.
				if kind != nil {
					d.problemf(path, line, "not a %s key (it belongs to %s)", a.Provider, strings.Join(owners[key], ", "))
				}
			default:
				msg := fmt.Sprintf("unknown key %q", key)
				if s := closest(key, candidates); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				d.problemf(path, line, "%s", msg)
			}
		}
		if kind == nil {
			continue
		}
		settings := map[string]string{}
		for _, s := range kind.Settings() {
			if v, ok := values[s.Key]; ok {
				settings[s.Key] = v
			}
		}
		p := &parsed{kind: kind, values: values}
		p.settings, p.problems = kind.Parse(settings, a.PasswordLength)
		a.parsed = p
	}
}

func isBool(k bot.AccountKind, key string) bool {
	for _, s := range k.Settings() {
		if s.Key == key {
			return s.Bool
		}
	}
	return false
}

// ownValue reads one provider key's value: a scalar, ${VAR} expanded, a
// bool as "true" or "false". ok is false when it is unset, empty or wrong
// (the problem is reported).
func (d *decoder) ownValue(n *yaml.Node, path string, isBool bool) (v string, ok bool) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if isNull(n) {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		d.problemf(path, n.Line, "want a single value, not a list or mapping")
		return "", false
	}
	s := d.expand(n, path)
	if s == "" {
		return "", false
	}
	if isBool {
		b, ok := parseBool(s)
		if !ok {
			d.problemf(path, n.Line, "want true or false, not %s", d.src.show(path, fmt.Sprintf("%q", s)))
			return "", false
		}
		s = fmt.Sprint(b)
	}
	return s, true
}

// Accounts converts `accounts:` to the bot's vocabulary, with defaults
// applied. Settings are what the account's kind parsed at load; the
// user(s) to reset, whichever key named them, go to Users; the endpoint and
// scheme are the account's own, else its cloud section's.
func (c *Config) Accounts() []bot.Account {
	out := make([]bot.Account, 0, len(c.AccountConfigs))
	for _, a := range c.AccountConfigs {
		endpoint, scheme := c.cloudEndpoint(a)
		if a.Endpoint != "" {
			endpoint = a.Endpoint
		}
		if a.Scheme != "" {
			scheme = a.Scheme
		}
		acct := bot.Account{
			Name:           a.Name,
			Provider:       a.Provider,
			Region:         a.Region,
			Users:          slices.Clone(a.Users),
			Selectable:     len(a.Users) > 0,
			PasswordLength: a.PasswordLength,
			Endpoint:       endpoint,
			Scheme:         scheme,
			Requesters:     slices.Clone(a.Requesters),
			Approvers:      slices.Clone(a.Approvers),
			ApproverRoles:  slices.Clone(a.ApproverRoles),
			Rules:          a.rules(),
			Channels:       c.Channels(a.Name),
			Approvals:      a.approvals(),
			TTL:            a.ttl(),
			RevealWithin:   a.revealWithin(),
			RemindAfter:    a.RemindAfter,
			RemindBackoff:  a.remindBackoff(),
			EscalateAfter:  a.EscalateAfter,
			EscalateTo:     slices.Clone(a.EscalateTo),
			BreakGlass:     a.breakGlass(),
			OnCall:         a.onCall(),
		}
		if a.parsed != nil {
			acct.Settings = a.parsed.settings
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

// cloudEndpoint is the endpoint and scheme of a's cloud section.
func (c *Config) cloudEndpoint(a Account) (endpoint, scheme string) {
	scheme = defaultScheme
	if a.parsed == nil {
		return "", scheme
	}
	for _, s := range c.clouds() {
		if s.key == a.parsed.kind.Cloud() && s.set {
			endpoint = s.endpoint
			if s.scheme != "" {
				scheme = s.scheme
			}
		}
	}
	return endpoint, scheme
}

// userKeys are the keys that name a's one user, preferred first.
func (a Account) userKeys() []string {
	if a.parsed == nil {
		return []string{"user"}
	}
	return a.parsed.kind.UserKeys()
}

// userValue is the value of one of a's user keys.
func (a Account) userValue(key string) string {
	if key == "user" {
		return a.User
	}
	if a.parsed == nil {
		return ""
	}
	return a.parsed.values[key]
}

// singleUser is the one user named by `user` or its provider's own key.
func (a Account) singleUser() string {
	for _, key := range a.userKeys() {
		if u := a.userValue(key); u != "" {
			return u
		}
	}
	return ""
}

// rules are a's approval_rules in the bot's vocabulary; nil for the
// shorthand, which bot.Account.ApprovalRules turns into one rule.
func (a Account) rules() []bot.Rule {
	var out []bot.Rule
	for _, r := range a.ApprovalRules {
		out = append(out, bot.Rule{From: slices.Clone(r.From), Count: r.count()})
	}
	return out
}

func (r Rule) count() int {
	if r.Count == nil {
		return 0
	}
	return *r.Count
}

// approvals is how many distinct people must approve: with rules, the sum
// of their counts, as one person counts toward one rule only.
func (a Account) approvals() int {
	if len(a.ApprovalRules) > 0 {
		n := 0
		for _, r := range a.ApprovalRules {
			n += r.count()
		}
		return n
	}
	if a.Approvals == nil {
		return defaultApprovals
	}
	return *a.Approvals
}

func (a Account) ttl() time.Duration {
	if a.TTL == nil {
		return defaultTTL
	}
	return *a.TTL
}

func (a Account) revealWithin() time.Duration {
	if a.RevealWithin == nil {
		return defaultRevealWithin
	}
	return *a.RevealWithin
}

func (a Account) remindBackoff() float64 {
	if a.RemindBackoff == nil {
		return defaultRemindBackoff
	}
	return *a.RemindBackoff
}

// breakGlass is a's break_glass in the bot's vocabulary; nil without one.
func (a Account) breakGlass() *bot.BreakGlass {
	b := a.BreakGlass
	if b == nil {
		return nil
	}
	out := &bot.BreakGlass{Who: slices.Clone(b.Who)}
	if b.ReviewWithin != nil {
		out.ReviewWithin = *b.ReviewWithin
	}
	if b.PerPerson != "" {
		out.PerPerson, _ = parsePerPerson(b.PerPerson)
	}
	return out
}

// onCall is a's on_call in the bot's vocabulary; nil without one.
func (a Account) onCall() *bot.OnCallPolicy {
	o := a.OnCall
	if o == nil {
		return nil
	}
	return &bot.OnCallPolicy{EscalationPolicy: o.EscalationPolicy, Levels: slices.Clone(o.Levels), IncidentOn: slices.Clone(o.IncidentOn)}
}
