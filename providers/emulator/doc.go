// Package emulator serves, in process and from memory, the five cloud APIs
// resetbot resets passwords with: Tencent Cloud ciam SetPassword, tdmysql
// ResetUserPassword and ResetUsersPassword, tcr ModifyServiceAccountPassword,
// cam UpdateUser, and Alibaba Cloud EHPC ModifyUserPasswords. The providers'
// tests and the playground point the real SDK clients at it (one
// http.Handler for all five; wrap it in httptest.NewTLSServer and hand the
// server's transport to the client) and then look at what happened: the
// users' passwords (Password, User), every call received (Calls, WaitCalls),
// with faults injected on demand (Fail) and users that cannot be reset
// (Freeze). Provider keys are the provider packages' own (tencent.CIAM,
// alibaba.EHPC).
//
// # Wire protocol
//
// Tencent calls are checked the way common.Client (tencentcloud-sdk-go
// common v1.3.x, sendWithSignatureV3) signs them: Authorization
// "TC3-HMAC-SHA256 Credential=SecretId/Date/Service/tc3_request,
// SignedHeaders=content-type;host, Signature=hex"; the canonical request is
// method, "/", the raw query (empty for POST), the signed headers (lower
// case, host taken from the Host header, since endpoints are overridden to
// 127.0.0.1:port), and the SHA-256 of the body (or of "UNSIGNED-PAYLOAD"
// when X-TC-Content-SHA256 says so); the key chain is "TC3"+key -> date ->
// service -> "tc3_request". The service, and so the provider, comes from the
// credential scope: ciam, tdmysql, tcr, cam. The action and version come from
// X-TC-Action and X-TC-Version, the region from X-TC-Region. Errors follow
// the Tencent API 3.0 common error codes: an unknown SecretId is
// AuthFailure.SecretIdNotFound, a bad signature (or a scope date that is not
// X-TC-Timestamp's UTC date) AuthFailure.SignatureFailure, an X-TC-Timestamp
// more than five minutes from Options.Now AuthFailure.SignatureExpire, a
// missing or non-TC3 Authorization AuthFailure.InvalidAuthorization (the
// older HmacSHA1/HmacSHA256 signature is not emulated). Answers use the
// envelope {"Response":{...,"RequestId"}} with {"Error":{"Code","Message"}}
// on failure, always HTTP 200, as the real API does.
//
// Alibaba calls are checked the way alibaba-cloud-sdk-go v1.63.x
// (auth.signRpcRequest) signs an RPC CommonRequest: the string to sign is
// METHOD + "&%2F&" + percent-encode(sorted, form-encoded query and form
// parameters except Signature, with "+" -> "%20", "*" -> "%2A",
// "%7E" -> "~"), HMAC-SHA1 keyed with secret + "&", base64. The SDK puts
// the common parameters (AccessKeyId, Timestamp, SignatureNonce, Signature,
// ...) in the URL query and FormParams in the body, and signs both. Errors
// and HTTP statuses follow Alibaba's common codes: InvalidAccessKeyId.NotFound
// (404), SignatureDoesNotMatch (400), InvalidTimeStamp.Expired (400) for a
// Timestamp more than 15 minutes off, SignatureNonceUsed (400) for a nonce
// seen within 15 minutes from the same AccessKeyId, MissingParameter (400),
// IncompleteSignature (400) for a method other than HMAC-SHA1 1.0. Answers
// are JSON: {"RequestId"} on success, {"RequestId","HostId","Code",
// "Message","Recommend"} with the HTTP status on failure (the SDK's
// ServerError reads Code and Message).
//
// Every API documents a limit of 20 requests a second. The emulator counts
// calls per action and credential over the last second of Options.Now and
// answers RequestLimitExceeded (Tencent) or Throttling (Alibaba, HTTP 400)
// beyond Options.Rate. A refused call does not count.
//
// A password must never travel in a URL. A request with a password
// parameter in its query ("Password", "Users.0.Password", "User.1.Password")
// is refused (Tencent InvalidParameter; Alibaba InvalidParams, 400) and
// recorded with Call.PasswordInURL set, so a test can assert it never
// happens. Recorded parameters show every password as "[set]"; a password
// the API generated (TCR Random) is not recorded at all.
//
// # Actions
//
// Field names follow the API documents (checked on cloud.tencent.com,
// tencentcloud.com and alibabacloud.com). Parameters an action does not
// know are refused (Tencent UnknownParameter, Alibaba InvalidParams), so a
// misspelt name fails loudly instead of being ignored. Password rules are
// checked before the resource and the user are looked up; a refused call
// changes nothing. Region is required where the API says so (ciam,
// tdmysql, tcr), else MissingParameter.
//
//	ciam SetPassword 2022-03-31: UserStoreId, UserId, Password; answers {}.
//	  Rule: not stated by the API; design.md's 16+ chars, upper, lower, digit,
//	  symbol -> InvalidParameterValue. Empty password ->
//	  FailedOperation.PasswordIsNull; unknown store ->
//	  FailedOperation.InvalidUserStore; unknown user ->
//	  FailedOperation.UserNotFound; Freeze -> FailedOperation.UserIsFreeze
//	  (all from the SDK's list of SetPassword codes).
//	tdmysql ResetUserPassword 2021-11-22: InstanceId, UserName, Host,
//	  Password (EncryptedPassword is refused as not emulated); answers {}.
//	tdmysql ResetUsersPassword 2021-11-22: InstanceId, Users[]{UserName,
//	  Host, Password}; all users or none; answers {"FlowId": n}.
//	  Rule: 8-32 chars, at least two of letters, digits, symbols, symbols from
//	  ()~!@#$%^&*-+=|{}[]:<>,.?/_ , not starting with "/" ->
//	  InvalidParameterValue.CheckPasswdError. Unknown instance ->
//	  ResourceNotFound.InstanceNotFound; unknown user ->
//	  FailedOperation.QueryUserError; Freeze -> OperationDenied.
//	tcr ModifyServiceAccountPassword 2019-09-24: RegistryId, Name, Random
//	  (a JSON Boolean, required), Password (required when Random is false);
//	  answers {"Password": p}, the password now in force (generated, 32
//	  letters and digits, when Random is true). Rule: 8-20 chars, upper,
//	  lower, digit -> InvalidParameter. Unknown registry -> ResourceNotFound;
//	  unknown account -> ResourceNotFound.TcrResourceNotFound; Freeze ->
//	  OperationDenied.
//	cam UpdateUser 2019-01-16: Name, ConsoleLogin, Password,
//	  NeedResetPassword (0 or 1, as numbers or, as the document's example
//	  sends them, strings), Remark, PhoneNum, CountryCode, Email; answers {}.
//	  As documented, the password takes effect only when the sub-user may log
//	  in to the console (ConsoleLogin=1 now or before; a sub-user starts
//	  without), and ConsoleLogin=1 without Password makes a random password
//	  nobody is told. Rule: at least 8 chars, upper, lower, digit, special ->
//	  InvalidParameter.PasswordViolatedRules. Unknown sub-user ->
//	  ResourceNotFound.UserNotExist; Freeze -> FailedOperation.
//	EHPC ModifyUserPasswords 2018-04-12 (RPC): ClusterId, User.N.Name,
//	  User.N.Password (N 1-100), Async; answers {"RequestId"}. Rule: 8-30
//	  chars, three of upper, lower, digit, symbol from
//	  ()~!@#$%^&*-_+=|{}[]:;'/<>,.? -> InvalidParams (400), naming the
//	  parameter. Unknown cluster -> ClusterNotFound (404). Users are then
//	  changed one by one: an unknown or frozen user fails alone. When some
//	  users fail the answer is PartFailure (406) with the message
//	  "Part of the users failed: a, b" naming them (the others were
//	  changed); when all fail, AgentError.Account.UserChangePasswordFailure
//	  (406), also naming them. With Async=true per-user failures are not
//	  reported, as the change happens after the answer.
//
// # Faults
//
// Fail(action, code, n) makes the next n calls of action that pass the
// signature check and the rate limit answer with code instead (Alibaba
// codes get their documented HTTP status: 403 InvalidClusterStatus, 404
// *NotFound, 406 AgentError*, else 400). Fault5xx answers HTTP 503 (the
// Tencent SDK reports ClientError.HttpStatusCodeError, the Alibaba SDK a
// ServiceUnavailable ServerError); FaultHang records the call at once and
// then answers nothing until the request's context ends; FaultPartFailure
// makes the first EHPC user fail and the rest succeed; FaultPasswordRefused
// answers as the action answers a password outside its rule (ciam
// InvalidParameterValue, tdmysql InvalidParameterValue.CheckPasswdError, tcr
// InvalidParameter, cam InvalidParameter.PasswordViolatedRules, EHPC
// InvalidParams naming User.1.Password), whatever the password was.
//
// # Seeding from accounts
//
// AddAccount declares an account's users as config builds the account: the
// resource and user names come from the settings its provider's kind parsed
// (tencent.TDSQLSettings, alibaba.EHPCSettings, ...), so the playground and
// tests need no knowledge of each API's naming. AccountUser and
// FreezeAccountUser look a user up, or freeze it, the same way. The
// emulator's password rules are the APIs' documented ones, kept here apart
// from the providers' own rules on purpose: a provider whose rule drifted
// from its API's is caught by its tests.
//
// # Doubts
//
// The documents reachable while writing this did not settle everything;
// these are the emulator's choices:
//   - tdmysql: no SDK lists ResetUserPassword's error codes, and the list
//     for ResetUsersPassword names only privilege codes. The codes above come
//     from tdmysql's own error list (errors.go of v20211122): CheckPasswdError
//     ("password verification failed") for the rule; none says "no such
//     user", so QueryUserError ("query user failed") stands for it. The
//     symbol set is mariadb's (ResetAccountPassword) plus "_".
//   - tcr: the SDK lists FailedOperation, FailedOperation.DbError,
//     InvalidParameter, OperationDenied and UnknownParameter for
//     ModifyServiceAccountPassword; the not-found codes above come from
//     tcr's whole error list and are guesses. Whether the answer carries
//     Password when Random is false is not clear from the document; it does
//     here.
//   - EHPC: the PartFailure code comes from the seed documents via
//     design.md; its HTTP status (406, like AgentError) and message format
//     are the emulator's. Unknown users fail per user rather than as
//     InvalidParams.
//   - Freeze has a documented error only in ciam; elsewhere the code is the
//     closest the API lists.
//   - Alibaba Throttling is answered with HTTP 400.
//
// An Alibaba SDK client writes to its http.Transport's TLS settings on every
// call: give each client a transport of its own, and do not share one client
// between goroutines (the race detector notices).
package emulator
