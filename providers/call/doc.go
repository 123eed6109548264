// Package call sends one cloud API call the way every provider must: under
// the shared rate limit, with a timeout per attempt, retrying what is safe to
// retry, and never sending twice a call whose outcome is unknown.
//
// An attempt is safe to repeat when the API answered with a transient error
// (rate limited, throttled, an internal error, an HTTP 5xx) or when the
// request never left the process (connection refused, DNS, TLS). The
// request counts as sent once net/http reports it fully written
// (httptrace.WroteRequest without error): from then on a server may act on
// it, so a timeout or a dropped connection ends the call as EUNKNOWN.
//
// Errors never carry SDK or HTTP client text, which can echo request
// parameters and so a password: an API refusal becomes an *APIError holding
// only the error code, request ID and HTTP status, and a transport failure is
// described by its class ("connection refused", "no answer within 10s").
//
// This package also turns error codes into messages a requester can act on:
// a provider sorts each documented code into a Kind, and Kind.Error writes
// the *bot.Error for the account, service and users at hand.
package call
