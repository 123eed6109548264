package alibaba

import (
	"maps"
	"slices"

	"resetbot/bot"
	"resetbot/providers/call"
)

// codes are ModifyUserPasswords' documented error codes and Alibaba Cloud's
// common ones (signature, credentials, throttling, service).
func codes() map[string]call.Kind {
	return map[string]call.Kind{
		// ModifyUserPasswords.
		"InvalidParams":                          call.KindBadRequest, // KindPasswordRejected when about a password
		"NotEnabled":                             call.KindAccount,
		"InDebt":                                 call.KindAccount,
		"InvalidOpt":                             call.KindFailed,
		"InvalidClusterStatus":                   call.KindBusy,
		"ClusterNotFound":                        call.KindResourceNotFound,
		"ManagerNotFound":                        call.KindBusy,
		"AgentError":                             call.KindFailed,
		"AgentError.Account.DomainNotExist":      call.KindFailed,
		"AgentError.Account.GetentPasswdFailure": call.KindFailed,
		"AgentError.Account.UserChangePasswordFailure": call.KindFailed,
		"PartFailure":        call.KindFailed, // per user, see partFailure
		"UnknownError":       call.KindInternal,
		"ServiceUnavailable": call.KindInternal,
		// Common.
		"InternalError":                              call.KindInternal,
		"SignatureDoesNotMatch":                      call.KindCredentials,
		"IncompleteSignature":                        call.KindCredentials,
		"InvalidAccessKeyId.NotFound":                call.KindCredentials,
		"InvalidAccessKeyId.Inactive":                call.KindCredentials,
		"Forbidden.AccessKeyDisabled":                call.KindCredentials,
		"InvalidSecurityToken.Expired":               call.KindCredentials,
		"InvalidSecurityToken.Malformed":             call.KindCredentials,
		"InvalidSecurityToken.MismatchWithAccessKey": call.KindCredentials,
		"SignatureNonceUsed":                         call.KindInternal, // a fresh attempt has a fresh nonce
		"InvalidTimeStamp.Expired":                   call.KindClock,
		"InvalidTimeStamp.Format":                    call.KindBadRequest,
		"Throttling":                                 call.KindThrottled,
		"Throttling.User":                            call.KindThrottled,
		"Throttling.Api":                             call.KindThrottled,
		"Forbidden":                                  call.KindPermission,
		"Forbidden.RAM":                              call.KindPermission,
		"Forbidden.NoPermission":                     call.KindPermission,
		"NoPermission":                               call.KindPermission,
		"MissingParameter":                           call.KindBadRequest,
		"InvalidParameter":                           call.KindBadRequest,
		"UnsupportedHTTPMethod":                      call.KindBadRequest,
		"InvalidAction.NotFound":                     call.KindUnsupported,
		"InvalidVersion":                             call.KindUnsupported,
		"InvalidRegionId":                            call.KindUnsupported,
		"InvalidProduct.NotFound":                    call.KindUnsupported,
	}
}

func families() map[string]call.Kind {
	return map[string]call.Kind{
		"AgentError":           call.KindFailed,
		"Forbidden":            call.KindPermission,
		"InternalError":        call.KindInternal,
		"InvalidAccessKeyId":   call.KindCredentials,
		"InvalidSecurityToken": call.KindCredentials,
		"InvalidTimeStamp":     call.KindClock,
		"ServiceUnavailable":   call.KindInternal,
		"Throttling":           call.KindThrottled,
	}
}

// Codes lists the error codes this package knows.
func Codes() []string { return slices.Sorted(maps.Keys(codes())) }

func kind(code string, aboutPassword bool) call.Kind {
	if code == "InvalidParams" && aboutPassword {
		return call.KindPasswordRejected
	}
	c := call.Classifier{Codes: codes(), Families: families(), Fallback: call.KindFailed}
	return c.Kind(code)
}

// ErrorFor is the *bot.Error shown for an answer with code to a reset of
// users of acct; aboutPassword tells an InvalidParams about a password.
func ErrorFor(acct bot.Account, users []string, code string, aboutPassword bool) *bot.Error {
	return kind(code, aboutPassword).Error(target(acct, users), code)
}

func target(acct bot.Account, users []string) call.Target {
	return call.Target{
		Account:     acct.Name,
		Cloud:       "Alibaba Cloud",
		Service:     "E-HPC",
		Resource:    "cluster " + cluster(acct),
		Region:      acct.Region,
		Users:       users,
		Credentials: "alibabacloud.access_key_id and alibabacloud.access_key_secret",
	}
}

// cluster is acct's cluster, "" when its settings are not E-HPC's.
func cluster(acct bot.Account) string {
	s, _ := acct.Settings.(EHPCSettings)
	return s.ClusterID
}
