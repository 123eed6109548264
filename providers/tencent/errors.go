package tencent

import (
	"maps"
	"slices"

	"resetbot/bot"
	"resetbot/providers/call"
)

// commonCodes are Tencent Cloud API 3.0's common error codes, which every
// action may answer.
func commonCodes() map[string]call.Kind {
	return map[string]call.Kind{
		"ActionOffline":                     call.KindUnsupported,
		"AuthFailure.InvalidAuthorization":  call.KindCredentials,
		"AuthFailure.InvalidSecretId":       call.KindCredentials,
		"AuthFailure.MFAFailure":            call.KindPermission,
		"AuthFailure.SecretIdNotFound":      call.KindCredentials,
		"AuthFailure.SignatureExpire":       call.KindClock,
		"AuthFailure.SignatureFailure":      call.KindCredentials,
		"AuthFailure.TokenFailure":          call.KindCredentials,
		"AuthFailure.UnauthorizedOperation": call.KindPermission,
		"DryRunOperation":                   call.KindBadRequest,
		"FailedOperation":                   call.KindFailed,
		"InternalError":                     call.KindInternal,
		"InvalidAction":                     call.KindUnsupported,
		"InvalidParameter":                  call.KindBadRequest,
		"InvalidParameterValue":             call.KindBadRequest,
		"InvalidRequest":                    call.KindBadRequest,
		"IpInBlacklist":                     call.KindPermission,
		"IpNotInWhitelist":                  call.KindPermission,
		"LimitExceeded":                     call.KindAccount,
		"MissingParameter":                  call.KindBadRequest,
		"NoSuchProduct":                     call.KindUnsupported,
		"NoSuchVersion":                     call.KindUnsupported,
		"RequestLimitExceeded":              call.KindThrottled,
		"RequestLimitExceeded.GlobalRegionUinLimitExceeded": call.KindThrottled,
		"RequestLimitExceeded.IPLimitExceeded":              call.KindThrottled,
		"RequestLimitExceeded.UinLimitExceeded":             call.KindThrottled,
		"RequestSizeLimitExceeded":                          call.KindBadRequest,
		"ResourceInUse":                                     call.KindBusy,
		"ResourceInsufficient":                              call.KindAccount,
		"ResourceNotFound":                                  call.KindResourceNotFound,
		"ResourceUnavailable":                               call.KindBusy,
		"ResponseSizeLimitExceeded":                         call.KindFailed,
		"ServiceUnavailable":                                call.KindInternal,
		"UnauthorizedOperation":                             call.KindPermission,
		"UnknownParameter":                                  call.KindBadRequest,
		"UnsupportedOperation":                              call.KindUnsupported,
		"UnsupportedProtocol":                               call.KindUnsupported,
		"UnsupportedRegion":                                 call.KindUnsupported,
	}
}

// families classify codes no list names, by the part before the dot.
func families() map[string]call.Kind {
	return map[string]call.Kind{
		"AuthFailure":           call.KindCredentials,
		"DryRunOperation":       call.KindBadRequest,
		"FailedOperation":       call.KindFailed,
		"InternalError":         call.KindInternal,
		"InvalidParameter":      call.KindBadRequest,
		"InvalidParameterValue": call.KindBadRequest,
		"LimitExceeded":         call.KindAccount,
		"MissingParameter":      call.KindBadRequest,
		"OperationDenied":       call.KindNotAllowed,
		"RequestLimitExceeded":  call.KindThrottled,
		"ResourceInUse":         call.KindBusy,
		"ResourceInsufficient":  call.KindAccount,
		"ResourceNotFound":      call.KindResourceNotFound,
		"ResourceUnavailable":   call.KindBusy,
		"UnauthorizedOperation": call.KindPermission,
		"UnknownParameter":      call.KindBadRequest,
		"UnsupportedOperation":  call.KindUnsupported,
	}
}

// serviceCodes are the codes each action documents (the SDK's list for the
// action, else the service's error list), beyond or overriding the common
// ones.
func serviceCodes(provider bot.ProviderKey) map[string]call.Kind {
	switch provider {
	case CIAM: // SetPassword
		return map[string]call.Kind{
			"AuthFailure":                              call.KindCredentials,
			"FailedOperation.InvalidTenant":            call.KindAccount,
			"FailedOperation.InvalidUserStore":         call.KindResourceNotFound,
			"FailedOperation.PasswordIsNull":           call.KindBadRequest,
			"FailedOperation.QuotaLimitExceeded":       call.KindAccount,
			"FailedOperation.UserIsFreeze":             call.KindUserFrozen,
			"FailedOperation.UserNotFound":             call.KindUserNotFound,
			"InternalError.UnknownError":               call.KindInternal,
			"InvalidParameter.ParameterIllegal":        call.KindBadRequest,
			"InvalidParameterValue":                    call.KindPasswordRejected, // the only free value SetPassword takes
			"OperationDenied":                          call.KindNotAllowed,
			"RequestLimitExceeded.FrequentRequest":     call.KindThrottled,
			"RequestLimitExceeded.RepeatRequest":       call.KindThrottled,
			"ResourcesSoldOut":                         call.KindAccount,
			"UnauthorizedOperation.TenantNotActivated": call.KindAccount,
		}
	// tdsql: the SDK lists for ResetUsersPassword only codes of privileges;
	// no list was found for ResetUserPassword. So this is tdmysql's whole
	// error list (v20211122), each code classified by its own description.
	case TDSQL:
		return map[string]call.Kind{
			"AuthFailure.CamAuthError":                            call.KindPermission,
			"AuthFailure.CheckCamAuthError":                       call.KindPermission,
			"AuthFailure.UinWhiteListCheckError":                  call.KindPermission,
			"FailedOperation.CheckSupportActionError":             call.KindUnsupported,
			"FailedOperation.DBQueryInstanceError":                call.KindFailed,
			"FailedOperation.DBQueryUserError":                    call.KindFailed,
			"FailedOperation.DBUpdateUserError":                   call.KindFailed,
			"FailedOperation.DbCountLimitError":                   call.KindFailed,
			"FailedOperation.LockInstanceError":                   call.KindBusy,
			"FailedOperation.QueryDBError":                        call.KindFailed,
			"FailedOperation.QueryUserError":                      call.KindUserLookup, // "query user failed": no code says "no such user"
			"FailedOperation.TableCountLimitError":                call.KindFailed,
			"FailedOperation.UpdatePrivilegesError":               call.KindFailed,
			"InternalError.DatabaseAccessError":                   call.KindInternal,
			"InternalError.DbOperationFailed":                     call.KindInternal,
			"InternalError.RouteNotFound":                         call.KindInternal,
			"InternalError.RouterNotFound":                        call.KindBadRequest, // its description: check the parameters
			"InvalidParameter.IllegalParameterError":              call.KindBadRequest,
			"InvalidParameter.InputIllegal":                       call.KindBadRequest,
			"InvalidParameter.InstanceNotFound":                   call.KindResourceNotFound,
			"InvalidParameter.InvalidParameterError":              call.KindBadRequest,
			"InvalidParameter.PermissionDenied":                   call.KindPermission,
			"InvalidParameterValue.BizInvalidParameterValueError": call.KindBadRequest,
			"InvalidParameterValue.CheckHostError":                call.KindBadRequest,
			"InvalidParameterValue.CheckPasswdError":              call.KindPasswordRejected,
			"InvalidParameterValue.InvalidParameterValueError":    call.KindBadRequest, // "parameter error", of any action
			"MissingParameter.MissingParameterError":              call.KindBadRequest,
			"OperationDenied":                                     call.KindNotAllowed,
			"OperationDenied.InstanceStatusError":                 call.KindBusy,
			"OperationDenied.ResetUserPasswordError":              call.KindNotAllowed, // a super user
			"ResourceNotFound.BizResourceNotFoundError":           call.KindResourceNotFound,
			"ResourceNotFound.InstanceNotFound":                   call.KindResourceNotFound,
			"ResourceUnavailable.InstanceStatusAbnormal":          call.KindBusy,
			"UnauthorizedOperation.PermissionDenied":              call.KindPermission,
		}
	// tcr: ModifyServiceAccountPassword's SDK list is FailedOperation,
	// FailedOperation.DbError, InvalidParameter, OperationDenied and
	// UnknownParameter; the rest are tcr's codes that could come back too.
	case TCR:
		return map[string]call.Kind{
			"FailedOperation.DbError":                   call.KindInternal,
			"FailedOperation.ErrorGetDBDataError":       call.KindFailed,
			"FailedOperation.GetDBDataError":            call.KindFailed,
			"InternalError.DbError":                     call.KindInternal,
			"InternalError.ErrorTcrInternal":            call.KindInternal,
			"InternalError.ErrorTcrUnauthorized":        call.KindInternal,         // the registry's own authorisation, not the caller's
			"InvalidParameter":                          call.KindPasswordRejected, // with our own password; see kind
			"InvalidParameter.ErrorTcrInvalidParameter": call.KindBadRequest,
			"OperationDenied":                           call.KindNotAllowed,
			"ResourceNotFound":                          call.KindResourceNotFound, // the registry
			"ResourceNotFound.TcrResourceNotFound":      call.KindUserNotFound,     // the service account
		}
	case CAM: // UpdateUser
		return map[string]call.Kind{
			"InvalidParameter.PasswordViolatedRules": call.KindPasswordRejected,
			"InvalidParameter.UserNameIllegal":       call.KindBadRequest,
			"InvalidParameter.UserNotExist":          call.KindUserNotFound,
			"ResourceNotFound.UserNotExist":          call.KindUserNotFound,
		}
	}
	return nil
}

// Codes lists the error codes this package knows for a provider key: the
// action's documented codes and Tencent's common ones.
func Codes(provider bot.ProviderKey) []string {
	m := serviceCodes(provider)
	if m == nil {
		return nil
	}
	all := commonCodes()
	maps.Copy(all, m)
	return slices.Sorted(maps.Keys(all))
}

// kind classifies code for acct. TCR's bare InvalidParameter is the password
// rule only when the bot sent a password (not Random).
func kind(acct bot.Account, code string) call.Kind {
	if random(acct) && code == "InvalidParameter" {
		return call.KindBadRequest
	}
	if k, ok := serviceCodes(acct.Provider)[code]; ok {
		return k
	}
	c := call.Classifier{Codes: commonCodes(), Families: families(), Fallback: call.KindFailed}
	return c.Kind(code)
}

// ErrorFor is the *bot.Error shown for an answer with code to a reset of
// users of acct.
func ErrorFor(acct bot.Account, users []string, code string) *bot.Error {
	return kind(acct, code).Error(target(acct, users), code)
}

func target(acct bot.Account, users []string) call.Target {
	t := call.Target{
		Account:     acct.Name,
		Cloud:       "Tencent Cloud",
		Region:      acct.Region,
		Users:       users,
		Credentials: "tencentcloud.secret_id and tencentcloud.secret_key",
	}
	switch acct.Provider {
	case CIAM:
		s, _ := acct.Settings.(CIAMSettings)
		t.Service, t.Resource = "CIAM", "user store "+s.UserStoreID
	case TDSQL:
		s, _ := acct.Settings.(TDSQLSettings)
		t.Service, t.Resource = "TDSQL", "instance "+s.InstanceID
	case TCR:
		s, _ := acct.Settings.(TCRSettings)
		t.Service, t.Resource = "TCR", "registry "+s.RegistryID
	case CAM:
		t.Service = "CAM"
	default:
		t.Service = string(acct.Provider)
	}
	return t
}
