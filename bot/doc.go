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
// Errors meant for people are *Error, with a code and a message safe to
// show; anything else is internal, logged, and shown only as a reference.
// Passwords travel as Secret, which prints as "[redacted]" everywhere.
package bot
