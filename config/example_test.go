package config_test

import (
	"errors"
	"fmt"

	"resetbot/config"
	"resetbot/providers"
)

func ExampleLoad() {
	data := []byte(`
slack:
  bot_token: ${SLACK_BOT_TOKEN}
  signing_secret: ${SLACK_SIGNING_SECRET}
  approvals_channel: C0APPROVALS
tencentcloud:
  secret_id: ${TENCENTCLOUD_SECRET_ID}
  secret_key: ${TENCENTCLOUD_SECRET_KEY}
people:
  - {name: alice, slack: U0ALICE, groups: [eng]}
  - {name: bob, slack: U0BOB, groups: [dba]}
accounts:
  - name: shop-login
    provider: tencent.ciam
    region: ap-guangzhou
    user_store_id: store-1
    user_id: user-1
    password_length: 48
    requesters: [eng]
    approvers: [dba]
`)
	getenv := func(name string) string { return "xoxb-value-of-" + name }
	_, err := config.Load(data, getenv, providers.Kinds())
	var ce *config.Error
	if errors.As(err, &ce) {
		fmt.Println(ce)
		for _, w := range ce.Warnings {
			fmt.Println("warning:", w)
		}
	}
	// Output:
	// config: 1 problem:
	//   line 18: accounts[0].password_length: 48: tencent.ciam takes 16 to 32
	// warning: redis.url: empty: the bot keeps its state in memory; run one replica only, and requests are lost on restart
}
