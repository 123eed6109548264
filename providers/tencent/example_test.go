package tencent_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"resetbot/bot"
	"resetbot/providers/emulator"
	"resetbot/providers/tencent"
)

func ExampleProvider_Reset() {
	emu := emulator.New(emulator.Options{TencentSecretID: "AKIDexample", TencentSecretKey: "example-key"})
	emu.AddUser(tencent.CAM, "", "alice")
	srv := httptest.NewTLSServer(emu)
	defer srv.Close()

	p := tencent.New(tencent.Options{
		SecretID:  "AKIDexample",
		SecretKey: "example-key",
		Endpoint:  srv.Listener.Addr().String(), // default: cam.tencentcloudapi.com
		Transport: srv.Client().Transport,       // trusts the test server's certificate
	})
	acct := bot.Account{Name: "console", Provider: "tencent.cam", Users: []string{"alice"}, NeedResetPassword: true}
	res, err := p.Reset(context.Background(), acct, nil)
	if err != nil {
		fmt.Println(bot.ErrorMessage(err))
		return
	}
	inForce, _ := emu.Password(tencent.CAM, "", "alice")
	fmt.Println(res[0].User, res[0].Password, inForce == res[0].Password.Value())
	// Output: alice [redacted] true
}
