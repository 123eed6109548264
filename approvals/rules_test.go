package approvals_test

import (
	"reflect"
	"strings"
	"sync"
	"testing"

	"resetbot/approvals"
	"resetbot/bot"
)

// TestStoreRules is the conformance suite of approval rules (a request's
// Rules, decided by the vote script), run against the real redis-server and
// against miniredis.
func TestStoreRules(t *testing.T) {
	runSuite(t, servers(), []suiteCase{
		{"RulesRecordedAndReadBack", testRulesStored},
		{"InvalidRulesRefused", testRulesInvalid},
		{"EveryRuleMustHold", testRulesAllHold},
		{"PersonInSeveralRulesCountsOnce", testRulesSeveralGroups},
		{"LaterApprovalRematchesEarlier", testRulesRematch},
		{"SamePersonForTwoRulesRefusedTwice", testRulesSamePersonTwice},
		{"RequesterInRuleNeverCounts", testRulesRequester},
		{"VoterInNoRuleRefused", testRulesOutsider},
		{"DiscordRoleAdmits", testRulesRole},
		{"DenyByRuleVoterEnds", testRulesDeny},
		{"RequestWithoutRulesAsBefore", testRulesLegacy},
		{"ConcurrentVotesTwoRulesApproveOnce", testRulesConcurrent},
	})
}

// ruled is a request of alice for prod-db that must satisfy rules.
func (e *env) ruled(id string, rules ...bot.RequestRule) bot.Request {
	e.t.Helper()
	req := e.request(id, "alice", "prod-db", 1)
	req.Rules = rules
	return e.mustCreate(req)
}

func rule(name string, count int, people ...string) bot.RequestRule {
	return bot.RequestRule{Name: name, Count: count, People: append([]string{}, people...)}
}

// wantProgress checks r's progress as status shows it.
func wantProgress(t *testing.T, r bot.Request, want string) {
	t.Helper()
	if got := bot.ProgressText(r.Progress()); got != want {
		t.Errorf("%s progress: got %q, want %q", r.ID, got, want)
	}
}

func testRulesStored(t *testing.T, e *env) {
	rules := []bot.RequestRule{
		rule("db-approvers", 1, "bob", "carol"),
		{Name: "security", Count: 2, People: []string{"dave", "erin", "frank"}, Roles: []string{"role-sec"}},
	}
	got := e.ruled("R-RULES1", rules...)
	if !reflect.DeepEqual(got.Rules, rules) {
		t.Errorf("Create's rules: got %+v, want %+v", got.Rules, rules)
	}
	if got.Approvals != 3 {
		t.Errorf("Create's approvals: got %d, want 3 (the rules' counts)", got.Approvals)
	}
	if got := e.mustGet("R-RULES1"); !reflect.DeepEqual(got.Rules, rules) || got.Approvals != 3 {
		t.Errorf("Get: got rules %+v, approvals %d; want %+v, 3", got.Rules, got.Approvals, rules)
	}
	wantProgress(t, got, "db-approvers 0/1 · security 0/2")
}

func testRulesInvalid(t *testing.T, e *env) {
	for _, tc := range []struct {
		name string
		rule bot.RequestRule
	}{
		{"CountZero", rule("db", 0, "bob")},
		{"NoName", rule("", 1, "bob")},
		{"TabInName", rule("db\tx", 1, "bob")},
		{"LineBreakInPerson", rule("db", 1, "bob\ncarol")},
		{"EmptyPerson", rule("db", 1, "")},
		{"EmptyRole", bot.RequestRule{Name: "db", Count: 1, People: []string{}, Roles: []string{""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := e.request("R-BADRUL", "alice", "prod-db", 1)
			req.Rules = []bot.RequestRule{tc.rule}
			_, err := e.store.Create(ctx(t), req, bot.Limit{})
			wantError(t, err, bot.EINVALID)
			if n := e.raw.Exists(ctx(t), e.key("req:R-BADRUL")).Val(); n != 0 {
				t.Errorf("a refused request was stored")
			}
		})
	}
}

func testRulesAllHold(t *testing.T, e *env) {
	e.ruled("R-ALLHLD", rule("db-approvers", 1, "bob", "carol"), rule("security", 1, "dave"))
	r := e.mustVote("R-ALLHLD", "bob", true)
	if r.State != bot.StatePending {
		t.Fatalf("after bob: got %s, want pending (security has no approval)", r.State)
	}
	if v, _ := voteOf(r, "bob"); !reflect.DeepEqual(v.Rules, []int{0}) {
		t.Errorf("bob's rules: got %v, want [0]", v.Rules)
	}
	wantProgress(t, r, "db-approvers 1/1 · security 0/1")
	r = e.mustVote("R-ALLHLD", "carol", true)
	if r.State != bot.StatePending {
		t.Fatalf("after carol: got %s, want pending (a second db approval satisfies no other rule)", r.State)
	}
	wantProgress(t, r, "db-approvers 1/1 · security 0/1")
	r = e.mustVote("R-ALLHLD", "dave", true)
	if r.State != bot.StateApproved {
		t.Fatalf("after dave: got %s, want approved", r.State)
	}
	wantProgress(t, r, "db-approvers 1/1 · security 1/1")
	ev, ok := findEvent(e.events("R-ALLHLD"), bot.EventApproved, "dave")
	if !ok || ev.Detail != "2 of 2 approvals: db-approvers 1/1 · security 1/1" {
		t.Errorf("approved event: got %+v (%v), want dave's saying each rule's progress", ev, ok)
	}
	if n := e.raw.XLen(ctx(t), e.key("queue")).Val(); n != 1 {
		t.Errorf("queue entries: got %d, want 1", n)
	}
}

func testRulesSeveralGroups(t *testing.T, e *env) {
	// bob is in both rules' groups: his approval counts toward one only.
	e.ruled("R-SEVRL1", rule("db-approvers", 1, "bob", "carol"), rule("security", 1, "bob", "dave"))
	r := e.mustVote("R-SEVRL1", "bob", true)
	if r.State != bot.StatePending {
		t.Fatalf("after bob alone: got %s, want pending", r.State)
	}
	if v, _ := voteOf(r, "bob"); !reflect.DeepEqual(v.Rules, []int{0, 1}) {
		t.Errorf("bob's rules: got %v, want [0 1]", v.Rules)
	}
	wantProgress(t, r, "db-approvers 1/1 · security 0/1")
	if r := e.mustVote("R-SEVRL1", "dave", true); r.State != bot.StateApproved {
		t.Fatalf("after dave: got %s, want approved", r.State)
	}
}

func testRulesRematch(t *testing.T, e *env) {
	// bob counts first toward db-approvers; carol can count toward nothing
	// else, so bob must move to security for both rules to hold.
	e.ruled("R-REMAT1", rule("db-approvers", 1, "bob", "carol"), rule("security", 1, "bob", "erin"))
	e.mustVote("R-REMAT1", "bob", true)
	r := e.mustVote("R-REMAT1", "carol", true)
	if r.State != bot.StateApproved {
		t.Fatalf("after bob and carol: got %s, want approved (carol for db-approvers, bob for security)", r.State)
	}
	wantProgress(t, r, "db-approvers 1/1 · security 1/1")

	// A longer path: three rules, each new approval moves two earlier ones.
	req := e.request("R-REMAT2", "alice", "other-db", 1)
	req.Rules = []bot.RequestRule{rule("a", 1, "p1", "p2"), rule("b", 1, "p1", "p3"), rule("c", 1, "p2", "p3")}
	e.mustCreate(req)
	for _, p := range []string{"p1", "p2"} {
		if r := e.mustVote("R-REMAT2", p, true); r.State != bot.StatePending {
			t.Fatalf("after %s: got %s, want pending", p, r.State)
		}
	}
	if r := e.mustVote("R-REMAT2", "p3", true); r.State != bot.StateApproved {
		t.Fatalf("after p1, p2, p3: got %s, want approved", r.State)
	}
}

func testRulesSamePersonTwice(t *testing.T, e *env) {
	e.ruled("R-TWICE1", rule("db-approvers", 1, "bob"), rule("security", 1, "bob"))
	r := e.mustVote("R-TWICE1", "bob", true)
	if r.State != bot.StatePending {
		t.Fatalf("after bob: got %s, want pending (one approval, one rule)", r.State)
	}
	wantProgress(t, r, "db-approvers 1/1 · security 0/1")
	_, err := e.store.Vote(ctx(t), "R-TWICE1", bot.Vote{Person: "bob", Platform: bot.PlatformSlack, Approve: true})
	if be := wantError(t, err, bot.EFORBIDDEN); !strings.Contains(be.Message, "already voted") {
		t.Errorf("bob's second approval: got %q, want it to say he already voted", be.Message)
	}
	if got := e.mustGet("R-TWICE1"); got.State != bot.StatePending || len(got.Votes) != 1 {
		t.Errorf("after the refusal: got %s with %d votes, want pending with 1", got.State, len(got.Votes))
	}
}

func testRulesRequester(t *testing.T, e *env) {
	// Even a request whose rule names its requester never counts them.
	e.ruled("R-SELF01", rule("db-approvers", 1, "alice", "bob"))
	for _, approve := range []bool{true, false} {
		_, err := e.store.Vote(ctx(t), "R-SELF01", bot.Vote{Person: "alice", Platform: bot.PlatformDiscord, Approve: approve})
		if be := wantError(t, err, bot.EFORBIDDEN); !strings.Contains(be.Message, "your own request") {
			t.Errorf("alice's vote (approve %v): got %q, want it to say it is her own", approve, be.Message)
		}
	}
	if got := e.mustGet("R-SELF01"); got.State != bot.StatePending || len(got.Votes) != 0 {
		t.Errorf("after alice's votes: got %s with %d votes, want pending with none", got.State, len(got.Votes))
	}
	if r := e.mustVote("R-SELF01", "bob", true); r.State != bot.StateApproved {
		t.Errorf("after bob: got %s, want approved", r.State)
	}
}

func testRulesOutsider(t *testing.T, e *env) {
	req := e.ruled("R-OUTSD1", rule("db-approvers", 1, "bob"), rule("security", 2, "dave", "erin"))
	want := bot.NotApprover(req).Message
	if want != "you are not an approver of prod-db: it needs 1 from db-approvers and 2 from security" {
		t.Errorf("bot.NotApprover: got %q", want)
	}
	for _, approve := range []bool{true, false} {
		_, err := e.store.Vote(ctx(t), "R-OUTSD1", bot.Vote{Person: "mallory", Platform: bot.PlatformSlack, Approve: approve})
		if be := wantError(t, err, bot.EFORBIDDEN); be.Message != want {
			t.Errorf("mallory (approve %v): got %q, want %q", approve, be.Message, want)
		}
	}
	if got := e.mustGet("R-OUTSD1"); got.State != bot.StatePending || len(got.Votes) != 0 {
		t.Errorf("after mallory: got %s with %d votes, want pending with none", got.State, len(got.Votes))
	}
	if ev, ok := findEvent(e.events("R-OUTSD1"), bot.EventRefused, "mallory"); !ok || ev.Detail != want {
		t.Errorf("mallory's refusal in the audit log: got %+v (%v)", ev, ok)
	}
}

func testRulesRole(t *testing.T, e *env) {
	e.ruled("R-ROLE01", rule("db-approvers", 1, "bob"),
		bot.RequestRule{Name: "security", Count: 1, People: []string{}, Roles: []string{"role-sec"}})
	_, err := e.store.Vote(ctx(t), "R-ROLE01", bot.Vote{Person: "rita", Platform: bot.PlatformDiscord, Approve: true,
		Roles: []string{"role-other"}})
	wantError(t, err, bot.EFORBIDDEN)
	r, err := e.store.Vote(ctx(t), "R-ROLE01", bot.Vote{Person: "rita", Platform: bot.PlatformDiscord, Approve: true,
		Roles: []string{"role-other", "role-sec"}})
	if err != nil {
		t.Fatalf("rita with the role: %v", err)
	}
	if v, _ := voteOf(r, "rita"); r.State != bot.StatePending || !reflect.DeepEqual(v.Rules, []int{1}) {
		t.Errorf("after rita: got %s, her rules %v; want pending, [1]", r.State, v.Rules)
	}
	wantProgress(t, r, "db-approvers 0/1 · security 1/1")
	if r := e.mustVote("R-ROLE01", "bob", true); r.State != bot.StateApproved {
		t.Errorf("after bob: got %s, want approved", r.State)
	}
}

func testRulesDeny(t *testing.T, e *env) {
	e.ruled("R-DENY01", rule("db-approvers", 1, "bob"), rule("security", 1, "dave"))
	e.mustVote("R-DENY01", "bob", true)
	if r := e.mustVote("R-DENY01", "dave", false); r.State != bot.StateDenied {
		t.Errorf("after dave's deny: got %s, want denied", r.State)
	}
}

func testRulesLegacy(t *testing.T, e *env) {
	// As an earlier version stored it: no rules field; anyone counts.
	e.mustCreate(e.request("R-LEGCY1", "alice", "prod-db", 2))
	if n := e.raw.HExists(ctx(t), e.key("req:R-LEGCY1"), "rules").Val(); n {
		t.Fatal("a request without rules has a rules field")
	}
	r := e.mustVote("R-LEGCY1", "anyone", true)
	if r.State != bot.StatePending || r.Rules != nil {
		t.Fatalf("after one approval: got %s, rules %+v; want pending, none", r.State, r.Rules)
	}
	if v, _ := voteOf(r, "anyone"); v.Rules != nil {
		t.Errorf("an approval of a request without rules: got rules %v, want none", v.Rules)
	}
	wantProgress(t, r, "approvals 1/2")
	r = e.mustVote("R-LEGCY1", "someone", true)
	if r.State != bot.StateApproved {
		t.Fatalf("after two approvals: got %s, want approved", r.State)
	}
	wantProgress(t, r, "approvals 2/2")
	if ev, ok := findEvent(e.events("R-LEGCY1"), bot.EventApproved, "someone"); !ok || ev.Detail != "2 of 2 approvals" {
		t.Errorf("approved event: got %+v (%v), want %q", ev, ok, "2 of 2 approvals")
	}
}

func testRulesConcurrent(t *testing.T, e *env) {
	e.ruled("R-RACE02", rule("db-approvers", 1, "db-0", "db-1", "db-2", "both"),
		rule("security", 2, "sec-0", "sec-1", "sec-2", "both"))
	voters := []string{"db-0", "db-1", "db-2", "both", "sec-0", "sec-1", "sec-2", "mallory"}
	const clicks = 50
	stores := []*approvals.Store{e.store, e.newStore(), e.newStore()}
	results := make([]error, clicks)
	states := make([]bot.State, clicks)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range clicks {
		wg.Go(func() {
			<-start
			v := bot.Vote{Person: voters[i%len(voters)], Platform: bot.PlatformSlack, Approve: true}
			r, err := stores[i%len(stores)].Vote(ctx(t), "R-RACE02", v)
			results[i], states[i] = err, r.State
		})
	}
	close(start)
	wg.Wait()
	accepted, approvedNow := 0, 0
	for i, err := range results {
		switch bot.ErrorCode(err) {
		case "":
			accepted++
			if states[i] == bot.StateApproved {
				approvedNow++
			}
		case bot.EFORBIDDEN, bot.ECONFLICT:
		default:
			t.Errorf("vote %d: got %v, want success, forbidden or conflict", i, err)
		}
	}
	got := e.mustGet("R-RACE02")
	if approvedNow != 1 || got.State != bot.StateApproved || accepted != len(got.Votes) || accepted < 3 {
		t.Errorf("got %d accepted, %d approving, %s with %d votes; want one approving, approved, the accepted votes stored (3 at least)",
			accepted, approvedNow, got.State, len(got.Votes))
	}
	if !bot.Satisfied(got.Progress()) {
		t.Errorf("approved request's progress: %s, want every rule held", bot.ProgressText(got.Progress()))
	}
	// The approving vote was the first after which the rules held.
	if !bot.Satisfied((bot.Request{Rules: got.Rules, Votes: got.Votes}).Progress()) {
		t.Error("the stored votes do not satisfy the rules")
	}
	before := got
	before.Votes = got.Votes[:len(got.Votes)-1]
	if bot.Satisfied(before.Progress()) {
		t.Errorf("the votes before the last already satisfied the rules: %s", bot.ProgressText(before.Progress()))
	}
	if n := e.raw.XLen(ctx(t), e.key("queue")).Val(); n != 1 {
		t.Errorf("queue entries: got %d, want 1", n)
	}
	approvedEvents := 0
	for _, ev := range e.events("R-RACE02") {
		if ev.Kind == bot.EventApproved {
			approvedEvents++
		}
	}
	if approvedEvents != 1 {
		t.Errorf("approved events: got %d, want 1", approvedEvents)
	}
	if _, voted := voteOf(got, "mallory"); voted {
		t.Error("mallory, in no rule, has a vote")
	}
}

// voteOf returns person's vote on r, if any.
func voteOf(r bot.Request, person string) (bot.Vote, bool) {
	for _, v := range r.Votes {
		if v.Person == person {
			return v, true
		}
	}
	return bot.Vote{}, false
}
