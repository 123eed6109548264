// Package slacktest is a fake Slack for tests, in the manner of
// net/http/httptest: a Server speaks the parts of the Slack Web API that
// resetbot uses, response_url hooks and Socket Mode, over real HTTP, so
// that tests drive the real slack-go client and then check what reached
// "Slack" (Calls, CallsOf, WaitFor, Reply). Fail makes a method answer with
// a Web API error, an HTTP status or a rate limit with Retry-After.
//
// Point the adapter's Options.APIURL at Server.APIURL, and put
// Server.HookURL(id) in a payload's response_url to read the reply later.
package slacktest
