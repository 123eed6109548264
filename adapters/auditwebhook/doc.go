// Package auditwebhook sends resetbot's audit log to a SIEM: every audit
// event is POSTed, as the JSON of a bot.Event, to one HTTPS URL (the
// audit.webhook section of the config), signed so that the receiver can
// tell it came from the bot and when.
//
// # The signature
//
// Each POST carries two headers:
//
//	X-Resetbot-Timestamp: <unix seconds when it was sent>
//	X-Resetbot-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// The receiver computes the HMAC over the timestamp, a dot and the raw body
// with the shared secret, compares it in constant time, and refuses a
// timestamp far from its own clock (Verify does all of it). A retried
// event is signed again with the time of the retry.
//
// # At least once, across replicas
//
// The Sender reads each of the audit log's streams through one Redis
// consumer group (Options.Group), under its replica's own consumer name,
// and acknowledges an event once the receiver answered 2xx. So:
//
//   - replicas share the work: each event is handed to one of them;
//   - a restarted bot resumes where the group stopped, however long it was
//     away: the group remembers what was acknowledged, and the first
//     Sender of a new group starts from the oldest event the log holds;
//   - an event handed to a replica that died (killed mid-delivery) stays
//     pending in the group, and after Options.ClaimAfter another replica
//     claims it and sends it;
//   - a failed POST (no answer within Options.Timeout, a refused
//     connection, any answer but 2xx, a redirect too) is sent again after a
//     backoff that doubles from Options.MinBackoff up to Options.MaxBackoff,
//     for as long as it takes; the events of its batch behind it wait;
//   - while it works through a batch, its POSTs failing or succeeding but
//     slowly, the Sender keeps the batch's events claimed (so that no other
//     replica takes them), and drops one that another replica claimed
//     after all.
//
// Order is not guaranteed, even within one stream: replicas share a
// stream's events, and a Sender delivers the events it claims from a
// replica that died after newer events it may already have sent. Within a
// stream, the "id"s (stream entry IDs, increasing) give the order the
// events were written in.
//
// An event can be sent twice: a replica that posted it and died before the
// acknowledgement, or two replicas that both held it for a moment. Each
// event carries its stream entry ID (the JSON's "id"): the receiver can
// drop repeats by it. Nothing is lost while the log holds the event: the
// log is capped (about a million decisions, a hundred thousand refusals),
// so a receiver down for longer than it takes to write that many events
// misses the oldest. A refusal summary ("… and N more refusals by P") is
// written again with each refusal it counts; the receiver sees the
// summaries that were written when it read, each with its count then.
//
// # How far behind
//
// Lag says how many events the group has not delivered yet and how old
// the oldest of them is, as read from Redis every Options.LagEvery; the
// bot exports both as metrics. The secret is never logged, and the URL is
// logged without its user and password.
package auditwebhook
