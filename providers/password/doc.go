// Package password makes the passwords the bot sets, and checks them against
// each cloud API's documented rule.
//
// Every password comes from an injected random source (crypto/rand in
// production) through rejection sampling at two levels: each character is
// drawn without modulo bias, and a whole password that misses one of the
// rule's character classes is thrown away and drawn again. The result is
// uniform over the passwords the rule accepts, so forcing classes does not
// make some characters likelier than others.
//
// The symbols are a conservative set that every seed API documents as
// accepted (TDSQL's and E-HPC's lists both contain it; CAM and CIAM accept
// any special character). It leaves out quotes, backslash, backtick, '$',
// '!', '&', '*', '_', '~' and '/' so that a password survives being pasted
// into a shell, a connection string or a chat message with markdown. TCR
// documents no symbols at all, so its passwords have none.
package password
