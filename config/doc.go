// Package config reads resetbot's YAML configuration and checks it loudly
// before anything starts: Load returns a *Config, or an *Error listing every
// problem at once, each with its key path ("accounts[2].approvals"), its
// line and, for a mistyped key, a "did you mean". Warnings (an embedded
// store, a credential written in the file, an unused cloud section) come
// with the Config, or with the Error when there are problems too.
//
// The file is read in three steps, one file each:
//
//   - decode.go walks the YAML itself, because yaml.v3 stops at the first
//     unknown key. It expands ${VAR} from the environment after parsing, so
//     a variable's value is always one plain string, never more keys.
//   - config.go and account.go hold the schema, the defaults and the
//     conversion to the bot's vocabulary: People and Accounts.
//   - check.go and check_accounts.go hold the checks: server and Redis,
//     Slack, Discord, people, accounts and their approval policy, and the
//     cloud credential sections; rules.go holds those of approval_rules and
//     of an account's channels, remind.go those of reminders and
//     escalation, incidents.go those of break_glass, on_call and pagerduty.
//
// # Approval rules
//
// An account sets approval_rules (rules that must all hold, each {from,
// count}) or the approvers/approvals shorthand for one rule, not both;
// Accounts gives the rules as bot.Account.Rules. check-config proves that
// every allowed requester could get a request approved: that people besides
// the requester can fill every rule's count at once, one person toward one
// rule only (a bipartite matching of people to the rules' places). Discord
// approver_roles feed the shorthand's one rule only (bot.RequestRules), so
// they are refused along with approval_rules; with the shorthand anyone in
// config may hold a role, so everyone may approve. For approval_rules, an
// account some requester could never get approved is an error naming the
// account, the requester and the rule; for the shorthand it stays a
// warning, as it was.
//
// # Reminders and escalation
//
// remind_after (a duration less than ttl; 0 or absent: never) is when the
// first reminder goes under a pending request's card; remind_backoff
// (default 1, from 1 to bot.MaxRemindBackoff, 1.5 is fine) is how many
// times longer each later one waits. escalate_after (less than ttl) and
// escalate_to (people or groups) go together: from then on escalate_to's
// people, never the requester, may approve too, counting toward any rule.
// The proof above is made twice when an account escalates: a requester
// whom the rules fail without escalation but not with it is a warning,
// "only after escalate_after (20m), when escalate_to may approve"; one
// they fail either way is the error (a warning for the shorthand). A
// rule's count larger than its own people stays an error whatever
// escalation adds: the rule would always wait for escalation.
//
// # Incidents: break-glass and on-call
//
// break_glass {who, review_within, per_person} becomes bot.Account.BreakGlass:
// who (people or groups, required) may reset without a prior vote;
// review_within (required, more than 0, at most 7 days) is when an
// approver must have confirmed it; per_person ("N/duration", like 2/24h,
// optional) limits each person's break-glass resets. on_call
// {escalation_policy, levels, incident_on} becomes bot.Account.OnCall:
// PagerDuty IDs (P, then upper-case letters and digits), levels from 1,
// none twice; it needs the top-level pagerduty section's token
// (Config.PagerDuty, a secret like the others; api_url an http(s) URL).
// people[].pagerduty, the PagerDuty user ID on-call matches people by, is
// bot.Person.PagerDuty, one person's only. check-config proves every such
// reset can be reviewed: for each person of who, and each requester with a
// PagerDuty ID of an account with on_call, someone else may review it (the
// people of the account's rules, or escalate_to; anyone, when Discord
// approver_roles admit approvers). It warns when on_call can never match
// anyone: no requester has a PagerDuty ID.
//
// An account's channels (slack, discord) route its cards; Channels gives,
// for each configured platform, the account's own channel or else that
// platform's approvals_channel.
//
// Credentials (bot tokens, the signing secret, cloud keys, the PagerDuty
// token, the Redis URL)
// are bot.Secret, which never prints its value; Redis.RedactedURL is the
// URL for logs. No message repeats a value that came from the environment:
// it may be a secret in the wrong key (application_id: "${DISCORD_BOT_TOKEN}"),
// so the message names the variable instead.
//
// # Provider keys belong to the providers
//
// Config knows the keys every account has (name, provider, region, user,
// users, password_length, endpoint, scheme and the approval policy) and
// nothing of any provider. Load takes the providers' bot.AccountKind
// values; an account's other keys are handed to the kind named by its
// provider:
//
//   - a key among the kind's Settings or UserKeys is captured as written
//     (after ${VAR}; a Bool setting as "true" or "false") and passed to the
//     kind's Parse, once, at load. Accounts returns the typed
//     bot.AccountSettings it made; its SettingProblems become problems at
//     accounts[i].<key>, with the value as written before the message when
//     the kind asks for it (never a value from the environment);
//   - a key of another kind is "not a tencent.ciam key (it belongs to
//     tencent.tdsql)": a cluster_id on a TDSQL account would be ignored;
//   - a key no kind knows is unknown, with a "did you mean" among the
//     common keys and every kind's.
//
// The kind also says whether the account needs a region, which keys name
// its one user, how many users it may list, and which credential section
// (Cloud: "tencentcloud" or "alibabacloud") its calls need; Accounts fills
// the endpoint and scheme from the account's own keys, else from that
// section. A new provider therefore needs no change here, unless it brings
// a new cloud, whose credential section goes in config.go and check.go.
package config
