// Package bot is resetbot's shared vocabulary and its service.
//
// A reset flows one way: an adapter turns a platform event into a Command
// (Parse is the one grammar for every platform) and calls Service.Handle;
// the Service checks policy and records the request in a Store; approvals
// arrive the same way. The Store, Provider and Notifier interfaces are
// defined here and implemented in approvals/, providers/ and adapters/,
// which never import one another; cmd/resetbot wires them.
//
// A request moves through the states of State:
//
//	pending ──votes──> approved ──claim──> executing ──offer──> offered ──Reveal──> executing ──> succeeded | failed
//	   │                                      └──> failed (not reset)   └──> expired | cancelled | failed
//	   └──> denied | expired | cancelled
//
// Nothing is reset at approval, on any platform: an ephemeral message is
// not guaranteed to be seen (Slack shows one only to a user active at that
// moment; Discord's vanish on a restart), and a password reset for a
// requester who is not there locks them out. The vote that completes the
// approvals moves a request to approved and queues it; exactly one executor
// (Service.RunExecutor, in any replica) claims it and offers it: the
// request becomes offered, with a RevealBy deadline (the account's
// RevealWithin), and the requester's platform's Notifier sends them a
// persistent direct message, free of secrets, with a Reveal button
// (Notifier.Offer). When the offer cannot be made, the request fails, not
// reset.
//
// The requester's click (or its text fallback, `reveal R-…`) comes back
// through Service.Reveal, which claims the offered request (the requester
// only, once across replicas and clicks), runs the reset through the
// account's Provider, and hands the passwords to the click's answer: the
// show function the adapter passes, the only place where a password leaves
// the process. Every way an offer ends is said on the cards, to the
// requester, in the audit log, and in the direct message, whose button
// Notifier.Withdraw then takes away:
//
//   - revealed: succeeded, with the users reset;
//   - not revealed by RevealBy: expired (Service.Sweep), nothing reset;
//   - cancelled by the requester, nothing reset;
//   - refused by the cloud: failed, saying what the cloud said;
//   - reset, but the click's answer could not show the password: failed as
//     "outcome unknown" (audited as delivery_failed), never succeeded;
//   - the bot stopped during the reset: once the claim's lease runs out,
//     another replica's executor fails it as "outcome unknown", without
//     calling the cloud again.
//
// An executor that stopped after claiming a request from the queue, before
// offering it, reset nothing: the store hands the request out again as
// Claim.Resumed, and the next executor offers it.
//
// Errors meant for people are *Error, with a code and a message safe to
// show; anything else is internal, logged, and shown only as a reference.
// Passwords travel as Secret, which prints as "[redacted]" everywhere.
package bot
