// Package providertest is the providers' conformance suite, in the manner
// of go-cloud's drivertest: Run takes a Harness (how to build one provider
// against the emulator, an account it resets, the API's codes for
// throttling and passing faults, its password rule) and checks what every
// provider must do: the delivered password is the one in force and went in
// a POST body over TLS; passing faults and rate limits are retried and the
// limiter is waited on before every attempt; a refused password gets one
// stronger retry and a second refusal fails; a call without an answer is
// EUNKNOWN and is not sent again; a refusal about one user is that user's;
// bad credentials are not retried; and no password shows in URLs, errors,
// results or the process's output. Each provider's own tests keep what only
// it does (its error-code table, batches, PartFailure).
//
// Its helpers look for leaked passwords: a Recorder in front of the
// emulator keeps every password that crossed the wire, in either
// direction, and every URL; Leaks scans texts for them; and Capture
// collects what the process writes to stdout, stderr and the log package
// meanwhile.
package providertest
