package config

import (
	"fmt"
	"strconv"
	"strings"

	"resetbot/bot"
)

// checkRules checks an account's approval_rules: each rule's from and count,
// then that every allowed requester could get a request approved.
func (c *Config) checkRules(k *checker, at string, a Account, people []bot.Person, known map[string]bool) {
	if len(a.ApprovalRules) == 0 {
		k.errf(at+".approval_rules", "empty: list at least one rule, like {from: [db-approvers], count: 1}")
		return
	}
	for _, key := range []string{"approvers", "approvals"} {
		set := k.written(at+"."+key) || key == "approvers" && len(a.Approvers) > 0 || key == "approvals" && a.Approvals != nil
		if set {
			where := ""
			if l := k.line(at + "." + key); l > 0 {
				where = fmt.Sprintf(" (%s is at line %d)", key, l)
			}
			k.errf(at+".approval_rules", "set approval_rules or the approvers/approvals shorthand, not both%s", where)
		}
	}
	ok := true
	for j, r := range a.ApprovalRules {
		path := fmt.Sprintf("%s.approval_rules[%d]", at, j)
		if len(r.From) == 0 {
			k.errf(path+".from", "missing: the people or groups who may approve under this rule")
			ok = false
		}
		for x, n := range r.From {
			if p := fmt.Sprintf("%s.from[%d]", path, x); !known[n] {
				k.errf(p, "%s is neither a person nor a group of people", k.quoted(p, n))
				ok = false
			}
		}
		if r.Count == nil {
			k.errf(path+".count", "missing: how many of these people must approve (at least 1)")
			ok = false
			continue
		}
		shown := k.plain(path+".count", strconv.Itoa(*r.Count))
		if *r.Count < 1 {
			k.errf(path+".count", "%s: must be at least 1", shown)
			ok = false
			continue
		}
		if n := len(eligible(people, a, r.From, "")); *r.Count > n && len(r.From) > 0 {
			k.errf(path+".count", "%s approvals needed but %s may approve under this rule", shown, howMany(n))
			ok = false
		}
	}
	if ok {
		c.checkSatisfiable(k, at, a, people)
	}
}

// eligible are the people who may approve under a rule whose from is from,
// but not the requester. With Discord approver_roles anyone in config may
// hold a role, so everyone is.
func eligible(people []bot.Person, a Account, from []string, requester string) []int {
	var out []int
	for i, p := range people {
		if p.Name != requester && (len(a.ApproverRoles) > 0 || p.In(from)) {
			out = append(out, i)
		}
	}
	return out
}

// checkSatisfiable proves that every allowed requester could get a request
// approved: that enough people besides them can fill every rule's count at
// once, one person toward one rule only. That is a bipartite matching of
// people to the rules' slots; the rule whose slots cannot all be matched,
// given the rules before it, is the one named.
func (c *Config) checkSatisfiable(k *checker, at string, a Account, people []bot.Person) {
	type stuck struct {
		rule      int
		detail    string
		requester []string
	}
	var found []*stuck
	for _, p := range people {
		if !p.In(a.Requesters) {
			continue
		}
		j, detail := c.unfillable(k, at, a, people, p.Name)
		if j < 0 {
			continue
		}
		who := k.plain(c.personPath(p.Name), p.Name)
		merged := false
		for _, s := range found {
			if s.rule == j && s.detail == detail {
				s.requester = append(s.requester, who)
				merged = true
			}
		}
		if !merged {
			found = append(found, &stuck{rule: j, detail: detail, requester: []string{who}})
		}
	}
	for _, s := range found {
		k.errf(fmt.Sprintf("%s.approval_rules[%d]", at, s.rule), "account %s: requests by %s could never be approved: %s",
			k.plain(at+".name", a.Name), strings.Join(s.requester, ", "), s.detail)
	}
}

// unfillable is the first rule that people besides requester cannot fill
// along with the rules before it, and why; -1 when every rule can be filled.
func (c *Config) unfillable(k *checker, at string, a Account, people []bot.Person, requester string) (int, string) {
	var slotRule []int     // slot -> its rule
	var byRule [][]int     // rule -> the people eligible under it
	owner := map[int]int{} // person -> the slot they fill
	// augment finds person for slot s, moving others along (Kuhn's method).
	var augment func(s int, seen map[int]bool) bool
	augment = func(s int, seen map[int]bool) bool {
		for _, q := range byRule[slotRule[s]] {
			if seen[q] {
				continue
			}
			seen[q] = true
			if t, taken := owner[q]; !taken || augment(t, seen) {
				owner[q] = s
				return true
			}
		}
		return false
	}
	for j, r := range a.ApprovalRules {
		byRule = append(byRule, eligible(people, a, r.From, requester))
		for range r.count() {
			slotRule = append(slotRule, j)
			if !augment(len(slotRule)-1, map[int]bool{}) {
				return j, c.whyUnfillable(k, at, a, people, byRule, j)
			}
		}
	}
	return -1, ""
}

// whyUnfillable says why rule j cannot be filled: too few people besides the
// requester, or people the rules before it need too.
func (c *Config) whyUnfillable(k *checker, at string, a Account, people []bot.Person, byRule [][]int, j int) string {
	r := a.ApprovalRules[j]
	name := c.ruleName(k, fmt.Sprintf("%s.approval_rules[%d]", at, j), r)
	mine := byRule[j]
	if len(mine) < r.count() {
		return fmt.Sprintf("rule %s needs %d, and %s besides the requester may approve under it", name, r.count(), howMany(len(mine)))
	}
	var names []string
	for _, q := range mine {
		names = append(names, k.plain(c.personPath(people[q].Name), people[q].Name))
	}
	var others []string
	for i := range j {
		for _, q := range byRule[i] {
			if containsInt(mine, q) {
				others = append(others, fmt.Sprintf("approval_rules[%d] (%s)", i, c.ruleName(k, fmt.Sprintf("%s.approval_rules[%d]", at, i), a.ApprovalRules[i])))
				break
			}
		}
	}
	return fmt.Sprintf("rule %s needs %d, but its people besides the requester (%s) are needed for %s too; one person's approval counts toward one rule only",
		name, r.count(), strings.Join(names, ", "), strings.Join(others, " and "))
}

// ruleName is bot.Rule.Name for the rule at path, without values from the
// environment.
func (c *Config) ruleName(k *checker, path string, r Rule) string {
	var from []string
	for x, n := range r.From {
		from = append(from, k.plain(fmt.Sprintf("%s.from[%d]", path, x), n))
	}
	return bot.Rule{From: from}.Name()
}

// howMany is "nobody", "only 1 person" or "only 3 people".
func howMany(n int) string {
	switch n {
	case 0:
		return "nobody"
	case 1:
		return "only 1 person"
	}
	return fmt.Sprintf("only %d people", n)
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// slackChannelID: C... or G... (a private channel), upper-case letters and
// digits.
func slackChannelID(s string) bool {
	return len(s) >= 3 && (s[0] == 'C' || s[0] == 'G') && every(s, func(r rune) bool { return isDigit(r) || isUpper(r) })
}

// checkChannels checks an account's own channels: their shape, and that
// their platform is configured.
func (c *Config) checkChannels(k *checker, at string, a Account) {
	if ch := a.Channels.Slack; ch != "" {
		path := at + ".channels.slack"
		if !slackChannelID(ch) {
			k.errf(path, "%s is not a Slack channel ID (like C012AB3CD)", k.quoted(path, ch))
		} else if c.Slack == nil {
			k.warnf(path, "a Slack channel is set but slack is not configured: it is ignored")
		}
	}
	if ch := a.Channels.Discord; ch != "" {
		path := at + ".channels.discord"
		if !snowflake(ch) {
			k.snowflake(path, ch, "channel ID")
		} else if c.Discord == nil {
			k.warnf(path, "a Discord channel is set but discord is not configured: it is ignored")
		}
	}
}

// Channels is where the cards of account go on each configured platform:
// its own `channels:` entry, else that platform's approvals_channel. A
// platform that is not configured is absent; an unknown account gives nil.
func (c *Config) Channels(account string) map[bot.Platform]string {
	for _, a := range c.AccountConfigs {
		if a.Name != account {
			continue
		}
		out := map[bot.Platform]string{}
		if c.Slack != nil {
			out[bot.PlatformSlack] = c.Slack.ApprovalsChannel
			if a.Channels.Slack != "" {
				out[bot.PlatformSlack] = a.Channels.Slack
			}
		}
		if c.Discord != nil {
			out[bot.PlatformDiscord] = c.Discord.ApprovalsChannel
			if a.Channels.Discord != "" {
				out[bot.PlatformDiscord] = a.Channels.Discord
			}
		}
		return out
	}
	return nil
}
