package tencent

import (
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
)

// API versions, from the seed documents.
const (
	VersionCIAM  = "2022-03-31"
	VersionTDSQL = "2021-11-22"
	VersionTCR   = "2019-09-24"
	VersionCAM   = "2019-01-16"
)

// SetPasswordRequest is ciam SetPassword.
type SetPasswordRequest struct {
	*tchttp.BaseRequest
	UserStoreId string `json:"UserStoreId"`
	UserId      string `json:"UserId"`
	Password    string `json:"Password"`
}

// ResetUserPasswordRequest is tdmysql ResetUserPassword.
type ResetUserPasswordRequest struct {
	*tchttp.BaseRequest
	InstanceId string `json:"InstanceId"`
	UserName   string `json:"UserName"`
	Host       string `json:"Host"`
	Password   string `json:"Password"`
}

// ResetUserPasswordInfo is one user of tdmysql ResetUsersPassword.
type ResetUserPasswordInfo struct {
	UserName string `json:"UserName"`
	Host     string `json:"Host"`
	Password string `json:"Password"`
}

// ResetUsersPasswordRequest is tdmysql ResetUsersPassword, the batch form.
type ResetUsersPasswordRequest struct {
	*tchttp.BaseRequest
	InstanceId string                  `json:"InstanceId"`
	Users      []ResetUserPasswordInfo `json:"Users"`
}

// ResetUsersPasswordResponse carries the batch's task.
type ResetUsersPasswordResponse struct {
	*tchttp.BaseResponse
	Response *struct {
		FlowId    int64  `json:"FlowId"`
		RequestId string `json:"RequestId"`
	} `json:"Response"`
}

// ModifyServiceAccountPasswordRequest is tcr ModifyServiceAccountPassword.
// Random is required by the API, so it is always sent; Password is nil with
// Random (the SDK's JSON encoder omits nil pointers only).
type ModifyServiceAccountPasswordRequest struct {
	*tchttp.BaseRequest
	RegistryId string  `json:"RegistryId"`
	Name       string  `json:"Name"`
	Random     bool    `json:"Random"`
	Password   *string `json:"Password,omitnil,omitempty"`
}

// ModifyServiceAccountPasswordResponse returns the password in force, which
// the API generated when Random was true.
type ModifyServiceAccountPasswordResponse struct {
	*tchttp.BaseResponse
	Response *struct {
		Password  string `json:"Password"`
		RequestId string `json:"RequestId"`
	} `json:"Response"`
}

// UpdateUserRequest is cam UpdateUser, with the fields a reset sets.
// ConsoleLogin and NeedResetPassword are always sent: 0 is a value.
type UpdateUserRequest struct {
	*tchttp.BaseRequest
	Name              string `json:"Name"`
	ConsoleLogin      uint64 `json:"ConsoleLogin"`
	Password          string `json:"Password"`
	NeedResetPassword uint64 `json:"NeedResetPassword"`
}

// EmptyResponse is the answer of the actions that return only a RequestId
// (SetPassword, ResetUserPassword, UpdateUser).
type EmptyResponse struct {
	*tchttp.BaseResponse
	Response *struct {
		RequestId string `json:"RequestId"`
	} `json:"Response"`
}

func newRequest(service, version, action string) *tchttp.BaseRequest {
	r := &tchttp.BaseRequest{}
	r.Init().WithApiInfo(service, version, action)
	return r
}
