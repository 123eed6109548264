package pdtest_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	pd "github.com/PagerDuty/go-pagerduty"

	"resetbot/adapters/pagerduty/pdtest"
)

const token = "u+pdtest-token"

func client(srv *pdtest.Server, token string) *pd.Client {
	return pd.NewClient(token, pd.WithAPIEndpoint(srv.URL))
}

func TestAuth(t *testing.T) {
	srv := pdtest.New(t, token)
	_, err := client(srv, "u+wrong").ListOnCallsWithContext(context.Background(), pd.ListOnCallOptions{})
	var apiErr pd.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want a pagerduty.APIError", err)
	}
	if apiErr.StatusCode != http.StatusUnauthorized || !apiErr.APIError.Valid || apiErr.APIError.ErrorObject.Code != 2006 {
		t.Errorf("error = %+v, want 401 with PagerDuty's error object, code 2006", apiErr)
	}
	if _, err := client(srv, token).ListOnCallsWithContext(context.Background(), pd.ListOnCallOptions{}); err != nil {
		t.Errorf("with the token: %v", err)
	}
}

func TestAcceptVersion(t *testing.T) {
	srv := pdtest.New(t, token)
	for accept, want := range map[string]int{
		"application/vnd.pagerduty+json;version=2": http.StatusOK,
		"application/vnd.pagerduty+json;version=1": http.StatusNotAcceptable,
		"application/json":                         http.StatusOK,
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/oncalls", nil)
		req.Header.Set("Authorization", "Token token="+token)
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Accept %s: status %d, want %d", accept, resp.StatusCode, want)
		}
	}
}

func TestOnCalls(t *testing.T) {
	srv := pdtest.New(t, token)
	now := time.Date(2025, 3, 1, 3, 0, 0, 0, time.UTC)
	srv.SetNow(func() time.Time { return now })
	srv.SetOnCall(
		pdtest.OnCall{User: "PALICE1", EscalationPolicy: "PPOLICY1", Level: 1, Schedule: "PSCHED1", Start: now.Add(-time.Hour), End: now.Add(time.Hour)},
		pdtest.OnCall{User: "PALICE1", EscalationPolicy: "PPOLICY1", Level: 1, Schedule: "PSCHED1", Start: now.Add(time.Hour), End: now.Add(2 * time.Hour)},
		pdtest.OnCall{User: "PBOB1", EscalationPolicy: "PPOLICY1", Level: 2},
		pdtest.OnCall{User: "PCAROL1", EscalationPolicy: "POTHER", Level: 1},
	)
	c := client(srv, token)

	resp, err := c.ListOnCallsWithContext(context.Background(), pd.ListOnCallOptions{EscalationPolicyIDs: []string{"PPOLICY1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.OnCalls) != 2 {
		t.Fatalf("on-calls now = %+v, want PALICE1's current shift and PBOB1", resp.OnCalls)
	}
	a, b := resp.OnCalls[0], resp.OnCalls[1]
	if a.User.ID != "PALICE1" || a.User.Type != "user_reference" || a.Schedule.ID != "PSCHED1" ||
		a.EscalationPolicy.ID != "PPOLICY1" || a.EscalationLevel != 1 || a.Start != now.Add(-time.Hour).Format(time.RFC3339) {
		t.Errorf("first = %+v", a)
	}
	if b.User.ID != "PBOB1" || b.Schedule.ID != "" || b.EscalationLevel != 2 || b.Start != "" || b.End != "" {
		t.Errorf("second = %+v, want PBOB1 at level 2 with no schedule, start or end", b)
	}

	// A week ahead, earliest=true: PALICE1's next shift once.
	resp, err = c.ListOnCallsWithContext(context.Background(), pd.ListOnCallOptions{
		UserIDs: []string{"PALICE1"}, Earliest: true,
		Since: now.Format(time.RFC3339), Until: now.Add(7 * 24 * time.Hour).Format(time.RFC3339),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.OnCalls) != 1 || resp.OnCalls[0].Start != now.Add(-time.Hour).Format(time.RFC3339) {
		t.Errorf("earliest = %+v, want the shift under way only", resp.OnCalls)
	}
}

func TestIncidents(t *testing.T) {
	srv := pdtest.New(t, token)
	srv.SetIncidents(
		pdtest.Incident{ID: "PINC1", Number: 1, Status: pdtest.Triggered, Service: "PSERVICE1", Title: "db down"},
		pdtest.Incident{ID: "PINC2", Number: 2, Status: pdtest.Resolved, Service: "PSERVICE1"},
		pdtest.Incident{ID: "PINC3", Number: 3, Status: pdtest.Acknowledged, Service: "PSERVICE2"},
	)
	c := client(srv, token)
	resp, err := c.ListIncidentsWithContext(context.Background(), pd.ListIncidentsOptions{
		Statuses: []string{"triggered", "acknowledged"}, ServiceIDs: []string{"PSERVICE1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Incidents) != 1 {
		t.Fatalf("incidents = %+v, want PINC1 only", resp.Incidents)
	}
	inc := resp.Incidents[0]
	if inc.ID != "PINC1" || inc.IncidentNumber != 1 || inc.Status != "triggered" || inc.Service.ID != "PSERVICE1" ||
		inc.Title != "db down" || inc.Summary != "[#1] db down" {
		t.Errorf("incident = %+v", inc)
	}

	_, err = c.ListIncidentsWithContext(context.Background(), pd.ListIncidentsOptions{Statuses: []string{"open"}})
	var apiErr pd.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest {
		t.Errorf("status open: err = %v, want 400", err)
	}
}

func TestPages(t *testing.T) {
	srv := pdtest.New(t, token)
	var all []pdtest.Incident
	for i := 1; i <= 5; i++ {
		all = append(all, pdtest.Incident{ID: "PINC" + string(rune('0'+i)), Number: i, Status: pdtest.Triggered, Service: "PSERVICE1"})
	}
	srv.SetIncidents(all...)
	srv.PageLimit(2)
	c := client(srv, token)
	var ids []string
	opts := pd.ListIncidentsOptions{Limit: 100, Total: true}
	for {
		resp, err := c.ListIncidentsWithContext(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Limit != 2 || resp.Offset != opts.Offset || resp.Total != 5 {
			t.Errorf("page at %d: limit %d offset %d total %d, want 2, %d, 5", opts.Offset, resp.Limit, resp.Offset, resp.Total, opts.Offset)
		}
		for _, inc := range resp.Incidents {
			ids = append(ids, inc.ID)
		}
		if !resp.More {
			break
		}
		opts.Offset += uint(len(resp.Incidents))
	}
	if len(ids) != 5 || srv.Calls("/incidents") != 3 {
		t.Errorf("read %q in %d calls, want 5 incidents in 3", ids, srv.Calls("/incidents"))
	}
}

func TestFaults(t *testing.T) {
	srv := pdtest.New(t, token)
	c := client(srv, token)
	list := func() error {
		_, err := c.ListOnCallsWithContext(context.Background(), pd.ListOnCallOptions{})
		return err
	}
	srv.Fail("/oncalls", 429, 2)
	for i := range 2 {
		var apiErr pd.APIError
		if err := list(); !errors.As(err, &apiErr) || !apiErr.RateLimited() {
			t.Errorf("call %d: err = %v, want 429", i+1, err)
		}
	}
	if err := list(); err != nil {
		t.Errorf("third call: %v, want the fault spent", err)
	}
	srv.Fail("/incidents", 500, 0)
	if err := list(); err != nil {
		t.Errorf("a fault of /incidents reached /oncalls: %v", err)
	}
	if got := srv.Calls("/oncalls"); got != 4 {
		t.Errorf("Calls = %d, want 4", got)
	}
	// Down: the client may send a GET again on a new connection when its
	// reused one is closed before an answer, so Calls counts 1 or 2 here.
	srv.Down()
	if err := list(); err == nil {
		t.Error("Down: nil error, want the connection closed")
	}
	srv.Heal()
	before := srv.Calls("/oncalls")
	if err := list(); err != nil {
		t.Errorf("after Heal: %v", err)
	}
	if got := srv.Calls("/oncalls"); got != before+1 {
		t.Errorf("Calls = %d after one more call, want %d", got, before+1)
	}
}
