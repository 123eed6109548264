// Package discordtest is a fake Discord for tests, in the manner of
// net/http/httptest: a Server speaks the parts of the REST API (v10) and the
// Gateway that resetbot uses, over real HTTP and WebSocket, so that tests
// drive the real discordgo client and then check what reached "Discord"
// (Calls, Count, Wait) and what stays there (Message, Stored). It keeps
// messages, honours enforce_nonce (for the bot's posts, within a window,
// SetNonceWindow, as Discord keeps a nonce for a few minutes), checks the
// bot token, and SetFault, with RateLimited and FaultFirst, makes calls
// fail.
//
// Message IDs are snowflakes of the Server's clock, and each message has
// its author (BotUserID for the bot's posts; PostAs writes as anyone else)
// and timestamp. GET channels/{id}/messages pages them as Discord does:
// limit 1-100 (default 50), at most one of around, before and after
// (Snowflake makes one from a time), newest first whatever the parameter;
// in a guild's channel, 403 Missing Access without View Channel, and no
// messages without Read Message History. Messages lists a channel's.
//
// A new message may be a reply (message_reference: the referenced message
// must exist unless fail_if_not_exists is false) and records whom it pinged
// (Mentioned): the users its content mentions that allowed_mentions lets
// through. SetGuild makes a server known, with its roles, its channels and
// their permission overwrites, and its members (the bot is BotUserID, what
// GET users/@me answers): GET guilds/{id}, its channels, roles and members,
// and GET channels/{id} answer in Discord's JSON shapes; 403 Missing
// Access (50001) when the bot is not a member; and 10004 Unknown Guild,
// 10007 Unknown Member or 10003 Unknown Channel for what it does not know.
//
// Interactions follow Discord's documented rules, by the clock the Server
// is given. Issue (or IssueOn, for a click on a component of a message)
// makes a token valid. Its one initial response must come within 3 seconds
// (later: 10062 Unknown interaction, and the token is dead; a second one:
// 40060 already acknowledged). A message answer (type 4) or a deferral
// (type 5, loading until edited) becomes the interaction's @original, which
// GET and PATCH read and edit; types 6 and 7 make @original the clicked
// message, and 7 edits it. Follow-ups need an answer first; one right
// after a deferral edits the loading answer instead, keeping its flags. The
// token works for webhook calls for 15 minutes. Original shows an answer as
// it stands; Call.Ephemeral tells what one person alone sees.
//
// Point the adapter's Options.APIURL at Server.APIURL. Interactions are
// posted to the adapter by the test itself, signed with the application's
// key, and Answer hands the adapter's HTTP answer on, as Discord reads it
// from the HTTP reply. Over the Gateway, Identified reports each session and
// Dispatch sends it an interaction; the adapter answers on the callback
// endpoint.
package discordtest
