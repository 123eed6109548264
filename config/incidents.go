package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"resetbot/bot"
)

// maxReviewWithin bounds review_within. A break-glass request's record is
// kept 30 days, so its review must end well within that; and a review a
// week after the fact, when the incident is long closed, is not a review.
const maxReviewWithin = 7 * 24 * time.Hour

// pagerDutyID: P, then upper-case letters and digits, 2 to 20 characters
// in all (PagerDuty's own are 7, like PXPGF42).
func pagerDutyID(s string) bool {
	return len(s) >= 2 && len(s) <= 20 && s[0] == 'P' && every(s, func(r rune) bool { return isDigit(r) || isUpper(r) })
}

const pagerDutyIDForm = "P, then upper-case letters and digits, 2 to 20 characters"

// parsePerPerson reads per_person, "N/duration" (2/24h: at most 2
// break-glass resets per person within 24 hours). why says what is wrong,
// "" when nothing is.
func parsePerPerson(s string) (l bot.Limit, why string) {
	n, d, ok := strings.Cut(s, "/")
	if !ok || n == "" || !every(n, isDigit) {
		return bot.Limit{}, "is not N/duration, like 2/24h (at most 2 break-glass resets per person within 24h)"
	}
	count, err := strconv.Atoi(n)
	if err != nil || count < 1 {
		return bot.Limit{}, "N must be at least 1 (leave per_person out for no limit)"
	}
	w, err := time.ParseDuration(d)
	if err != nil {
		return bot.Limit{}, "the duration after / is not a duration like 24h or 90m"
	}
	if w <= 0 {
		return bot.Limit{}, "the duration after / must be more than 0"
	}
	return bot.Limit{N: count, Window: w}, ""
}

// checkPagerDuty checks the pagerduty section. Accounts whose on_call
// needs a token it lacks report that themselves (checkOnCall), at their
// own line.
func (c *Config) checkPagerDuty(k *checker) {
	pd := c.PagerDuty
	if pd == nil {
		return
	}
	k.httpURL("pagerduty.api_url", pd.APIURL)
	used := slices.ContainsFunc(c.AccountConfigs, func(a Account) bool { return a.OnCall != nil })
	if !used {
		k.warnf("pagerduty", "no account has on_call: it is unused")
		return
	}
	if !pd.Token.IsZero() {
		k.secret("pagerduty.token", pd.Token, "PAGERDUTY_TOKEN")
	}
}

// checkIncidents checks an account's break_glass and on_call.
func (c *Config) checkIncidents(k *checker, at string, a Account, people []bot.Person, known map[string]bool) {
	// A key written with nothing after it reads as absent: say so rather
	// than let break-glass or on-call be silently off.
	if a.BreakGlass == nil && k.written(at+".break_glass") {
		k.errf(at+".break_glass", "empty: set who and review_within, or leave break_glass out")
	}
	if a.OnCall == nil && k.written(at+".on_call") {
		k.errf(at+".on_call", "empty: set escalation_policy and levels, or leave on_call out")
	}
	if a.BreakGlass != nil {
		c.checkBreakGlass(k, at, a, people, known)
	}
	if a.OnCall != nil {
		c.checkOnCall(k, at, a, people)
	}
}

func (c *Config) checkBreakGlass(k *checker, at string, a Account, people []bot.Person, known map[string]bool) {
	b := a.BreakGlass
	path := at + ".break_glass"
	if len(b.Who) == 0 {
		k.errf(path+".who", "missing: the people or groups who may reset without a prior vote")
	}
	k.knownNames(path+".who", b.Who, known)

	p := path + ".review_within"
	switch {
	case b.ReviewWithin == nil:
		k.errf(p, "missing: how long approvers have to confirm a break-glass reset (like 4h, at most %s)", shortDuration(maxReviewWithin))
	case *b.ReviewWithin <= 0 || *b.ReviewWithin > maxReviewWithin:
		k.errf(p, "%s: must be more than 0 and at most %s (7 days): a later review is no review", k.plain(p, shortDuration(*b.ReviewWithin)), shortDuration(maxReviewWithin))
	}

	if b.PerPerson != "" {
		p := path + ".per_person"
		if _, why := parsePerPerson(b.PerPerson); why != "" {
			k.errf(p, "%s: %s", k.quoted(p, b.PerPerson), why)
		}
	}

	for _, q := range people {
		if q.In(b.Who) {
			c.checkReviewable(k, at, path+".who", a, people, q.Name, bot.ReviewBreakGlass)
		}
	}
}

func (c *Config) checkOnCall(k *checker, at string, a Account, people []bot.Person) {
	o := a.OnCall
	path := at + ".on_call"
	// An unset ${PAGERDUTY_TOKEN} is reported where it is written.
	if c.PagerDuty == nil || c.PagerDuty.Token.IsZero() && !k.src.isFromEnv("pagerduty.token") {
		k.errf(path, "on_call needs pagerduty.token: set pagerduty: {token: \"${PAGERDUTY_TOKEN}\"}")
	}

	p := path + ".escalation_policy"
	switch {
	case o.EscalationPolicy == "":
		k.errf(p, "missing: the ID of the PagerDuty escalation policy whose on-call people are approved (like PPOLICY1)")
	case !pagerDutyID(o.EscalationPolicy):
		k.errf(p, "%s is not a PagerDuty ID (like PPOLICY1: %s)", k.quoted(p, o.EscalationPolicy), pagerDutyIDForm)
	}

	if len(o.Levels) == 0 {
		k.errf(path+".levels", "missing: the escalation levels whose on-call people are approved, like [1] (1 is the first)")
	}
	seen := map[int]bool{}
	for j, l := range o.Levels {
		p := fmt.Sprintf("%s.levels[%d]", path, j)
		switch {
		case l < 1:
			k.errf(p, "%s: a level is 1 or more (1 is the first)", k.plain(p, strconv.Itoa(l)))
		case seen[l]:
			k.errf(p, "%s is listed twice", k.plain(p, strconv.Itoa(l)))
		}
		seen[l] = true
	}

	services := map[string]bool{}
	for j, s := range o.IncidentOn {
		p := fmt.Sprintf("%s.incident_on[%d]", path, j)
		switch {
		case !pagerDutyID(s):
			k.errf(p, "%s is not a PagerDuty service ID (like PSERVICE1: %s)", k.quoted(p, s), pagerDutyIDForm)
		case services[s]:
			k.errf(p, "%s is listed twice", k.quoted(p, s))
		}
		services[s] = true
	}

	// PagerDuty says who is on call by user ID: a requester without one is
	// never auto-approved.
	anyone, requester := false, false
	for _, q := range people {
		if q.PagerDuty == "" {
			continue
		}
		anyone = true
		if q.In(a.Requesters) {
			requester = true
			c.checkReviewable(k, at, path, a, people, q.Name, bot.ReviewOnCall)
		}
	}
	switch {
	case !anyone:
		k.warnf(path, "no person has a pagerduty ID (people[].pagerduty): nobody can be found on call, so no request is auto-approved")
	case !requester:
		k.warnf(path, "none of the account's requesters has a pagerduty ID (people[].pagerduty): no request is auto-approved")
	}
}

// checkReviewable proves that someone may review a reset of a by
// requester that skipped the vote: a reviewer who is not the requester.
// Otherwise every such reset would be left to go overdue and be rotated.
// The problem is at path, in account at.
func (c *Config) checkReviewable(k *checker, at, path string, a Account, people []bot.Person, requester string, kind bot.ReviewKind) {
	if len(reviewers(people, a, requester)) > 0 {
		return
	}
	who, account := k.plain(c.personPath(requester), requester), k.plain(at+".name", a.Name)
	nobody := "nobody"
	if slices.Contains(reviewers(people, a, ""), requester) {
		nobody = "nobody but " + who
	}
	k.errf(path, "%s could review %s's %s reset of %s: reviewers are the approvers of the account's rules, never the requester",
		nobody, who, kind, account)
}

// reviewers are the people who may confirm or reject a reset of a by
// requester that skipped the vote: those its rules admit (the approvers
// it skipped), never the requester; escalate_to is not among them, since
// an escalation admits its people only after escalate_after. With Discord
// approver_roles anyone in config may hold a role, so anyone may review,
// as checkShorthand counts them for approvals.
func reviewers(people []bot.Person, a Account, requester string) []string {
	var from []string
	for _, r := range a.ApprovalRules {
		from = append(from, r.From...)
	}
	if len(a.ApprovalRules) == 0 {
		from = a.Approvers
	}
	roles := len(a.ApprovalRules) == 0 && len(a.ApproverRoles) > 0
	var out []string
	for _, p := range people {
		if p.Name == requester {
			continue
		}
		if roles || p.In(from) {
			out = append(out, p.Name)
		}
	}
	return out
}
