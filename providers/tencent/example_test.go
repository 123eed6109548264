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
	acct := bot.Account{Name: "console", Provider: tencent.CAM, Users: []string{"alice"},
		Settings: tencent.CAMSettings{NeedResetPassword: true}}
	emu := emulator.New(emulator.Options{TencentSecretID: "AKIDexample", TencentSecretKey: "example-key"})
	if err := emu.AddAccount(acct); err != nil {
		panic(err)
	}
	srv := httptest.NewTLSServer(emu)
	defer srv.Close()

	p := tencent.New(tencent.Options{
		SecretID:  "AKIDexample",
		SecretKey: "example-key",
		Endpoint:  srv.Listener.Addr().String(), // default: cam.tencentcloudapi.com
		Transport: srv.Client().Transport,       // trusts the test server's certificate
	})
	res, err := p.Reset(context.Background(), acct, nil)
	if err != nil {
		fmt.Println(bot.ErrorMessage(err))
		return
	}
	inForce, _ := emu.AccountUser(acct, "alice")
	fmt.Println(res[0].User, res[0].Password, inForce.Password == res[0].Password.Value())
	// Output: alice [redacted] true
}

// An account's settings come from its kind, which checks the keys config
// read and applies their defaults.
func ExampleKinds() {
	for _, k := range tencent.Kinds() {
		if k.Provider() != tencent.TDSQL {
			continue
		}
		settings, problems := k.Parse(map[string]string{"instance_id": "tdsql3-d8fffc3c"}, 0)
		fmt.Printf("%#v %v\n", settings, problems)
		_, problems = k.Parse(map[string]string{"action": "DropDatabase"}, 64)
		for _, p := range problems {
			fmt.Println(p.Key, p.Message)
		}
	}
	// Output:
	// tencent.TDSQLSettings{InstanceID:"tdsql3-d8fffc3c", Host:"%", Action:"ResetUserPassword"} []
	// instance_id missing: tencent.tdsql needs it
	// action must be ResetUserPassword (the default) or ResetUsersPassword
	// password_length tencent.tdsql takes 8 to 32
}
