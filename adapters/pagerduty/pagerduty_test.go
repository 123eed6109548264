package pagerduty_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"resetbot/adapters/pagerduty"
	"resetbot/adapters/pagerduty/pdtest"
	"resetbot/bot"
)

func TestCheck(t *testing.T) {
	withIncident := bot.OnCallPolicy{EscalationPolicy: "PPOLICY1", Levels: []int{1}, IncidentOn: []string{"PSERVICE1"}}
	alice := pdtest.OnCall{User: "PALICE1", EscalationPolicy: "PPOLICY1", Level: 1, Schedule: "PSCHED1"}
	bob2 := pdtest.OnCall{User: "PBOB1", EscalationPolicy: "PPOLICY1", Level: 2, Schedule: "PSCHED2"}
	tests := []struct {
		name      string
		oncalls   []pdtest.OnCall
		incidents []pdtest.Incident
		policy    bot.OnCallPolicy
		user      string
		want      bot.OnCallMatch
	}{
		{
			name:    "Matched",
			oncalls: []pdtest.OnCall{alice, bob2},
			policy:  policy1, user: "PALICE1",
			want: bot.OnCallMatch{OnCall: true, Schedule: "PSCHED1", Level: 1},
		},
		{
			name:    "MatchedWithIncident",
			oncalls: []pdtest.OnCall{alice},
			incidents: []pdtest.Incident{
				{ID: "PINC1", Number: 41, Status: pdtest.Triggered, Service: "PSERVICE1"},
				{ID: "PINC2", Number: 42, Status: pdtest.Triggered, Service: "PSERVICE1"},
			},
			policy: withIncident, user: "PALICE1",
			want: bot.OnCallMatch{OnCall: true, Schedule: "PSCHED1", Level: 1, Incident: "#42 PINC2"},
		},
		{
			name:    "MatchedWithoutSchedule",
			oncalls: []pdtest.OnCall{{User: "PALICE1", EscalationPolicy: "PPOLICY1", Level: 1}},
			policy:  policy1, user: "PALICE1",
			want: bot.OnCallMatch{OnCall: true, Level: 1},
		},
		{
			name:    "MatchedAtSecondOfTwoLevels",
			oncalls: []pdtest.OnCall{alice, bob2},
			policy:  bot.OnCallPolicy{EscalationPolicy: "PPOLICY1", Levels: []int{1, 2}}, user: "PBOB1",
			want: bot.OnCallMatch{OnCall: true, Schedule: "PSCHED2", Level: 2},
		},
		{
			name:    "NotOnCall",
			oncalls: []pdtest.OnCall{alice},
			policy:  policy1, user: "PCAROL1",
			want: bot.OnCallMatch{Why: "not on call for PPOLICY1 at level 1 now"},
		},
		{
			name:    "OnCallForAnotherPolicy",
			oncalls: []pdtest.OnCall{{User: "PCAROL1", EscalationPolicy: "POTHER", Level: 1}},
			policy:  policy1, user: "PCAROL1",
			want: bot.OnCallMatch{Why: "not on call for PPOLICY1 at level 1 now"},
		},
		{
			name:    "WrongLevel",
			oncalls: []pdtest.OnCall{alice, bob2},
			policy:  policy1, user: "PBOB1",
			want: bot.OnCallMatch{Why: "on call for PPOLICY1 at level 2 now, not at level 1"},
		},
		{
			name:    "NoIncident",
			oncalls: []pdtest.OnCall{alice},
			policy:  withIncident, user: "PALICE1",
			want: bot.OnCallMatch{Schedule: "PSCHED1", Level: 1, Why: "no triggered or acknowledged incident on PSERVICE1"},
		},
		{
			name:      "AcknowledgedIncidentCounts",
			oncalls:   []pdtest.OnCall{alice},
			incidents: []pdtest.Incident{{ID: "PINC7", Number: 7, Status: pdtest.Acknowledged, Service: "PSERVICE1"}},
			policy:    withIncident, user: "PALICE1",
			want: bot.OnCallMatch{OnCall: true, Schedule: "PSCHED1", Level: 1, Incident: "#7 PINC7"},
		},
		{
			name:      "ResolvedIncidentDoesNotCount",
			oncalls:   []pdtest.OnCall{alice},
			incidents: []pdtest.Incident{{ID: "PINC7", Number: 7, Status: pdtest.Resolved, Service: "PSERVICE1"}},
			policy:    withIncident, user: "PALICE1",
			want: bot.OnCallMatch{Schedule: "PSCHED1", Level: 1, Why: "no triggered or acknowledged incident on PSERVICE1"},
		},
		{
			name:      "IncidentOnAnotherServiceDoesNotCount",
			oncalls:   []pdtest.OnCall{alice},
			incidents: []pdtest.Incident{{ID: "PINC8", Number: 8, Status: pdtest.Triggered, Service: "PSERVICE2"}},
			policy:    withIncident, user: "PALICE1",
			want: bot.OnCallMatch{Schedule: "PSCHED1", Level: 1, Why: "no triggered or acknowledged incident on PSERVICE1"},
		},
		{
			name:    "ShiftNotStarted",
			oncalls: []pdtest.OnCall{{User: "PALICE1", EscalationPolicy: "PPOLICY1", Level: 1, Schedule: "PSCHED1", Start: time.Now().Add(time.Hour)}},
			policy:  policy1, user: "PALICE1",
			want: bot.OnCallMatch{Why: "not on call for PPOLICY1 at level 1 now"},
		},
		{
			name:    "ShiftEnded",
			oncalls: []pdtest.OnCall{{User: "PALICE1", EscalationPolicy: "PPOLICY1", Level: 1, Start: time.Now().Add(-2 * time.Hour), End: time.Now().Add(-time.Hour)}},
			policy:  policy1, user: "PALICE1",
			want: bot.OnCallMatch{Why: "not on call for PPOLICY1 at level 1 now"},
		},
		{
			// PagerDuty's users are matched by ID: the on-call entry's
			// summary or an email is not an ID.
			name:    "MatchedByIDNotEmail",
			oncalls: []pdtest.OnCall{alice},
			policy:  policy1, user: "alice@example.com",
			want: bot.OnCallMatch{Why: "not on call for PPOLICY1 at level 1 now"},
		},
		{
			name:    "NoUserID",
			oncalls: []pdtest.OnCall{alice},
			policy:  policy1, user: "",
			want: bot.OnCallMatch{Why: "no PagerDuty user ID is set for this person"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := pdtest.New(t, token)
			srv.SetOnCall(tt.oncalls...)
			srv.SetIncidents(tt.incidents...)
			got, err := MustNew(t, srv.URL).Check(ctx(t), tt.policy, tt.user)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if got != tt.want {
				t.Errorf("Check = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCheckAsksPagerDutyForThePolicyAndOpenIncidents(t *testing.T) {
	srv := pdtest.New(t, token)
	srv.SetOnCall(pdtest.OnCall{User: "PALICE1", EscalationPolicy: "PPOLICY1", Level: 1})
	srv.SetIncidents(pdtest.Incident{ID: "PINC1", Number: 1, Status: pdtest.Triggered, Service: "PSERVICE2"})
	p := bot.OnCallPolicy{EscalationPolicy: "PPOLICY1", Levels: []int{1}, IncidentOn: []string{"PSERVICE2", "PSERVICE1"}}
	if _, err := MustNew(t, srv.URL).Check(ctx(t), p, "PALICE1"); err != nil {
		t.Fatal(err)
	}
	oq := srv.Queries("/oncalls")
	if len(oq) != 1 {
		t.Fatalf("/oncalls calls = %d, want 1", len(oq))
	}
	if got := oq[0]["escalation_policy_ids[]"]; !slices.Equal(got, []string{"PPOLICY1"}) {
		t.Errorf("escalation_policy_ids[] = %q, want [PPOLICY1]", got)
	}
	if got := oq[0].Get("earliest"); got != "true" {
		t.Errorf("earliest = %q, want true", got)
	}
	if got := oq[0]["user_ids[]"]; len(got) != 0 {
		t.Errorf("user_ids[] = %q, want none: the whole policy is listed once for everyone", got)
	}
	iq := srv.Queries("/incidents")
	if len(iq) != 1 {
		t.Fatalf("/incidents calls = %d, want 1", len(iq))
	}
	if got := iq[0]["statuses[]"]; !slices.Equal(got, []string{"triggered", "acknowledged"}) {
		t.Errorf("statuses[] = %q, want [triggered acknowledged]", got)
	}
	if got := iq[0]["service_ids[]"]; !slices.Equal(got, []string{"PSERVICE1", "PSERVICE2"}) {
		t.Errorf("service_ids[] = %q, want [PSERVICE1 PSERVICE2]", got)
	}
}

func TestUnavailable(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*pdtest.Server)
		token string
		want  string
	}{
		{"ServerError", func(s *pdtest.Server) { s.Fail("", 500, 0) }, token, "PagerDuty answered 500"},
		{"BadGateway", func(s *pdtest.Server) { s.Fail("", 502, 0) }, token, "PagerDuty answered 502"},
		{"RateLimited", func(s *pdtest.Server) { s.Fail("", 429, 0) }, token, "PagerDuty is limiting the bot's calls (HTTP 429)"},
		{"WrongToken", func(*pdtest.Server) {}, "u+wrong-s3cret-token", "PagerDuty refused the bot's token (HTTP 401)"},
		{"HangsUp", func(s *pdtest.Server) { s.Down() }, token, "PagerDuty could not be reached"},
		{"Slow", func(s *pdtest.Server) { s.Delay(time.Minute) }, token, "PagerDuty did not answer in 100ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := pdtest.New(t, token)
			srv.SetOnCall(pdtest.OnCall{User: "PALICE1", EscalationPolicy: "PPOLICY1", Level: 1})
			tt.setup(srv)
			oc := MustNew(t, srv.URL, func(o *pagerduty.Options) { o.Token = tt.token; o.Timeout = 100 * time.Millisecond })
			m, err := oc.Check(ctx(t), policy1, "PALICE1")
			wantUnavailable(t, err, tt.want)
			if m.OnCall {
				t.Errorf("Check = %+v with an error, want no match", m)
			}
			_, err = oc.Who(ctx(t), policy1)
			wantUnavailable(t, err, tt.want)
		})
	}
}

func TestUnreachable(t *testing.T) {
	srv := pdtest.NewServer(token)
	url := srv.URL
	srv.Close() // nothing listens there now: connection refused
	_, err := MustNew(t, url).Check(ctx(t), policy1, "PALICE1")
	wantUnavailable(t, err, "PagerDuty could not be reached")
}

func TestIncidentsUnavailable(t *testing.T) {
	p := bot.OnCallPolicy{EscalationPolicy: "PPOLICY1", Levels: []int{1}, IncidentOn: []string{"PSERVICE1"}}
	srv := pdtest.New(t, token)
	srv.SetOnCall(pdtest.OnCall{User: "PALICE1", EscalationPolicy: "PPOLICY1", Level: 1})
	srv.Fail("/incidents", 503, 0)
	oc := MustNew(t, srv.URL)

	t.Run("OnCallNeedsTheIncidents", func(t *testing.T) {
		_, err := oc.Check(ctx(t), p, "PALICE1")
		wantUnavailable(t, err, "PagerDuty answered 503")
	})
	t.Run("NotOnCallIsKnownWithoutThem", func(t *testing.T) {
		got, err := oc.Check(ctx(t), p, "PCAROL1")
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		if want := (bot.OnCallMatch{Why: "not on call for PPOLICY1 at level 1 now"}); got != want {
			t.Errorf("Check = %+v, want %+v", got, want)
		}
	})
}

func TestCallerContext(t *testing.T) {
	srv := pdtest.New(t, token)
	srv.Delay(time.Minute)
	oc := MustNew(t, srv.URL, func(o *pagerduty.Options) { o.Timeout = time.Minute })

	t.Run("Canceled", func(t *testing.T) {
		c, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := oc.Check(c, policy1, "PALICE1")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("DeadlinePassed", func(t *testing.T) {
		c, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		_, err := oc.Check(c, policy1, "PALICE1")
		wantUnavailable(t, err, "PagerDuty did not answer in time")
	})
}

func TestCache(t *testing.T) {
	p := bot.OnCallPolicy{EscalationPolicy: "PPOLICY1", Levels: []int{1}, IncidentOn: []string{"PSERVICE1"}}
	setup := func(t *testing.T) (*pdtest.Server, *clock, *pagerduty.OnCall) {
		srv := pdtest.New(t, token)
		srv.SetOnCall(pdtest.OnCall{User: "PALICE1", EscalationPolicy: "PPOLICY1", Level: 1})
		srv.SetIncidents(pdtest.Incident{ID: "PINC1", Number: 1, Status: pdtest.Triggered, Service: "PSERVICE1"})
		clk := newClock()
		oc := MustNew(t, srv.URL, func(o *pagerduty.Options) { o.Clock = clk; o.CacheFor = 30 * time.Second })
		return srv, clk, oc
	}
	calls := func(t *testing.T, srv *pdtest.Server, oncalls, incidents int) {
		t.Helper()
		if got := srv.Calls("/oncalls"); got != oncalls {
			t.Errorf("/oncalls calls = %d, want %d", got, oncalls)
		}
		if got := srv.Calls("/incidents"); got != incidents {
			t.Errorf("/incidents calls = %d, want %d", got, incidents)
		}
	}

	t.Run("BurstMakesOneCallEach", func(t *testing.T) {
		srv, _, oc := setup(t)
		// The first answer is held until all 20 Checks wait for it.
		srv.Hold()
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m, err := oc.Check(ctx(t), p, "PALICE1")
				if err == nil && !m.OnCall {
					err = fmt.Errorf("check %d: %+v, want a match", i, m)
				}
				errs <- err
			}()
		}
		waitFor(t, "20 Checks waiting for one look-up", func() bool {
			return pagerduty.WaitingForOnCalls(oc, "PPOLICY1") == 20 &&
				srv.Calls("/oncalls") > 0 && srv.Calls("/incidents") > 0
		})
		srv.Release()
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		calls(t, srv, 1, 1)
	})
	t.Run("ExpiresAfterCacheFor", func(t *testing.T) {
		srv, clk, oc := setup(t)
		mustCheck(t, oc, p, "PALICE1", true)
		srv.SetOnCall(pdtest.OnCall{User: "PBOB1", EscalationPolicy: "PPOLICY1", Level: 1})
		clk.Add(29 * time.Second)
		mustCheck(t, oc, p, "PALICE1", true) // the cached answer
		calls(t, srv, 1, 1)
		clk.Add(time.Second)
		mustCheck(t, oc, p, "PBOB1", true) // PagerDuty asked again
		mustCheck(t, oc, p, "PALICE1", false)
		calls(t, srv, 2, 2)
	})
	t.Run("WhoAndCheckShareThePolicy", func(t *testing.T) {
		srv, _, oc := setup(t)
		mustCheck(t, oc, p, "PALICE1", true)
		if _, err := oc.Who(ctx(t), bot.OnCallPolicy{EscalationPolicy: "PPOLICY1", Levels: []int{1, 2}}); err != nil {
			t.Fatal(err)
		}
		calls(t, srv, 1, 1)
	})
	t.Run("ErrorsAreNotKept", func(t *testing.T) {
		srv, _, oc := setup(t)
		srv.Fail("/oncalls", 500, 1)
		_, err := oc.Check(ctx(t), p, "PALICE1")
		wantUnavailable(t, err, "PagerDuty answered 500")
		mustCheck(t, oc, p, "PALICE1", true)
		if got := srv.Calls("/oncalls"); got != 2 {
			t.Errorf("/oncalls calls = %d, want 2", got)
		}
	})
}

// waitFor waits until cond holds, or fails the test at ctx's deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	c := ctx(t)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-c.Done():
			t.Fatalf("gave up waiting for %s", what)
		case <-tick.C:
		}
	}
}

func mustCheck(t *testing.T, oc *pagerduty.OnCall, p bot.OnCallPolicy, user string, want bool) {
	t.Helper()
	m, err := oc.Check(ctx(t), p, user)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if m.OnCall != want {
		t.Fatalf("Check(%s).OnCall = %v (%+v), want %v", user, m.OnCall, m, want)
	}
}

func TestPagination(t *testing.T) {
	srv := pdtest.New(t, token)
	srv.PageLimit(2)
	srv.SetOnCall(
		pdtest.OnCall{User: "PU1", EscalationPolicy: "PPOLICY1", Level: 2},
		pdtest.OnCall{User: "PU2", EscalationPolicy: "PPOLICY1", Level: 2},
		pdtest.OnCall{User: "PALICE1", EscalationPolicy: "PPOLICY1", Level: 1, Schedule: "PSCHED1"},
	)
	srv.SetIncidents(
		pdtest.Incident{ID: "PINC1", Number: 1, Status: pdtest.Triggered, Service: "PSERVICE1"},
		pdtest.Incident{ID: "PINC2", Number: 2, Status: pdtest.Acknowledged, Service: "PSERVICE1"},
		pdtest.Incident{ID: "PINC3", Number: 3, Status: pdtest.Triggered, Service: "PSERVICE1"},
	)
	p := bot.OnCallPolicy{EscalationPolicy: "PPOLICY1", Levels: []int{1}, IncidentOn: []string{"PSERVICE1"}}
	got, err := MustNew(t, srv.URL).Check(ctx(t), p, "PALICE1")
	if err != nil {
		t.Fatal(err)
	}
	if want := (bot.OnCallMatch{OnCall: true, Schedule: "PSCHED1", Level: 1, Incident: "#3 PINC3"}); got != want {
		t.Errorf("Check = %+v, want %+v (both on the second page)", got, want)
	}
	for _, path := range []string{"/oncalls", "/incidents"} {
		qs := srv.Queries(path)
		if len(qs) != 2 {
			t.Fatalf("%s calls = %d, want 2 pages", path, len(qs))
		}
		if got := qs[1].Get("offset"); got != "2" {
			t.Errorf("%s second page offset = %q, want 2", path, got)
		}
	}
}

func TestWho(t *testing.T) {
	srv := pdtest.New(t, token)
	srv.SetOnCall(
		pdtest.OnCall{User: "PBOB1", EscalationPolicy: "PPOLICY1", Level: 2},
		pdtest.OnCall{User: "PALICE1", EscalationPolicy: "PPOLICY1", Level: 1, Schedule: "PSCHED1"},
		pdtest.OnCall{User: "PALICE1", EscalationPolicy: "PPOLICY1", Level: 1, Schedule: "PSCHED9"},
		pdtest.OnCall{User: "PDAN1", EscalationPolicy: "PPOLICY1", Level: 3},
		pdtest.OnCall{User: "PCAROL1", EscalationPolicy: "POTHER", Level: 1},
		pdtest.OnCall{User: "PERIN1", EscalationPolicy: "PPOLICY1", Level: 1, End: time.Now().Add(-time.Minute)},
	)
	oc := MustNew(t, srv.URL)
	tests := []struct {
		levels []int
		want   []string
	}{
		{[]int{1}, []string{"PALICE1"}},
		{[]int{2, 1}, []string{"PALICE1", "PBOB1"}},
		{[]int{4}, []string{}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.levels), func(t *testing.T) {
			got, err := oc.Who(ctx(t), bot.OnCallPolicy{EscalationPolicy: "PPOLICY1", Levels: tt.levels})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Who = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		o    pagerduty.Options
	}{
		{"NoToken", pagerduty.Options{}},
		{"BadURL", pagerduty.Options{Token: token, APIURL: "api.pagerduty.com"}},
		{"NegativeTimeout", pagerduty.Options{Token: token, Timeout: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := pagerduty.New(tt.o); err == nil {
				t.Error("New: nil error, want one")
			}
		})
	}
	t.Run("HTTPClientIsUsed", func(t *testing.T) {
		srv := pdtest.New(t, token)
		var used int
		var mu sync.Mutex
		hc := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			used++
			mu.Unlock()
			return http.DefaultTransport.RoundTrip(r)
		})}
		oc := MustNew(t, srv.URL, func(o *pagerduty.Options) { o.HTTPClient = hc })
		if _, err := oc.Who(ctx(t), policy1); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if used != 1 {
			t.Errorf("requests through the given client = %d, want 1", used)
		}
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestInvalidPolicy(t *testing.T) {
	srv := pdtest.New(t, token)
	oc := MustNew(t, srv.URL)
	for _, p := range []bot.OnCallPolicy{{Levels: []int{1}}, {EscalationPolicy: "PPOLICY1"}} {
		if _, err := oc.Check(ctx(t), p, "PALICE1"); bot.ErrorCode(err) != bot.EINVALID {
			t.Errorf("Check(%+v) err = %v, want %s", p, err, bot.EINVALID)
		}
		if _, err := oc.Who(ctx(t), p); bot.ErrorCode(err) != bot.EINVALID {
			t.Errorf("Who(%+v) err = %v, want %s", p, err, bot.EINVALID)
		}
	}
	if got := srv.Calls("/oncalls"); got != 0 {
		t.Errorf("/oncalls calls = %d, want 0", got)
	}
}
