package discord

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"resetbot/bot"

	"github.com/bwmarrin/discordgo"
)

const maxContent = 2000 // Discord's limit on a message's content

func ephemeral(text string) *response {
	return &response{Type: discordgo.InteractionResponseChannelMessageWithSource, Data: &responseData{
		Content: clip(text, maxContent), Flags: discordgo.MessageFlagsEphemeral, AllowedMentions: noMentions(),
	}}
}

func deferred() *response {
	return &response{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &responseData{Flags: discordgo.MessageFlagsEphemeral}}
}

// noMentions keeps user-supplied text (a reason) from pinging anyone.
func noMentions() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
}

func denyModal(id string) *response { return reasonModal("deny", "Deny", id) }

// rejectModal asks a reviewer why they reject a break-glass or on-call
// reset; the reason is optional, as deny's is.
func rejectModal(id string) *response { return reasonModal("reject", "Reject", id) }

// reasonModal is the form that asks for the optional reason of verb (its
// custom_id is verb:id, as the button's).
func reasonModal(verb, title, id string) *response {
	return &response{Type: discordgo.InteractionResponseModal, Data: &responseData{
		CustomID: verb + ":" + id,
		Title:    title + " " + id,
		Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.TextInput{CustomID: "reason", Label: "Why? (the requester sees this)", Style: discordgo.TextInputParagraph,
				Required: false, MaxLength: bot.MaxReason},
		}}},
	}}
}

// passwordText is the one message that holds passwords: the answer to the
// requester's Reveal, which only they see.
func passwordText(id string, results []bot.UserResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "New password for %s, shown to you alone:", id)
	for _, r := range results {
		if r.Err != nil {
			fmt.Fprintf(&b, "\n• %s: not reset: %s", r.User, bot.ErrorMessage(r.Err))
			continue
		}
		fmt.Fprintf(&b, "\n• %s: %s", r.User, codeSpan(r.Password.Value()))
	}
	b.WriteString("\nCopy it now: resetbot keeps no copy, and this message is gone once you dismiss it or Discord reloads.")
	return b.String()
}

// offerText is the direct message that offers req for Reveal. It holds no
// secret: the password exists only once the button is pressed.
func offerText(req bot.Request) string {
	return fmt.Sprintf("**%s** was approved by %s: %s can be reset now.\n"+
		"Press **Reveal** before %s to reset the password and see it, in an answer only you can see. "+
		"Nothing is reset until you press it; after %s the button no longer works and you have to ask again.\n"+
		"(Or type `/reset-password reveal id:%s`.)",
		req.ID, approvedBy(req), target(req), at(req.RevealBy, "t"), at(req.RevealBy, "t"), req.ID)
}

// revealButton is the offer's one button.
func revealButton(id string) []discordgo.MessageComponent {
	return []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{Label: "Reveal", Style: discordgo.PrimaryButton, CustomID: "reveal:" + id},
	}}}
}

// endedText replaces the offer once req has ended: how it ended, without
// the button.
func endedText(req bot.Request) string {
	head := fmt.Sprintf("**%s** (%s)", req.ID, target(req))
	when := at(req.UpdatedAt, "t")
	switch req.State {
	case bot.StateSucceeded:
		return fmt.Sprintf("%s was revealed %s: %s. resetbot keeps no copy of the password.",
			head, when, escapeMarkdown(req.Outcome))
	case bot.StateExpired:
		by := req.RevealBy
		if by.IsZero() {
			by = req.UpdatedAt
		}
		return fmt.Sprintf("%s expired: Reveal was not pressed by %s, so nothing was reset. Ask again when you need it.",
			head, at(by, "t"))
	case bot.StateCancelled:
		return fmt.Sprintf("%s was cancelled %s; nothing was reset.", head, when)
	case bot.StateFailed:
		return fmt.Sprintf("%s failed %s: %s", head, when, escapeMarkdown(req.Outcome))
	case bot.StateDenied:
		return fmt.Sprintf("%s was denied %s.", head, when)
	}
	return escapeMarkdown(bot.Summary(req))
}

// target is an account with its users: "prod-db: app_user".
func target(req bot.Request) string {
	if len(req.Users) == 0 {
		return req.Account
	}
	return req.Account + ": " + strings.Join(req.Users, ", ")
}

// approvedBy names who approved req.
func approvedBy(req bot.Request) string {
	if req.Review != nil {
		switch req.Review.Kind {
		case bot.ReviewBreakGlass:
			return "break-glass (no vote; approvers review it afterwards)"
		case bot.ReviewOnCall:
			return "PagerDuty (on call; approvers review it afterwards)"
		}
	}
	var names []string
	for _, v := range req.Votes {
		if v.Approve {
			names = append(names, v.Person)
		}
	}
	if len(names) == 0 {
		return "policy" // a request that needed no vote
	}
	return strings.Join(names, ", ")
}

// at is t as Discord shows a time to each reader, in their time zone, in
// style ("t": 14:30, "f": 4 March 2025 14:30).
func at(t time.Time, style string) string {
	if t.IsZero() {
		return "the deadline"
	}
	return fmt.Sprintf("<t:%d:%s>", t.Unix(), style)
}

// codeSpan shows s verbatim, whatever backticks it holds.
func codeSpan(s string) string {
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	return fence + " " + s + " " + fence
}

// escapeMarkdown shows text typed by people (a reason) as typed: without it
// a reason could put a masked link, bold "pre-approved" words, a spoiler
// or a heading on the card, as if the bot had written them.
// Reasons are one line (whitespace is collapsed), so a heading or a list
// can only start the text.
func escapeMarkdown(s string) string {
	var b strings.Builder
	if strings.HasPrefix(s, "#") || strings.HasPrefix(s, "-") {
		b.WriteByte('\\')
	}
	for _, r := range s {
		if strings.ContainsRune("\\*_~`|[]()<>", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// cardEmbed shows a request to approvers.
func cardEmbed(req bot.Request, acct bot.Account) *discordgo.MessageEmbed {
	field := func(name, value string, inline bool) *discordgo.MessageEmbedField {
		if value == "" {
			value = "—"
		}
		return &discordgo.MessageEmbedField{Name: name, Value: clip(value, 1024), Inline: inline}
	}
	where := string(acct.Provider)
	if acct.Region != "" {
		where += " · " + acct.Region
	}
	fields := []*discordgo.MessageEmbedField{
		field("Requester", req.Requester, true),
		field("Account", req.Account, true),
		field("Provider", where, true),
	}
	if r := acct.Resource(); r != "" {
		fields = append(fields, field("Resource", r, false))
	}
	fields = append(fields,
		field("Users", strings.Join(req.Users, ", "), false),
		field("Reason", escapeMarkdown(req.Reason), false),
	)
	if rv := req.Review; rv != nil {
		incident := escapeMarkdown(rv.Incident)
		if rv.Detail != "" {
			incident += "\n" + escapeMarkdown(rv.Detail)
		}
		fields = append(fields, field("Incident", incident, false), field("Review", reviewText(req), false))
		if rv.Rotation != nil {
			fields = append(fields, field("Rotation", rotationText(req), false))
		}
	}
	fields = append(fields,
		field("Approvals", approvalsText(req), true),
		field("Expires", fmt.Sprintf("<t:%d:f>", req.ExpiresAt.Unix()), true),
	)
	if len(req.Votes) > 0 {
		var votes []string
		for _, v := range req.Votes {
			line := "✅ " + v.Person
			if !v.Approve {
				line = "❌ " + v.Person
			}
			line += fmt.Sprintf(" (%s, <t:%d:t>)", v.Platform, v.At.Unix())
			if v.Reason != "" {
				line += ": " + escapeMarkdown(v.Reason)
			}
			votes = append(votes, line)
		}
		fields = append(fields, field("Votes", strings.Join(votes, "\n"), false))
	}
	if req.Outcome != "" {
		fields = append(fields, field("Outcome", escapeMarkdown(req.Outcome), false))
	}
	if req.Notice != "" {
		fields = append(fields, field("Notice", escapeMarkdown(req.Notice), false))
	}
	var updated string
	if !req.UpdatedAt.IsZero() {
		updated = req.UpdatedAt.UTC().Format(time.RFC3339)
	}
	title, description, color := cardTitle(req.ID, false), stateLine(req), stateColor(req.State)
	if req.Review != nil {
		title = cardTitle(req.ID, true)
		description = reviewLine(req) + "\n" + description
		color = reviewColor(req)
	}
	return &discordgo.MessageEmbed{
		Type:        discordgo.EmbedTypeRich,
		Title:       title,
		Description: description,
		Color:       color,
		Fields:      fields,
		Footer:      &discordgo.MessageEmbedFooter{Text: "asked on " + string(req.Platform)},
		Timestamp:   updated,
	}
}

// reviewLine marks a request that skipped the vote, and says why it did.
func reviewLine(req bot.Request) string {
	who := escapeMarkdown(req.Requester)
	if req.Review.Kind == bot.ReviewOnCall {
		return fmt.Sprintf("**BREAK-GLASS**: auto-approved by PagerDuty (%s is on call), without a vote; it still needs an approver's review.", who)
	}
	return fmt.Sprintf("**BREAK-GLASS** by %s: reset without a vote, for an incident; it needs the review of an approver other than %s.", who, who)
}

// reviewText is where the review stands.
func reviewText(req bot.Request) string {
	rv := req.Review
	by := escapeMarkdown(rv.By)
	switch rv.State {
	case bot.ReviewOpen:
		return fmt.Sprintf("Open: an approver confirms or rejects it by %s. Rejected, or not confirmed by then, the password shown is reset again, to one nobody sees.", at(rv.Due, "f"))
	case bot.ReviewConfirmed:
		return fmt.Sprintf("Confirmed by %s %s", by, at(rv.At, "f"))
	case bot.ReviewRejected:
		s := fmt.Sprintf("Rejected by %s %s", by, at(rv.At, "f"))
		if rv.Reason != "" {
			s += ": " + escapeMarkdown(rv.Reason)
		}
		return s
	case bot.ReviewOverdue:
		return fmt.Sprintf("Overdue: not confirmed by %s", at(rv.Due, "f"))
	}
	return escapeMarkdown(string(rv.State))
}

// rotationText is where the second reset of a rejected or overdue review
// stands: above all, whether the password shown is still valid.
func rotationText(req bot.Request) string {
	r := req.Review.Rotation
	switch r.State {
	case bot.RotationPending:
		s := fmt.Sprintf("**STILL EXPOSED**: the password shown to %s is still valid; ", escapeMarkdown(req.Requester))
		if r.Error != "" {
			s += fmt.Sprintf("resetting it again failed (%s); ", escapeMarkdown(r.Error))
		}
		if r.Next.IsZero() {
			return s + "it is being reset again now."
		}
		if r.Error != "" {
			return s + "next try " + at(r.Next, "R") + "."
		}
		return s + "it is reset again " + at(r.Next, "R") + "."
	case bot.RotationDone:
		return fmt.Sprintf("Reset again %s; nobody has the password; the account is locked until a normal approved request.", at(r.At, "f"))
	case bot.RotationNone:
		return "Nothing was reset, nothing to undo."
	}
	return escapeMarkdown(string(r.State))
}

// reviewColor: red while the password shown is still valid after a
// rejection, orange while the review is open, else the state's.
func reviewColor(req bot.Request) int {
	switch {
	case req.Exposed():
		return 0xE74C3C
	case req.Reviewable():
		return 0xE67E22
	case req.Review.State == bot.ReviewRejected || req.Review.State == bot.ReviewOverdue:
		return 0x95A5A6
	}
	return stateColor(req.State)
}

// approvalsText is each rule's progress, and, once the request was
// escalated, to whom (kept after it ended, as on Slack: it says why an
// escalated person's approval counted).
func approvalsText(req bot.Request) string {
	if rv := req.Review; rv != nil && rv.Kind == bot.ReviewOnCall {
		return "auto-approved by PagerDuty (on call)"
	} else if rv != nil {
		return "skipped: break-glass"
	}
	s := bot.ProgressText(req.Progress())
	if e := req.Escalated(); e != "" {
		s += "\nescalated to " + escapeMarkdown(e)
	}
	return s
}

func stateLine(req bot.Request) string {
	switch req.State {
	case bot.StatePending:
		return fmt.Sprintf("**Pending**: waiting for %d more approval(s).", missing(req.Progress()))
	case bot.StateApproved:
		return fmt.Sprintf("**Approved**: sending %s a Reveal button; nothing is reset until they press it.", req.Requester)
	case bot.StateOffered:
		return fmt.Sprintf("**Approved**, waiting for %s to reveal, until %s. Nothing is reset until then.", req.Requester, at(req.RevealBy, "f"))
	case bot.StateExecuting:
		return fmt.Sprintf("**Resetting** now, at %s's Reveal.", req.Requester)
	case bot.StateSucceeded:
		return "**Done**."
	case bot.StateFailed:
		return "**Failed**."
	case bot.StateDenied:
		return "**Denied**."
	case bot.StateExpired:
		return "**Expired**."
	case bot.StateCancelled:
		return "**Cancelled** by the requester."
	}
	return "**" + string(req.State) + "**"
}

// missing is how many more approvals progress needs, at least 1: a request
// still pending needs one more.
func missing(progress []bot.RuleProgress) int {
	n := 0
	for _, p := range progress {
		n += max(p.Need-p.Have, 0)
	}
	return max(n, 1)
}

func stateColor(s bot.State) int {
	switch s {
	case bot.StatePending:
		return 0xF1C40F
	case bot.StateApproved, bot.StateOffered, bot.StateExecuting:
		return 0x3498DB
	case bot.StateSucceeded:
		return 0x2ECC71
	case bot.StateFailed, bot.StateDenied:
		return 0xE74C3C
	}
	return 0x95A5A6
}

// cardTitle is the title of the card of request id (breakGlass: one
// that skipped the vote). FindCard knows a card by it.
func cardTitle(id string, breakGlass bool) string {
	if breakGlass {
		return "BREAK-GLASS password reset " + id
	}
	return "Password reset " + id
}

// cardTitles are the titles a card of request id may have.
func cardTitles(id string) []string { return []string{cardTitle(id, false), cardTitle(id, true)} }

// cardCustomIDs are the custom_ids of the buttons a card of request id
// may have (cardButtons).
func cardCustomIDs(id string) []string {
	return []string{"approve:" + id, "deny:" + id, "confirm:" + id, "reject:" + id}
}

// cardButtons are Approve and Deny while req is pending, Confirm and
// Reject while its review is open, and none after (an empty list, which an
// edit sends as [] to remove them).
func cardButtons(req bot.Request) []discordgo.MessageComponent {
	var row []discordgo.MessageComponent
	if req.State == bot.StatePending {
		row = append(row,
			discordgo.Button{Label: "Approve", Style: discordgo.SuccessButton, CustomID: "approve:" + req.ID},
			discordgo.Button{Label: "Deny", Style: discordgo.DangerButton, CustomID: "deny:" + req.ID})
	}
	if req.Reviewable() {
		row = append(row,
			discordgo.Button{Label: "Confirm", Style: discordgo.SuccessButton, CustomID: "confirm:" + req.ID},
			discordgo.Button{Label: "Reject", Style: discordgo.DangerButton, CustomID: "reject:" + req.ID})
	}
	if len(row) == 0 {
		return []discordgo.MessageComponent{}
	}
	return []discordgo.MessageComponent{discordgo.ActionsRow{Components: row}}
}

// clip cuts s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

const usage = "Usage on Discord:\n```\n" +
	"/reset-password ask account:<account> reason:<why> [users:<a,b>]\n" +
	"                                  ask for a password reset\n" +
	"/reset-password list              the accounts you may ask for\n" +
	"/reset-password status [id:R-…]   your open requests, or one request\n" +
	"/reset-password cancel id:R-…     withdraw your request before it is revealed\n" +
	"/reset-password reveal id:R-…     reset and show the password of your approved request\n" +
	"                                  (what its Reveal button does)\n" +
	"/reset-password approve id:R-…    approve a request (approvers; or the card's button)\n" +
	"/reset-password deny id:R-… [reason:…]\n" +
	"                                  deny a request (approvers)\n" +
	"/reset-password break-glass account:<account> incident:<INC-123> reason:<why> [users:<a,b>]\n" +
	"                                  reset now, without a vote, during an incident;\n" +
	"                                  approvers review it afterwards\n" +
	"/reset-password confirm id:R-…    confirm a break-glass or on-call reset (approvers)\n" +
	"/reset-password reject id:R-… [reason:…]\n" +
	"                                  reject it: its password is reset again, to one\n" +
	"                                  nobody sees (approvers)\n" +
	"/reset-password help              this text\n```"
