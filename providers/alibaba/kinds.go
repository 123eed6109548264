package alibaba

import (
	"resetbot/bot"
	"resetbot/providers/internal/accountkind"
	"resetbot/providers/password"
)

// EHPC is the provider key of E-HPC cluster users, as accounts write it in
// `provider:`.
const EHPC bot.ProviderKey = "alibaba.ehpc"

// Cloud is the config section holding the credential of every account here.
const Cloud = "alibabacloud"

// EHPCSettings are an alibaba.ehpc account's settings.
type EHPCSettings struct {
	ClusterID string
	Async     bool // the API's Async parameter
}

// Resource is the cluster, for approval cards.
func (s EHPCSettings) Resource() string { return "cluster_id=" + s.ClusterID }

// rule is E-HPC's password rule: 8-30, three of the four classes, with
// password.Symbols, which lie within the API's documented set.
var rule = password.Rule{Provider: EHPC, Min: 8, Max: 30, Default: 20,
	Classes: []string{password.Upper, password.Lower, password.Digits, password.Symbols}, Need: 3}

// Rule returns E-HPC's password rule.
func Rule() password.Rule { return rule }

// Kinds are the kinds of account this package resets: what config, the
// playground and tools ask about them.
func Kinds() []bot.AccountKind { return []bot.AccountKind{ehpcKind} }

var ehpcKind = accountkind.Kind{
	Key: EHPC, CloudKey: Cloud, Region: true, Rule: rule, Max: MaxUsers,
	Keys:  []bot.Setting{{Key: "cluster_id"}, {Key: "async", Bool: true}},
	Users: []string{"user"},
	ParseFunc: func(v *accountkind.Values) bot.AccountSettings {
		return EHPCSettings{ClusterID: v.Required("cluster_id"), Async: v.Bool("async", false)}
	},
}
