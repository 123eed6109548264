package bot

import (
	"strings"
	"time"
)

// State is where a request stands. Terminal states never change again.
type State string

const (
	StatePending  State = "pending"
	StateApproved State = "approved"
	// StateOffered is approved and not reset: the requester was offered a
	// Reveal button, and the reset runs at their click, before RevealBy.
	StateOffered   State = "offered"
	StateExecuting State = "executing"
	StateSucceeded State = "succeeded"
	StateFailed    State = "failed"
	StateDenied    State = "denied"
	StateExpired   State = "expired"
	StateCancelled State = "cancelled"
)

// States lists every State.
var States = []State{StatePending, StateApproved, StateOffered, StateExecuting,
	StateSucceeded, StateFailed, StateDenied, StateExpired, StateCancelled}

// Terminal reports whether s is final.
func (s State) Terminal() bool {
	switch s {
	case StateSucceeded, StateFailed, StateDenied, StateExpired, StateCancelled:
		return true
	}
	return false
}

// Open reports whether a request in state s still blocks a second ask for
// the same account by the same requester.
func (s State) Open() bool { return !s.Terminal() }

// Platform is where a person spoke.
type Platform string

const (
	PlatformSlack   Platform = "slack"
	PlatformDiscord Platform = "discord"
	PlatformConsole Platform = "console"
)

// Person is a human known to config. The same person on two platforms is one
// Person: the Name is what policy compares.
type Person struct {
	Name    string
	Slack   string // Slack user ID
	Discord string // Discord user ID
	// PagerDuty is the person's PagerDuty user ID (pagerduty): on-call
	// auto-approval matches people by it, never by email.
	PagerDuty string
	Groups    []string
}

// In reports whether p is named by one of names, directly or through a group.
func (p Person) In(names []string) bool {
	for _, n := range names {
		if n == p.Name {
			return true
		}
		for _, g := range p.Groups {
			if n == g {
				return true
			}
		}
	}
	return false
}

// ProviderKey names one cloud API, as accounts write it in `provider:`
// ("tencent.tdsql"). Each provider package exports its own.
type ProviderKey string

// Account is a resettable cloud account declared in config. Nothing else can be
// reset.
type Account struct {
	Name     string
	Provider ProviderKey
	Region   string

	// Users are the users of the account that may be reset. Selectable is true
	// when config listed them with `users:`, so that a requester may name some.
	Users      []string
	Selectable bool

	// Settings are the provider's own settings for this account, parsed once
	// at load by the provider's AccountKind. Only that provider reads them.
	Settings       AccountSettings
	PasswordLength int    // 0: the provider's default
	Endpoint       string // host[:port] override
	Scheme         string // "https" or "http" override

	Requesters []string // person or group names
	// Rules are the approval rules that must all hold (approval_rules).
	// Empty: the one rule Approvers and Approvals make (ApprovalRules).
	Rules     []Rule
	Approvers []string // person or group names
	// Channels are where this account's approval cards go, by platform
	// (channels:); a platform not named uses its approvals_channel.
	Channels map[Platform]string
	// ApproverRoles are Discord role IDs whose holders may approve.
	ApproverRoles []string
	Approvals     int           // distinct approvals needed, >= 1
	TTL           time.Duration // how long a request stays pending
	// RevealWithin is how long the requester may press Reveal once the
	// request is approved (default 30m); then it expires, unreset.
	RevealWithin time.Duration

	// RemindAfter is how long a request waits pending before the first
	// reminder (remind_after); 0: never. Each later reminder waits
	// RemindBackoff times longer than the one before (remind_backoff, 1 to
	// MaxRemindBackoff; 0 reads as 1); at most MaxReminders are sent.
	RemindAfter   time.Duration
	RemindBackoff float64
	// EscalateAfter is how long a request waits pending before the people
	// of EscalateTo (people or groups, escalate_to) may approve it too,
	// counting toward any rule (escalate_after); 0: never.
	EscalateAfter time.Duration
	EscalateTo    []string

	// BreakGlass lets some people reset without a prior vote (break_glass);
	// nil: nobody may.
	BreakGlass *BreakGlass
	// OnCall auto-approves requests by whoever PagerDuty says is on call
	// (on_call); nil: never.
	OnCall *OnCallPolicy
}

// The bounds of reminders: how many one request gets at most, and the
// largest remind_backoff.
const (
	MaxReminders     = 5
	MaxRemindBackoff = 5
)

// Rule is one approval rule: Count distinct people named by From (people or
// groups) must approve. One person's approval counts toward one rule only,
// and never the requester's.
type Rule struct {
	From  []string
	Count int
}

// Name is how cards and status name the rule: its From, joined.
func (r Rule) Name() string { return strings.Join(r.From, "+") }

// ApprovalRules are the rules a request of a must satisfy: Rules, or the
// one rule of Approvers and Approvals.
func (a Account) ApprovalRules() []Rule {
	if len(a.Rules) > 0 {
		return a.Rules
	}
	return []Rule{{From: a.Approvers, Count: max(a.Approvals, 1)}}
}

// Resource describes what the account resets, for approval cards.
func (a Account) Resource() string {
	if a.Settings == nil {
		return ""
	}
	return a.Settings.Resource()
}

// Vote is one approver's decision.
type Vote struct {
	Person   string    `json:"person"`
	Platform Platform  `json:"platform"`
	Approve  bool      `json:"approve"`
	Reason   string    `json:"reason,omitempty"`
	At       time.Time `json:"at"`
	// Rules are the indexes into Request.Rules of the rules this approval
	// may count toward, as the store found them at the vote (a person in
	// several rules' groups is in several). Nil on a denial, and on a
	// request without recorded rules.
	Rules []int `json:"rules,omitempty"`
	// Roles, given to Store.Vote, are the voter's Discord role IDs when
	// they vote from Discord: a rule's Roles admit their holders. Not
	// stored.
	Roles []string `json:"-"`
}

// Request is one reset of one account by one requester.
type Request struct {
	ID        string    `json:"id"`
	Account   string    `json:"account"`
	Users     []string  `json:"users"`
	Reason    string    `json:"reason"`
	Requester string    `json:"requester"` // person name
	Platform  Platform  `json:"platform"`  // where it was asked; the password goes there
	State     State     `json:"state"`
	Approvals int       `json:"approvals"` // distinct approvals needed (Needed(Rules) with Rules)
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Votes     []Vote    `json:"votes,omitempty"`
	// Rules are the approval rules the request must satisfy, all at once,
	// as they stood when it was created (RequestRules). Empty on a request
	// stored by an earlier version: it needs Approvals distinct approvals
	// from anyone allowed to vote.
	Rules []RequestRule `json:"rules,omitempty"`
	// Reminders are the request's reminder schedule, as it stood when it
	// was created; nil when its account sends none.
	Reminders *Reminders `json:"reminders,omitempty"`
	// Escalation is the request's escalation, as it stood when it was
	// created; nil when its account has none.
	Escalation *Escalation `json:"escalation,omitempty"`
	// RevealBy is the deadline of an offered request: nothing is reset
	// before its requester presses Reveal, and it expires at RevealBy
	// without that click.
	RevealBy time.Time `json:"reveal_by,omitzero"`
	// Rev counts the request's transitions, as the store made them: a
	// later one has a higher Rev, whichever process made it. Zero when
	// unknown.
	Rev int64 `json:"rev,omitempty"`
	// Outcome is a message safe to show everyone: why it failed, was denied,
	// or which users were reset; while offered, that it waits for Reveal.
	// Never a password.
	Outcome string `json:"outcome,omitempty"`
	// Refs holds references to what the bot showed on the platforms, by
	// RefKey: the approval card on each platform (Ref(RefCard, p)), the
	// Reveal offer (Ref(RefOffer, p)), the requester's Discord interaction
	// (Ref(RefInteraction, PlatformDiscord)).
	Refs map[RefKey]string `json:"refs,omitempty"`
	// Review is the after-the-fact review of a request that skipped the
	// vote (break-glass, or auto-approved by PagerDuty); nil for others.
	Review *Review `json:"review,omitempty"`
	// Notice is a line the cards show under the request, safe to show
	// everyone: why PagerDuty did not auto-approve it, when it could not
	// tell.
	Notice string `json:"notice,omitempty"`
	// RefsFor, given to Store.Create, is how long the Refs it stores can be
	// used (Actor.RefsFor); 0: as long as the request. The store keeps them
	// no longer, and drops them when the request ends. Not stored: read
	// back, such Refs are Refs while they last.
	RefsFor time.Duration `json:"-"`
}

// Reminders is a pending request's reminder schedule. The store sends each
// reminder once (Store.Due), the first at CreatedAt+After, each later one
// Backoff times longer after the one before, at most MaxReminders, none
// once the request left pending or past its expiry.
type Reminders struct {
	After   time.Duration `json:"after"`
	Backoff float64       `json:"backoff"` // >= 1
	Sent    int           `json:"sent"`    // reminders sent so far
	// Next is when the next reminder is due; zero when none is left.
	Next time.Time `json:"next,omitzero"`
}

// Escalation is who may approve a pending request too, from At on.
type Escalation struct {
	// To are the names of the people or groups as config wrote them
	// (escalate_to), for cards: "escalated to eng-managers".
	To []string `json:"to"`
	// People are the names of the people To names, resolved when the
	// request was created; never the requester.
	People []string  `json:"people"`
	At     time.Time `json:"at"`
	// Done is true once the store escalated the request: People count
	// toward any of its rules.
	Done bool `json:"done,omitempty"`
}

// RefKey names one reference kept on a request (Request.Refs): what the bot
// showed, and on which platform ("card.slack"). Ref makes every key.
type RefKey string

// What a reference points to.
const (
	RefCard        = "card"        // the approval card
	RefOffer       = "offer"       // the direct message with the Reveal button
	RefInteraction = "interaction" // the requester's interaction (Discord's token)
)

// Ref is the key of what (RefCard, RefOffer, RefInteraction) on platform p.
func Ref(what string, p Platform) RefKey { return RefKey(what + "." + string(p)) }

// Approved counts the distinct approvals.
func (r Request) Approved() int {
	n := 0
	for _, v := range r.Votes {
		if v.Approve {
			n++
		}
	}
	return n
}

// voteOf returns the vote of a person, if any.
func (r Request) voteOf(person string) (Vote, bool) {
	for _, v := range r.Votes {
		if v.Person == person {
			return v, true
		}
	}
	return Vote{}, false
}

// Version orders the states one request passes through, so that a chat
// adapter can drop a card update older than one it already showed. Rev,
// where both sides have it, decides; otherwise states only move forward,
// and within a state a later update, or one more vote, is newer.
type Version struct {
	rev   int64
	rank  int
	at    time.Time
	votes int
}

const rankFinal = 4

// Version is r's place in that order. Without Rev, an offered request
// comes after an approved one, and before executing.
func (r Request) Version() Version {
	rank := rankFinal
	switch r.State {
	case StatePending:
		rank = 0
	case StateApproved:
		rank = 1
	case StateOffered:
		rank = 2
	case StateExecuting:
		rank = 3
	}
	return Version{rev: r.Rev, rank: rank, at: r.UpdatedAt, votes: len(r.Votes)}
}

// Before reports whether v is older than w.
func (v Version) Before(w Version) bool {
	if v.rev > 0 && w.rev > 0 {
		return v.rev < w.rev
	}
	if v.rank != w.rank {
		return v.rank < w.rank
	}
	if !v.at.Equal(w.at) {
		return v.at.Before(w.at)
	}
	return v.votes < w.votes
}

// Final reports whether v is a terminal state: nothing newer will come.
func (v Version) Final() bool { return v.rank == rankFinal }
