// Package approvals is the Redis-backed workflow behind bot.Store: requests and
// their votes, expiry, the execution queue and the audit log, shared by every
// replica of the bot.
//
// # Atomicity
//
// Every transition (Create, Vote, Cancel, ExpireDue, the claim inside Next,
// Finish, Offer, ClaimReveal, Hold, SetRef, Audit) is one Lua script sent with
// EVALSHA, atomic across processes: one round trip where Go knows every key
// the script touches beforehand (Create, an approving Vote, the claim of a
// queue entry, Cancel, Finish, Offer, Hold, SetRef, Audit), more where the
// keys are only known from what Redis holds (see Keys). go-redis loads a script again when Redis answers
// NOSCRIPT (after a restart or SCRIPT FLUSH). The time of a transition comes
// from the injected bot.Clock and travels as an argument in milliseconds;
// scripts never read Redis TIME, so tests control time and every replica
// agrees with its own clock. Times come back at millisecond precision as
// time.UnixMilli values. Redis 7.0 or newer is needed.
//
// The scripts write the words Go reads back (states, audit event kinds,
// error codes, the ref: prefix) from package bot's constants: the script
// text is made from them when the package loads (words.go), so each word
// has one owner.
//
// # Keys
//
// Every key is "{" + Options.Prefix + "}" + name, with Prefix "resetbot:" by
// default: {resetbot:}req:R-7F3K9Q. The braces make the whole prefix the Redis
// Cluster hash tag, so all of the bot's keys live in one slot.
//
// Every script names every key it touches in KEYS, so that the bot runs on
// Redis Cluster and on the cloud Redis proxies that refuse undeclared keys.
// Scripts call Redis only through a guard that fails, with an UNDECLARED
// error, on a key not in KEYS (keys.go): every script run checks it, on every
// server. Keys known only from what Redis holds are found in one of two
// ways. The sweeps (ExpireDue, Due, the take-over of expired leases in Next)
// read the due IDs, and the requesters and accounts their hashes name, in Go,
// and pass them; the script looks again at each, and leaves alone one no
// longer due. A script that reads a request and finds it needs a key it names
// (the requester's open requests when a Vote denies, the open request a
// duplicate Create finds) answers so before it writes anything, and is sent
// again with that key: a denial and a duplicate take two round trips.
//
// Names and IDs are used in keys as they are: each family
// of keys starts with its own word, so families cannot collide.
//
//	req:<id>          hash    One request. Written by Create and every
//	                          transition. Kept while open; expires 30 days
//	                          after it becomes terminal.
//	                          Fields: id, account, users (JSON array), reason,
//	                          requester, platform, state (a bot.State),
//	                          approvals (needed: with rules, their counts'
//	                          sum), rules (bot.Request.Rules as they stood
//	                          at Create, one line a rule, tab-separated:
//	                          count, name, "p:" + each person it admits,
//	                          "r:" + each Discord role; absent on a request
//	                          an earlier version stored, which needs
//	                          approvals approvals from anyone the service
//	                          lets vote), created, expires, updated
//	                          (ms), rev (transitions so far: Create writes 1,
//	                          each transition adds 1; bot.Request.Rev),
//	                          outcome, votes (the votes' JSON objects,
//	                          comma-separated, in order), nappr (approvals so
//	                          far), v:<person> (one per voter, "1" approve,
//	                          "0" deny), vr:<person> (one per approval on a
//	                          request with rules: the indexes, from 0,
//	                          comma-separated, of the rules it may count
//	                          toward; bot.Vote.Rules), vn:<person> (the nonce of the Vote
//	                          call that wrote it, so that the same call sent
//	                          again succeeds again), ref:<key> (SetRef, and Create's refs
//	                          without a lifetime; key a bot.RefKey),
//	                          remind_after (ms), remind_backoff, rem_sent
//	                          (reminders sent) and remind_next (ms; absent
//	                          when none is left) on a request with
//	                          reminders (bot.Request.Reminders); esc_to and
//	                          esc_people (tab-separated names), esc_at (ms)
//	                          and esc_done (ms, once Due escalated it; the
//	                          rules then name esc_people too, and their
//	                          vr:<person> every rule) on one with an
//	                          escalation (bot.Request.Escalation),
//	                          entry (queue entry, once approved), lease (ms
//	                          deadline) while executing, token while
//	                          executing and while offered (the claim that
//	                          offered may still finish it), reveal (ms: the
//	                          offered request's RevealBy) while offered,
//	                          claim while executing: "queue" when Next
//	                          claimed it (it is being offered; nothing is
//	                          reset), "reveal" when ClaimReveal did (a
//	                          Reveal click's: it is being reset, or about
//	                          to be); absent on a request an earlier
//	                          version of the bot left executing; calling
//	                          with a "reveal" claim: "no:<token>" from
//	                          ClaimReveal, "yes:<token>" once the Hold right
//	                          before the cloud call (Claim.Calling) ran, so
//	                          that a take-over of a claim that never called
//	                          is Resumed, and any other (none, or another
//	                          claim's) Stale; took with a claim of
//	                          Next's: "new", "resumed" or "stale", what it
//	                          was, so that the same claim sent again is
//	                          answered as the first send was; done (the
//	                          token of the claim that finished it, so that
//	                          the same Finish sent again succeeds again).
//	refs:<id>         hash    The refs of request <id> that can be used for a
//	                          while only (bot.Request.RefsFor, from the
//	                          actor: a Discord interaction token), ref key
//	                          (a bot.RefKey) -> value. Written by Create with
//	                          PX = RefsFor, so it holds them no longer;
//	                          deleted by every transition that makes the
//	                          request terminal. Read with the request (Get,
//	                          and every script that answers with one), as
//	                          Refs.
//	open:<requester>  hash    account -> ID of the requester's open
//	                          (non-terminal) request for it: one open request
//	                          per requester and account, and the list behind
//	                          Open. Written by Create; the field is removed
//	                          when that request becomes terminal. No TTL.
//	rate:<requester>  zset    IDs of the requester's recent asks, scored by
//	                          time (ms): the sliding window of the rate limit.
//	                          Written by Create, trimmed by Create; expires one
//	                          window after the last ask.
//	deadlines         zset    ID -> expiry (ms) of each pending request, and
//	                          RevealBy (ms) of each offered one. Added by
//	                          Create and Offer, removed by ExpireDue or when
//	                          the request leaves pending or offered. No TTL.
//	timers            zset    ID -> when the next reminder or the
//	                          escalation of a pending request is due (ms).
//	                          Added by Create, moved on or removed by Due,
//	                          which also drops requests no longer pending.
//	                          No TTL.
//	replicated        string  A counter the store increments after each
//	                          script on a Sentinel setup (Options.Replicas),
//	                          in the pipeline before WAIT: a barrier that
//	                          makes WAIT cover every write before it. No TTL.
//	leases            zset    ID -> lease deadline (ms) of each executing
//	                          request. Written by the claim in Next, by
//	                          ClaimReveal and by Hold (which re-checks the
//	                          claim and extends it), removed by Finish and
//	                          Offer. Next
//	                          takes over entries past their deadline
//	                          (Claim.Resumed or Claim.Stale, by the request's
//	                          claim field). No TTL.
//	queue             stream  The execution queue: one entry {request: ID} per
//	                          approved request, added by the vote that approved
//	                          it, read by Next through the consumer group
//	                          "executors" (created by Next with MKSTREAM),
//	                          acknowledged and deleted by Finish or Offer, or
//	                          by the claim when the request is no longer
//	                          approved.
//	audit             stream  The audit log's decisions: fields time (ms),
//	                          event, request, actor, platform, detail.
//	                          Appended by every transition and Audit; capped
//	                          at about 1,000,000 entries (XADD MAXLEN ~). No
//	                          refusal is written here, so no flood of them
//	                          can trim a decision.
//	audit:refusals    stream  The same, for refusals of people in config,
//	                          capped at about 100,000 and rate-limited per
//	                          person: the first 10 of a person's 10-minute
//	                          window in full, the rest as one summary (request
//	                          empty, field count: how many it stands for,
//	                          detail "… and N more refusals by P"), deleted
//	                          and written again with each one it counts.
//	audit:strangers   stream  The same, for refusals of people not in config
//	                          (Event.Stranger), capped at about 100,000: anyone
//	                          in the workspace can cause them. Not rate-limited.
//	audit:last        string  The ID of the newest entry of the three streams:
//	                          their entries take IDs from one sequence, which
//	                          follows the store's clock (a clock behind the
//	                          last entry reuses its ms), so AuditLog merges
//	                          them by ID in the order they were written and
//	                          selects Since by ID. Written with every entry.
//	                          No TTL.
//	refusals:<person> hash    The person's refusals in the current window:
//	                          w (window number: the clock's ms / window), n
//	                          (refusals in it), s (the summary's entry ID).
//	                          Written with each refusal; expires at the
//	                          window's end.
//
// Nothing the store writes holds a password: the store never receives one.
//
// # Approval rules
//
// A request with rules is approved by the vote after which one assignment
// of its approvals, each to one rule it may count toward, gives every rule
// its count: the vote script finds a largest assignment by augmenting paths
// over the rules' slots (moving earlier approvals between rules where that
// makes room), in the same script that records the vote, so that it is
// decided once, atomically, however many replicas and clicks race. A voter
// no rule admits (by name, or by a Discord role the vote carries) is
// refused there too, and never the requester.
//
// # Execution
//
// Nothing is reset at approval. A vote that satisfies the request's rules
// (or reaches its approvals) moves it to approved and queues it in the same
// script, so it is queued exactly once however many clicks arrive. Next hands each approved request
// to one executor with a random token and a lease (claim "queue"); Finish
// and Offer accept only the current token. The executor offers it: Offer
// moves the request to offered, off the queue and onto deadlines until
// RevealBy.
//
// ClaimReveal, at the requester's click, claims an offered request as Next
// would (a new token, a lease, claim "reveal"); the reset runs under that
// claim, and Finish ends it. ExpireDue expires an offered request at
// RevealBy; Cancel withdraws it; the claim that offered it can still Finish
// it as failed (the offer could not be sent) until ClaimReveal takes it.
//
// A claim whose lease runs out is taken over by Next, in the same script
// that reads its claim field. A claim from the queue reset nothing: the
// take-over has Claim.Resumed set, and offers the request again. A Reveal
// click's claim may or may not have called the cloud: the take-over has
// Claim.Stale set and must not call it again; the outcome is unknown. A
// request an earlier version of the bot left executing (it reset at its
// claim from the queue, and wrote no claim field) is stale too. A request
// offered by an earlier version (state approved with a reveal field) is
// read, and stored back, as offered.
package approvals
