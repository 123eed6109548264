package tencent_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"resetbot/bot"
	"resetbot/providers/tencent"
)

// meaning is what a requester is told for one kind of answer.
type meaning struct {
	code      string
	retryable bool
	phrase    string
}

var meanings = map[string]meaning{
	"credentials":        {bot.EPROVIDER, false, "the bot's cloud credentials were rejected by Tencent Cloud"},
	"clock":              {bot.EPROVIDER, false, "the bot's clock is off"},
	"permission":         {bot.EPROVIDER, false, "may not reset passwords"},
	"throttled":          {bot.EUNAVAILABLE, true, "is limiting the bot's calls"},
	"internal":           {bot.EUNAVAILABLE, true, "failed with an internal error"},
	"user-not-found":     {bot.EPROVIDER, false, "does not exist in"},
	"resource-not-found": {bot.EPROVIDER, false, "was not found in"},
	"user-frozen":        {bot.EPROVIDER, false, "is frozen or locked"},
	"password-rejected":  {bot.EPROVIDER, false, "refused the new password"},
	"bad-request":        {bot.EPROVIDER, false, "refused the bot's request"},
	"busy":               {bot.EPROVIDER, true, "is busy or not running"},
	"not-allowed":        {bot.EPROVIDER, false, "does not allow the bot"},
	"account":            {bot.EPROVIDER, false, "cannot use"},
	"unsupported":        {bot.EPROVIDER, false, "does not offer this call"},
	"failed":             {bot.EPROVIDER, false, "could not reset the password"},
	"user-lookup":        {bot.EPROVIDER, false, "could not look up user"},
}

// commonMeanings are Tencent Cloud API 3.0's common codes.
var commonMeanings = map[string]string{
	"ActionOffline":                     "unsupported",
	"AuthFailure.InvalidAuthorization":  "credentials",
	"AuthFailure.InvalidSecretId":       "credentials",
	"AuthFailure.MFAFailure":            "permission",
	"AuthFailure.SecretIdNotFound":      "credentials",
	"AuthFailure.SignatureExpire":       "clock",
	"AuthFailure.SignatureFailure":      "credentials",
	"AuthFailure.TokenFailure":          "credentials",
	"AuthFailure.UnauthorizedOperation": "permission",
	"DryRunOperation":                   "bad-request",
	"FailedOperation":                   "failed",
	"InternalError":                     "internal",
	"InvalidAction":                     "unsupported",
	"InvalidParameter":                  "bad-request",
	"InvalidParameterValue":             "bad-request",
	"InvalidRequest":                    "bad-request",
	"IpInBlacklist":                     "permission",
	"IpNotInWhitelist":                  "permission",
	"LimitExceeded":                     "account",
	"MissingParameter":                  "bad-request",
	"NoSuchProduct":                     "unsupported",
	"NoSuchVersion":                     "unsupported",
	"RequestLimitExceeded":              "throttled",
	"RequestLimitExceeded.GlobalRegionUinLimitExceeded": "throttled",
	"RequestLimitExceeded.IPLimitExceeded":              "throttled",
	"RequestLimitExceeded.UinLimitExceeded":             "throttled",
	"RequestSizeLimitExceeded":                          "bad-request",
	"ResourceInUse":                                     "busy",
	"ResourceInsufficient":                              "account",
	"ResourceNotFound":                                  "resource-not-found",
	"ResourceUnavailable":                               "busy",
	"ResponseSizeLimitExceeded":                         "failed",
	"ServiceUnavailable":                                "internal",
	"UnauthorizedOperation":                             "permission",
	"UnknownParameter":                                  "bad-request",
	"UnsupportedOperation":                              "unsupported",
	"UnsupportedProtocol":                               "unsupported",
	"UnsupportedRegion":                                 "unsupported",
}

// serviceMeanings are each action's own codes (and overrides).
var serviceMeanings = map[bot.ProviderKey]map[string]string{
	tencent.CIAM: {
		"AuthFailure":                              "credentials",
		"FailedOperation.InvalidTenant":            "account",
		"FailedOperation.InvalidUserStore":         "resource-not-found",
		"FailedOperation.PasswordIsNull":           "bad-request",
		"FailedOperation.QuotaLimitExceeded":       "account",
		"FailedOperation.UserIsFreeze":             "user-frozen",
		"FailedOperation.UserNotFound":             "user-not-found",
		"InternalError.UnknownError":               "internal",
		"InvalidParameter.ParameterIllegal":        "bad-request",
		"InvalidParameterValue":                    "password-rejected",
		"OperationDenied":                          "not-allowed",
		"RequestLimitExceeded.FrequentRequest":     "throttled",
		"RequestLimitExceeded.RepeatRequest":       "throttled",
		"ResourcesSoldOut":                         "account",
		"UnauthorizedOperation.TenantNotActivated": "account",
	},
	tencent.TDSQL: {
		"AuthFailure.CamAuthError":                            "permission",
		"AuthFailure.CheckCamAuthError":                       "permission",
		"AuthFailure.UinWhiteListCheckError":                  "permission",
		"FailedOperation.CheckSupportActionError":             "unsupported",
		"FailedOperation.DBQueryInstanceError":                "failed",
		"FailedOperation.DBQueryUserError":                    "failed",
		"FailedOperation.DBUpdateUserError":                   "failed",
		"FailedOperation.DbCountLimitError":                   "failed",
		"FailedOperation.LockInstanceError":                   "busy",
		"FailedOperation.QueryDBError":                        "failed",
		"FailedOperation.QueryUserError":                      "user-lookup",
		"FailedOperation.TableCountLimitError":                "failed",
		"FailedOperation.UpdatePrivilegesError":               "failed",
		"InternalError.DatabaseAccessError":                   "internal",
		"InternalError.DbOperationFailed":                     "internal",
		"InternalError.RouteNotFound":                         "internal",
		"InternalError.RouterNotFound":                        "bad-request",
		"InvalidParameter.IllegalParameterError":              "bad-request",
		"InvalidParameter.InputIllegal":                       "bad-request",
		"InvalidParameter.InstanceNotFound":                   "resource-not-found",
		"InvalidParameter.InvalidParameterError":              "bad-request",
		"InvalidParameter.PermissionDenied":                   "permission",
		"InvalidParameterValue.BizInvalidParameterValueError": "bad-request",
		"InvalidParameterValue.CheckHostError":                "bad-request",
		"InvalidParameterValue.CheckPasswdError":              "password-rejected",
		"InvalidParameterValue.InvalidParameterValueError":    "bad-request",
		"MissingParameter.MissingParameterError":              "bad-request",
		"OperationDenied":                                     "not-allowed",
		"OperationDenied.InstanceStatusError":                 "busy",
		"OperationDenied.ResetUserPasswordError":              "not-allowed",
		"ResourceNotFound.BizResourceNotFoundError":           "resource-not-found",
		"ResourceNotFound.InstanceNotFound":                   "resource-not-found",
		"ResourceUnavailable.InstanceStatusAbnormal":          "busy",
		"UnauthorizedOperation.PermissionDenied":              "permission",
	},
	tencent.TCR: {
		"FailedOperation.ErrorGetDBDataError":       "failed",
		"FailedOperation.GetDBDataError":            "failed",
		"InternalError.DbError":                     "internal",
		"InternalError.ErrorTcrInternal":            "internal",
		"InternalError.ErrorTcrUnauthorized":        "internal",
		"FailedOperation.DbError":                   "internal",
		"InvalidParameter":                          "password-rejected",
		"InvalidParameter.ErrorTcrInvalidParameter": "bad-request",
		"OperationDenied":                           "not-allowed",
		"ResourceNotFound":                          "resource-not-found",
		"ResourceNotFound.TcrResourceNotFound":      "user-not-found",
	},
	tencent.CAM: {
		"InvalidParameter.PasswordViolatedRules": "password-rejected",
		"InvalidParameter.UserNameIllegal":       "bad-request",
		"InvalidParameter.UserNotExist":          "user-not-found",
		"ResourceNotFound.UserNotExist":          "user-not-found",
	},
}

func accountFor(provider bot.ProviderKey) bot.Account {
	switch provider {
	case tencent.CIAM:
		return ciam()
	case tencent.TDSQL:
		return tdsql()
	case tencent.TCR:
		return tcr()
	}
	return cam()
}

func TestErrorForEveryDocumentedCode(t *testing.T) {
	for provider, own := range serviceMeanings {
		want := maps.Clone(commonMeanings)
		maps.Copy(want, own)
		if got, exp := tencent.Codes(provider), slices.Sorted(maps.Keys(want)); !slices.Equal(got, exp) {
			t.Errorf("%s: the package knows codes %v, this table %v", provider, got, exp)
		}
		acct := accountFor(provider)
		for code, kind := range want {
			t.Run(string(provider)+"/"+code, func(t *testing.T) {
				m := meanings[kind]
				e := tencent.ErrorFor(acct, []string{"alice"}, code)
				if e.Code != m.code || e.Retryable != m.retryable {
					t.Errorf("got %s retryable %v, want %s retryable %v (%s)", e.Code, e.Retryable, m.code, m.retryable, kind)
				}
				for _, s := range []string{m.phrase, acct.Name, "[" + code + "]"} {
					if !strings.Contains(e.Message, s) {
						t.Errorf("message %q does not contain %q", e.Message, s)
					}
				}
			})
		}
	}
}

func TestErrorForUnlistedCodes(t *testing.T) {
	tcrRandom := tcr()
	tcrRandom.Settings = tencent.TCRSettings{RegistryID: "tcr-gijwqid7", Random: true}
	tests := []struct {
		acct bot.Account
		code string
		kind string
	}{
		{cam(), "InternalError.SomethingNew", "internal"},
		{cam(), "RequestLimitExceeded.Whatever", "throttled"},
		{cam(), "AuthFailure.Brand.New", "credentials"},
		{tdsql(), "ResourceNotFound.Elsewhere", "resource-not-found"},
		{tdsql(), "Completely.Unknown", "failed"},
		{cam(), "HTTP 502", "internal"},
		{tcrRandom, "InvalidParameter", "bad-request"}, // no password was sent
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			m := meanings[tt.kind]
			e := tencent.ErrorFor(tt.acct, nil, tt.code)
			if e.Code != m.code || !strings.Contains(e.Message, m.phrase) {
				t.Errorf("got %s %q, want %s with %q", e.Code, e.Message, m.code, m.phrase)
			}
		})
	}
}
