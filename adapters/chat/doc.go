// Package chat is the plumbing every chat adapter shares, so that it exists
// once: what an adapter needs from the service (Service), a memory of
// deliveries already handled (Seen, Memory), the order of approval card
// updates (Cards), retries of platform API calls that honour Retry-After
// (Retry), and bounded background work with a graceful Wait (Pool). The
// adapters (slack, discord, console) import it; it imports only package
// bot.
//
// # Adding a chat platform
//
// A platform is one package under adapters/, named after it, whose files
// mirror the others': adapter.go (Options, New, Attach, Register, Start,
// Wait), api.go (calls to the platform's API and what their errors mean),
// http.go (verifying and reading inbound requests), handlers.go (turning
// payloads into bot commands and Reveal clicks), messages.go (the card, the
// offer and every text the bot shows), notifier.go (bot.Notifier) and
// run.go (Run: a long-lived connection, where the platform has one, else
// nothing). A platform may need more of its own (Discord's commands.go
// registers its slash command, transport.go shapes its REST calls).
//
// The adapter is a bot.Notifier, with every method: Card posts and updates
// the approval card (through Cards, so that an older state never replaces a
// newer one); Notify reaches one person privately; Offer sends the
// requester a lasting direct message with a Reveal button, and Withdraw
// takes the button off once the request has ended and says how. The click
// (or `/reset-password reveal R-…`) calls Service.Reveal only after the
// adapter has made sure that its private answer can be shown (Discord: a
// deferred ephemeral answer read back with GET @original; Slack: a modal
// opened with the click's trigger_id): the show function it passes is the
// only way a password leaves the process. Check it at compile time:
//
//	var _ bot.Notifier = (*Adapter)(nil)
//
// Inbound, the adapter takes a Service through Attach: the composition
// root builds the adapter, builds the bot.Service with it among
// Options.Notifiers, then attaches the service. Handlers acknowledge the
// platform at once and run the work on a Pool; a payload the platform may
// deliver twice goes through Seen first (cmd/resetbot backs it with Redis,
// so that replicas share it). Every API call goes through a Retry whose
// verdict function says, for the platform's errors, what is worth another
// try and after how long the platform asked to wait; what still fails
// becomes a *bot.Error whose message names the fix, never the platform's
// own text.
//
// Tests of the adapter talk to a fake of the platform's API in an
// importable package of its own, <platform>test (like slacktest and
// discordtest, in the manner of net/http/httptest), which the real client
// library talks to over HTTP; chattest gives them the rest of the bot
// (Redis, a cloud, the executor, scans for leaked passwords).
//
// Finally, cmd/resetbot reads the platform's config section, makes the
// adapter with its Seen (and Lease, if it holds a connection that only one
// replica may), and uses it through its local chatAdapter interface
// (bot.Notifier, Attach, Register, Start, Run, Wait): it registers its
// handlers on the HTTP mux, calls Start before serving, runs its Run in the
// one run group with the rest of the bot, and calls Wait once they stopped.
package chat
