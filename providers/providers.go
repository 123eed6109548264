// Package providers gathers the kinds of account of every provider package,
// for the code that must know them all: config checking, the playground and
// tools. Each kind stays owned by its package (tencent, alibaba); this
// package only lists them.
//
// # Adding a provider
//
// A new cloud API goes in the package of its cloud (providers/tencent,
// providers/alibaba), or in a new package named after the cloud, beside
// them. There:
//
//   - Its provider key is an exported bot.ProviderKey constant ("tencent.cam"
//     is tencent.CAM). Nothing outside the package writes the string.
//   - Its settings are an exported type implementing bot.AccountSettings
//     (tencent.CAMSettings): the typed values of the keys its accounts set,
//     with Resource saying what the approval card shows.
//   - Its kind implements bot.AccountKind, built as an accountkind.Kind
//     (providers/internal/accountkind): the cloud's config section, whether
//     it needs a region, its own keys, its user keys, how many users one
//     account may list, and a parse function that checks its keys, applies
//     their defaults and returns the typed settings. The package's Kinds()
//     lists it, and Kinds below lists the package's Kinds.
//   - Its password rule is a password.Rule beside the kind (the kind's
//     password_length range is the rule's Min and Max, so config cannot
//     allow a length the rule refuses).
//   - Its error codes map to call.Kind in the package's errors.go: every
//     code the API documents, so that the requester reads what to do.
//   - The provider's Reset reads the account's settings with
//     accountkind.SettingsOf and calls through package call (rate limit,
//     retries, unknown outcomes).
//
// Then the emulator (providers/emulator) learns the API: its action, its
// signature, its error codes and its password rule, and AddAccount learns to
// seed users from the new settings type. The provider's tests run the
// conformance suite, providertest.Run, with a Harness for the new API,
// beside its own tests of what only it does (its error-code table, batches).
//
// Last, the composition root: cmd/resetbot/cloud.go gives every kind a
// package's Kinds lists to that package's provider, so a new API in an
// existing package needs nothing more there. A new cloud needs its
// credential section in package config (a type in config.go, named by its
// kinds' Cloud, and its entry in the clouds list of check.go, which checks
// the section against the accounts that use it), a block in cloud.go that
// makes its provider from that section, and its Kinds in Kinds below.
package providers

import (
	"resetbot/bot"
	"resetbot/providers/alibaba"
	"resetbot/providers/tencent"
)

// Kinds returns the kind of every provider's accounts.
func Kinds() []bot.AccountKind {
	return append(tencent.Kinds(), alibaba.Kinds()...)
}

// Kind returns the kind of accounts with provider key, and whether there is
// one.
func Kind(key bot.ProviderKey) (bot.AccountKind, bool) {
	for _, k := range Kinds() {
		if k.Provider() == key {
			return k, true
		}
	}
	return nil, false
}
