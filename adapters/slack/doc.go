// Package slack is resetbot's Slack adapter. It turns /reset-password slash
// commands, button clicks and modal submissions into bot commands, and the
// bot's cards, status lines and passwords into Slack Web API calls.
//
// Inbound traffic arrives over HTTP (POST /slack/commands and POST
// /slack/interactions, each verified with the app's signing secret) or, when
// an app-level token is configured, over Socket Mode. Both paths share one set
// of handlers: they check and parse the payload at once, acknowledge Slack
// within its three seconds, and do the bot's work in the background, posting
// the answer to the payload's response_url or as an ephemeral message.
//
// The approval card lives in the approvals channel and is edited in place
// (chat.update) on every state change; its Approve and Deny buttons go away
// once the request is no longer pending. A new password leaves the process in
// exactly one place: an ephemeral message to the requester in their direct
// conversation with the bot.
//
// Slack delivers some things twice: retries carry X-Slack-Retry-Num (or a
// retry attempt in Socket Mode) and are acknowledged and dropped, because the
// first delivery is being handled; repeated interactions are recognised by
// their trigger, action timestamp, user and request through Options.Seen,
// which a multi-replica deployment backs with Redis. Votes are idempotent in
// the store as well, so a double that slips through still changes nothing.
//
// The plumbing it shares with the other adapters (the service interface,
// the memory of deliveries, the order of card updates, retries and the
// background pool) is package chat; slacktest is the fake Slack its tests
// talk to.
//
// Slack API faults are retried where waiting helps (rate limits honour
// Retry-After; network errors and 5xx back off, both bounded) and otherwise
// returned as *bot.Error, EUNAVAILABLE for transient faults, with a message
// that names the fix, so that the service can log, audit and tell the right
// person.
package slack
