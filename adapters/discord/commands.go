package discord

import (
	"github.com/bwmarrin/discordgo"

	"resetbot/bot"
)

// commands is what Start registers: /reset-password with one subcommand per
// verb of the text grammar, and native options.
func commands() []*discordgo.ApplicationCommand {
	str := func(name, desc string, required bool, max int) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString,
			Name: name, Description: desc, Required: required, MaxLength: max}
	}
	id := func(required bool) *discordgo.ApplicationCommandOption {
		return str("id", "the request ID, like R-7F3K9Q", required, 16)
	}
	account := str("account", "the account to reset", true, 64)
	account.Autocomplete = true
	users := str("users", "which of the account's users, comma-separated (accounts that allow several)", false, 1000)
	users.Autocomplete = true
	sub := func(name, desc string, opts ...*discordgo.ApplicationCommandOption) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionSubCommand,
			Name: name, Description: desc, Options: opts}
	}
	return []*discordgo.ApplicationCommand{{
		Type:        discordgo.ChatApplicationCommand,
		Name:        commandName,
		Description: "Ask for, approve and follow approved password resets",
		Options: []*discordgo.ApplicationCommandOption{
			sub("ask", "ask for a password reset (a second person approves)",
				account, str("reason", "why you need it (approvers see this)", true, bot.MaxReason), users),
			sub("list", "the accounts you may ask for"),
			sub("status", "your open requests, or one request", id(false)),
			sub("cancel", "withdraw your request before it is revealed", id(true)),
			sub("reveal", "reset and show the password of your approved request (as its Reveal button)", id(true)),
			sub("approve", "approve a request (approvers)", id(true)),
			sub("deny", "deny a request (approvers)", id(true), str("reason", "why (the requester sees this)", false, bot.MaxReason)),
			// Required options first: Discord refuses a required option after
			// an optional one.
			sub("break-glass", "reset now, without a vote, during an incident (approvers review it afterwards)",
				account, str("incident", "the incident reference, like INC-123 (no spaces)", true, bot.MaxIncident),
				str("reason", "why you need it now (approvers see this)", true, bot.MaxReason), users),
			sub("confirm", "confirm a break-glass or on-call reset (approvers)", id(true)),
			sub("reject", "reject a break-glass or on-call reset: its password is reset again (approvers)", id(true),
				str("reason", "why (the requester sees this)", false, bot.MaxReason)),
			sub("help", "how to use /reset-password"),
		},
	}}
}
