package pagerduty_test

import (
	"context"
	"fmt"
	"log"

	"resetbot/adapters/pagerduty"
	"resetbot/adapters/pagerduty/pdtest"
	"resetbot/bot"
)

// OnCall answers who is on call for an account's on_call policy; here it
// talks to the fake PagerDuty the playground uses.
func ExampleNew() {
	srv := pdtest.NewServer("pd-token")
	defer srv.Close()
	srv.SetOnCall(pdtest.OnCall{User: "PALICE1", EscalationPolicy: "PPOLICY1", Level: 1, Schedule: "PSCHED1"})
	srv.SetIncidents(pdtest.Incident{ID: "PT4KHLK", Number: 1234, Status: pdtest.Triggered, Service: "PSERVICE1"})

	oc, err := pagerduty.New(pagerduty.Options{Token: "pd-token", APIURL: srv.URL})
	if err != nil {
		log.Fatal(err)
	}
	policy := bot.OnCallPolicy{EscalationPolicy: "PPOLICY1", Levels: []int{1}, IncidentOn: []string{"PSERVICE1"}}
	m, err := oc.Check(context.Background(), policy, "PALICE1")
	if err != nil {
		log.Fatal(bot.ErrorMessage(err))
	}
	fmt.Printf("on call: %v, schedule %s, level %d, incident %s\n", m.OnCall, m.Schedule, m.Level, m.Incident)
	m, _ = oc.Check(context.Background(), policy, "PBOB1")
	fmt.Println(m.Why)
	// Output:
	// on call: true, schedule PSCHED1, level 1, incident #1234 PT4KHLK
	// not on call for PPOLICY1 at level 1 now
}
