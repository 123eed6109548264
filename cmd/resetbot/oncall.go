package main

import (
	"net/http"
	"slices"

	"resetbot/adapters/pagerduty"
	"resetbot/bot"
	"resetbot/config"
)

// onCall makes the PagerDuty client that accounts' on_call asks, from the
// pagerduty section; nil when no account has on_call (check-config warns
// that the section is then unused) or there is no section. client carries
// the calls (nil: the default).
func onCall(cfg *config.Config, client *http.Client) (bot.OnCall, error) {
	p := cfg.PagerDuty
	if p == nil || !slices.ContainsFunc(cfg.Accounts(), func(a bot.Account) bool { return a.OnCall != nil }) {
		return nil, nil // not a nil *pagerduty.OnCall, which would be a non-nil bot.OnCall
	}
	oc, err := pagerduty.New(pagerduty.Options{Token: p.Token.Value(), APIURL: p.APIURL, HTTPClient: client})
	if err != nil {
		return nil, err // names api_url, never the token
	}
	return oc, nil
}
