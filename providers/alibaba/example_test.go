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
	emu := emulator.New(emulator.Options{AlibabaAccessKeyID: "LTAIexample", AlibabaAccessKeySecret: "example-secret"})
	emu.AddUser(alibaba.EHPC, "ehpc-hz-example", "user1")
	emu.AddUser(alibaba.EHPC, "ehpc-hz-example", "user2")
	srv := httptest.NewTLSServer(emu)
	defer srv.Close()

	p := alibaba.New(alibaba.Options{
		AccessKeyID:     "LTAIexample",
		AccessKeySecret: "example-secret",
		Endpoint:        srv.Listener.Addr().String(), // default: ehpc.<region>.aliyuncs.com
		Transport:       srv.Client().Transport,       // trusts the test server's certificate
	})
	acct := bot.Account{Name: "hpc", Provider: "alibaba.ehpc", Region: "cn-hangzhou",
		Users: []string{"user1", "user2"}, Settings: map[string]string{"cluster_id": "ehpc-hz-example"}}
	res, err := p.Reset(context.Background(), acct, nil)
	if err != nil {
		fmt.Println(bot.ErrorMessage(err))
		return
	}
	for _, r := range res {
		inForce, _ := emu.Password(alibaba.EHPC, "ehpc-hz-example", r.User)
		fmt.Println(r.User, r.Password, inForce == r.Password.Value())
	}
	// Output:
	// user1 [redacted] true
	// user2 [redacted] true
}
