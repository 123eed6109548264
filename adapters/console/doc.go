// Package console is the chat adapter of the playground: people type lines
// such as "alice> /reset-password demo-tdsql locked out" and every message the
// bot sends is printed with its audience, so a newcomer sees exactly who
// would see what on Slack or Discord: the approvals channel, or one person
// alone (marked as ephemeral).
package console
