package alibaba_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"resetbot/bot"
	"resetbot/providers/alibaba"
)

type meaning struct {
	code      string
	retryable bool
	phrase    string
}

var meanings = map[string]meaning{
	"credentials":        {bot.EPROVIDER, false, "the bot's cloud credentials were rejected by Alibaba Cloud"},
	"clock":              {bot.EPROVIDER, false, "the bot's clock is off"},
	"permission":         {bot.EPROVIDER, false, "may not reset passwords in E-HPC"},
	"throttled":          {bot.EUNAVAILABLE, true, "E-HPC is limiting the bot's calls"},
	"internal":           {bot.EUNAVAILABLE, true, "E-HPC failed with an internal error"},
	"resource-not-found": {bot.EPROVIDER, false, "cluster ehpc-hz-FYUr32abcd of account hpc was not found"},
	"password-rejected":  {bot.EPROVIDER, false, "refused the new password"},
	"bad-request":        {bot.EPROVIDER, false, "refused the bot's request"},
	"busy":               {bot.EPROVIDER, true, "is busy or not running"},
	"account":            {bot.EPROVIDER, false, "cannot use E-HPC"},
	"unsupported":        {bot.EPROVIDER, false, "does not offer this call"},
	"failed":             {bot.EPROVIDER, false, "could not reset the password"},
}

// ModifyUserPasswords' documented codes, then Alibaba Cloud's common ones.
var codeMeanings = map[string]string{
	"InvalidParams":                          "bad-request",
	"NotEnabled":                             "account",
	"InDebt":                                 "account",
	"InvalidOpt":                             "failed",
	"InvalidClusterStatus":                   "busy",
	"ClusterNotFound":                        "resource-not-found",
	"ManagerNotFound":                        "busy",
	"AgentError":                             "failed",
	"AgentError.Account.DomainNotExist":      "failed",
	"AgentError.Account.GetentPasswdFailure": "failed",
	"AgentError.Account.UserChangePasswordFailure": "failed",
	"PartFailure":        "failed",
	"UnknownError":       "internal",
	"ServiceUnavailable": "internal",

	"InternalError":                              "internal",
	"SignatureDoesNotMatch":                      "credentials",
	"IncompleteSignature":                        "credentials",
	"InvalidAccessKeyId.NotFound":                "credentials",
	"InvalidAccessKeyId.Inactive":                "credentials",
	"Forbidden.AccessKeyDisabled":                "credentials",
	"InvalidSecurityToken.Expired":               "credentials",
	"InvalidSecurityToken.Malformed":             "credentials",
	"InvalidSecurityToken.MismatchWithAccessKey": "credentials",
	"SignatureNonceUsed":                         "internal",
	"InvalidTimeStamp.Expired":                   "clock",
	"InvalidTimeStamp.Format":                    "bad-request",
	"Throttling":                                 "throttled",
	"Throttling.User":                            "throttled",
	"Throttling.Api":                             "throttled",
	"Forbidden":                                  "permission",
	"Forbidden.RAM":                              "permission",
	"Forbidden.NoPermission":                     "permission",
	"NoPermission":                               "permission",
	"MissingParameter":                           "bad-request",
	"InvalidParameter":                           "bad-request",
	"UnsupportedHTTPMethod":                      "bad-request",
	"InvalidAction.NotFound":                     "unsupported",
	"InvalidVersion":                             "unsupported",
	"InvalidRegionId":                            "unsupported",
	"InvalidProduct.NotFound":                    "unsupported",
}

func TestErrorForEveryDocumentedCode(t *testing.T) {
	if got, want := alibaba.Codes(), slices.Sorted(maps.Keys(codeMeanings)); !slices.Equal(got, want) {
		t.Errorf("the package knows codes %v, this table %v", got, want)
	}
	for code, kind := range codeMeanings {
		t.Run(code, func(t *testing.T) {
			m := meanings[kind]
			e := alibaba.ErrorFor(hpc(), []string{"user1"}, code, false)
			if e.Code != m.code || e.Retryable != m.retryable {
				t.Errorf("got %s retryable %v, want %s retryable %v (%s)", e.Code, e.Retryable, m.code, m.retryable, kind)
			}
			for _, s := range []string{m.phrase, "hpc", "[" + code + "]"} {
				if !strings.Contains(e.Message, s) {
					t.Errorf("message %q does not contain %q", e.Message, s)
				}
			}
		})
	}
}

func TestErrorForUnlistedCodes(t *testing.T) {
	tests := []struct {
		code          string
		aboutPassword bool
		kind          string
	}{
		{"InvalidParams", true, "password-rejected"},
		{"Throttling.Something", false, "throttled"},
		{"AgentError.Account.New", false, "failed"},
		{"InvalidAccessKeyId.Odd", false, "credentials"},
		{"HTTP 502", false, "internal"},
		{"Never.Heard.Of", false, "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			m := meanings[tt.kind]
			e := alibaba.ErrorFor(hpc(), nil, tt.code, tt.aboutPassword)
			if e.Code != m.code || !strings.Contains(e.Message, m.phrase) {
				t.Errorf("got %s %q, want %s with %q", e.Code, e.Message, m.code, m.phrase)
			}
		})
	}
}
