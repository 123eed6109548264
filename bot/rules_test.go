package bot_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"resetbot/bot"
	"resetbot/internal/redistest"
	"resetbot/internal/testkit"
)

func TestAssign(t *testing.T) {
	for _, tc := range []struct {
		name     string
		counts   []int
		eligible [][]int
		want     []int
	}{
		{"NoVoters", []int{1, 1}, nil, []int{0, 0}},
		{"OnePerRule", []int{1, 1}, [][]int{{0}, {1}}, []int{1, 1}},
		{"TwoForOneRuleCountOnce", []int{1, 1}, [][]int{{0}, {0}}, []int{1, 0}},
		{"OnePersonTwoRulesCountsOnce", []int{1, 1}, [][]int{{0, 1}}, []int{1, 0}},
		{"LaterVoterMovesEarlier", []int{1, 1}, [][]int{{0, 1}, {0}}, []int{1, 1}},
		{"ChainOfMoves", []int{1, 1, 1}, [][]int{{0, 1}, {0, 2}, {1, 2}}, []int{1, 1, 1}},
		{"CountTwo", []int{2, 1}, [][]int{{0, 1}, {0, 1}, {0}}, []int{2, 1}},
		{"NoRuleForVoter", []int{1}, [][]int{{}, {3}}, []int{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := bot.Assign(tc.counts, tc.eligible); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Assign(%v, %v) = %v, want %v", tc.counts, tc.eligible, got, tc.want)
			}
		})
	}
}

func TestRequestRules(t *testing.T) {
	people := []bot.Person{
		{Name: "ivy", Groups: []string{"eng", "db-approvers"}},
		{Name: "dana", Groups: []string{"db-approvers"}},
		{Name: "pat", Groups: []string{"db-approvers", "security"}},
		{Name: "sean", Groups: []string{"security"}},
	}
	acct := bot.Account{Name: "vault", Rules: []bot.Rule{{From: []string{"db-approvers"}, Count: 1}, {From: []string{"security", "ivy"}, Count: 2}},
		ApproverRoles: []string{"role-dba"}}
	got := bot.RequestRules(acct, people, "ivy")
	want := []bot.RequestRule{
		{Name: "db-approvers", Count: 1, People: []string{"dana", "pat"}},
		{Name: "security+ivy", Count: 2, People: []string{"pat", "sean"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rules of ivy's request:\ngot  %+v\nwant %+v (never ivy; roles only for the shorthand)", got, want)
	}
	short := bot.Account{Name: "prod-db", Approvers: []string{"db-approvers"}, Approvals: 2, ApproverRoles: []string{"role-dba"}}
	got = bot.RequestRules(short, people, "dana")
	want = []bot.RequestRule{{Name: "db-approvers", Count: 2, People: []string{"ivy", "pat"}, Roles: []string{"role-dba"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rules of the shorthand:\ngot  %+v\nwant %+v", got, want)
	}
}

func TestRequestProgress(t *testing.T) {
	at := time.Date(2030, 1, 2, 9, 30, 0, 0, time.UTC)
	req := bot.Request{ID: "R-AAAAAA", Account: "vault", Users: []string{"app_user"}, Requester: "ivy", State: bot.StatePending,
		ExpiresAt: at.Add(30 * time.Minute), Approvals: 2,
		Rules: []bot.RequestRule{
			{Name: "db-approvers", Count: 1, People: []string{"dana", "pat"}},
			{Name: "security", Count: 1, People: []string{"pat", "sean"}},
		}}
	if got, want := bot.Summary(req), "R-AAAAAA vault (app_user) by ivy: pending, db-approvers 0/1 · security 0/1, expires 10:00 UTC; may still approve: dana, pat, sean"; got != want {
		t.Errorf("Summary, no votes:\ngot  %q\nwant %q", got, want)
	}
	req.Votes = []bot.Vote{{Person: "pat", Approve: true, Rules: []int{0, 1}}}
	if got, want := bot.Summary(req), "R-AAAAAA vault (app_user) by ivy: pending, db-approvers 1/1 · security 0/1, expires 10:00 UTC; may still approve: dana, sean"; got != want {
		// dana may still approve: pat's approval would move to security.
		t.Errorf("Summary, pat approved:\ngot  %q\nwant %q", got, want)
	}
	want := []bot.RuleProgress{{Name: "db-approvers", Have: 1, Need: 1}, {Name: "security", Have: 0, Need: 1}}
	if got := req.Progress(); !reflect.DeepEqual(got, want) {
		t.Errorf("Progress: got %+v, want %+v", got, want)
	}
	// dana can count toward db-approvers only: pat moves to security.
	req.Votes = append(req.Votes, bot.Vote{Person: "dana", Approve: true, Rules: []int{0}})
	if got := bot.ProgressText(req.Progress()); got != "db-approvers 1/1 · security 1/1" || !bot.Satisfied(req.Progress()) {
		t.Errorf("after dana: got %q, want every rule held", got)
	}
	// Without the store's Rules on the votes (a request made by hand), the
	// rules' People decide.
	req.Votes = []bot.Vote{{Person: "pat", Approve: true}, {Person: "dana", Approve: true}}
	if got := bot.ProgressText(req.Progress()); got != "db-approvers 1/1 · security 1/1" {
		t.Errorf("votes without Rules: got %q", got)
	}
	// A request stored without rules: one rule of its approvals.
	old := bot.Request{ID: "R-BBBBBB", Account: "prod-db", Users: []string{"app_user"}, Requester: "alice", State: bot.StatePending,
		ExpiresAt: at.Add(30 * time.Minute), Approvals: 2, Votes: []bot.Vote{{Person: "bob", Approve: true}}}
	if got := bot.ProgressText(old.Progress()); got != "approvals 1/2" {
		t.Errorf("request without rules: got %q, want %q", got, "approvals 1/2")
	}
	if got, want := bot.Summary(old), "R-BBBBBB prod-db (app_user) by alice: pending, 1 of 2 approvals, expires 10:00 UTC"; got != want {
		t.Errorf("Summary without rules:\ngot  %q\nwant %q", got, want)
	}
}

// withRules adds an account "vault" of two rules (one from db-approvers, one
// from security) and its people: ivy (eng and db-approvers, asks), dana
// (db-approvers), pat (both groups), sean and sue (security), and the
// approvers dba-0..dba-9 and sec-0..sec-9.
func withRules(o *bot.Options) {
	o.People = append(o.People, rulesPeople()...)
	o.Accounts = append(o.Accounts, bot.Account{
		Name: "vault", Provider: "test.tdsql", Region: "ap-guangzhou",
		Users: []string{"app_user"}, Settings: testkit.Resource("instance_id=tdsql3-vault"),
		Requesters: []string{"eng"},
		Rules:      []bot.Rule{{From: []string{"db-approvers"}, Count: 1}, {From: []string{"security"}, Count: 1}},
		TTL:        30 * time.Minute,
	})
}

func rulesPeople() []bot.Person {
	out := []bot.Person{
		{Name: "ivy", Slack: "U0IVY", Discord: "5001", Groups: []string{"eng", "db-approvers"}},
		{Name: "dana", Slack: "U0DANA", Discord: "5002", Groups: []string{"db-approvers"}},
		{Name: "pat", Slack: "U0PAT", Discord: "5003", Groups: []string{"db-approvers", "security"}},
		{Name: "sean", Slack: "U0SEAN", Discord: "5004", Groups: []string{"security"}},
		{Name: "sue", Slack: "U0SUE", Discord: "5005", Groups: []string{"security"}},
	}
	for i := range 10 {
		out = append(out,
			bot.Person{Name: fmt.Sprintf("dba-%d", i), Slack: fmt.Sprintf("U0DBA%d", i), Discord: fmt.Sprintf("60%02d", i), Groups: []string{"db-approvers"}},
			bot.Person{Name: fmt.Sprintf("sec-%d", i), Slack: fmt.Sprintf("U0SEC%d", i), Discord: fmt.Sprintf("70%02d", i), Groups: []string{"security"}})
	}
	return out
}

// asRuled is the actor of one of rulesPeople, or of people.
func asRuled(name string, pl bot.Platform) bot.Actor {
	for _, p := range rulesPeople() {
		if p.Name == name {
			id := map[bot.Platform]string{bot.PlatformSlack: p.Slack, bot.PlatformDiscord: p.Discord, bot.PlatformConsole: p.Name}[pl]
			return bot.Actor{Platform: pl, UserID: id}
		}
	}
	return as(name, pl)
}

const vaultNeeds = "you are not an approver of vault: it needs 1 from db-approvers and 1 from security"

func TestServiceRules(t *testing.T) {
	t.Run("AskRecordsRulesWithoutRequester", func(t *testing.T) {
		e := newEnv(t, withRules)
		r := e.mustDo(asRuled("ivy", bot.PlatformSlack), "vault locked out")
		if !strings.Contains(r.Text, "Waiting for 1 approval from db-approvers and 1 from security; expires") {
			t.Errorf("ask's reply: %q, want it to say what each rule needs", r.Text)
		}
		req := e.get(r.Request.ID)
		if len(req.Rules) != 2 || req.Approvals != 2 {
			t.Fatalf("recorded: %d rules, approvals %d; want 2, 2", len(req.Rules), req.Approvals)
		}
		for _, rule := range req.Rules {
			for _, p := range rule.People {
				if p == "ivy" {
					t.Errorf("rule %s admits ivy, the requester", rule.Name)
				}
			}
		}
		if got := req.Rules[0].People; !reflect.DeepEqual(got[:2], []string{"dana", "pat"}) {
			t.Errorf("db-approvers' people: got %v, want dana, pat first, in config's order", got)
		}
		// ivy is in db-approvers: her own vote is refused as her own.
		refused(t, e.do(asRuled("ivy", bot.PlatformDiscord), "approve "+req.ID), bot.EFORBIDDEN, "your own request")
		if err := e.svc.CheckVote(e.ctx, asRuled("ivy", bot.PlatformDiscord), req.ID); bot.ErrorCode(err) != bot.EFORBIDDEN ||
			!strings.Contains(bot.ErrorMessage(err), "your own request") {
			t.Errorf("CheckVote of ivy: got %v, want her own request refused", err)
		}
	})

	t.Run("EveryRuleOnceWithRematch", func(t *testing.T) {
		e := newEnv(t, withRules)
		e.runExecutor(e.svc, "only")
		id := e.ask(asRuled("ivy", bot.PlatformSlack), "vault locked out")
		e.mustDo(asRuled("pat", bot.PlatformSlack), "approve "+id)
		e.wantState(id, bot.StatePending)
		e.wantTold("ivy", id, id+": pat approved (db-approvers 1/1 · security 0/1).")
		status := e.mustDo(asRuled("ivy", bot.PlatformSlack), "status "+id)
		// Everyone of db-approvers too: pat's approval can move to security.
		if want := "pending, db-approvers 1/1 · security 0/1, expires 10:00 UTC; may still approve: dana, dba-0, dba-1, dba-2, dba-3, dba-4, dba-5, dba-6, dba-7, dba-8, dba-9, sean, sue, sec-0"; !strings.Contains(status.Text, want) {
			t.Errorf("status: %q, want it to say %q", status.Text, want)
		}
		// dana counts toward db-approvers only: pat's approval moves to security.
		r := e.mustDo(asRuled("dana", bot.PlatformDiscord), "approve "+id)
		if r.Request.State != bot.StateApproved {
			t.Fatalf("after dana: got %s, want approved", r.Request.State)
		}
		e.wantTold("ivy", id, "approved by pat, dana")
		e.wantAudit(id, bot.EventApproved, "dana", "db-approvers 1/1 · security 1/1")
		e.waitOffer(id)
	})

	t.Run("VoterInNoRuleRefused", func(t *testing.T) {
		e := newEnv(t, withRules)
		id := e.ask(asRuled("ivy", bot.PlatformSlack), "vault locked out")
		for _, text := range []string{"approve " + id, "deny " + id + " no"} {
			r := e.do(as("bob", bot.PlatformSlack), text) // an approver of other accounts
			refused(t, r, bot.EFORBIDDEN, vaultNeeds)
		}
		if err := e.svc.CheckVote(e.ctx, as("bob", bot.PlatformSlack), id); bot.ErrorMessage(err) != vaultNeeds {
			t.Errorf("CheckVote of bob: got %v, want %q", err, vaultNeeds)
		}
		refused(t, e.do(as("bob", bot.PlatformSlack), "status "+id), bot.ENOTFOUND, id)
		e.wantAudit(id, bot.EventRefused, "bob", vaultNeeds)
		if req := e.wantState(id, bot.StatePending); len(req.Votes) != 0 {
			t.Errorf("votes: got %+v, want none", req.Votes)
		}
	})

	t.Run("SamePersonCannotFillTwoRules", func(t *testing.T) {
		e := newEnv(t, withRules)
		id := e.ask(asRuled("ivy", bot.PlatformSlack), "vault locked out")
		e.mustDo(asRuled("pat", bot.PlatformSlack), "approve "+id)
		refused(t, e.do(asRuled("pat", bot.PlatformDiscord), "approve "+id), bot.EFORBIDDEN, "already voted")
		e.mustDo(asRuled("dba-3", bot.PlatformSlack), "approve "+id) // pat moves to security
		e.wantState(id, bot.StateApproved)
	})

	t.Run("RulesAsTheyStoodAtTheAsk", func(t *testing.T) {
		e := newEnv(t, withRules)
		id := e.ask(asRuled("ivy", bot.PlatformSlack), "vault locked out")
		// Config changes: newbie joins security. The request's rules do not move.
		later, _ := e.newService(e.client, withRules, func(o *bot.Options) {
			o.People = append(o.People, bot.Person{Name: "newbie", Slack: "U0NEWBIE", Groups: []string{"security"}})
		})
		newbie := bot.Actor{Platform: bot.PlatformSlack, UserID: "U0NEWBIE"}
		if err := later.CheckVote(e.ctx, newbie, id); bot.ErrorMessage(err) != vaultNeeds {
			t.Errorf("CheckVote of newbie: got %v, want %q", err, vaultNeeds)
		}
		refused(t, later.HandleText(e.ctx, newbie, "approve "+id), bot.EFORBIDDEN, vaultNeeds)
		// A new request of the new config admits newbie.
		e.mustDo(asRuled("ivy", bot.PlatformSlack), "cancel "+id)
		r := later.HandleText(e.ctx, asRuled("ivy", bot.PlatformSlack), "vault again")
		if r.Err != nil {
			t.Fatalf("second ask: %v", r.Err)
		}
		if err := later.CheckVote(e.ctx, newbie, r.Request.ID); err != nil {
			t.Errorf("CheckVote of newbie on a request made after: got %v, want nil", err)
		}
	})

	t.Run("OldRequestWithoutRules", func(t *testing.T) {
		e := newEnv(t)
		e.runExecutor(e.svc, "only")
		// As the previous version stored it: no rules.
		now := e.clock.Now()
		old, err := e.store.Create(e.ctx, bot.Request{ID: "R-2KDAAA", Account: "hpc", Users: []string{"u1"}, Reason: "job",
			Requester: "alice", Platform: bot.PlatformSlack, Approvals: 2, ExpiresAt: now.Add(10 * time.Minute)}, bot.Limit{})
		if err != nil {
			t.Fatal(err)
		}
		if len(old.Rules) != 0 {
			t.Fatalf("rules: got %+v, want none", old.Rules)
		}
		refused(t, e.do(as("mallory", bot.PlatformSlack), "approve R-2KDAAA"), bot.EFORBIDDEN, "you are not an approver of hpc")
		e.mustDo(as("bob", bot.PlatformSlack), "approve R-2KDAAA")
		e.wantTold("alice", "R-2KDAAA", "R-2KDAAA: bob approved (approvals 1/2).")
		if r := e.mustDo(as("alice", bot.PlatformSlack), "status R-2KDAAA"); !strings.Contains(r.Text, "pending, 1 of 2 approvals, expires") {
			t.Errorf("status: %q, want the approvals counted", r.Text)
		}
		e.mustDo(as("carol", bot.PlatformDiscord), "approve R-2KDAAA")
		e.waitOffer("R-2KDAAA")
		e.wantAudit("R-2KDAAA", bot.EventApproved, "carol", "2 of 2 approvals")
	})

	t.Run("DiscordRoleOfTheShorthand", func(t *testing.T) {
		e := newEnv(t)
		id := e.ask(as("alice", bot.PlatformSlack), "prod-db locked out")
		if req := e.get(id); len(req.Rules) != 1 || !reflect.DeepEqual(req.Rules[0].Roles, []string{"role-dba"}) {
			t.Fatalf("rules: got %+v, want the shorthand's one rule with role-dba", req.Rules)
		}
		// The role counts from Discord only.
		rita := as("rita", bot.PlatformDiscord)
		rita.Roles = []string{"role-dba"}
		if err := e.svc.CheckVote(e.ctx, rita, id); err != nil {
			t.Errorf("CheckVote of rita by role: %v", err)
		}
		e.mustDo(rita, "approve "+id)
		e.wantState(id, bot.StateApproved)
	})
}

// TestServiceRulesExactlyOnce: 50 clicks from both rules' groups (and some
// from no rule) arrive at once at 3 replicas: the request is approved,
// queued, offered and announced once.
func TestServiceRulesExactlyOnce(t *testing.T) {
	e := newEnv(t, withRules)
	svcs := []*bot.Service{e.svc}
	for range 2 {
		client, _ := redistest.Client(t)
		svc, _ := e.newService(client, withRules)
		svcs = append(svcs, svc)
	}
	for i, svc := range svcs {
		e.runExecutor(svc, fmt.Sprintf("replica-%d", i))
	}
	id := e.ask(asRuled("ivy", bot.PlatformSlack), "vault locked out")

	voters := []string{"dba-0", "dba-1", "dba-2", "pat", "sec-0", "sec-1", "bob", "dba-3", "sec-2", "sue"}
	const clicks = 50
	start := make(chan struct{})
	replies := make([]bot.Reply, clicks)
	var wg sync.WaitGroup
	for i := range clicks {
		wg.Go(func() {
			pl := bot.PlatformSlack
			if i%2 == 1 {
				pl = bot.PlatformDiscord
			}
			<-start
			replies[i] = svcs[i%len(svcs)].HandleText(e.ctx, asRuled(voters[i%len(voters)], pl), "approve "+id)
		})
	}
	close(start)
	wg.Wait()

	accepted, approvedNow := 0, 0
	for _, r := range replies {
		switch bot.ErrorCode(r.Err) {
		case "":
			accepted++
			if r.Request.State == bot.StateApproved {
				approvedNow++
			}
		case bot.ECONFLICT, bot.EFORBIDDEN:
		default:
			t.Errorf("a click got %q (%v), want acceptance or a refusal", r.Text, r.Err)
		}
	}
	e.waitOffer(id)
	req := e.get(id)
	if approvedNow != 1 || accepted != len(req.Votes) || !bot.Satisfied(req.Progress()) {
		t.Errorf("got %d accepted, %d approving, %d votes stored, progress %s; want 1 approving, the accepted stored, every rule held",
			accepted, approvedNow, len(req.Votes), bot.ProgressText(req.Progress()))
	}
	if _, voted := req.VoteOf("bob"); voted {
		t.Error("bob, in no rule of vault, has a vote")
	}
	events, err := e.store.AuditLog(e.ctx, bot.AuditQuery{RequestID: id})
	if err != nil {
		t.Fatal(err)
	}
	approvedEvents := 0
	for _, ev := range events {
		if ev.Kind == bot.EventApproved {
			approvedEvents++
		}
	}
	if approvedEvents != 1 {
		t.Errorf("approved events: got %d, want 1", approvedEvents)
	}
	if got := e.chat.count("notify", func(s shown) bool { return strings.Contains(s.Text, "was approved by") }); got != 1 {
		t.Errorf("approval notices: got %d, want 1", got)
	}
	if got := e.chat.count("offer", nil); got != 1 {
		t.Errorf("offers: got %d, want 1", got)
	}
}

// TestMayStillApprove: who may still approve are the people whose approval
// would count, moving earlier approvals between rules where that helps.
func TestMayStillApprove(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rules []bot.RequestRule
		votes []bot.Vote
		want  []string
	}{
		{"NoVotes", []bot.RequestRule{{Name: "a", Count: 1, People: []string{"bob", "carol"}}, {Name: "b", Count: 1, People: []string{"dave"}}},
			nil, []string{"bob", "carol", "dave"}},
		{"FullRuleNotListed", []bot.RequestRule{{Name: "a", Count: 1, People: []string{"bob", "carol"}}, {Name: "b", Count: 1, People: []string{"dave"}}},
			[]bot.Vote{{Person: "bob", Approve: true, Rules: []int{0}}}, []string{"dave"}},
		{"ApprovalMovesToFreeRule", []bot.RequestRule{{Name: "a", Count: 1, People: []string{"bob", "carol"}}, {Name: "b", Count: 1, People: []string{"bob"}}},
			[]bot.Vote{{Person: "bob", Approve: true, Rules: []int{0, 1}}}, []string{"carol"}},
		{"DeniedIsNotListed", []bot.RequestRule{{Name: "a", Count: 2, People: []string{"bob", "carol", "dave"}}},
			[]bot.Vote{{Person: "carol", Approve: false}}, []string{"bob", "dave"}},
		{"RequesterNever", []bot.RequestRule{{Name: "a", Count: 1, People: []string{"ivy", "bob"}}},
			nil, []string{"bob"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := bot.Request{Requester: "ivy", State: bot.StatePending, Rules: tc.rules, Votes: tc.votes}
			if got := req.MayStillApprove(); !slices.Equal(got, tc.want) {
				t.Errorf("MayStillApprove = %v, want %v", got, tc.want)
			}
		})
	}
}
