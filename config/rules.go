package config

import (
	"fmt"
	"slices"
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
	for _, key := range []string{"approvers", "approvals", "approver_roles"} {
		set := k.written(at+"."+key) || key == "approvers" && len(a.Approvers) > 0 || key == "approvals" && a.Approvals != nil ||
			key == "approver_roles" && len(a.ApproverRoles) > 0
		if !set {
			continue
		}
		where := ""
		if l := k.line(at + "." + key); l > 0 {
			where = fmt.Sprintf(" (%s is at line %d)", key, l)
		}
		if key == "approver_roles" {
			// bot.RequestRules gives the roles to the shorthand's one rule
			// only: with approval_rules they would be ignored.
			k.errf(at+".approval_rules", "approver_roles admit approvers under the approvers/approvals shorthand's one rule only: use one form, approval_rules or the shorthand with approver_roles%s", where)
			continue
		}
		k.errf(at+".approval_rules", "set approval_rules or the approvers/approvals shorthand, not both%s", where)
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
		if n := len(eligible(people, r.From, "")); *r.Count > n && len(r.From) > 0 {
			k.errf(path+".count", "%s approvals needed but %s may approve under this rule", shown, howMany(n))
			ok = false
		}
	}
	if ok {
		c.checkSatisfiable(k, at, a, people)
	}
}

// eligible are the people who may approve under a rule whose from is from,
// but not the requester. (Discord approver_roles do not feed approval_rules:
// the two are refused together.)
func eligible(people []bot.Person, from []string, requester string) []int {
	var out []int
	for i, p := range people {
		if p.Name != requester && p.In(from) {
			out = append(out, i)
		}
	}
	return out
}

// checkSatisfiable proves that every allowed requester could get a request
// approved: that enough people besides them can fill every rule's count at
// once, one person toward one rule only. That is a bipartite matching of
// people to the rules' slots; the rule whose slots cannot all be matched,
// given the rules before it, is the one named. A requester the rules fail
// is matched again with escalation, whose people may fill any rule: one it
// then succeeds for is a warning (their requests wait for escalate_after),
// one it fails too is an error.
func (c *Config) checkSatisfiable(k *checker, at string, a Account, people []bot.Person) {
	type stuck struct {
		rule      int
		detail    string
		late      bool // approved only once escalated
		requester []string
	}
	var found []*stuck
	for _, p := range people {
		if !p.In(a.Requesters) {
			continue
		}
		j, detail := c.unfillable(k, at, a, people, p.Name, false)
		if j < 0 {
			continue
		}
		late := false
		if a.escalates() {
			if je, de := c.unfillable(k, at, a, people, p.Name, true); je < 0 {
				late = true
			} else {
				j, detail = je, de
			}
		}
		who := k.plain(c.personPath(p.Name), p.Name)
		if i := slices.IndexFunc(found, func(s *stuck) bool { return s.rule == j && s.detail == detail && s.late == late }); i >= 0 {
			found[i].requester = append(found[i].requester, who)
		} else {
			found = append(found, &stuck{rule: j, detail: detail, late: late, requester: []string{who}})
		}
	}
	for _, s := range found {
		path := fmt.Sprintf("%s.approval_rules[%d]", at, s.rule)
		account, requesters := k.plain(at+".name", a.Name), strings.Join(s.requester, ", ")
		switch {
		case s.late:
			k.warnf(path, "account %s: requests by %s can be approved %s: %s", account, requesters, afterEscalation(k, at, a), s.detail)
		case a.escalates():
			k.errf(path, "account %s: requests by %s could never be approved, even after escalate_after (%s): %s", account, requesters,
				k.plain(at+".escalate_after", shortDuration(a.EscalateAfter)), s.detail)
		default:
			k.errf(path, "account %s: requests by %s could never be approved: %s", account, requesters, s.detail)
		}
	}
}

// unfillable is the first rule that people besides requester cannot fill
// along with the rules before it, and why; -1 when every rule can be filled.
// With escalated, the people of escalate_to may fill any rule too.
func (c *Config) unfillable(k *checker, at string, a Account, people []bot.Person, requester string, escalated bool) (int, string) {
	var esc []int
	if escalated {
		esc = escalation(people, a, requester)
	}
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
		mine := eligible(people, r.From, requester)
		for _, q := range esc {
			if !slices.Contains(mine, q) {
				mine = append(mine, q)
			}
		}
		slices.Sort(mine)
		byRule = append(byRule, mine)
		for range r.count() {
			slotRule = append(slotRule, j)
			if !augment(len(slotRule)-1, map[int]bool{}) {
				return j, c.whyUnfillable(k, at, a, people, byRule, j, escalated)
			}
		}
	}
	return -1, ""
}

// whyUnfillable says why rule j cannot be filled: too few people besides the
// requester, or people the rules before it need too.
func (c *Config) whyUnfillable(k *checker, at string, a Account, people []bot.Person, byRule [][]int, j int, escalated bool) string {
	r := a.ApprovalRules[j]
	name := c.ruleName(k, fmt.Sprintf("%s.approval_rules[%d]", at, j), r)
	mine := byRule[j]
	if len(mine) < r.count() {
		also := ""
		if escalated {
			also = ", escalate_to included"
		}
		return fmt.Sprintf("rule %s needs %d, and %s besides the requester may approve under it%s", name, r.count(), howMany(len(mine)), also)
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
