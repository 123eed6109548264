// Package bot is resetbot's shared vocabulary and its service.
//
// A reset flows one way: an adapter turns a platform event into a Command
// (Parse is the one grammar for every platform) and calls Service.Handle;
// the Service checks policy and records the request in a Store; approvals
// arrive the same way; an approved request is claimed by exactly one
// executor (Service.RunExecutor), reset through a Provider and delivered by
// the requester's platform's Notifier, the only place a password leaves the
// process. The Store, Provider and Notifier interfaces are defined here and
// implemented in approvals/, providers/ and adapters/, which never import
// one another; cmd/resetbot wires them.
//
// A Notifier that can show a password only for a while (DeliveryWindow:
// Discord's 15-minute interaction token) and can send an offer (Offerer)
// gets, after that while, no reset but an offer: the request goes back to
// approved with a RevealBy deadline, and Service.Reveal runs the reset when
// the requester acts on the offer, handing the password straight to be
// shown. So a password is never kept, even when approval comes late.
//
// Errors meant for people are *Error, with a code and a message safe to
// show; anything else is internal, logged, and shown only as a reference.
// Passwords travel as Secret, which prints as "[redacted]" everywhere.
package bot
