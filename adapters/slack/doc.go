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
// once the request is no longer pending.
//
// # Slack: how Reveal works
//
// Nothing is reset at approval. The requester gets a message that stays in
// their direct conversation with the bot (conversations.open, then
// chat.postMessage): who approved, the account and users, until when the
// Reveal button works (written <!date^…> so that Slack shows it in each
// reader's time zone), and the button. It holds no secret.
//
// A click on Reveal (or /reset-password reveal R-…, its text fallback)
// opens a modal window at once with the click's trigger_id (views.open),
// saying the reset is running. Only then does the bot claim the request and
// reset the password; the window is updated with it (views.update) when the
// cloud answers. Once the request ends, the offer loses its button and says
// how it ended: revealed, expired (nothing reset), cancelled, or failed.
//
// Why a window, not an ephemeral reply on the click's response_url: the
// window is the only answer whose existence Slack confirms before the
// reset. views.open succeeds only while the person who clicked has Slack
// open in front of them, and fails otherwise (a trigger lasts three
// seconds), so a click nobody can see resets nothing. An ephemeral reply
// would be posted after the reset with no such check, is not guaranteed to
// be shown, and vanishes on reload or on another device: the very problem
// this flow removes. The window is shown to the clicker alone, stays until
// they close it, and holds the password only there. If they close it before
// the password arrives, the update fails, the request records that the
// password was not shown, and they are told so.
//
// A refusal (someone else's click, an expired or already revealed offer,
// the cloud's refusal) is written in the window, in the service's words.
// When the window cannot be opened, the reply on the click's response_url
// says so, and nothing was reset.
//
// A new password leaves the process in exactly one place: the requester's
// window, through views.update.
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
