package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"resetbot/bot"
)

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

// reservedAccountName reports the command words: an account so named could
// not be asked for.
func reservedAccountName(name string) bool {
	switch strings.ToLower(name) {
	case "list", "help", "status", "cancel", "approve", "deny", "reveal", "confirm", "reject", "break-glass":
		return true
	}
	return false
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
	pagerDutyIDs := map[string]int{}
	groupAt := map[string]string{} // group name -> where it is first listed
	var people []bot.Person
	for i, p := range c.PersonConfigs {
		at := fmt.Sprintf("people[%d]", i)
		switch {
		case p.Name == "":
			k.errf(at+".name", "missing")
		case strings.ContainsAny(p.Name, " \t\n,:"):
			k.errf(at+".name", "%s: a name has no spaces, commas or colons", k.quoted(at+".name", p.Name))
		case p.Name == "system" || p.Name == bot.ActorPagerDuty:
			// the audit log's actors for the bot itself and for PagerDuty's
			// auto-approvals: a person so named could pass for them
			k.errf(at+".name", "%s is reserved: the audit log names the bot itself and PagerDuty's approvals so; pick another name", k.quoted(at+".name", p.Name))
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
		if p.PagerDuty != "" {
			if !pagerDutyID(p.PagerDuty) {
				k.errf(at+".pagerduty", "%s is not a PagerDuty user ID (like PALICE1: %s)", k.quoted(at+".pagerduty", p.PagerDuty), pagerDutyIDForm)
			} else if j, dup := pagerDutyIDs[p.PagerDuty]; dup {
				k.errf(at+".pagerduty", "%s is already people[%d]'s PagerDuty ID", k.plain(at+".pagerduty", p.PagerDuty), j)
			} else {
				pagerDutyIDs[p.PagerDuty] = i
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
			people = append(people, bot.Person{Name: p.Name, Slack: p.Slack, Discord: p.Discord, PagerDuty: p.PagerDuty, Groups: p.Groups})
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
				k.errf(at+".name", "%s is a command word (list, help, status, cancel, approve, deny, reveal, confirm, reject, break-glass): /reset-password would not ask for it", k.plain(at+".name", a.Name))
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
		switch {
		case a.Provider == "":
			k.errf(at+".provider", "missing: one of %s", c.providerNames())
		case a.parsed == nil:
			k.errf(at+".provider", "unknown provider %s: one of %s", k.quoted(at+".provider", string(a.Provider)), c.providerNames())
		default:
			c.checkProviderKeys(k, at, a)
		}
		k.endpoint(at+".endpoint", a.Endpoint)
		k.scheme(at+".scheme", a.Scheme)
		c.checkPolicy(k, at, a, people, known)
	}
}

// checkProviderKeys reports what the account's kind found wrong with its
// keys, and checks what config owns: the region's form and the user(s).
func (c *Config) checkProviderKeys(k *checker, at string, a Account) {
	kind := a.parsed.kind
	if kind.NeedsRegion() && a.Region == "" {
		k.errf(at+".region", "missing: %s needs a region (like ap-guangzhou or cn-hangzhou)", a.Provider)
	}
	if a.Region != "" && !regionID(a.Region) {
		k.errf(at+".region", "%s is not a region ID (like ap-guangzhou or cn-hangzhou)", k.quoted(at+".region", a.Region))
	}
	for _, p := range a.parsed.problems {
		path := at
		if p.Key != "" {
			path += "." + p.Key
		}
		msg := p.Message
		if p.Quoted {
			if v, ok := a.settingValue(p.Key); ok {
				if p.Key == "password_length" || isBool(kind, p.Key) {
					v = k.plain(path, v)
				} else {
					v = k.quoted(path, v)
				}
				msg = v + ": " + msg
			}
		}
		k.errf(path, "%s", msg)
	}
	c.checkUsers(k, at, a)
}

// settingValue is the value of key as the file wrote it, for a problem's
// message.
func (a Account) settingValue(key string) (string, bool) {
	if key == "password_length" {
		return strconv.Itoa(a.PasswordLength), true
	}
	v, ok := a.parsed.values[key]
	return v, ok
}

func (c *Config) checkUsers(k *checker, at string, a Account) {
	kind := a.parsed.kind
	userKeys := kind.UserKeys()
	if a.User != "" && !slices.Contains(userKeys, "user") {
		k.errf(at+".user", "not a %s key: name the user with %s", a.Provider, strings.Join(append(slices.Clone(userKeys), "users"), " or "))
	}
	var set []string
	for _, key := range userKeys {
		if a.userValue(key) != "" {
			set = append(set, key)
		}
	}
	if len(a.Users) > 0 {
		set = append(set, "users")
	}
	switch len(set) {
	case 0:
		k.errf(at, "no user to reset: set %s (one) or users (several)", strings.Join(userKeys, " or "))
		return
	case 1:
	default:
		k.errf(at+"."+set[1], "set only one of %s", strings.Join(set, ", "))
	}
	for _, key := range userKeys {
		if v := a.userValue(key); v != "" && strings.ContainsAny(v, " \t\n,:") {
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
	if most := kind.MaxUsers(); most > 0 && len(a.Users) > most {
		k.errf(at+".users", "%d users: %s takes at most %d", len(a.Users), a.Provider, most)
	}
}

func (c *Config) checkPolicy(k *checker, at string, a Account, people []bot.Person, known map[string]bool) {
	if len(a.Requesters) == 0 {
		k.errf(at+".requesters", "missing: nobody could ask for this account")
	}
	for j, n := range a.Requesters {
		if path := fmt.Sprintf("%s.requesters[%d]", at, j); !known[n] {
			k.errf(path, "%s is neither a person nor a group of people", k.quoted(path, n))
		}
	}
	for j, r := range a.ApproverRoles {
		k.snowflake(fmt.Sprintf("%s.approver_roles[%d]", at, j), r, "role ID")
	}
	if len(a.ApproverRoles) > 0 && c.Discord == nil {
		k.warnf(at+".approver_roles", "Discord roles are set but discord is not configured: they are ignored")
	}
	c.checkChannels(k, at, a)
	if a.ApprovalRules != nil || k.written(at+".approval_rules") {
		c.checkRules(k, at, a, people, known)
	} else {
		c.checkShorthand(k, at, a, people, known)
	}
	if ttl := a.ttl(); ttl <= 0 || ttl > maxTTL {
		k.errf(at+".ttl", "%s: must be more than 0 and at most %s", k.plain(at+".ttl", shortDuration(ttl)), shortDuration(maxTTL))
	}
	if d := a.revealWithin(); d <= 0 || d > maxRevealWithin {
		k.errf(at+".reveal_within", "%s: must be more than 0 and at most %s", k.plain(at+".reveal_within", shortDuration(d)), shortDuration(maxRevealWithin))
	}
	c.checkReminders(k, at, a, known)
	c.checkIncidents(k, at, a, people, known)
}

// checkShorthand checks the approvers/approvals shorthand for one rule.
func (c *Config) checkShorthand(k *checker, at string, a Account, people []bot.Person, known map[string]bool) {
	for j, n := range a.Approvers {
		if path := fmt.Sprintf("%s.approvers[%d]", at, j); !known[n] {
			k.errf(path, "%s is neither a person nor a group of people", k.quoted(path, n))
		}
	}
	if len(a.Approvers) == 0 && len(a.ApproverRoles) == 0 {
		k.errf(at+".approvers", "missing: nobody could approve this account (set approvers, or approval_rules)")
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
			c.checkShorthandRequesters(k, at, a, people, pool, n)
		}
	}
}

// checkShorthandRequesters warns of the requesters whom the shorthand's
// pool could never approve with n approvals, or only once escalate_to may
// approve too. Nobody approves their own request: a requester who is also
// in the pool needs n others. Warnings, not errors: such a requester may
// still ask for other accounts, and the design's own example has one.
func (c *Config) checkShorthandRequesters(k *checker, at string, a Account, people []bot.Person, pool []string, n int) {
	if len(pool)-1 >= n {
		return
	}
	type stuck struct {
		others    int // people besides the requester who may approve, escalate_to included
		requester []string
	}
	var never []*stuck
	var late []string
	for _, p := range people {
		if !p.In(a.Requesters) || !slices.Contains(pool, p.Name) {
			continue
		}
		who := k.plain(c.personPath(p.Name), p.Name)
		others := len(pool) - 1
		for _, q := range escalation(people, a, p.Name) {
			if !slices.Contains(pool, people[q].Name) {
				others++
			}
		}
		if a.escalates() && others >= n {
			late = append(late, who)
			continue
		}
		if i := slices.IndexFunc(never, func(s *stuck) bool { return s.others == others }); i >= 0 {
			never[i].requester = append(never[i].requester, who)
		} else {
			never = append(never, &stuck{others: others, requester: []string{who}})
		}
	}
	shownN := k.plain(at+".approvals", strconv.Itoa(n))
	also := ""
	if a.escalates() {
		also = ", escalate_to included"
	}
	for _, s := range never {
		k.warnf(at+".approvals", "%s approvals needed: requests by %s could never be approved (only %d other people may approve%s)", shownN, strings.Join(s.requester, ", "), s.others, also)
	}
	if len(late) > 0 {
		k.warnf(at+".approvals", "account %s: requests by %s can be approved %s: rule %s needs %s, and %s besides the requester may approve under it before",
			k.plain(at+".name", a.Name), strings.Join(late, ", "), afterEscalation(k, at, a), c.shorthandName(k, at, a), shownN, howMany(len(pool)-1))
	}
}

// shorthandName is bot.Rule.Name for the shorthand's one rule, without
// values from the environment; "approver_roles" when only roles make it.
func (c *Config) shorthandName(k *checker, at string, a Account) string {
	if len(a.Approvers) == 0 {
		return "approver_roles"
	}
	var from []string
	for x, n := range a.Approvers {
		from = append(from, k.plain(fmt.Sprintf("%s.approvers[%d]", at, x), n))
	}
	return bot.Rule{From: from}.Name()
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
