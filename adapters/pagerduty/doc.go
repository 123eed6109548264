// Package pagerduty tells resetbot who is on call, as PagerDuty's REST API
// says, for on-call auto-approval (on_call in config). OnCall implements
// bot.OnCall with the go-pagerduty client.
//
// Check lists the on-calls now of the account's escalation policy
// (GET /oncalls, escalation_policy_ids[] and earliest=true) and looks for
// the person's PagerDuty user ID, never an email, at one of the policy's
// levels; when incident_on names services, it also lists their triggered
// and acknowledged incidents (GET /incidents) and needs one. The match
// carries the schedule, the level and the incident ("#1234 PT4KHLK") for
// the audit log; a miss carries a sentence saying why, safe to show. Who
// lists the people on call now at the levels, for reminders. Every list is
// read to its last page.
//
// # PagerDuty slow is PagerDuty down
//
// Each look-up has Options.Timeout (two seconds by default), however long
// the caller would wait: a request should not sit behind PagerDuty, which
// only decides whether a vote is skipped. PagerDuty unreachable, slower
// than that, or answering an error (401, 429, 5xx) makes Check and Who
// return a *bot.Error EUNAVAILABLE whose message says which ("PagerDuty
// did not answer in 2s", "PagerDuty answered 500"); the bot then keeps the
// normal vote and says why on the card. The token is never in an error.
//
// # The cache
//
// Answers are kept for Options.CacheFor (30 seconds by default), by the
// injected clock: /oncalls per escalation policy (levels are filtered here,
// so Check and Who share it) and /incidents per set of services. Callers
// that miss while a look-up runs wait for it rather than start their own,
// so a burst of requests makes one call of each, well within PagerDuty's
// rate limits. The look-up runs on its own timeout, not on the caller's
// context, so that a caller giving up does not fail the others. Failures
// are not kept: one costs its callers only the auto-approval, and a kept
// one would refuse auto-approval after PagerDuty is back.
//
// Package pdtest is a fake of the endpoints used, for tests and the
// playground.
package pagerduty
