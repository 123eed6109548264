package bot

import (
	"fmt"
	"slices"
	"strings"
)

// RequestRule is one approval rule as a request records it when it is
// created: the account's rule (Account.ApprovalRules) with the people it
// admits resolved from config then, the requester left out. Later changes
// of config do not move the goalposts of a request in flight.
type RequestRule struct {
	Name  string `json:"name"`  // as cards and status show it ("db-approvers")
	Count int    `json:"count"` // distinct people needed, >= 1
	// People are the names of the people whose approval counts toward the
	// rule. Never the requester.
	People []string `json:"people"`
	// Roles are Discord role IDs whose holders the rule admits too, when
	// they vote from Discord: the account's ApproverRoles, for the one rule
	// of the approvers/approvals shorthand.
	Roles []string `json:"roles,omitempty"`
}

// Admits reports whether the rule counts person's approval, given the
// Discord roles they hold (nil elsewhere).
func (r RequestRule) Admits(person string, roles []string) bool {
	if slices.Contains(r.People, person) {
		return true
	}
	for _, role := range roles {
		if slices.Contains(r.Roles, role) {
			return true
		}
	}
	return false
}

// RuleProgress is how far a request is toward one of its rules.
type RuleProgress struct {
	Name string
	Have int // approvals counted toward the rule, at most Need
	Need int
}

// legacyRule names the one rule of a request stored before requests
// recorded their rules: Approvals distinct approvals from anyone allowed to
// vote.
const legacyRule = "approvals"

// RequestRules resolves acct's approval rules for a request by requester:
// each rule with the names of the people of people it admits, in config's
// order, never the requester. The shorthand's one rule admits the holders
// of acct.ApproverRoles too.
func RequestRules(acct Account, people []Person, requester string) []RequestRule {
	rules := acct.ApprovalRules()
	out := make([]RequestRule, 0, len(rules))
	for _, r := range rules {
		rr := RequestRule{Name: r.Name(), Count: max(r.Count, 1), People: []string{}}
		for _, p := range people {
			if p.Name != requester && p.In(r.From) {
				rr.People = append(rr.People, p.Name)
			}
		}
		if len(acct.Rules) == 0 && len(acct.ApproverRoles) > 0 {
			rr.Roles = slices.Clone(acct.ApproverRoles)
		}
		out = append(out, rr)
	}
	return out
}

// Needed is how many approvals the rules need in all.
func Needed(rules []RequestRule) int {
	n := 0
	for _, r := range rules {
		n += r.Count
	}
	return n
}

// RulesOf returns the rules a person acting with roles counts toward, as
// indexes into r.Rules. A request without recorded rules (stored by an
// earlier version) has one rule that anyone allowed to vote counts toward.
func (r Request) RulesOf(person string, roles []string) []int {
	if len(r.Rules) == 0 {
		return []int{0}
	}
	var out []int
	for i, rule := range r.Rules {
		if person != r.Requester && rule.Admits(person, roles) {
			out = append(out, i)
		}
	}
	return out
}

// Progress is, for one best assignment of the approvals so far to the
// rules (each approval counts toward one rule only), each rule's progress.
// A request without recorded rules has one, named "approvals". The store
// decides approval the same way, atomically, at each vote.
func (r Request) Progress() []RuleProgress {
	if len(r.Rules) == 0 {
		return []RuleProgress{{Name: legacyRule, Have: min(r.Approved(), r.Approvals), Need: r.Approvals}}
	}
	counts, eligible := r.assignment()
	have := Assign(counts, eligible)
	out := make([]RuleProgress, len(r.Rules))
	for i, rule := range r.Rules {
		out[i] = RuleProgress{Name: rule.Name, Have: have[i], Need: rule.Count}
	}
	return out
}

// assignment is what Assign decides r's progress from: each rule's count,
// and the rules each approval so far may count toward.
func (r Request) assignment() (counts []int, eligible [][]int) {
	for _, v := range r.Votes {
		if !v.Approve || v.Person == r.Requester {
			continue
		}
		rules := v.Rules
		if rules == nil {
			rules = r.RulesOf(v.Person, nil)
		}
		eligible = append(eligible, rules)
	}
	counts = make([]int, len(r.Rules))
	for i, rule := range r.Rules {
		counts[i] = rule.Count
	}
	return counts, eligible
}

// Assign counts, for a largest assignment of voters to rules, how many
// voters each rule gets: voter v may go to any rule of eligible[v], and rule
// i takes at most counts[i] voters. It finds augmenting paths, moving
// voters between rules, as the store's vote script does.
func Assign(counts []int, eligible [][]int) []int {
	held := make([][]int, len(counts)) // rule -> voters assigned to it
	var try func(v int, seen []bool) bool
	try = func(v int, seen []bool) bool {
		for _, i := range eligible[v] {
			if i < 0 || i >= len(counts) || seen[i] {
				continue
			}
			seen[i] = true
			if len(held[i]) < counts[i] {
				held[i] = append(held[i], v)
				return true
			}
			for k, u := range held[i] {
				if try(u, seen) {
					held[i][k] = v
					return true
				}
			}
		}
		return false
	}
	for v := range eligible {
		try(v, make([]bool, len(counts)))
	}
	have := make([]int, len(counts))
	for i := range held {
		have[i] = len(held[i])
	}
	return have
}

// ProgressText writes progress as cards and status show it:
// "db-approvers 1/1 · security 0/1".
func ProgressText(progress []RuleProgress) string {
	parts := make([]string, len(progress))
	for i, p := range progress {
		parts[i] = fmt.Sprintf("%s %d/%d", p.Name, p.Have, p.Need)
	}
	return strings.Join(parts, " · ")
}

// Satisfied reports whether every rule of progress holds.
func Satisfied(progress []RuleProgress) bool {
	for _, p := range progress {
		if p.Have < p.Need {
			return false
		}
	}
	return true
}

// MayStillApprove lists, in the rules' order, the people who have not voted
// and whose approval would now count: it would raise the number of
// approvals some assignment of the votes to the rules counts, even when
// that means moving an earlier voter to another rule (bob, in both rules,
// fills the first; carol, in the first only, still counts: bob moves).
// Holders of a rule's Discord roles are not listed: the request cannot
// know them. Nil for a request without recorded rules.
func (r Request) MayStillApprove() []string {
	if len(r.Rules) == 0 {
		return nil
	}
	counts, eligible := r.assignment()
	total := func(e [][]int) int {
		n := 0
		for _, h := range Assign(counts, e) {
			n += h
		}
		return n
	}
	base := total(eligible)
	var out []string
	for _, rule := range r.Rules {
		for _, p := range rule.People {
			if _, voted := r.voteOf(p); voted || p == r.Requester || slices.Contains(out, p) {
				continue
			}
			if total(append(slices.Clone(eligible), r.RulesOf(p, nil))) > base {
				out = append(out, p)
			}
		}
	}
	return out
}

// needs writes what rules need: "2 approvals from approvers", "1 approval
// from db-approvers and 1 from security".
func needs(rules []RequestRule) string {
	var parts []string
	for i, r := range rules {
		if i == 0 {
			parts = append(parts, plural(r.Count, "approval")+" from "+r.Name)
		} else {
			parts = append(parts, fmt.Sprintf("%d from %s", r.Count, r.Name))
		}
	}
	return joinAnd(parts)
}

// NotApprover is the refusal of a vote by someone no rule of req admits.
// The store's vote script words it the same way.
func NotApprover(req Request) *Error {
	if len(req.Rules) == 0 {
		return Errorf(EFORBIDDEN, "you are not an approver of %s", req.Account)
	}
	var parts []string
	for _, r := range req.Rules {
		parts = append(parts, fmt.Sprintf("%d from %s", r.Count, r.Name))
	}
	return Errorf(EFORBIDDEN, "you are not an approver of %s: it needs %s", req.Account, joinAnd(parts))
}

func joinAnd(parts []string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// Escalated names who r was escalated to, as config wrote them
// ("eng-managers"), once it was; "" before, or without escalation.
func (r Request) Escalated() string {
	if r.Escalation == nil || !r.Escalation.Done {
		return ""
	}
	return strings.Join(r.Escalation.To, ", ")
}
