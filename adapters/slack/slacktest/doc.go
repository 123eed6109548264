// Package slacktest is a fake Slack for tests, in the manner of
// net/http/httptest: a Server speaks the parts of the Slack Web API that
// resetbot uses, response_url hooks and Socket Mode, over real HTTP, so
// that tests drive the real slack-go client and then check what reached
// "Slack" (Calls, CallsOf, WaitFor, Reply). Fail makes a method answer with
// a Web API error, an HTTP status or a rate limit with Retry-After, an
// answer that comes too late or none at all; FailSome picks such a fault
// call by call.
//
// It keeps what Slack keeps, and refuses what Slack refuses, as Slack
// documents it: messages (Message, Messages, and the replies in a
// message's thread, Replies; chat.update of an unknown one is
// message_not_found) with their metadata, read back newest first by
// conversations.history (oldest, latest, limit, cursor; the metadata only
// with include_all_metadata; not_in_channel or channel_not_found where the
// bot is not a member), channels and the bot's place in them (AddChannel:
// users.conversations lists the bot's a page at a time with a
// next_cursor, PageLimit shortens the pages; conversations.info shows a
// private one to its members only; a post where the bot is not a member is
// not_in_channel, in an archived channel is_archived), direct
// conversations (conversations.open; a D… channel never opened is
// channel_not_found), triggers (a trigger_id is exchanged once, within
// three seconds: views.open answers invalid_trigger_id,
// exchanged_trigger_id or expired_trigger_id) and modal views (views.open
// returns the view's ID and hash; views.update of a view the user closed,
// CloseView, is not_found, with a stale hash hash_conflict).
//
// Point the adapter's Options.APIURL at Server.APIURL, put
// Server.HookURL(id) in a payload's response_url to read the reply later,
// and Server.Trigger(id) in its trigger_id (ExpireTrigger ages it).
package slacktest
