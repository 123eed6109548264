// Package tencent resets passwords through four Tencent Cloud APIs, on the
// official SDK's common client (TC3-HMAC-SHA256 signing, client profiles,
// TencentCloudSDKError) with request and response types of its own that
// follow the API documents, since only the SDK's common module is available:
//
//	tencent.ciam   ciam SetPassword (2022-03-31): UserStoreId, UserId, Password
//	tencent.tdsql  tdmysql ResetUserPassword (2021-11-22): InstanceId,
//	               UserName, Host, Password; or, with `action:
//	               ResetUsersPassword`, the batch InstanceId,
//	               Users[]{UserName, Host, Password} in one call
//	tencent.tcr    tcr ModifyServiceAccountPassword (2019-09-24): RegistryId,
//	               Name, Random, Password; with Random the API makes the
//	               password and returns it, and it is delivered as is
//	tencent.cam    cam UpdateUser (2019-01-16): Name, ConsoleLogin=1,
//	               Password, NeedResetPassword (the account's setting)
//
// Each call goes through package call: the shared rate limit per action and
// credential, a timeout per attempt, retries of throttling and internal
// errors, EUNKNOWN for a call sent without an answer. A password the API
// refuses under its password rule is replaced once by a longer one with every
// character class; a second refusal is a failure that says so.
//
// Every error code the API documents for these actions, and the common codes
// of Tencent Cloud API 3.0, maps to a call.Kind and from there to a message
// that names the account and what to do (Codes, ErrorFor). Unlisted codes fall
// back on their family (the part before the dot).
//
// The package owns these accounts: their provider keys (CIAM, TDSQL, TCR,
// CAM), their settings (CIAMSettings, TDSQLSettings, TCRSettings,
// CAMSettings), the kinds that parse and check them for config (Kinds), and
// the APIs' password rules (Rule). Reset reads an account's typed settings;
// settings of another type are an EINVALID error.
//
// The endpoint is <service>.tencentcloudapi.com unless Options.Endpoint or
// the account's endpoint says otherwise (host[:port], used for every
// service), over https unless a scheme says http.
package tencent
