// Command resetbot runs the bot (serve), checks a config (check-config),
// prints the audit log (audit), and runs a local trial (playground).
//
// It is the composition root and the only place that wires things: the
// config becomes a Redis client, a Store, providers, adapters and one
// bot.Service, and everything long-running starts and stops together under
// one context, so SIGTERM drains in-flight work and exits cleanly.
package main
