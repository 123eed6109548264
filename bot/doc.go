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
//	pending ──votes──> approved ──claim──> executing ──> succeeded | failed
//	   │                                    │    ^
//	   │                              offer │    │ Reveal
//	   │                                    v    │
//	   │                                   offered ──> expired | cancelled | failed
//	   └──> denied | expired | cancelled
//
// The vote that completes the approvals moves a request to approved and
// queues it; exactly one executor (Service.RunExecutor, in any replica)
// claims it, moving it to executing. When the requester's platform can
// still show them a password (Notifier.CanDeliver), the executor resets it
// through the account's Provider and hands the result to that Notifier's
// Deliver, the only place, with Reveal below, where a password leaves the
// process.
//
// When it cannot (Discord's interaction token, which carries the ephemeral
// answer, lasts 15 minutes, and the approval may come later), nothing is
// reset. The executor turns its claim into an offer: the request becomes
// offered, with a RevealBy deadline (the executor's claim may still fail
// it, when the offer cannot be sent), and the Notifier sends the requester a
// private message with a Reveal button (Notifier.Offer). Their click comes
// back through Service.Reveal, which claims the offered request, runs the
// reset, and hands the passwords straight to the click's answer. An offer
// not revealed by RevealBy expires (Service.Sweep) with nothing reset; the
// requester may cancel it; once it ends, Notifier.Withdraw takes the button
// away. So a password is never kept, even when approval comes late.
//
// Errors meant for people are *Error, with a code and a message safe to
// show; anything else is internal, logged, and shown only as a reference.
// Passwords travel as Secret, which prints as "[redacted]" everywhere.
package bot
