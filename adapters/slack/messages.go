package slack

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackutilsx"

	"resetbot/bot"
)

// escape makes user input inert in mrkdwn: no mentions, links or @channel.
func escape(s string) string { return slackutilsx.EscapeMessage(s) }

func md(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

// cut shortens s to n runes, for Slack's length limits.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// when shows t in each reader's own time zone, with a UTC fallback.
func when(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}

var stateMark = map[bot.State]string{
	bot.StatePending:   "⏳",
	bot.StateApproved:  "👍",
	bot.StateOffered:   "🔑",
	bot.StateExecuting: "⚙️",
	bot.StateSucceeded: "✅",
	bot.StateFailed:    "⚠️",
	bot.StateDenied:    "⛔",
	bot.StateExpired:   "⌛",
	bot.StateCancelled: "✖️",
}

// cardText is the card's notification text.
func cardText(req bot.Request) string {
	return fmt.Sprintf("%s: %s asks to reset %s (%s): %s", req.ID, req.Requester, req.Account,
		strings.Join(req.Users, ", "), req.State)
}

// cardBlocks is the approval card: who asks for what and why, the votes, the
// result, and the buttons while the request is pending.
func cardBlocks(req bot.Request, acct bot.Account) []slack.Block {
	resource := acct.Resource()
	if resource == "" {
		resource = "—"
	}
	account := req.Account
	provider := strings.TrimSpace(string(acct.Provider) + " " + acct.Region)
	if provider == "" {
		provider = "no longer configured"
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(plain(cut(fmt.Sprintf("%s Password reset %s: %s", stateMark[req.State], req.ID, req.State), 150))),
		slack.NewSectionBlock(nil, []*slack.TextBlockObject{
			md("*Requester*\n" + escape(req.Requester)),
			md("*Account*\n" + escape(account)),
			md("*Provider*\n" + escape(provider)),
			md("*Resource*\n" + escape(cut(resource, 1900))),
			md("*Users*\n" + escape(cut(strings.Join(req.Users, ", "), 1900))),
			md("*Expires*\n" + when(req.ExpiresAt)),
		}, nil),
		slack.NewSectionBlock(md("*Reason*\n"+escape(req.Reason)), nil, nil),
	}
	var votes []string
	for _, v := range req.Votes {
		line := fmt.Sprintf("👍 *%s* approved %s", escape(v.Person), when(v.At))
		if !v.Approve {
			line = fmt.Sprintf("👎 *%s* denied %s", escape(v.Person), when(v.At))
			if v.Reason != "" {
				line += ": " + escape(v.Reason)
			}
		}
		votes = append(votes, line)
	}
	progress := fmt.Sprintf("%d of %d approvals", req.Approved(), req.Approvals)
	if len(votes) == 0 {
		votes = append(votes, "No votes yet")
	}
	blocks = append(blocks, slack.NewContextBlock("votes",
		md(cut(strings.Join(votes, "\n")+"\n"+progress, 3000))))
	if req.Outcome != "" {
		blocks = append(blocks, slack.NewSectionBlock(md("*Result*\n"+escape(cut(req.Outcome, 2900))), nil, nil))
	}
	if req.State == bot.StatePending {
		blocks = append(blocks, slack.NewActionBlock("vote",
			slack.NewButtonBlockElement(actionApprove, req.ID, plain("Approve")).WithStyle(slack.StylePrimary),
			slack.NewButtonBlockElement(actionDeny, req.ID, plain("Deny")).WithStyle(slack.StyleDanger),
		))
	}
	return blocks
}

// askForm is the modal of /reset-password without arguments.
func askForm(accts []bot.Account, meta string) slack.ModalViewRequest {
	var options []*slack.OptionBlockObject
	for i, a := range accts {
		if i == 100 { // Slack's limit for a static select
			break
		}
		label := a.Name
		if a.Provider != "" {
			label += " — " + strings.TrimSpace(string(a.Provider)+" "+a.Region)
		}
		options = append(options, slack.NewOptionBlockObject(a.Name, plain(cut(label, 75)), nil))
	}
	account := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Choose an account"), blockAccount, options...)
	reason := slack.NewPlainTextInputBlockElement(plain("Why do you need it reset?"), blockReason).
		WithMultiline(true).WithMaxLength(bot.MaxReason)
	blocks := []slack.Block{slack.NewInputBlock(blockAccount, plain("Account"), nil, account)}
	// Accounts declared with `users:` let the requester pick some of them.
	var several []string
	for _, a := range accts {
		if a.Selectable {
			several = append(several, a.Name+" ("+strings.Join(a.Users, ", ")+")")
		}
	}
	if len(several) > 0 {
		users := slack.NewPlainTextInputBlockElement(plain("all of them"), blockUsers).WithMaxLength(500)
		hint := "Only for " + strings.Join(several, "; ") + ": the users to reset, separated by commas. Empty: all."
		blocks = append(blocks, slack.NewInputBlock(blockUsers, plain("Users"), plain(cut(hint, 2000)), users).WithOptional(true))
	}
	blocks = append(blocks, slack.NewInputBlock(blockReason, plain("Reason"), plain("Approvers see it on the request's card."), reason))
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      callbackAsk,
		PrivateMetadata: meta,
		Title:           plain("Reset a password"),
		Submit:          plain("Ask"),
		Close:           plain("Cancel"),
		Blocks:          slack.Blocks{BlockSet: blocks},
	}
}

// denyForm asks an approver why they deny request id.
func denyForm(id, meta string) slack.ModalViewRequest {
	reason := slack.NewPlainTextInputBlockElement(plain("Why do you deny it?"), blockReason).
		WithMultiline(true).WithMaxLength(bot.MaxReason)
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      callbackDeny,
		PrivateMetadata: meta,
		Title:           plain("Deny " + id),
		Submit:          plain("Deny"),
		Close:           plain("Cancel"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(md("Deny *"+id+"*? The requester sees your reason."), nil, nil),
			slack.NewInputBlock(blockReason, plain("Reason"), nil, reason),
		}},
	}
}

// deliverBlocks shows the new passwords as inline code in rich text, which
// needs no escaping: what is shown is what to type.
func deliverBlocks(req bot.Request, results []bot.UserResult) []slack.Block {
	bold := &slack.RichTextSectionTextStyle{Bold: true}
	code := &slack.RichTextSectionTextStyle{Code: true}
	var lines []slack.RichTextElement
	for _, r := range results {
		var elems []slack.RichTextSectionElement
		elems = append(elems, slack.NewRichTextSectionTextElement(r.User+": ", bold))
		if r.Err != nil {
			elems = append(elems, slack.NewRichTextSectionTextElement("not reset: "+bot.ErrorMessage(r.Err), nil))
		} else {
			elems = append(elems, slack.NewRichTextSectionTextElement(r.Password.Value(), code))
		}
		lines = append(lines, slack.NewRichTextSection(elems...))
	}
	return []slack.Block{
		slack.NewSectionBlock(md(fmt.Sprintf("*%s*: new password for *%s*. Only you can see this message, and resetbot keeps no copy: store it now.",
			req.ID, escape(req.Account))), nil, nil),
		slack.NewRichTextBlock("passwords", lines...),
	}
}
