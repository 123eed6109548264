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
// # The edge
//
// Everything the bot refuses at the edge is refused in the acknowledgement
// itself, with no work queued, and said: a payload of another slash command
// than Options.Command; a user not in config (a stranger, who reaches
// neither the store nor the audit log, however much they send: the refusal
// is logged at the rate the gate admits them); a user who sends more than a
// per-user token bucket admits (chat.Gate: a burst of ten, then one every
// two seconds); and work beyond the bounded queue (chat.Pool.TryGo). A
// command gets an ephemeral answer, a form keeps its window open with the
// reason on its field, a click gets HTTP 403 or 429, which Slack shows by
// the button. Slack's ssl_check probe gets an empty 200, signed or not.
//
// Slack escapes &, < and > in a command's text; the adapter reads it back
// as typed. What a person typed (reasons, deny reasons, outcomes that quote
// them, every reply) is shown in rich text, which Slack renders as written:
// mrkdwn has no escape for *, _, ~ or backticks.
//
// The approval card lives in the account's channel (channels.slack, else
// the approvals channel) and is edited in place (chat.update) on every
// state change; its Approve and Deny buttons go away once the request is
// no longer pending. Each card carries message metadata (event_type
// resetbot_card, the request's ID): when a post's answer was lost, the
// sweeper finds the card by it in the channel's history (FindCard) instead
// of posting a second one. Reminders are replies in the card's thread that
// mention, as <@U…>, the people who have not voted; once the request is
// escalated the card says to whom.
//
// A request that skipped the vote (break-glass, or auto-approved by
// PagerDuty because its requester is on call) has a card marked so at the
// top, with its incident and the review's deadline, and Confirm and Reject
// buttons while the review is open; Slack asks before sending a Reject,
// which resets the password again, to one nobody sees. Reviewed, the card
// says by whom, or that nobody confirmed in time, and then whether the
// password shown is still valid (its second reset failed: when the next
// try is), reset again, or never revealed. The request form offers
// break-glass, with an incident field, to whom may break the glass of one
// of their accounts; an incident without break-glass is refused on the
// field rather than ignored. A line the service adds to a request (why
// PagerDuty did not auto-approve it) is shown under the card.
//
// CheckChannels lists the bot's own
// channels once (users.conversations) and looks up each other channel
// (conversations.info) to say why the bot cannot post there.
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
// Retry-After up to Options.MaxRetryWait, never past the work's deadline: a
// longer wait fails the call at once, unsent; network errors and 5xx back
// off, both bounded) and otherwise returned as *bot.Error, EUNAVAILABLE for
// transient faults, with a message that names the fix, so that the service
// can log, audit and tell the right person.
//
// The calls that carry a password (the Reveal window's views.update), an
// offer or a reminder (their chat.postMessage) are never sent again once
// they may have reached Slack, and say which way they went: EUNAVAILABLE
// (or the refusal's own code) when nothing reached Slack (a connection
// never made, a rate limit, an error answer), EUNKNOWN when the request was
// written and then the answer was a 5xx, came too late or never, or the
// connection was cut. The service never resends on EUNKNOWN, and says
// delivery is unknown.
package slack
