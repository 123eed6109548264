package approvals_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/approvals"
	"resetbot/bot"
)

// TestStore is the conformance suite of the store, run against the real
// redis-server and against miniredis (which the playground uses).
func TestStore(t *testing.T) {
	runSuite(t, append(servers(), deployments()...), []suiteCase{
		{"CreateStoresPendingRequest", testCreateStores},
		{"CreateRefusesIncompleteRequest", testCreateInvalid},
		{"CreateRefusesTakenID", testCreateIDTaken},
		{"DuplicateGetsFirstID", testCreateDuplicate},
		{"RateLimitSlides", testCreateRateLimit},
		{"OneApprovalApproves", testVoteOneApproval},
		{"TwoApprovalsNeedTwoPeople", testVoteTwoApprovals},
		{"SelfApprovalRefused", testSelfApproval},
		{"DoubleVoteRefused", testDoubleVote},
		{"VoteOnUnknownRequestRefused", testVoteNotFound},
		{"VoteOnNonPendingRefused", testVoteNonPending},
		{"DenyEndsRequest", testDeny},
		{"CancelOnlyByRequester", testCancelRequesterOnly},
		{"CancelOnlyWhilePending", testCancelPendingOnly},
		{"ExpireDueExpiresOverdue", testExpireDue},
		{"VoteAfterExpiryRefused", testVoteAfterExpiry},
		{"ConcurrentExpireDueDisjoint", testExpireDueConcurrent},
		{"NextClaimsAndFinishCompletes", testNextFinish},
		{"LiveLeaseNotTakenOver", testLiveLease},
		{"QueueClaimAfterLeaseResumed", testResumedClaim},
		{"RevealClaimAfterLeaseStale", testStaleClaim},
		{"RevealClaimBeforeCallResumed", testRevealClaimBeforeCallResumed},
		{"RevealClaimCallingUnknownStale", testRevealClaimCallingUnknownStale},
		{"EarlierVersionsExecutingStale", testLegacyExecutingIsStale},
		{"FinishRefusesWrongToken", testFinishWrongToken},
		{"UnclaimedEntryRecovered", testUnclaimedEntry},
		{"NextReturnsWhenContextEnds", testNextCancel},
		{"OpenListsNewestFirst", testOpen},
		{"SetRefRecordsReference", testSetRef},
		{"AuditLogFiltersByRequestAndTime", testAuditLog},
		{"ConcurrentVotesApproveOnce", testConcurrentVotes},
		{"ConcurrentNextClaimsOnce", testConcurrentNext},
		{"OfferWaitsForReveal", testOfferWaitsForReveal},
		{"ClaimRevealClaimsOnce", testClaimReveal},
		{"ClaimRevealOnlyByRequester", testClaimRevealRequesterOnly},
		{"ClaimRevealOnlyWhenOffered", testClaimRevealNeedsOffer},
		{"UnrevealedOfferExpires", testRevealExpires},
		{"CancelOfferedRequest", testCancelOffered},
		{"FinishOfferedWithItsClaim", testFinishOffered},
		{"ConcurrentRevealClaimsOnce", testConcurrentReveal},
		{"EarlierVersionsOfferReadAsOffered", testLegacyOffer},
		{"RevCountsTransitions", testRevCounts},
		{"StrangersAuditedApart", testStrangerAudit},
	})
}

func testCreateStores(t *testing.T, e *env) {
	req := e.request("R-AAAAAA", "alice", "prod-db", 2)
	req.Users = []string{"u1", "u2"}
	req.Platform = bot.PlatformDiscord
	req.Refs = map[bot.RefKey]string{bot.Ref(bot.RefInteraction, bot.PlatformDiscord): "tok"}
	req.Votes = []bot.Vote{{Person: "mallory", Approve: true}} // the store starts with none
	req.State = bot.StateApproved                              // and pending

	got := e.mustCreate(req)

	now := msTime(e.clock.Now())
	want := req
	want.State = bot.StatePending
	want.Votes = nil
	want.CreatedAt, want.UpdatedAt, want.ExpiresAt = now, now, msTime(req.ExpiresAt)
	want.Rev = 1
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Create returned\n%+v\nwant\n%+v", got, want)
	}
	if got := e.mustGet(req.ID); !reflect.DeepEqual(got, want) {
		t.Errorf("Get returned\n%+v\nwant\n%+v", got, want)
	}
	ev, ok := findEvent(e.events(req.ID), "requested", "alice")
	if !ok {
		t.Fatalf("no requested event by alice in %s", kinds(e.events(req.ID)))
	}
	if ev.Platform != bot.PlatformDiscord || !ev.Time.Equal(now) || !strings.Contains(ev.Detail, req.Reason) {
		t.Errorf("requested event: got %+v, want platform discord, time %v, the reason in detail", ev, now)
	}
}

func testCreateInvalid(t *testing.T, e *env) {
	for _, tc := range []struct {
		name string
		edit func(*bot.Request)
	}{
		{"NoID", func(r *bot.Request) { r.ID = "" }},
		{"NoRequester", func(r *bot.Request) { r.Requester = "" }},
		{"NoAccount", func(r *bot.Request) { r.Account = "" }},
		{"NoExpiry", func(r *bot.Request) { r.ExpiresAt = time.Time{} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := e.request("R-INVAL1", "alice", "prod-db", 1)
			tc.edit(&req)
			_, err := e.store.Create(ctx(t), req, bot.Limit{})
			wantError(t, err, bot.EINVALID)
		})
	}
}

func testCreateIDTaken(t *testing.T, e *env) {
	e.mustCreate(e.request("R-TAKEN1", "alice", "prod-db", 1))
	_, err := e.store.Create(ctx(t), e.request("R-TAKEN1", "carol", "other-db", 1), bot.Limit{})
	be := wantError(t, err, bot.ECONFLICT)
	if be.Message != "request ID already in use" {
		t.Errorf("message: got %q, want %q", be.Message, "request ID already in use")
	}
	if got := e.mustGet("R-TAKEN1"); got.Requester != "alice" {
		t.Errorf("requester of R-TAKEN1: got %s, want alice (unchanged)", got.Requester)
	}
}

func testCreateDuplicate(t *testing.T, e *env) {
	e.mustCreate(e.request("R-FIRST1", "alice", "prod-db", 1))

	_, err := e.store.Create(ctx(t), e.request("R-SECND1", "alice", "prod-db", 1), bot.Limit{})
	be := wantError(t, err, bot.EDUPLICATE)
	if be.ID != "R-FIRST1" || !strings.Contains(be.Message, "R-FIRST1") {
		t.Errorf("duplicate error: got ID %q message %q, want the first request R-FIRST1 in both", be.ID, be.Message)
	}
	if _, err := e.store.Get(ctx(t), "R-SECND1"); bot.ErrorCode(err) != bot.ENOTFOUND {
		t.Errorf("Get(R-SECND1): got %v, want not found (nothing created)", err)
	}
	ev, ok := findEvent(e.events("R-FIRST1"), "refused", "alice")
	if !ok || !strings.Contains(ev.Detail, "duplicate") {
		t.Errorf("audit: got %s (%+v), want a refused duplicate by alice", kinds(e.events("R-FIRST1")), ev)
	}

	// Another account, or another requester, is not a duplicate.
	e.mustCreate(e.request("R-OTHER1", "alice", "other-db", 1))
	e.mustCreate(e.request("R-CAROL1", "carol", "prod-db", 1))

	// Approved and executing requests are still open.
	e.mustVote("R-FIRST1", "bob", true)
	_, err = e.store.Create(ctx(t), e.request("R-THIRD1", "alice", "prod-db", 1), bot.Limit{})
	wantError(t, err, bot.EDUPLICATE)

	// Once the first is over, the account is free again.
	c := e.mustNext(e.store, "exec", time.Minute)
	if _, err := e.store.Finish(ctx(t), c, bot.StateSucceeded, "reset app_user"); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	e.mustCreate(e.request("R-FOURT1", "alice", "prod-db", 1))
}

func testCreateRateLimit(t *testing.T, e *env) {
	limit := bot.Limit{N: 2, Window: time.Hour}
	create := func(id, account string) error {
		_, err := e.store.Create(ctx(t), e.request(id, "alice", account, 1), limit)
		return err
	}
	if err := create("R-RATE01", "db-1"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(10 * time.Minute)
	if err := create("R-RATE02", "db-2"); err != nil {
		t.Fatal(err)
	}
	be := wantError(t, create("R-RATE03", "db-3"), bot.ERATELIMIT)
	if !strings.Contains(be.Message, "try again in 50m") {
		t.Errorf("message: got %q, want it to say when to try again (50m)", be.Message)
	}
	evs, err := e.store.AuditLog(ctx(t), bot.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if ev, ok := findEvent(evs, "refused", "alice"); !ok || !strings.Contains(ev.Detail, "rate limit") {
		t.Errorf("audit: got %s, want a refused rate limit by alice", kinds(evs))
	}
	// Other requesters have their own window.
	if _, err := e.store.Create(ctx(t), e.request("R-RATE04", "carol", "db-3", 1), limit); err != nil {
		t.Fatalf("carol's first request: %v", err)
	}
	// The window slides: the first ask leaves it after an hour.
	e.clock.Advance(50 * time.Minute)
	if err := create("R-RATE05", "db-3"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	wantError(t, create("R-RATE06", "db-4"), bot.ERATELIMIT)
}

func testVoteOneApproval(t *testing.T, e *env) {
	e.mustCreate(e.request("R-ONE001", "alice", "prod-db", 1))
	e.clock.Advance(time.Minute)
	got, err := e.store.Vote(ctx(t), "R-ONE001", bot.Vote{Person: "bob", Platform: bot.PlatformDiscord, Approve: true, Reason: "ok"})
	if err != nil {
		t.Fatal(err)
	}
	now := msTime(e.clock.Now())
	wantVotes := []bot.Vote{{Person: "bob", Platform: bot.PlatformDiscord, Approve: true, Reason: "ok", At: now}}
	if got.State != bot.StateApproved || !reflect.DeepEqual(got.Votes, wantVotes) || !got.UpdatedAt.Equal(now) {
		t.Errorf("after the vote: got state %s votes %+v updated %v, want approved, %+v, %v", got.State, got.Votes, got.UpdatedAt, wantVotes, now)
	}
	evs := e.events("R-ONE001")
	for _, kind := range []bot.EventKind{bot.EventVoted, bot.EventApproved} {
		if ev, ok := findEvent(evs, kind, "bob"); !ok || ev.Platform != bot.PlatformDiscord || !ev.Time.Equal(now) {
			t.Errorf("audit: got %s, want %s by bob on discord at %v", kinds(evs), kind, now)
		}
	}
	if n := e.raw.XLen(ctx(t), e.key("queue")).Val(); n != 1 {
		t.Errorf("queue length: got %d, want 1", n)
	}
}

func testVoteTwoApprovals(t *testing.T, e *env) {
	e.mustCreate(e.request("R-TWO001", "alice", "prod-db", 2))
	if got := e.mustVote("R-TWO001", "bob", true); got.State != bot.StatePending || got.Approved() != 1 {
		t.Fatalf("after one approval: got %s with %d, want pending with 1", got.State, got.Approved())
	}
	if n := e.raw.XLen(ctx(t), e.key("queue")).Val(); n != 0 {
		t.Errorf("queue length after one approval: got %d, want 0", n)
	}
	got := e.mustVote("R-TWO001", "carol", true)
	if got.State != bot.StateApproved || got.Approved() != 2 || got.Votes[0].Person != "bob" || got.Votes[1].Person != "carol" {
		t.Errorf("after two approvals: got %s with votes %+v, want approved by bob then carol", got.State, got.Votes)
	}
	if n := e.raw.XLen(ctx(t), e.key("queue")).Val(); n != 1 {
		t.Errorf("queue length: got %d, want 1", n)
	}
}

func testSelfApproval(t *testing.T, e *env) {
	e.mustCreate(e.request("R-SELF01", "alice", "prod-db", 1))
	// Asked on Slack, approving from Discord: the same person.
	_, err := e.store.Vote(ctx(t), "R-SELF01", bot.Vote{Person: "alice", Platform: bot.PlatformDiscord, Approve: true})
	be := wantError(t, err, bot.EFORBIDDEN)
	if be.Message != "you cannot approve your own request" {
		t.Errorf("message: got %q", be.Message)
	}
	if got := e.mustGet("R-SELF01"); got.State != bot.StatePending || len(got.Votes) != 0 {
		t.Errorf("request: got %s with %d votes, want pending with none", got.State, len(got.Votes))
	}
	ev, ok := findEvent(e.events("R-SELF01"), "refused", "alice")
	if !ok || ev.Platform != bot.PlatformDiscord || ev.Detail != be.Message {
		t.Errorf("audit: got %+v, want refused by alice on discord with the reason", ev)
	}
}

func testDoubleVote(t *testing.T, e *env) {
	e.mustCreate(e.request("R-DBL001", "alice", "prod-db", 2))
	e.mustVote("R-DBL001", "bob", true)
	for _, v := range []bot.Vote{
		{Person: "bob", Platform: bot.PlatformDiscord, Approve: true},
		{Person: "bob", Platform: bot.PlatformSlack, Approve: true}, // the same person elsewhere
		{Person: "bob", Platform: bot.PlatformSlack, Approve: false},
	} {
		_, err := e.store.Vote(ctx(t), "R-DBL001", v)
		be := wantError(t, err, bot.EFORBIDDEN)
		if be.Message != "you already voted on R-DBL001" {
			t.Errorf("message: got %q", be.Message)
		}
	}
	if got := e.mustGet("R-DBL001"); got.State != bot.StatePending || len(got.Votes) != 1 {
		t.Errorf("request: got %s with %d votes, want pending with 1", got.State, len(got.Votes))
	}
	if _, ok := findEvent(e.events("R-DBL001"), "refused", "bob"); !ok {
		t.Errorf("audit: got %s, want a refusal by bob", kinds(e.events("R-DBL001")))
	}
}

func testVoteNotFound(t *testing.T, e *env) {
	_, err := e.store.Vote(ctx(t), "R-NOSUCH", bot.Vote{Person: "bob", Approve: true})
	wantError(t, err, bot.ENOTFOUND)
	if _, ok := findEvent(e.events("R-NOSUCH"), "refused", "bob"); !ok {
		t.Errorf("audit: want the refusal logged")
	}
	_, err = e.store.Get(ctx(t), "R-NOSUCH")
	wantError(t, err, bot.ENOTFOUND)
}

func testVoteNonPending(t *testing.T, e *env) {
	for _, tc := range []struct {
		state bot.State
		make  func(id string)
	}{
		{bot.StateApproved, func(id string) { e.approved(id, "alice-"+id) }},
		{bot.StateDenied, func(id string) {
			e.mustCreate(e.request(id, "alice", "acct-"+id, 1))
			e.mustVote(id, "bob", false)
		}},
		{bot.StateCancelled, func(id string) {
			e.mustCreate(e.request(id, "alice", "acct-"+id, 1))
			if _, err := e.store.Cancel(ctx(t), id, "alice", bot.PlatformSlack); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(string(tc.state), func(t *testing.T) {
			id := "R-NP" + strings.ToUpper(string(tc.state[:4]))
			tc.make(id)
			_, err := e.store.Vote(ctx(t), id, bot.Vote{Person: "carol", Approve: true})
			be := wantError(t, err, bot.ECONFLICT)
			if want := id + " is already " + string(tc.state); be.Message != want {
				t.Errorf("message: got %q, want %q", be.Message, want)
			}
			if ev, ok := findEvent(e.events(id), "refused", "carol"); !ok || ev.Detail != be.Message {
				t.Errorf("audit: got %s, want carol's refusal with its reason", kinds(e.events(id)))
			}
		})
	}
}

func testDeny(t *testing.T, e *env) {
	e.mustCreate(e.request("R-DENY01", "alice", "prod-db", 2))
	e.mustVote("R-DENY01", "bob", true)
	got, err := e.store.Vote(ctx(t), "R-DENY01", bot.Vote{Person: "carol", Platform: bot.PlatformSlack, Reason: "not during the freeze"})
	if err != nil {
		t.Fatal(err)
	}
	if got.State != bot.StateDenied || !strings.Contains(got.Outcome, "carol") || !strings.Contains(got.Outcome, "not during the freeze") {
		t.Errorf("after the deny: got %s %q, want denied with who and why", got.State, got.Outcome)
	}
	if ev, ok := findEvent(e.events("R-DENY01"), "denied", "carol"); !ok || ev.Detail != "not during the freeze" {
		t.Errorf("audit: got %s, want denied by carol with the reason", kinds(e.events("R-DENY01")))
	}
	if n := e.raw.XLen(ctx(t), e.key("queue")).Val(); n != 0 {
		t.Errorf("queue length: got %d, want 0", n)
	}
	if _, err := e.store.Vote(ctx(t), "R-DENY01", bot.Vote{Person: "dave", Approve: true}); bot.ErrorCode(err) != bot.ECONFLICT {
		t.Errorf("vote after the deny: got %v, want conflict", err)
	}
	e.mustCreate(e.request("R-DENY02", "alice", "prod-db", 1)) // the account is free again
}

func testCancelRequesterOnly(t *testing.T, e *env) {
	e.mustCreate(e.request("R-CANC01", "alice", "prod-db", 1))
	_, err := e.store.Cancel(ctx(t), "R-CANC01", "bob", bot.PlatformSlack)
	wantError(t, err, bot.EFORBIDDEN)
	if _, ok := findEvent(e.events("R-CANC01"), "refused", "bob"); !ok {
		t.Errorf("audit: got %s, want bob's refusal", kinds(e.events("R-CANC01")))
	}
	got, err := e.store.Cancel(ctx(t), "R-CANC01", "alice", bot.PlatformDiscord)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != bot.StateCancelled {
		t.Errorf("state: got %s, want cancelled", got.State)
	}
	if ev, ok := findEvent(e.events("R-CANC01"), "cancelled", "alice"); !ok || ev.Platform != bot.PlatformDiscord {
		t.Errorf("audit: got %s, want cancelled by alice on discord", kinds(e.events("R-CANC01")))
	}
	_, err = e.store.Cancel(ctx(t), "R-CANC01", "alice", bot.PlatformDiscord)
	wantError(t, err, bot.ECONFLICT)
	_, err = e.store.Cancel(ctx(t), "R-NOSUCH", "alice", bot.PlatformDiscord)
	wantError(t, err, bot.ENOTFOUND)
	e.mustCreate(e.request("R-CANC02", "alice", "prod-db", 1)) // the account is free again
}

func testCancelPendingOnly(t *testing.T, e *env) {
	e.approved("R-CANA01", "alice")
	_, err := e.store.Cancel(ctx(t), "R-CANA01", "alice", bot.PlatformSlack)
	be := wantError(t, err, bot.ECONFLICT)
	if be.Message != "R-CANA01 is already approved" {
		t.Errorf("message: got %q", be.Message)
	}
	if got := e.mustGet("R-CANA01"); got.State != bot.StateApproved {
		t.Errorf("state: got %s, want approved", got.State)
	}
}

func testExpireDue(t *testing.T, e *env) {
	e.mustCreate(e.request("R-EXP001", "alice", "prod-db", 1))
	e.clock.Advance(10 * time.Minute)
	e.mustCreate(e.request("R-EXP002", "carol", "prod-db", 1)) // due 10 minutes later

	e.clock.Advance(20*time.Minute - time.Millisecond)
	if got, err := e.store.ExpireDue(ctx(t)); err != nil || len(got) != 0 {
		t.Fatalf("ExpireDue before the expiry: got %d, %v; want none", len(got), err)
	}
	e.clock.Advance(time.Millisecond)
	got, err := e.store.ExpireDue(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "R-EXP001" || got[0].State != bot.StateExpired {
		t.Fatalf("ExpireDue: got %+v, want R-EXP001 expired", got)
	}
	if again, err := e.store.ExpireDue(ctx(t)); err != nil || len(again) != 0 {
		t.Errorf("ExpireDue again: got %d, %v; want none", len(again), err)
	}
	if r := e.mustGet("R-EXP002"); r.State != bot.StatePending {
		t.Errorf("R-EXP002: got %s, want pending", r.State)
	}
	if _, ok := findEvent(e.events("R-EXP001"), "expired", "system"); !ok {
		t.Errorf("audit: got %s, want expired by system", kinds(e.events("R-EXP001")))
	}
	_, err = e.store.Vote(ctx(t), "R-EXP001", bot.Vote{Person: "bob", Approve: true})
	if be := wantError(t, err, bot.ECONFLICT); be.Message != "R-EXP001 is already expired" {
		t.Errorf("message: got %q", be.Message)
	}
	e.mustCreate(e.request("R-EXP003", "alice", "prod-db", 1)) // the account is free again
}

func testVoteAfterExpiry(t *testing.T, e *env) {
	e.mustCreate(e.request("R-LATE01", "alice", "prod-db", 1))
	e.clock.Advance(30 * time.Minute) // due, not yet swept
	_, err := e.store.Vote(ctx(t), "R-LATE01", bot.Vote{Person: "bob", Approve: true})
	if be := wantError(t, err, bot.ECONFLICT); be.Message != "R-LATE01 has expired" {
		t.Errorf("message: got %q", be.Message)
	}
	if ev, ok := findEvent(e.events("R-LATE01"), "refused", "bob"); !ok || ev.Detail != "R-LATE01 has expired" {
		t.Errorf("audit: got %s, want bob's refusal", kinds(e.events("R-LATE01")))
	}
	// The sweeper still expires it, so that its cards get updated.
	got, err := e.store.ExpireDue(ctx(t))
	if err != nil || len(got) != 1 || got[0].ID != "R-LATE01" {
		t.Errorf("ExpireDue: got %v, %v; want R-LATE01", got, err)
	}
}

func testExpireDueConcurrent(t *testing.T, e *env) {
	const requests, sweepers = 230, 4 // more than one batch of 100
	for i := range requests {
		e.mustCreate(e.request(fmt.Sprintf("R-C%05d", i), fmt.Sprintf("p%d", i), "prod-db", 1))
	}
	e.clock.Advance(time.Hour)

	results := make([][]bot.Request, sweepers)
	errs := make([]error, sweepers)
	var wg sync.WaitGroup
	for i := range sweepers {
		s := e.newStore()
		wg.Go(func() { results[i], errs[i] = s.ExpireDue(ctx(t)) })
	}
	wg.Wait()

	seen := map[string]int{}
	for i := range sweepers {
		if errs[i] != nil {
			t.Fatalf("sweeper %d: %v", i, errs[i])
		}
		for _, r := range results[i] {
			seen[r.ID]++
		}
	}
	if len(seen) != requests {
		t.Errorf("expired: got %d distinct requests, want %d", len(seen), requests)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s returned by %d sweepers, want 1", id, n)
		}
	}
}

func testNextFinish(t *testing.T, e *env) {
	e.approved("R-NEXT01", "alice")
	c := e.mustNext(e.store, "exec-1", time.Minute)
	if c.Request.ID != "R-NEXT01" || c.Request.State != bot.StateExecuting || c.Stale || c.Token == "" || c.Entry == "" {
		t.Fatalf("claim: got %+v, want R-NEXT01 executing, fresh, with a token and an entry", c)
	}
	if ev, ok := findEvent(e.events("R-NEXT01"), "executing", "system"); !ok || !strings.Contains(ev.Detail, "exec-1") {
		t.Errorf("audit: got %s, want executing naming exec-1", kinds(e.events("R-NEXT01")))
	}
	if open, err := e.store.Open(ctx(t), "alice"); err != nil || len(open) != 1 {
		t.Errorf("Open while executing: got %d, %v; want 1", len(open), err)
	}
	e.wantNothingNext(e.newStore(), "exec-2", time.Minute)

	e.clock.Advance(time.Second)
	got, err := e.store.Finish(ctx(t), c, bot.StateSucceeded, "reset app_user")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != bot.StateSucceeded || got.Outcome != "reset app_user" || !got.UpdatedAt.Equal(msTime(e.clock.Now())) {
		t.Errorf("after Finish: got %s %q %v", got.State, got.Outcome, got.UpdatedAt)
	}
	if ev, ok := findEvent(e.events("R-NEXT01"), "succeeded", "system"); !ok || ev.Detail != "reset app_user" {
		t.Errorf("audit: got %s, want succeeded with the outcome", kinds(e.events("R-NEXT01")))
	}
	if n := e.raw.XLen(ctx(t), e.key("queue")).Val(); n != 0 {
		t.Errorf("queue length after Finish: got %d, want 0", n)
	}
	if open, err := e.store.Open(ctx(t), "alice"); err != nil || len(open) != 0 {
		t.Errorf("Open after Finish: got %d, %v; want none", len(open), err)
	}
	if _, err := e.store.Finish(ctx(t), c, bot.StateFailed, "again"); bot.ErrorCode(err) != bot.ECONFLICT {
		t.Errorf("second Finish: got %v, want conflict", err)
	}
	if _, err := e.store.Finish(ctx(t), c, bot.StateApproved, "x"); bot.ErrorCode(err) != bot.EINVALID {
		t.Errorf("Finish as approved: got %v, want invalid", err)
	}
	e.wantNothingNext(e.store, "exec-1", time.Minute)
}

func testLiveLease(t *testing.T, e *env) {
	e.approved("R-LIVE01", "alice")
	e.mustNext(e.store, "exec-1", time.Minute)
	e.clock.Advance(time.Minute - time.Millisecond)
	e.wantNothingNext(e.newStore(), "exec-2", time.Minute)
	// With a short lease of its own, exec-3 re-reads the entry from the
	// group (idle longer than 1ms), and must still leave it to exec-1.
	e.wantNothingNext(e.newStore(), "exec-3", time.Millisecond)
	if got := e.mustGet("R-LIVE01"); got.State != bot.StateExecuting {
		t.Errorf("state: got %s, want executing", got.State)
	}
}

// A claim from the queue whose executor died before offering the request
// reset nothing: the take-over resumes it (Claim.Resumed), and may offer it.
func testResumedClaim(t *testing.T, e *env) {
	e.approved("R-STAL01", "alice")
	first := e.mustNext(e.store, "exec-1", time.Minute) // and exec-1 dies
	e.clock.Advance(time.Minute)

	other := e.newStore()
	second := e.mustNext(other, "exec-2", time.Minute)
	if second.Stale || !second.Resumed || second.Request.ID != "R-STAL01" || second.Token == first.Token || second.Entry != first.Entry {
		t.Fatalf("second claim: got %+v, want R-STAL01, resumed (not stale), a new token, the same entry", second)
	}
	if first.Resumed || first.Stale {
		t.Errorf("first claim: got %+v, want fresh", first)
	}
	if _, ok := findEvent(e.events("R-STAL01"), "executing", "system"); !ok {
		t.Errorf("audit: got %s, want executing", kinds(e.events("R-STAL01")))
	} else if evs := e.events("R-STAL01"); !strings.Contains(evs[len(evs)-1].Detail, "exec-2") || !strings.Contains(evs[len(evs)-1].Detail, "nothing was reset") {
		t.Errorf("last event: got %+v, want the take-over by exec-2, saying nothing was reset", evs[len(evs)-1])
	}
	if _, err := e.store.Offer(ctx(t), first, e.clock.Now().Add(time.Hour), "x"); bot.ErrorCode(err) != bot.ECONFLICT {
		t.Errorf("Offer by the first executor: got %v, want conflict", err)
	}
	if _, err := e.store.Finish(ctx(t), first, bot.StateSucceeded, "reset app_user"); bot.ErrorCode(err) != bot.ECONFLICT {
		t.Errorf("Finish by the first executor: got %v, want conflict", err)
	}
	got, err := other.Offer(ctx(t), second, e.clock.Now().Add(30*time.Minute), "waiting for alice to reveal")
	if err != nil || got.State != bot.StateOffered {
		t.Fatalf("Offer by the take-over: got %s, %v; want offered", got.State, err)
	}
	// Resumed again and again, it stays resumed: each lost claim was the
	// queue's.
	e.approved("R-STAL02", "alice")
	e.mustNext(e.store, "exec-1", time.Minute)
	for i := range 2 {
		e.clock.Advance(time.Minute)
		c := e.mustNext(e.newStore(), fmt.Sprintf("exec-%d", i+3), time.Minute)
		if c.Request.ID != "R-STAL02" || c.Stale || !c.Resumed {
			t.Fatalf("take-over %d: got %+v, want R-STAL02 resumed", i+1, c)
		}
	}
}

// A Reveal click's claim whose process died after the Hold that begins
// its cloud call may have reset: the take-over is stale (outcome unknown),
// and the lost claim cannot finish it.
func testStaleClaim(t *testing.T, e *env) {
	e.offered("R-STAL03", "alice")
	first, err := e.store.ClaimReveal(ctx(t), "R-STAL03", "alice", bot.PlatformSlack, time.Minute)
	if err != nil || first.Stale || first.Resumed {
		t.Fatalf("ClaimReveal: got %+v, %v; want a fresh claim", first, err)
	}
	first.Calling = true
	if first, err = e.store.Hold(ctx(t), first, time.Minute); err != nil { // and its process dies
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)

	other := e.newStore()
	second := e.mustNext(other, "exec-2", time.Minute)
	if !second.Stale || second.Resumed || second.Request.ID != "R-STAL03" || second.Token == first.Token {
		t.Fatalf("second claim: got %+v, want R-STAL03, stale, a new token", second)
	}
	if evs := e.events("R-STAL03"); !strings.Contains(evs[len(evs)-1].Detail, "exec-2") || !strings.Contains(evs[len(evs)-1].Detail, "outcome unknown") {
		t.Errorf("last event: got %+v, want the take-over by exec-2, outcome unknown", evs[len(evs)-1])
	}
	if _, err := e.store.Finish(ctx(t), first, bot.StateSucceeded, "reset app_user"); bot.ErrorCode(err) != bot.ECONFLICT {
		t.Errorf("Finish by the lost claim: got %v, want conflict", err)
	}
	got, err := other.Finish(ctx(t), second, bot.StateFailed, "outcome unknown: the executor stopped mid-reset")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != bot.StateFailed {
		t.Errorf("state: got %s, want failed", got.State)
	}
	e.clock.Advance(time.Hour)
	e.wantNothingNext(other, "exec-3", time.Minute)
}

// A Reveal click's claim whose process died (or whose claim no replica
// confirmed) before the Hold that begins the cloud call reset nothing: the
// take-over is resumed, and offers the request again; the lost claim can
// neither hold nor finish it.
func testRevealClaimBeforeCallResumed(t *testing.T, e *env) {
	e.offered("R-STAL05", "alice")
	first, err := e.store.ClaimReveal(ctx(t), "R-STAL05", "alice", bot.PlatformSlack, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Hold(ctx(t), first, time.Minute); err != nil { // a heartbeat, not the call's Hold
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute) // and its process dies
	other := e.newStore()
	second := e.mustNext(other, "exec-2", time.Minute)
	if second.Stale || !second.Resumed || second.Request.ID != "R-STAL05" {
		t.Fatalf("take-over: got %+v, want R-STAL05 resumed", second)
	}
	if evs := e.events("R-STAL05"); !strings.Contains(evs[len(evs)-1].Detail, "before its reset began; nothing was reset") {
		t.Errorf("last event: got %+v, want the take-over saying nothing was reset", evs[len(evs)-1])
	}
	first.Calling = true
	if _, err := e.store.Hold(ctx(t), first, time.Minute); bot.ErrorCode(err) != bot.ECONFLICT {
		t.Errorf("the lost claim's Hold before its call: got %v, want conflict", err)
	}
	got, err := other.Offer(ctx(t), second, e.clock.Now().Add(10*time.Minute), "offered again")
	if err != nil || got.State != bot.StateOffered {
		t.Fatalf("offered again: %+v, %v", got.State, err)
	}
	third, err := e.store.ClaimReveal(ctx(t), "R-STAL05", "alice", bot.PlatformSlack, time.Minute)
	if err != nil || third.Stale {
		t.Fatalf("Reveal clicked again: %+v, %v", third, err)
	}
}

// A Reveal claim whose 'calling' does not name it (none: an earlier
// version of the bot claimed it, which never writes it; another claim's:
// left behind) may have called the cloud: its take-over is stale.
func testRevealClaimCallingUnknownStale(t *testing.T, e *env) {
	for i, calling := range []string{"", "no:another-claims-token"} {
		id := fmt.Sprintf("R-STAL%02d", 6+i)
		e.offered(id, "alice")
		if _, err := e.store.ClaimReveal(ctx(t), id, "alice", bot.PlatformSlack, time.Minute); err != nil {
			t.Fatal(err)
		}
		var err error
		if calling == "" {
			err = e.raw.HDel(ctx(t), e.key("req:"+id), "calling").Err()
		} else {
			err = e.raw.HSet(ctx(t), e.key("req:"+id), "calling", calling).Err()
		}
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
		other := e.newStore()
		c := e.mustNext(other, "exec-2", time.Minute)
		if c.Request.ID != id || !c.Stale || c.Resumed {
			t.Errorf("calling %q: take-over %+v, want %s stale", calling, c, id)
		}
		if _, err := other.Finish(ctx(t), c, bot.StateFailed, "outcome unknown"); err != nil {
			t.Fatal(err)
		}
	}
}

// A request left executing by an earlier version of the bot, which reset at
// its claim from the queue, has no claim field: its take-over is stale.
func testLegacyExecutingIsStale(t *testing.T, e *env) {
	e.approved("R-STAL04", "alice")
	e.mustNext(e.store, "exec-1", time.Minute)
	if err := e.raw.HDel(ctx(t), e.key("req:R-STAL04"), "claim").Err(); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	c := e.mustNext(e.newStore(), "exec-2", time.Minute)
	if c.Request.ID != "R-STAL04" || !c.Stale || c.Resumed {
		t.Errorf("take-over: got %+v, want R-STAL04 stale", c)
	}
}

func testFinishWrongToken(t *testing.T, e *env) {
	e.approved("R-TOKN01", "alice")
	c := e.mustNext(e.store, "exec-1", time.Minute)
	forged := c
	forged.Token = "not-the-token"
	_, err := e.store.Finish(ctx(t), forged, bot.StateSucceeded, "reset")
	if be := wantError(t, err, bot.ECONFLICT); !strings.Contains(be.Message, "R-TOKN01") {
		t.Errorf("message: got %q, want it to name the request", be.Message)
	}
	if got := e.mustGet("R-TOKN01"); got.State != bot.StateExecuting {
		t.Errorf("state: got %s, want executing", got.State)
	}
	if _, err := e.store.Finish(ctx(t), c, bot.StateSucceeded, "reset"); err != nil {
		t.Errorf("Finish with the right token: %v", err)
	}
}

// A process that read a queue entry and died before claiming it leaves the
// entry pending in the group; Next hands it out after the lease.
func testUnclaimedEntry(t *testing.T, e *env) {
	e.raw.XGroupCreateMkStream(ctx(t), e.key("queue"), approvals.Group, "0") // as Next would have
	e.approved("R-LOST01", "alice")
	msgs, err := e.raw.XReadGroup(ctx(t), &redis.XReadGroupArgs{
		Group: approvals.Group, Consumer: "dead", Streams: []string{e.key("queue"), ">"}, Count: 1, Block: -1,
	}).Result()
	if err != nil || len(msgs) != 1 || len(msgs[0].Messages) != 1 {
		t.Fatalf("reading the entry as a dying process: got %v, %v", msgs, err)
	}
	c := e.mustNext(e.store, "exec-1", time.Millisecond)
	if c.Request.ID != "R-LOST01" || c.Stale || c.Entry != msgs[0].Messages[0].ID {
		t.Errorf("claim: got %+v, want R-LOST01, fresh, entry %s", c, msgs[0].Messages[0].ID)
	}
}

func testNextCancel(t *testing.T, e *env) {
	// A poll far longer than the test's wait: Next must not sit it out.
	client := e.newClient()
	reading := make(chan struct{}, 1)
	client.AddHook(onCommand{name: "xreadgroup", seen: reading})
	s := approvals.New(client, approvals.Options{Prefix: e.prefix, Clock: e.clock, Poll: time.Hour})

	c, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.Next(c, "exec-1", time.Minute)
		done <- err
	}()
	wait, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	select {
	case <-reading:
	case <-wait.Done():
		t.Fatal("Next never read the queue")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Next: got %v, want context.Canceled", err)
		}
	case <-wait.Done():
		t.Fatal("Next did not return after its context ended")
	}
}

func testOpen(t *testing.T, e *env) {
	e.mustCreate(e.request("R-OPEN01", "alice", "db-1", 1))
	e.clock.Advance(time.Second)
	e.mustCreate(e.request("R-OPEN02", "alice", "db-2", 1))
	e.mustVote("R-OPEN02", "bob", true) // approved is still open
	e.clock.Advance(time.Second)
	e.mustCreate(e.request("R-OPEN03", "alice", "db-3", 1))
	e.clock.Advance(time.Second)
	e.mustCreate(e.request("R-OPEN04", "alice", "db-4", 1))
	if _, err := e.store.Cancel(ctx(t), "R-OPEN03", "alice", bot.PlatformSlack); err != nil {
		t.Fatal(err)
	}
	e.mustCreate(e.request("R-OPEN05", "carol", "db-1", 1))

	open, err := e.store.Open(ctx(t), "alice")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range open {
		ids = append(ids, r.ID)
	}
	if want := []string{"R-OPEN04", "R-OPEN02", "R-OPEN01"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("Open(alice): got %v, want %v", ids, want)
	}
	if open, err := e.store.Open(ctx(t), "nobody"); err != nil || len(open) != 0 {
		t.Errorf("Open(nobody): got %v, %v; want none", open, err)
	}
}

func testSetRef(t *testing.T, e *env) {
	e.mustCreate(e.request("R-REF001", "alice", "prod-db", 1))
	slackCard, discordCard := bot.Ref(bot.RefCard, bot.PlatformSlack), bot.Ref(bot.RefCard, bot.PlatformDiscord)
	if err := e.store.SetRef(ctx(t), "R-REF001", slackCard, "C123/1700000000.0001"); err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetRef(ctx(t), "R-REF001", discordCard, "789/555"); err != nil {
		t.Fatal(err)
	}
	want := map[bot.RefKey]string{slackCard: "C123/1700000000.0001", discordCard: "789/555"}
	if got := e.mustGet("R-REF001").Refs; !reflect.DeepEqual(got, want) {
		t.Errorf("refs: got %v, want %v", got, want)
	}
	wantError(t, e.store.SetRef(ctx(t), "R-NOSUCH", slackCard, "x"), bot.ENOTFOUND)
}

func testAuditLog(t *testing.T, e *env) {
	start := msTime(e.clock.Now())
	e.mustCreate(e.request("R-AUD001", "alice", "db-1", 1))
	e.clock.Advance(time.Minute)
	middle := msTime(e.clock.Now())
	e.mustCreate(e.request("R-AUD002", "carol", "db-2", 1))
	e.mustVote("R-AUD001", "bob", true)
	c := e.mustNext(e.store, "exec", time.Minute)
	e.clock.Advance(time.Minute)
	if _, err := e.store.Finish(ctx(t), c, bot.StateSucceeded, "reset app_user"); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Audit(ctx(t), bot.Event{Kind: "delivered", RequestID: "R-AUD001", Actor: "alice", Platform: bot.PlatformSlack, Detail: "ephemeral message"}); err != nil {
		t.Fatal(err)
	}
	end := msTime(e.clock.Now())

	type line struct {
		kind     bot.EventKind
		actor    string
		platform bot.Platform
		at       time.Time
	}
	want := []line{
		{"requested", "alice", bot.PlatformSlack, start},
		{"voted", "bob", bot.PlatformDiscord, middle},
		{"approved", "bob", bot.PlatformDiscord, middle},
		{"executing", "system", "", middle},
		{"succeeded", "system", "", end},
		{"delivered", "alice", bot.PlatformSlack, end},
	}
	var got []line
	for _, ev := range e.events("R-AUD001") {
		if ev.RequestID != "R-AUD001" || ev.ID == "" {
			t.Errorf("event %+v: want request R-AUD001 and a stream ID", ev)
		}
		got = append(got, line{ev.Kind, ev.Actor, ev.Platform, ev.Time})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("AuditLog(R-AUD001):\ngot  %v\nwant %v", got, want)
	}

	all, err := e.store.AuditLog(ctx(t), bot.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(want)+1 {
		t.Errorf("AuditLog(all): got %d events (%s), want %d", len(all), kinds(all), len(want)+1)
	}
	since, err := e.store.AuditLog(ctx(t), bot.AuditQuery{Since: middle})
	if err != nil {
		t.Fatal(err)
	}
	if len(since) != len(want) || since[0].RequestID != "R-AUD002" || since[0].Kind != "requested" {
		t.Errorf("AuditLog(since the middle): got %s, want %d events starting with R-AUD002 requested", kinds(since), len(want))
	}
	for _, ev := range since {
		if ev.Time.Before(middle) {
			t.Errorf("AuditLog(since %v): got an event of %v", middle, ev.Time)
		}
	}
	late, err := e.store.AuditLog(ctx(t), bot.AuditQuery{RequestID: "R-AUD001", Since: end})
	if err != nil || len(late) != 2 {
		t.Errorf("AuditLog(R-AUD001 since the end): got %s, %v; want succeeded and delivered", kinds(late), err)
	}

	// An event told its time keeps it.
	if err := e.store.Audit(ctx(t), bot.Event{Time: start, Kind: "delivery_failed", RequestID: "R-AUD002", Actor: "carol"}); err != nil {
		t.Fatal(err)
	}
	evs := e.events("R-AUD002")
	if last := evs[len(evs)-1]; last.Kind != "delivery_failed" || !last.Time.Equal(start) {
		t.Errorf("last event of R-AUD002: got %+v, want delivery_failed at %v", last, start)
	}
}

func testConcurrentVotes(t *testing.T, e *env) {
	e.mustCreate(e.request("R-RACE01", "alice", "prod-db", 2))
	const voters = 50
	type result struct {
		r   bot.Request
		err error
	}
	results := make([]result, voters)
	stores := []*approvals.Store{e.store, e.newStore(), e.newStore()}
	var wg sync.WaitGroup
	for i := range voters {
		s := stores[i%len(stores)]
		wg.Go(func() {
			v := bot.Vote{Person: fmt.Sprintf("approver-%d", i%10), Platform: bot.PlatformSlack, Approve: true}
			results[i].r, results[i].err = s.Vote(ctx(t), "R-RACE01", v)
		})
	}
	wg.Wait()

	accepted, approvedNow := 0, 0
	for _, res := range results {
		switch code := bot.ErrorCode(res.err); code {
		case "":
			accepted++
			if res.r.State == bot.StateApproved {
				approvedNow++
			}
		case bot.EFORBIDDEN, bot.ECONFLICT:
		default:
			t.Errorf("vote: got %v, want success, forbidden or conflict", res.err)
		}
	}
	if accepted != 2 || approvedNow != 1 {
		t.Errorf("votes: got %d accepted, %d approving; want 2 and 1", accepted, approvedNow)
	}
	if n := e.raw.XLen(ctx(t), e.key("queue")).Val(); n != 1 {
		t.Errorf("queue entries: got %d, want 1", n)
	}
	evs := e.events("R-RACE01")
	approvals := 0
	for _, ev := range evs {
		if ev.Kind == "approved" {
			approvals++
		}
	}
	if approvals != 1 {
		t.Errorf("approved events: got %d, want 1", approvals)
	}
	if got := e.mustGet("R-RACE01"); got.State != bot.StateApproved || len(got.Votes) != 2 {
		t.Errorf("request: got %s with %d votes, want approved with 2", got.State, len(got.Votes))
	}
}

func testConcurrentNext(t *testing.T, e *env) {
	const requests, processes, perProcess = 20, 4, 2
	for i := range requests {
		e.approved(fmt.Sprintf("R-Q%05d", i), fmt.Sprintf("p%d", i))
	}
	run, stop := context.WithTimeout(context.Background(), 20*time.Second)
	defer stop()
	claims := make(chan bot.Claim, requests*2)
	var wg sync.WaitGroup
	for p := range processes {
		s := e.newStore()
		for w := range perProcess {
			wg.Go(func() {
				for {
					c, err := s.Next(run, fmt.Sprintf("exec-%d-%d", p, w), time.Minute)
					if err != nil {
						return
					}
					claims <- c
					if _, err := s.Finish(run, c, bot.StateSucceeded, "reset"); err != nil && run.Err() == nil {
						t.Errorf("Finish(%s): %v", c.Request.ID, err)
					}
				}
			})
		}
	}
	seen := map[string]int{}
	for len(seen) < requests {
		select {
		case c := <-claims:
			seen[c.Request.ID]++
			if c.Stale {
				t.Errorf("claim of %s is stale, want fresh", c.Request.ID)
			}
		case <-run.Done():
			t.Fatalf("claimed %d of %d requests before the deadline", len(seen), requests)
		}
	}
	stop()
	wg.Wait()
	close(claims)
	for c := range claims {
		seen[c.Request.ID]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s claimed %d times, want 1", id, n)
		}
	}
}
