package slack

import (
	"cmp"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackutilsx"

	"resetbot/bot"
)

// escape makes text inert as a message's `text` (its notification): no
// mentions, links or @channel. It does not stop mrkdwn's *bold* or _italic_,
// which Slack offers no way to escape: what a person typed is shown in
// blocks, with literal.
func escape(s string) string { return slackutilsx.EscapeMessage(s) }

// literal is a block that shows text exactly as typed: rich text, which
// Slack renders without reading mrkdwn or entities, so that a reason
// "*PRE-APPROVED by security*" or "R&D" reads as it was written. label, if
// set, is a bold line above it.
func literal(blockID, label, text string) slack.Block {
	var elems []slack.RichTextSectionElement
	if label != "" {
		elems = append(elems, slack.NewRichTextSectionTextElement(label+"\n", &slack.RichTextSectionTextStyle{Bold: true}))
	}
	if text == "" {
		text = "—"
	}
	elems = append(elems, slack.NewRichTextSectionTextElement(cut(text, 3000), nil))
	return slack.NewRichTextBlock(blockID, slack.NewRichTextSection(elems...))
}

// textBlocks shows a message of the service (which may quote what a person
// typed) as written, for replies and notices.
func textBlocks(text string) []slack.Block { return []slack.Block{literal("text", "", text)} }

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
	if req.Review != nil {
		return fmt.Sprintf("%s %s: %s reset %s (%s) for incident %s: %s", reviewMark(req), req.ID, req.Requester, req.Account,
			strings.Join(req.Users, ", "), cut(req.Review.Incident, bot.MaxIncident), stateLabel(req))
	}
	return fmt.Sprintf("%s: %s asks to reset %s (%s): %s", req.ID, req.Requester, req.Account,
		strings.Join(req.Users, ", "), stateLabel(req))
}

// stateLabel is the card's word for req's state.
func stateLabel(req bot.Request) string {
	if req.State == bot.StateOffered {
		return "approved, waiting for " + req.Requester + " to reveal"
	}
	return string(req.State)
}

// cardBlocks is the approval card: who asks for what and why, the votes, the
// result, and the buttons while the request is pending. A request that
// skipped the vote is marked at the top, with its incident and review, and
// has Confirm and Reject buttons while it waits for its review.
func cardBlocks(req bot.Request, acct bot.Account, command string) []slack.Block {
	resource := acct.Resource()
	if resource == "" {
		resource = "—"
	}
	account := req.Account
	provider := strings.TrimSpace(string(acct.Provider) + " " + acct.Region)
	if provider == "" {
		provider = "no longer configured"
	}
	deadline := md("*Expires*\n" + when(req.ExpiresAt))
	if !req.RevealBy.IsZero() {
		deadline = md("*Reveal by*\n" + revealBy(req))
	}
	header := fmt.Sprintf("%s Password reset %s: %s", stateMark[req.State], req.ID, stateLabel(req))
	if req.Review != nil {
		header = fmt.Sprintf("🚨 %s %s: %s", reviewMark(req), req.ID, stateLabel(req))
		if req.Reviewable() {
			header = fmt.Sprintf("🚨 %s, NEEDS REVIEW %s: %s", reviewMark(req), req.ID, stateLabel(req))
		}
	}
	blocks := []slack.Block{slack.NewHeaderBlock(plain(cut(header, 150)))}
	if req.Review != nil {
		blocks = append(blocks, reviewBlock(req))
	}
	blocks = append(blocks,
		slack.NewSectionBlock(nil, []*slack.TextBlockObject{
			md("*Requester*\n" + escape(req.Requester)),
			md("*Account*\n" + escape(account)),
			md("*Provider*\n" + escape(provider)),
			md("*Resource*\n" + escape(cut(resource, 1900))),
			md("*Users*\n" + escape(cut(strings.Join(req.Users, ", "), 1900))),
			deadline,
		}, nil),
		literal("reason", "Reason", req.Reason),
	)
	var votes []string
	var denials []slack.Block
	for _, v := range req.Votes {
		line := fmt.Sprintf("👍 *%s* approved %s", escape(v.Person), when(v.At))
		if !v.Approve {
			line = fmt.Sprintf("👎 *%s* denied %s", escape(v.Person), when(v.At))
			if v.Reason != "" && len(denials) < 5 {
				denials = append(denials, literal(fmt.Sprintf("deny-%d", len(denials)), v.Person+"'s reason for denying", v.Reason))
			}
		}
		votes = append(votes, line)
	}
	progress := "Approvals: " + bot.ProgressText(req.Progress())
	if to := req.Escalated(); to != "" {
		progress += " · escalated to " + escape(to)
	}
	if req.Review == nil || len(votes) > 0 { // a request that skipped the vote has no progress to show
		if len(votes) == 0 {
			votes = append(votes, "No votes yet")
		}
		blocks = append(blocks, slack.NewContextBlock("votes",
			md(cut(strings.Join(votes, "\n")+"\n"+progress, 3000))))
	}
	blocks = append(blocks, denials...)
	if req.Outcome != "" {
		blocks = append(blocks, literal("result", "Result", req.Outcome))
	}
	if req.Notice != "" { // plain text: shown as written, whatever PagerDuty said
		blocks = append(blocks, slack.NewContextBlock("notice", plain(cut("ℹ️ "+req.Notice, 2000))))
	}
	switch {
	case req.State == bot.StatePending:
		blocks = append(blocks, slack.NewActionBlock("vote",
			slack.NewButtonBlockElement(actionApprove, req.ID, plain("Approve")).WithStyle(slack.StylePrimary),
			slack.NewButtonBlockElement(actionDeny, req.ID, plain("Deny")).WithStyle(slack.StyleDanger),
		))
	case req.Reviewable():
		blocks = append(blocks, slack.NewActionBlock(blockReview,
			slack.NewButtonBlockElement(actionConfirm, req.ID, plain("Confirm")).WithStyle(slack.StylePrimary),
			slack.NewButtonBlockElement(actionReject, req.ID, plain("Reject")).WithStyle(slack.StyleDanger).
				WithConfirm(rejectDialog(req, command)),
		))
	}
	return blocks
}

// reviewMark is what a request that skipped the vote is marked with, at the
// top of its card.
func reviewMark(req bot.Request) string {
	if req.Review != nil && req.Review.Kind == bot.ReviewOnCall {
		return "BREAK-GLASS: AUTO-APPROVED BY PAGERDUTY (on call)"
	}
	return "BREAK-GLASS"
}

// Pieces of a rich text line: rich text shows text as written (no mrkdwn,
// no mentions), so that what a person typed (an incident, a reason) and
// what a cloud answered can be quoted safely.
func rtText(s string) slack.RichTextSectionElement {
	return slack.NewRichTextSectionTextElement(s, nil)
}

func rtBold(s string) slack.RichTextSectionElement {
	return slack.NewRichTextSectionTextElement(s, &slack.RichTextSectionTextStyle{Bold: true})
}

// rtDate shows t in each reader's own time zone, with a UTC fallback.
func rtDate(t time.Time) slack.RichTextSectionElement {
	fallback := t.UTC().Format("2006-01-02 15:04 UTC")
	return slack.NewRichTextSectionDateElement(t.Unix(), "{date_short_pretty} {time}", nil, &fallback)
}

// reviewBlock says why req skipped the vote, for which incident, and where
// its review stands: open until when, confirmed, rejected or overdue, and
// then whether the password that was shown is still valid.
func reviewBlock(req bot.Request) slack.Block {
	r := req.Review
	var e []slack.RichTextSectionElement
	if r.Kind == bot.ReviewOnCall {
		e = append(e, rtBold(reviewMark(req)), rtText(": "+req.Requester+" is on call, so the vote was skipped."))
	} else {
		e = append(e, rtBold("BREAK-GLASS"), rtText(": "+req.Requester+" reset it without a vote."))
	}
	if r.State == bot.ReviewOpen {
		e = append(e, rtText(" "), rtBold("NEEDS REVIEW"))
	}
	e = append(e, rtText("\nIncident: "), rtBold(cut(cmp.Or(r.Incident, "—"), 200)))
	if r.Detail != "" {
		e = append(e, rtText("\nPagerDuty: "+cut(r.Detail, 500)))
	}
	e = append(e, rtText("\n"))
	by := cmp.Or(r.By, "—") // Slack refuses an empty text element
	switch r.State {
	case bot.ReviewOpen:
		e = append(e, rtText("⏳ Review due by "), rtDate(r.Due),
			rtText(": an approver other than "+req.Requester+" confirms or rejects it. Rejected, or not confirmed by then, "+
				"the password is reset again, to one nobody sees."))
	case bot.ReviewConfirmed:
		e = append(e, rtText("✅ Confirmed by "), rtBold(by), rtText(" at "), rtDate(r.At))
	case bot.ReviewRejected:
		e = append(e, rtText("⛔ Rejected by "), rtBold(by))
		if !r.At.IsZero() {
			e = append(e, rtText(" at "), rtDate(r.At))
		}
		if r.Reason != "" {
			e = append(e, rtText(": "+cut(r.Reason, 1000)))
		}
	case bot.ReviewOverdue:
		e = append(e, rtText("⌛ Not confirmed by "), rtDate(r.Due), rtText(": overdue"))
	default:
		e = append(e, rtText("Review: "+string(r.State)))
	}
	if rot := r.Rotation; rot != nil {
		e = append(e, rtText("\n"))
		switch rot.State {
		case bot.RotationPending:
			e = append(e, rtText("⚠️ "), rtBold("The password shown to "+req.Requester+" is STILL VALID (exposed)"))
			if rot.Error != "" {
				e = append(e, rtText(": resetting it again failed ("+cut(rot.Error, 1000)+")"))
			} else {
				e = append(e, rtText(" until it is reset again"))
			}
			if !rot.Next.IsZero() {
				e = append(e, rtText("; next try at "), rtDate(rot.Next))
			}
		case bot.RotationDone:
			e = append(e, rtText("🔒 Password reset again"))
			if !rot.At.IsZero() {
				e = append(e, rtText(" at "), rtDate(rot.At))
			}
			e = append(e, rtText("; nobody has it. "+req.Account+" is locked until a normal approved request."))
		case bot.RotationNone:
			e = append(e, rtText("Nothing was reset, nothing to undo."))
		}
	}
	return slack.NewRichTextBlock(blockReview+"-state", slack.NewRichTextSection(e...))
}

// rejectDialog is Slack's confirmation before a Reject click is sent: it
// says what a rejection does.
func rejectDialog(req bot.Request, command string) *slack.ConfirmationBlockObject {
	text := fmt.Sprintf("If %s has revealed it, the password is reset again, to one nobody sees, and %s is locked "+
		"until a normal approved request. To give a reason, write: %s reject %s <reason>", req.Requester, req.Account, command, req.ID)
	return slack.NewConfirmationBlockObject(plain(cut("Reject "+req.ID+"?", 100)), plain(cut(text, 300)),
		plain("Reject"), plain("Cancel")).WithStyle(slack.StyleDanger)
}

// askForm is the modal of /reset-password without arguments, for p. It
// has a break-glass choice and an incident field when p may break the
// glass of one of accts.
func askForm(p bot.Person, accts []bot.Account, meta string) slack.ModalViewRequest {
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
	var glass []string
	for _, a := range accts {
		if a.BreakGlass != nil && p.In(a.BreakGlass.Who) {
			glass = append(glass, a.Name)
		}
	}
	if len(glass) > 0 {
		choice := slack.NewCheckboxGroupsBlockElement(blockBreakGlass,
			// An option's text and description hold 75 characters each.
			slack.NewOptionBlockObject(optionBreakGlass, plain("Break-glass: reset now without a vote (reviewed afterwards)"),
				plain("During an incident: approvers review it afterwards.")))
		hint := "Only for " + strings.Join(glass, ", ") + ". Rejected, or not confirmed in time, the password is reset again, to one nobody sees."
		blocks = append(blocks, slack.NewInputBlock(blockBreakGlass, plain("Break-glass"), plain(cut(hint, 2000)), choice).WithOptional(true))
		incident := slack.NewPlainTextInputBlockElement(plain("INC-123"), blockIncident).WithMaxLength(bot.MaxIncident)
		blocks = append(blocks, slack.NewInputBlock(blockIncident, plain("Incident"),
			plain("Break-glass only, and then required: the incident's reference, without spaces."), incident).WithOptional(true))
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

// approvedBy lists who approved req.
func approvedBy(req bot.Request) string {
	var names []string
	for _, v := range req.Votes {
		if v.Approve {
			names = append(names, v.Person)
		}
	}
	if len(names) == 0 {
		switch {
		case req.Review != nil && req.Review.Kind == bot.ReviewOnCall:
			return "PagerDuty (on call)"
		case req.Review != nil:
			return "break-glass"
		}
		return "policy"
	}
	return strings.Join(names, ", ")
}

// revealBy is the offer's deadline, in each reader's time zone.
func revealBy(req bot.Request) string {
	if req.RevealBy.IsZero() {
		return "the offer expires"
	}
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", req.RevealBy.Unix(),
		req.RevealBy.UTC().Format("2006-01-02 15:04 UTC"))
}

// offerText is the offer's notification text: no secret, as everything the
// offer says.
func offerText(req bot.Request) string {
	return fmt.Sprintf("%s is approved by %s: press Reveal before %s to get the new password of %s.",
		req.ID, escape(approvedBy(req)), revealBy(req), escape(req.Account))
}

// offerBlocks is the offer in the requester's direct conversation with the
// bot: who approved what, until when, and the Reveal button.
func offerBlocks(req bot.Request) []slack.Block {
	text := fmt.Sprintf("*%s* is approved by *%s*: reset *%s* (%s).\n"+
		"Press *Reveal* before %s. The password is reset at your click and shown to you alone, in a window; nothing is reset before.",
		req.ID, escape(approvedBy(req)), escape(req.Account), escape(cut(strings.Join(req.Users, ", "), 1500)), revealBy(req))
	blocks := []slack.Block{slack.NewSectionBlock(md(text), nil, nil)}
	if r := req.Review; r != nil { // the requester learns the review's terms before revealing
		blocks = append(blocks, slack.NewRichTextBlock(blockReview, slack.NewRichTextSection(
			rtText("Incident "), rtBold(cut(cmp.Or(r.Incident, "—"), 200)),
			rtText(": approvers review this reset by "), rtDate(r.Due),
			rtText(". Rejected, or not confirmed by then, the password is reset again, to one nobody sees, and "+
				req.Account+" is locked until a normal approved request."))))
	}
	return append(blocks, slack.NewActionBlock(blockReveal,
		slack.NewButtonBlockElement(actionReveal, req.ID, plain("Reveal")).WithStyle(slack.StylePrimary)))
}

// endedText says how an offered request ended, in the offer's place.
func endedText(req bot.Request) string {
	outcome := escape(cut(req.Outcome, 2500))
	switch req.State {
	case bot.StateSucceeded:
		return fmt.Sprintf("%s revealed at your click: %s. resetbot keeps no copy of the password.", req.ID, outcome)
	case bot.StateExpired:
		return fmt.Sprintf("%s expired: Reveal was not pressed before %s, so nothing was reset. Ask again if you still need it.", req.ID, revealBy(req))
	case bot.StateCancelled:
		return fmt.Sprintf("%s is cancelled: nothing was reset.", req.ID)
	case bot.StateFailed:
		return fmt.Sprintf("%s failed: %s", req.ID, outcome)
	}
	return escape(bot.Summary(req))
}

func endedBlocks(req bot.Request) []slack.Block {
	head := slack.NewSectionBlock(md(fmt.Sprintf("%s *%s* (%s): %s", stateMark[req.State], req.ID, escape(req.Account), req.State)), nil, nil)
	switch req.State {
	case bot.StateSucceeded, bot.StateFailed, bot.StateDenied: // the outcome may quote what a person typed
		return []slack.Block{head, literal("ended", "", slackText.Replace(endedText(req)))}
	}
	return []slack.Block{head, slack.NewContextBlock("ended", md(endedText(req)))}
}

// revealWindow is the modal a Reveal click opens at once, before the reset
// runs, and whose text the answer replaces.
func revealWindow(id string, blocks ...slack.Block) slack.ModalViewRequest {
	return slack.ModalViewRequest{
		Type:       slack.VTModal,
		CallbackID: callbackReveal,
		Title:      plain("Password " + id), // at most 24 characters
		Close:      plain("Close"),
		Blocks:     slack.Blocks{BlockSet: blocks},
	}
}

// resettingWindow says the reset is running.
func resettingWindow(id string) slack.ModalViewRequest {
	return revealWindow(id, slack.NewSectionBlock(md(fmt.Sprintf(
		"Resetting the password of *%s*… It appears here in a moment: keep this window open.", id)), nil, nil))
}

// refusedWindow says why the click revealed nothing.
func refusedWindow(id, why string) slack.ModalViewRequest {
	return revealWindow(id, literal("why", "", why))
}

// passwordWindow shows the new passwords as inline code in rich text, which
// needs no escaping: what is shown is what to type.
func passwordWindow(id string, results []bot.UserResult) slack.ModalViewRequest {
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
	return revealWindow(id,
		slack.NewSectionBlock(md(fmt.Sprintf("*%s*: the new password. Only you can see this window, and resetbot keeps no copy: store it now, then close the window.", id)), nil, nil),
		slack.NewRichTextBlock("passwords", lines...),
	)
}
