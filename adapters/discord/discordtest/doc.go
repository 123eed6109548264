// Package discordtest is a fake Discord for tests, in the manner of
// net/http/httptest: a Server speaks the parts of the REST API (v10) and the
// Gateway that resetbot uses, over real HTTP and WebSocket, so that tests
// drive the real discordgo client and then check what reached "Discord"
// (Calls, Count, Wait). It keeps messages, honours enforce_nonce, checks the
// bot token, and accepts an interaction token for 15 minutes by the clock it
// is given. SetFault, with RateLimited and FaultFirst, makes calls fail.
//
// Point the adapter's Options.APIURL at Server.APIURL. Interactions are
// posted to the adapter by the test itself, signed with the application's
// key; Issue makes their tokens valid, and Answer hands the adapter's HTTP
// answer on. Over the Gateway, Identified reports each session and Dispatch
// sends it an interaction.
package discordtest
