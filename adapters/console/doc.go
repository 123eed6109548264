// Package console is the chat adapter of the playground: people type lines
// such as "alice> /reset-password demo-tdsql locked out" and every message the
// bot sends is printed with its audience, so a newcomer sees exactly who
// would see what on Slack or Discord: the approvals channel ([#approvals]),
// a direct message with the bot ([DM to alice]: the Reveal offer), or one
// person alone (marked as ephemeral). The Reveal button of the offer is
// typed: "alice> reveal R-…" runs the reset, and its answer, marked as
// ephemeral to alice, is the only line that shows the password.
package console
