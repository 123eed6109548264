// Package pdtest is a fake PagerDuty REST API v2 for tests and the
// playground, in the manner of net/http/httptest: a Server answers GET
// /oncalls and GET /incidents over real HTTP, so that the real go-pagerduty
// client talks to it.
//
// It answers as PagerDuty documents: the token in "Authorization: Token
// token=…" (401 with PagerDuty's error body, {"error": {"message",
// "code"}}, otherwise), an Accept of application/vnd.pagerduty+json
// naming version 2, the filters escalation_policy_ids[], user_ids[],
// schedule_ids[], since and until (an on-call is listed when it overlaps
// them; both default to now) and earliest for /oncalls, statuses[] and
// service_ids[] for /incidents, and pages of limit (25 by default, at most
// 100) from offset, with "more". On-call entries carry references
// ({"id", "type": "user_reference", …}), a null schedule for a user named
// directly by the policy, and null start or end for an unbounded one.
//
// Tests set the data (SetOnCall, SetIncidents, SetNow for the instant
// on-calls are computed at, PageLimit to see pagination with little data),
// inject faults (Fail: an HTTP status for the next calls of a path; Delay;
// Hold and Release: answers kept until the test lets them go; Down: every
// connection closed without an answer; Heal clears them) and count calls
// (Calls, Queries).
//
// New starts a Server for a test and stops it when the test ends;
// NewServer starts one for the playground, stopped by Close; NewHandler
// makes one to mount on a mux.
package pdtest
