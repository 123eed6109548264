// Package alibaba resets passwords of Alibaba Cloud E-HPC cluster users with
// ModifyUserPasswords (2018-04-12). The SDK (alibaba-cloud-sdk-go v1.63.x)
// has no typed request for it, so the call is a requests.CommonRequest:
// Product EHPC, the version, ApiName ModifyUserPasswords, and always POST
// over https (unless an endpoint's scheme says http) with every parameter in
// the form body. The SDK's defaults, GET over http, would put the passwords
// in the URL. The signature (HMAC-SHA1, RPC style) covers the body too.
//
// One call resets 1 to 100 users of a cluster (User.N.Name, User.N.Password)
// and Async comes from the account's `async` setting. When some users fail
// the API answers PartFailure naming them: those users get an error, the
// others their new passwords. A password the API refuses (InvalidParams
// about a Password) is replaced once, for every user, by a longer one with
// all four character classes.
//
// The package owns these accounts: the provider key EHPC, their settings
// (EHPCSettings), the kind that parses and checks them for config (Kinds),
// and the API's password rule (Rule).
//
// Each attempt gets an SDK client of its own, because the client writes to
// its HTTP client on every call and so cannot be shared between goroutines;
// the transport underneath is shared, wrapped by call.Bind so that the
// attempt's context (deadline, tracing) reaches requests the SDK builds
// without one. The SDK's own retries are off: package call decides.
//
// The SDK prints the string to sign, which holds the passwords, when a
// signature does not match and the environment has DEBUG=sdk. A Provider
// refuses to reset while DEBUG names sdk.
package alibaba
