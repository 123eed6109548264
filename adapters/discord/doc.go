// Package discord is resetbot's Discord adapter. It registers the
// /reset-password slash command, turns slash commands, autocomplete, button
// clicks and modal submissions into bot commands, and the bot's approval
// cards, status lines, Reveal offers and passwords into Discord REST calls made with
// github.com/bwmarrin/discordgo.
//
// Interactions arrive over HTTP (POST /discord/interactions) or, when the
// Gateway is enabled, over one Gateway session. An HTTP interaction must carry
// a valid Ed25519 signature of its timestamp and body, made with the
// application's key, and a timestamp no more than five minutes from the
// adapter's clock: discordgo checks the signature but not the age, and without
// the age check a recorded interaction could be replayed for ever. Anything
// else gets 401 and changes nothing. Each interaction is handled once: its ID
// goes through Options.Seen, which a deployment of several replicas backs with
// Redis.
//
// Each user's interactions pass a chat.Gate before the store is asked or
// any work is queued: beyond it they are told, ephemerally, to slow down.
// Someone who is not in the config is refused within the acknowledgement,
// with no work queued. Work waits in a bounded queue (chat.Pool.TryGo);
// when it is full the interaction is told the bot is busy, never dropped.
// Each refused HTTP request (401, 400) is logged with its reason, never
// its body, which holds the interaction's token. A signed PING gets PONG.
//
// Options are read as the typed grammar reads words, with its one
// definition of white space (bot.IsSpace): an account, an ID or a user's
// name that would read as several words is refused, never split into
// another request; typed text passes bot.CheckText. Submitted forms are
// read whatever their layout (inputs in Action Rows, or in Labels, type
// 18), and components of unknown types are passed over.
//
// Discord wants an answer within three seconds. The adapter runs the command
// and, when the bot answers in time, replies at once; otherwise it sends a
// deferred ephemeral response and edits it when the answer is ready. Every
// answer to a person is ephemeral (flag 64).
//
// Only one replica may hold the Gateway session, or every interaction would
// be handled by each of them: Run takes a Lease (backed by Redis in
// production) before it connects, renews it while connected, and lets it go on
// the way out, so that another replica takes over. A replica that stops
// renewing closes its session before its lease can run out.
//
// The approval card is a message with an embed and Approve and Deny buttons in
// the approvals channel. It is edited on every state change and loses its
// buttons once the request is no longer pending. Deny asks for a reason in a
// modal.
//
// A request that skipped the vote (Request.Review: break-glass, or
// auto-approved by PagerDuty) has a card marked BREAK-GLASS with its
// incident, and Confirm and Reject buttons (custom_ids confirm:R-… and
// reject:R-…) while its review is open (Request.Reviewable). Reject asks
// for an optional reason in a modal, as Deny does. The card then says who
// confirmed or rejected it, or that nobody confirmed it in time, and
// whether the password shown is still valid (Request.Exposed: STILL
// EXPOSED, with the last error and the next try) or was reset again to one
// nobody has. The break-glass subcommand takes account, incident, reason
// and users; the incident is checked by bot.ParseIncident before it
// becomes a word of the typed grammar. Request.Notice is shown on any card.
//
// Nothing is reset at approval. The service offers the approved request:
// Offer sends the requester a direct message, which stays and holds no
// secret, saying who approved, the account and users, and until when
// (Request.RevealBy, as a Discord timestamp) its Reveal button works. The
// click, or its text fallback /reset-password reveal id:R-…, is answered
// at once with an ephemeral deferral (type 5, flag 64); the adapter then
// reads that answer back (GET @original) to know that Discord shows it, and
// only then runs the reset (chat.Service.Reveal), whose password replaces
// the deferred answer. So a password exists only while there is a message
// that the requester alone sees to put it in: when the deferral is lost,
// nothing is reset and the button stays. Once the request has ended,
// Withdraw edits the offer: the button goes, and the message says how it
// ended. The approval card says while it waits that it waits for the
// requester to reveal, and until when.
//
// The answer that shows a password, and the offer, are sent once: a try
// is repeated only when it cannot have reached Discord (a connection never
// made, a rate limit waited out). A failure is EUNAVAILABLE when nothing
// reached Discord, and EUNKNOWN when it may have (an answer after the
// client's timeout, a 5xx, a connection cut after the request was
// written): the service then never sends it again, and says that delivery
// is unknown.
//
// The token of the interaction with which the requester asked is kept on
// the request (Request.Refs) while it can be used (Actor.RefsFor: 15
// minutes), so that whichever replica has news sends it as an ephemeral
// follow-up where they asked; later news goes in a direct message. No password ever goes through it.
//
// A card whose post went unanswered (a timeout: Discord may have posted
// it) is owed without a reference. The card's nonce (enforce_nonce) makes
// a prompt repeat return it, but Discord keeps a nonce for a few minutes
// only, and an owed card may wait longer. So the adapter is a
// bot.CardFinder: before the sweeper posts such a card, FindCard reads the
// card's channel (Get Channel Messages, after a snowflake of a little
// before the request was made, pages of 100, at most five) for a message
// by the bot itself (its user ID, from GET users/@me, asked once) titled
// with the request, or with one of its buttons, and the sweeper takes it
// over. A bot that may not read the channel (50001, 50013; without Read
// Message History Discord returns no messages) finds none, and the card
// is posted as before.
//
// A reminder (Remind) is a reply under the card (message_reference; a
// plain message when the card is gone) that mentions the people who have
// not voted, <@id>, and lets allowed_mentions ping them and nobody else.
// Like the card, it carries a nonce with enforce_nonce, derived from the
// card, the words and which reminder it is, so that a retry after a lost
// answer returns the reply already posted. Once escalated, a pending card
// says to whom.
//
// CheckChannels (check-config --online, and the log at start) asks Discord,
// without posting, whether the bot can post cards in each channel: it
// reads the guild's channels (or, without guild_id, each channel), the
// guild's roles and the bot's own member, and computes the bot's
// permissions there as Discord documents it (roles, then the channel's
// @everyone, role and member overwrites). A channel that is missing, not a
// text channel, or where the bot lacks View Channel, Send Messages, Embed
// Links (cards are embeds) or Read Message History (reminders are replies)
// is a problem; only Discord out of reach, or the bot token refused, is an
// error.
//
// The plumbing it shares with the other adapters (the service interface,
// the memory of interactions, the order of card updates, retries and the
// background pool) is package chat; discordtest is the fake Discord its
// tests talk to.
//
// All REST calls go to Options.APIURL. discordgo builds its URLs from
// package-level variables; rather than changing those (racy, and wrong for a
// second adapter in the same process), the adapter's HTTP client rewrites
// discordgo's API prefix to APIURL in its transport. The same transport keeps
// Discord's rate-limit headers within bounds, because discordgo sleeps on them
// without a context. A 429 is retried when its retry_after is short, network
// errors and 5xx are retried where the call is safe to repeat, and other
// faults come back as *bot.Error (EUNAVAILABLE) with a message that names the
// fix.
package discord
