package bot

import (
	"context"
	"time"
)

// Clock tells the time; tests inject their own.
type Clock interface{ Now() time.Time }

// SystemClock is the wall clock.
type SystemClock struct{}

func (SystemClock) Now() time.Time { return time.Now() }

// Limit is a per-requester rate limit: at most N asks within Window.
type Limit struct {
	N      int
	Window time.Duration
}

// Claim is a request taken off the execution queue by one process.
type Claim struct {
	Request Request
	// Token identifies this claim; Finish refuses a claim whose token is no
	// longer the request's (another process took it over).
	Token string
	// Stale is true when the request was being reset (claimed by
	// ClaimReveal) under a process whose lease ran out: that process may or
	// may not have called the cloud API, so the claimant must not call it
	// again, and the outcome is unknown.
	Stale bool
	// Resumed is true when the request was claimed from the queue by a
	// process whose lease ran out before it offered the request, or by a
	// Reveal click whose lease ran out before its cloud call (Calling):
	// nothing was reset, so the claimant offers it as if fresh.
	Resumed bool
	// Entry is the queue entry, acknowledged by Finish.
	Entry string
	// MaybeShown, set by the caller before Finish, records that a request
	// finishing as failed may have shown its password all the same (its
	// delivery is unknown): a rejected review of it then resets it again.
	MaybeShown bool
	// Until is the claim's lease deadline, by the store's clock: after it,
	// another process may take the request over. Hold moves it.
	Until time.Time
	// Calling, set by the caller before the Hold right before the cloud
	// call, records in the store that the call may have begun. A Reveal
	// click's claim whose lease runs out without it never called the
	// cloud: Next hands it out as Resumed, to be offered again, not Stale.
	Calling bool
}

// Timer is what Store.Due claimed on one request.
type Timer struct {
	Request Request // as it stands after the claim
	// Reminder is the number (from 1) of the reminder to send now; 0 when
	// none is due.
	Reminder int
	// Escalated is true when the request was escalated now.
	Escalated bool
	// Overdue is true when the request's review became overdue now: no
	// approver confirmed it by Review.Due.
	Overdue bool
	// Rotate is the number (from 1) of the rotation attempt claimed now:
	// the caller resets the password again, to one it shows nobody, and
	// tells the store with Rotated. 0: none.
	Rotate int
}

// EventKind is what an audit event records. The store's scripts write the
// same words: approvals takes them from these constants.
type EventKind string

// Every kind of audit event.
const (
	EventRequested      EventKind = "requested"
	EventVoted          EventKind = "voted"
	EventRefused        EventKind = "refused"
	EventApproved       EventKind = "approved"
	EventDenied         EventKind = "denied"
	EventCancelled      EventKind = "cancelled"
	EventExpired        EventKind = "expired"
	EventExecuting      EventKind = "executing"
	EventOffered        EventKind = "offered"
	EventSucceeded      EventKind = "succeeded"
	EventFailed         EventKind = "failed"
	EventDelivered      EventKind = "delivered"
	EventDeliveryFailed EventKind = "delivery_failed"
	EventChatError      EventKind = "chat_error"
	EventReminded       EventKind = "reminded"
	EventEscalated      EventKind = "escalated"
	// A break-glass request: asked, and approved by the same step.
	EventBreakGlass EventKind = "break_glass"
	// The review of a request that skipped the vote.
	EventConfirmed EventKind = "review_confirmed"
	EventRejected  EventKind = "review_rejected"
	EventOverdue   EventKind = "review_overdue"
	// The second reset of a rejected or overdue review.
	EventRotated        EventKind = "rotated"
	EventRotationFailed EventKind = "rotation_failed"
)

// EventKinds lists every EventKind.
var EventKinds = []EventKind{EventRequested, EventVoted, EventRefused, EventApproved, EventDenied,
	EventCancelled, EventExpired, EventExecuting, EventOffered, EventSucceeded, EventFailed,
	EventDelivered, EventDeliveryFailed, EventChatError, EventReminded, EventEscalated,
	EventBreakGlass, EventConfirmed, EventRejected, EventOverdue, EventRotated, EventRotationFailed}

// Event is one line of the audit log. It never holds a password.
type Event struct {
	ID        string    `json:"id,omitempty"` // stream entry ID, set when read
	Time      time.Time `json:"time"`
	Kind      EventKind `json:"event"`
	RequestID string    `json:"request,omitempty"`
	Actor     string    `json:"actor"` // person name, or "system"
	Platform  Platform  `json:"platform,omitempty"`
	Detail    string    `json:"detail,omitempty"` // reason, refusal, outcome
	// Incident is the incident reference of a request that skipped the
	// vote (Review.Incident), on every event about it.
	Incident string `json:"incident,omitempty"`
	// Stranger marks a refusal of someone who is not in config (Actor is
	// then "platform:user ID"). Anyone in the workspace can cause those, so
	// the store keeps them apart, under a cap of their own, where a flood of
	// them cannot push the history of real requests out of the log.
	Stranger bool `json:"stranger,omitempty"`
	// Count is set on a summary of refusals: how many refusals by Actor it
	// stands for that were not written one by one. Known people's refusals
	// are rate-limited per person, so that a flood of them is a count, not
	// a flood of lines.
	Count int `json:"count,omitempty"`
}

// AuditQuery selects audit events.
type AuditQuery struct {
	RequestID string    // "" for every request
	Since     time.Time // zero for all
}

// Store is the workflow's state, shared by every replica. Every method is
// atomic across processes. Errors are *Error with the codes named, or
// EUNAVAILABLE when the store cannot be reached.
type Store interface {
	// Create stores req as pending, with its expiry, and audits "requested".
	// It fails with EDUPLICATE (Error.ID = the open request) when the
	// requester has an open request for the same account, and ERATELIMIT
	// when they asked limit.N times within limit.Window already; both refusals
	// are audited. With req.RefsFor set, req.Refs are kept no longer than
	// that, and dropped when the request ends.
	//
	// With req.Review set (break-glass, or on call), the request skips the
	// vote: it is created approved and queued in the same step (approved
	// by its requester, or by ActorPagerDuty), its review due at
	// Review.Due. It is refused EFORBIDDEN (Error.ID: the request whose
	// review locked it) while the account is locked, and ERATELIMIT past
	// Review.PerPerson; both refusals audited with the incident.
	Create(ctx context.Context, req Request, limit Limit) (Request, error)

	// Review records person's review of a request that skipped the vote:
	// confirm, or reject with reason. ENOTFOUND; ECONFLICT when it skipped
	// no vote or its review is closed (the message says how); EFORBIDDEN
	// when person is its requester. The caller checks that person may
	// review the account. Rejected before its Reveal, the request ends
	// (denied) with nothing reset; after, its rotation is scheduled (Due
	// claims it) and its account locked until a normal request succeeds.
	// Refusals are audited; the same call sent again changes nothing.
	Review(ctx context.Context, id, person string, platform Platform, confirm bool, reason string) (Request, error)

	// Rotated records how rotation attempt (Timer.Rotate) of id ended:
	// errText empty when the password was reset again, else why not (safe
	// to show), and the next attempt is scheduled with backoff. ECONFLICT
	// when attempt is not the latest one claimed.
	Rotated(ctx context.Context, id string, attempt int, errText string) (Request, error)

	// Vote records v. It fails with ENOTFOUND; ECONFLICT when the request is
	// not pending (or past its expiry), the message saying its state;
	// EFORBIDDEN when v.Person is the requester or has voted already. Every
	// refusal is audited. On a request with Rules, EFORBIDDEN too when no
	// rule admits v.Person (by name, or by one of v.Roles), worded as
	// NotApprover; each approval is recorded with the rules it may count
	// toward (Vote.Rules). One deny makes it denied; as soon as one
	// assignment of its approvals, each to one rule, satisfies every rule
	// (without Rules: Approvals distinct approvals), it is approved and
	// queued for execution, in the same atomic step. The same call sent
	// again by the store's client (its answer was lost) succeeds again,
	// changing nothing.
	Vote(ctx context.Context, id string, v Vote) (Request, error)

	// Cancel withdraws a pending or offered request; only the requester may (EFORBIDDEN), only then (ECONFLICT).
	Cancel(ctx context.Context, id, person string, platform Platform) (Request, error)

	// Get returns a request, or ENOTFOUND.
	Get(ctx context.Context, id string) (Request, error)

	// Open returns the requester's requests that are not terminal, newest first.
	Open(ctx context.Context, requester string) ([]Request, error)

	// SetRef records an adapter's reference on a request (a card's location).
	SetRef(ctx context.Context, id string, key RefKey, value string) error

	// ExpireDue moves every pending request past its expiry, and every
	// offered one past its RevealBy, to expired, audits it, and returns
	// them. Safe to run in several processes at once: each request is
	// expired, and returned, by exactly one.
	ExpireDue(ctx context.Context) ([]Request, error)

	// Due claims the reminders and escalations that are due, by the
	// store's clock, on pending requests (Request.Reminders,
	// Request.Escalation), and returns them. Safe to run in several
	// processes at once: each reminder, and each escalation, is claimed,
	// audited and returned by exactly one, and never once its request left
	// pending or passed its expiry. An escalation makes Escalation.People
	// count toward any rule, in the same atomic step, and approves the
	// request (queued for execution, audited) when the approvals it already
	// has then satisfy every rule. It also claims, on any request, a
	// review past its deadline (overdue: undone as a rejection is) and
	// the next attempt of a pending rotation (Timer.Rotate), each by one
	// caller; an attempt not reported with Rotated is claimed again later.
	Due(ctx context.Context) ([]Timer, error)

	// Next blocks until a request can be executed and claims it for consumer
	// for lease, moving it from approved to executing. A request whose
	// executor's lease ran out is handed out again: with Claim.Stale set
	// when that executor had claimed it through ClaimReveal (a reset may
	// have run), with Claim.Resumed set when it had claimed it from the
	// queue (nothing was reset). The store tells them apart in the same
	// atomic step as the claim. It returns ctx's error when ctx ends.
	Next(ctx context.Context, consumer string, lease time.Duration) (Claim, error)

	// Finish moves a claimed request to succeeded or failed with outcome (safe
	// to show) and acknowledges its queue entry. ECONFLICT when the claim is
	// no longer the request's. A claim that Offer turned into an offer still
	// finishes, until ClaimReveal takes the request. The same Finish sent
	// again (its answer was lost) succeeds again, changing nothing, so the
	// caller may repeat it while the store is unreachable.
	Finish(ctx context.Context, c Claim, state State, outcome string) (Request, error)

	// Offer moves a claimed request to offered, off the queue, to wait until
	// by for its requester to press Reveal; outcome (safe to show) says so on
	// the cards. Nothing is reset. ExpireDue expires it at by. ECONFLICT
	// when the claim is no longer the request's.
	Offer(ctx context.Context, c Claim, by time.Time, outcome string) (Request, error)

	// ClaimReveal claims an offered request for execution at its requester's
	// click, for lease, as Next does; if the lease runs out, Next hands it
	// out again as Stale. It fails with ENOTFOUND; EFORBIDDEN when person is
	// not the requester; ECONFLICT when the request is not offered (not yet
	// offered, being reset, ended, or past RevealBy). Refusals are audited.
	// An error with ErrUnconfirmed in its chain comes with the claim: the
	// store took it, and a Hold that succeeds confirms it.
	ClaimReveal(ctx context.Context, id, person string, platform Platform, lease time.Duration) (Claim, error)

	// Hold re-checks, in one atomic step, that c still holds its request
	// (executing, under c's token) and that its lease has not run out, and
	// extends the lease to lease from now; the returned claim has the new
	// Until. ECONFLICT when the claim was lost or its lease ran out: the
	// caller must then not call the cloud, nor show anything for it.
	Hold(ctx context.Context, c Claim, lease time.Duration) (Claim, error)

	// Audit appends e to the audit log. Refusals (EventRefused), here and
	// those the other methods audit, are kept apart from the decisions,
	// which no flood of refusals can push out of the log: a stranger's
	// under a cap of their own, a known person's rate-limited per person
	// (the first few in full, the rest as one summary with a Count).
	Audit(ctx context.Context, e Event) error

	// AuditLog reads the audit log, oldest first.
	AuditLog(ctx context.Context, q AuditQuery) ([]Event, error)

	// Epoch compares the store's epoch (one life of its data) with
	// expected, the ID of the one the caller last saw ("" when it saw
	// none), and writes fresh when the store holds none: at the first start,
	// and when the store came back empty. See EpochCheck.
	Epoch(ctx context.Context, expected string, fresh Epoch) (EpochCheck, error)

	// OweCard records that the card of request id on platform pl may not
	// show the request's state (posting or updating it failed): CardDebts
	// hands it out again, later each time it is owed again, until
	// PayCard.
	OweCard(ctx context.Context, id string, pl Platform) error

	// CardDebts claims, for lease, up to max debts that are due: each is
	// handed to one caller, and again once its lease runs out unpaid.
	CardDebts(ctx context.Context, lease time.Duration, max int) ([]CardDebt, error)

	// PayCard clears d, unless the card was owed again since d was claimed
	// (it then stays, to be claimed again). It reports whether it cleared it.
	PayCard(ctx context.Context, d CardDebt) (bool, error)

	// TidyConsumers removes from the execution queue's readers every
	// consumer but keep that holds nothing, and returns how many it removed.
	TidyConsumers(ctx context.Context, keep string) (int, error)
}

// Epoch is one life of the store's data, from when the bot found the store
// empty.
type Epoch struct {
	ID    string
	Since time.Time
}

// EpochCheck is what Store.Epoch found.
type EpochCheck struct {
	Epoch Epoch // the store's epoch, after the check
	// Lost is true when the store's epoch is not the one expected: the
	// store lost its data (Redis came back empty) since the caller looked.
	Lost bool
	// Announce is true for the one caller, across replicas, that is to
	// tell the approvals channels about this loss.
	Announce bool
}

// CardDebt is a card that may not show its request's state, as
// Store.CardDebts hands it out.
type CardDebt struct {
	RequestID string
	Platform  Platform
	Tries     int    // how many times it was owed
	Token     string // the claim, for PayCard
}

// Notifier shows the bot's messages on one chat platform.
type Notifier interface {
	Platform() Platform

	// Card posts the approval card for req to the platform's approvals
	// channel, or updates it in place when ref (what an earlier Card call
	// returned) is not empty. It returns the card's reference.
	Card(ctx context.Context, req Request, acct Account, ref string) (string, error)

	// Notify tells person something about req, visibly to them alone.
	Notify(ctx context.Context, person Person, req Request, text string) error

	// Offer sends person a persistent private message (a direct message
	// with the bot) saying that req is approved, by whom, for which account
	// and users, and until when (req.RevealBy) its Reveal button works; and
	// the button, whose click runs the reset (Service.Reveal) and whose
	// answer shows the password to them alone. The message holds no secret.
	// It returns a reference to the message, for Withdraw.
	Offer(ctx context.Context, person Person, req Request) (string, error)

	// Remind replies under the card at ref (what Card returned) with text,
	// mentioning people so that the platform notifies each of them (Slack
	// <@U…>, Discord <@id>); a person without an ID on this platform is
	// named instead. It returns nothing to keep: a reminder is sent once.
	Remind(ctx context.Context, req Request, ref string, people []Person, text string) error

	// Withdraw takes the way to reveal off the offer at ref, once req has
	// ended (revealed, expired, cancelled, failed), and says how it ended.
	Withdraw(ctx context.Context, req Request, ref string) error
	// Announce posts text, for everyone, in channel, one of the channels
	// cards go to; "" is the platform's approvals channel.
	Announce(ctx context.Context, channel, text string) error
}

// CardFinder is a Notifier that can find a card it may have posted
// without learning where (the post's answer never came, or came too late).
// Before the sweeper posts an owed card that has no reference, it asks
// FindCard, so that such a card is taken over, not posted twice. A
// platform that de-duplicates posts itself needs none.
type CardFinder interface {
	// FindCard returns the reference (as Card returns it) of req's card on
	// the platform, or "" when it finds none. An error (EUNAVAILABLE when
	// the platform could not be asked) means it could not look: the caller
	// then posts nothing.
	FindCard(ctx context.Context, req Request, acct Account) (string, error)
}

// Logger is what the service logs through; *slog.Logger satisfies it.
type Logger interface {
	Info(msg string, args ...any)
	Error(msg string, args ...any)
}
