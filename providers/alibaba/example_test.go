package alibaba_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"resetbot/bot"
	"resetbot/providers/alibaba"
	"resetbot/providers/emulator"
)

func ExampleProvider_Reset() {
	acct := bot.Account{Name: "hpc", Provider: alibaba.EHPC, Region: "cn-hangzhou",
		Users: []string{"user1", "user2"}, Settings: alibaba.EHPCSettings{ClusterID: "ehpc-hz-example"}}
	emu := emulator.New(emulator.Options{AlibabaAccessKeyID: "LTAIexample", AlibabaAccessKeySecret: "example-secret"})
	if err := emu.AddAccount(acct); err != nil {
		panic(err)
	}
	srv := httptest.NewTLSServer(emu)
	defer srv.Close()

	p := alibaba.New(alibaba.Options{
		AccessKeyID:     "LTAIexample",
		AccessKeySecret: "example-secret",
		Endpoint:        srv.Listener.Addr().String(), // default: ehpc.<region>.aliyuncs.com
		Transport:       srv.Client().Transport,       // trusts the test server's certificate
	})
	res, err := p.Reset(context.Background(), acct, nil)
	if err != nil {
		fmt.Println(bot.ErrorMessage(err))
		return
	}
	for _, r := range res {
		inForce, _ := emu.AccountUser(acct, r.User)
		fmt.Println(r.User, r.Password, inForce.Password == r.Password.Value())
	}
	// Output:
	// user1 [redacted] true
	// user2 [redacted] true
}
