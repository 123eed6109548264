package config_test

import (
	"bytes"
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

// An account whose rules one requester can meet only once the request is
// escalated loads, with a warning that says so.
func ExampleLoad_escalation() {
	data := []byte(`
slack:
  bot_token: ${SLACK_BOT_TOKEN}
  signing_secret: ${SLACK_SIGNING_SECRET}
  approvals_channel: C0APPROVALS
tencentcloud:
  secret_id: ${TENCENTCLOUD_SECRET_ID}
  secret_key: ${TENCENTCLOUD_SECRET_KEY}
redis:
  url: redis://127.0.0.1:6379/0
people:
  - {name: alice, slack: U0ALICE, groups: [eng]}
  - {name: bob, slack: U0BOB, groups: [dba]}
  - {name: dave, slack: U0DAVE, groups: [eng, security]}
  - {name: erin, slack: U0ERIN, groups: [eng-managers]}
accounts:
  - name: prod-db
    provider: tencent.cam
    user: app
    requesters: [eng]
    approval_rules:
      - {from: [dba], count: 1}
      - {from: [security], count: 1}
    remind_after: 10m
    remind_backoff: 1.5
    escalate_after: 20m
    escalate_to: [eng-managers]
`)
	getenv := func(name string) string { return "xoxb-value-of-" + name }
	cfg, err := config.Load(data, getenv, providers.Kinds())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range cfg.Warnings() {
		fmt.Println("warning:", w)
	}
	a := cfg.Accounts()[0]
	fmt.Println(a.RemindAfter, a.RemindBackoff, a.EscalateAfter, a.EscalateTo)
	// Output:
	// warning: line 23: accounts[0].approval_rules[1]: account prod-db: requests by dave can be approved only after escalate_after (20m), when escalate_to may approve: rule security needs 1, and nobody besides the requester may approve under it
	// 10m0s 1.5 20m0s [eng-managers]
}

// An account whose on-call people may reset without a vote, reviewed
// afterwards, and whose requests PagerDuty approves for whoever is on call
// during an incident.
func ExampleLoad_breakGlass() {
	data := []byte(`
slack:
  bot_token: ${SLACK_BOT_TOKEN}
  signing_secret: ${SLACK_SIGNING_SECRET}
  approvals_channel: C0APPROVALS
tencentcloud:
  secret_id: ${TENCENTCLOUD_SECRET_ID}
  secret_key: ${TENCENTCLOUD_SECRET_KEY}
pagerduty:
  token: ${PAGERDUTY_TOKEN}
redis:
  url: redis://127.0.0.1:6379/0
people:
  - {name: alice, slack: U0ALICE, pagerduty: PALICE1, groups: [eng, oncall]}
  - {name: bob, slack: U0BOB, groups: [dba]}
accounts:
  - name: prod-db
    provider: tencent.cam
    user: app
    requesters: [eng]
    approvers: [dba]
    break_glass:
      who: [oncall]
      review_within: 4h
      per_person: 2/24h
    on_call:
      escalation_policy: PPOLICY1
      levels: [1]
      incident_on: [PSERVICE1]
`)
	getenv := func(name string) string { return "xoxb-value-of-" + name }
	cfg, err := config.Load(data, getenv, providers.Kinds())
	if err != nil {
		fmt.Println(err)
		return
	}
	a := cfg.Accounts()[0]
	fmt.Println(a.BreakGlass.Who, a.BreakGlass.ReviewWithin, a.BreakGlass.PerPerson.N, a.BreakGlass.PerPerson.Window)
	fmt.Println(a.OnCall.EscalationPolicy, a.OnCall.Levels, a.OnCall.IncidentOn, cfg.People()[0].PagerDuty)

	// bob, the only approver, may not review his own break-glass reset.
	_, err = config.Load(bytes.Replace(data, []byte("who: [oncall]"), []byte("who: [oncall, bob]"), 1), getenv, providers.Kinds())
	fmt.Println(err)
	// Output:
	// [oncall] 4h0m0s 2 24h0m0s
	// PPOLICY1 [1] [PSERVICE1] PALICE1
	// config: 1 problem:
	//   line 23: accounts[0].break_glass.who: nobody but bob could review bob's break-glass reset of prod-db: reviewers are the approvers of the account's rules, never the requester
}
