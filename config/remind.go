package config

import (
	"fmt"
	"slices"
	"strconv"

	"resetbot/bot"
)

// checkReminders checks an account's reminders and escalation: remind_after
// and escalate_after within its ttl, remind_backoff within bounds, and
// escalate_after and escalate_to set together, naming people or groups.
func (c *Config) checkReminders(k *checker, at string, a Account, known map[string]bool) {
	ttl := a.ttl()
	ttlOK := ttl > 0 && ttl <= maxTTL
	shownTTL := k.plain(at+".ttl", shortDuration(ttl))

	path := at + ".remind_after"
	shown := k.plain(path, shortDuration(a.RemindAfter))
	switch {
	case a.RemindAfter < 0:
		k.errf(path, "%s: must not be negative (0 or absent: no reminders)", shown)
	case ttlOK && a.RemindAfter >= ttl:
		k.errf(path, "%s: must be less than the account's ttl (%s): the request would expire before the first reminder", shown, shownTTL)
	}
	if b := a.RemindBackoff; b != nil {
		path := at + ".remind_backoff"
		if !(*b >= 1 && *b <= bot.MaxRemindBackoff) {
			k.errf(path, "%s: must be from 1 to %d (each later reminder waits this many times longer)", k.plain(path, strconv.FormatFloat(*b, 'g', -1, 64)), bot.MaxRemindBackoff)
		} else if a.RemindAfter == 0 {
			k.warnf(path, "set without remind_after: no reminder is sent, so it changes nothing")
		}
	}

	path = at + ".escalate_after"
	shown = k.plain(path, shortDuration(a.EscalateAfter))
	switch {
	case a.EscalateAfter < 0:
		k.errf(path, "%s: must not be negative (0 or absent: never escalated)", shown)
	case ttlOK && a.EscalateAfter >= ttl:
		k.errf(path, "%s: must be less than the account's ttl (%s): the request would expire before it is escalated", shown, shownTTL)
	}
	toSet := a.EscalateTo != nil || k.written(at+".escalate_to")
	if a.EscalateAfter > 0 && !toSet {
		k.errf(path, "%s: set escalate_to too: the people or groups who may approve once the request is escalated", shown)
	}
	if !toSet {
		return
	}
	path = at + ".escalate_to"
	if a.EscalateAfter == 0 {
		k.errf(path, "set escalate_after too: how long a request waits before escalate_to may approve it")
	}
	if len(a.EscalateTo) == 0 {
		k.errf(path, "empty: list the people or groups who may approve once the request is escalated")
	}
	k.knownNames(path, a.EscalateTo, known)
}

// knownNames reports each of names (the list at path) that is neither a
// person nor a group, with the closest known name when one is close.
func (k *checker) knownNames(path string, names []string, known map[string]bool) {
	all := knownNames(known)
	for j, n := range names {
		p := fmt.Sprintf("%s[%d]", path, j)
		if known[n] {
			continue
		}
		msg := fmt.Sprintf("%s is neither a person nor a group of people", k.quoted(p, n))
		if s := closest(n, all); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		k.errf(p, "%s", msg)
	}
}

// knownNames are the people's and groups' names, sorted, so that a "did
// you mean" does not change from one run to the next.
func knownNames(known map[string]bool) []string {
	var out []string
	for n := range known {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// escalates reports whether requests of a are ever escalated: the people
// of escalate_to may then approve them too.
func (a Account) escalates() bool {
	return a.EscalateAfter > 0 && len(a.EscalateTo) > 0
}

// escalation are the people who may approve a's requests by requester once
// they are escalated, counting toward any rule: those escalate_to names,
// never the requester, as bot.EscalatesTo decides for the bot. None when a
// is never escalated.
func escalation(people []bot.Person, a Account, requester string) []int {
	if !a.escalates() {
		return nil
	}
	var out []int
	for i, p := range people {
		if bot.EscalatesTo(bot.Account{EscalateTo: a.EscalateTo}, p, requester) {
			out = append(out, i)
		}
	}
	return out
}

// afterEscalation is how the problems of a policy that escalation fixes
// name the wait: "only after escalate_after (20m), when escalate_to may
// approve".
func afterEscalation(k *checker, at string, a Account) string {
	return fmt.Sprintf("only after escalate_after (%s), when escalate_to may approve", k.plain(at+".escalate_after", shortDuration(a.EscalateAfter)))
}
