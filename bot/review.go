package bot

import (
	"context"
	"time"
)

// BreakGlass lets some people reset an account without a prior vote
// (break_glass): the reset is reviewed afterwards, and rotated again when
// the review rejects it or nobody confirms it in time.
type BreakGlass struct {
	Who          []string      // people or groups (who)
	ReviewWithin time.Duration // review_within: an approver must confirm by then
	PerPerson    Limit         // per_person: at most N break-glass resets per person within Window; zero N: no limit
}

// OnCallPolicy auto-approves a request by someone who is on call now, as
// PagerDuty says (on_call); the reset is then reviewed as break-glass is.
type OnCallPolicy struct {
	EscalationPolicy string   // escalation_policy, a PagerDuty ID
	Levels           []int    // levels: escalation levels that count (1 = first)
	IncidentOn       []string // incident_on: PagerDuty service IDs; empty: no incident needed
}

// ReviewKind is why a request skipped the vote.
type ReviewKind string

const (
	ReviewBreakGlass ReviewKind = "break-glass" // break-glass by its requester
	ReviewOnCall     ReviewKind = "on-call"     // auto-approved by PagerDuty
)

// ReviewState is where the review of a request that skipped the vote
// stands.
type ReviewState string

const (
	ReviewOpen      ReviewState = "open"      // waiting for an approver's Confirm or Reject
	ReviewConfirmed ReviewState = "confirmed" // an approver confirmed it
	ReviewRejected  ReviewState = "rejected"  // an approver rejected it
	ReviewOverdue   ReviewState = "overdue"   // nobody confirmed it by Due
)

// Review is the after-the-fact review of a request that skipped the vote.
// Rejected or overdue, the password that was shown is reset again, to one
// nobody sees (Rotation).
type Review struct {
	Kind     ReviewKind  `json:"kind"`
	Incident string      `json:"incident"` // the incident reference (INC-42; on-call: PagerDuty's incident)
	Detail   string      `json:"detail,omitempty"`
	Due      time.Time   `json:"due"` // CreatedAt + review_within
	State    ReviewState `json:"state"`
	By       string      `json:"by,omitempty"` // who confirmed or rejected; "system" when overdue
	At       time.Time   `json:"at,omitzero"`
	Reason   string      `json:"reason,omitempty"` // the reviewer's reason for a rejection
	// Rotation is the reset that undoes an exposure, set when the review
	// was rejected or overdue; nil before that.
	Rotation *Rotation `json:"rotation,omitempty"`
	// PerPerson, given to Store.Create with a break-glass request, is the
	// limit on the requester's break-glass resets of the account. Not
	// stored.
	PerPerson Limit `json:"-"`
}

// RotationState is where the rotation of a rejected or overdue reset
// stands.
type RotationState string

const (
	// RotationNone: nothing was reset (the request was never revealed), so
	// there is nothing to rotate.
	RotationNone RotationState = "none"
	// RotationPending: the password that was shown is still valid; the
	// rotation is due at Next (retried with backoff after a failure).
	RotationPending RotationState = "pending"
	// RotationDone: the password was reset again; nobody has the new one.
	RotationDone RotationState = "done"
)

// Rotation is the second reset of a rejected or overdue review.
type Rotation struct {
	State    RotationState `json:"state"`
	Attempts int           `json:"attempts"`        // attempts claimed so far
	Next     time.Time     `json:"next,omitzero"`   // when the next attempt is due (pending)
	Error    string        `json:"error,omitempty"` // the last attempt's failure, safe to show
	At       time.Time     `json:"at,omitzero"`     // when it was done
}

// Exposed reports whether the password shown for r is still valid after
// its review was rejected or overdue: its rotation has not succeeded yet.
func (r Request) Exposed() bool {
	return r.Review != nil && r.Review.Rotation != nil && r.Review.Rotation.State == RotationPending
}

// Reviewable reports whether r waits for an approver's Confirm or Reject.
func (r Request) Reviewable() bool {
	return r.Review != nil && r.Review.State == ReviewOpen
}

// OnCall is who is on call, as PagerDuty says. Implementations answer
// within their own timeout (PagerDuty slow is PagerDuty down) and cache
// briefly, so that a burst of requests makes few calls.
type OnCall interface {
	// Check reports whether the PagerDuty user userID is on call now for
	// policy at one of its levels, and, when policy.IncidentOn is set, one
	// of those services has a triggered or acknowledged incident. An error
	// (*Error EUNAVAILABLE, its message safe to show) means PagerDuty could
	// not tell: unreachable, slow, or answering an error.
	Check(ctx context.Context, policy OnCallPolicy, userID string) (OnCallMatch, error)

	// Who lists the PagerDuty user IDs on call now for policy at one of
	// its levels.
	Who(ctx context.Context, policy OnCallPolicy) ([]string, error)
}

// OnCallMatch is what OnCall.Check found.
type OnCallMatch struct {
	OnCall   bool   // on call now at one of the levels, with an incident when one is needed
	Schedule string // the schedule that puts them on call (its ID), when there is one
	Level    int    // the escalation level
	Incident string // the open incident (its number, e.g. "#1234", and ID), when IncidentOn is set
	// Why says, when OnCall is false, why not (safe to show): "not on call
	// for PPOLICY1 at level 1", "no open incident on PSERVICE1".
	Why string
}

// ActorPagerDuty is the audit actor of an on-call auto-approval.
const ActorPagerDuty = "pagerduty"

// DefaultReviewWithin is how long an on-call auto-approval waits for its
// review when the account sets no break_glass.review_within.
const DefaultReviewWithin = 4 * time.Hour
