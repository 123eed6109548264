package slack

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"resetbot/adapters/chat"
	"resetbot/bot"
)

// Remind replies in the thread of the approval card at ref ("channel/ts",
// what Card returned) with text, after a mention of each of people. A
// mention is <@U…>, the form Slack notifies; a person without a Slack ID
// is named instead. The reply is posted once: a second chat.postMessage
// after an unknown outcome could ping everyone twice, so only refusals
// that guarantee nothing was posted are retried, and a reply that may have
// been posted is EUNKNOWN.
func (a *Adapter) Remind(ctx context.Context, req bot.Request, ref string, people []bot.Person, text string) error {
	channel, ts, ok := strings.Cut(ref, "/")
	if !ok || channel == "" || ts == "" {
		return bot.Errorf(bot.EINTERNAL, "the approval card's reference %q is not channel/timestamp", ref)
	}
	opts := []slack.MsgOption{
		slack.MsgOptionText(remindText(people, text), false),
		slack.MsgOptionTS(ts),
		// Explicitly: parse=full would show the mentions as typed text,
		// and link_names would turn an "@here" in a name into a ping.
		slack.MsgOptionParse(false),
		slack.MsgOptionLinkNames(false),
	}
	_, fault := a.deliver(ctx, "remind the approvers of "+req.ID, func(ctx context.Context) error {
		_, _, err := a.api.PostMessageContext(ctx, channel, opts...)
		return err
	})
	if fault != nil {
		return fault
	}
	return nil
}

// remindText is the reminder: the mentions, then text. Only the mentions
// are markup: everything else is escaped, so that nothing in text or in a
// name can ping anyone else (<!channel>) or link anywhere.
func remindText(people []bot.Person, text string) string {
	var parts []string
	seen := map[string]bool{}
	for _, p := range people {
		if seen[p.Name] {
			continue
		}
		seen[p.Name] = true
		if p.Slack != "" {
			parts = append(parts, "<@"+p.Slack+">")
		} else {
			parts = append(parts, escape(p.Name))
		}
	}
	if text = escape(cut(text, 3000)); text != "" {
		parts = append(parts, text)
	}
	return strings.Join(parts, " ")
}

// membershipPage is how many channels each users.conversations page asks
// for: Slack recommends no more than 200.
const membershipPage = 200

// CheckChannels asks Slack whether the bot can post in each of channels
// (duplicates asked once, in their first order): one listing of the
// bot's own channels (users.conversations), then conversations.info for
// each channel not on it, to say why. It returns an error, and no
// problems, when Slack could not be asked: the token refused, a scope
// missing, Slack unreachable.
func (a *Adapter) CheckChannels(ctx context.Context, channels []string) ([]chat.ChannelProblem, error) {
	var asked []string
	want := map[string]bool{}
	for _, ch := range channels {
		if ch != "" && !want[ch] {
			want[ch] = true
			asked = append(asked, ch)
		}
	}
	if len(asked) == 0 {
		return nil, nil
	}
	member, err := a.memberships(ctx, want)
	if err != nil {
		return nil, err
	}
	var problems []chat.ChannelProblem
	for _, ch := range asked {
		if member[ch] {
			continue
		}
		problem, err := a.whyNot(ctx, ch)
		if err != nil {
			return nil, err
		}
		if problem != "" {
			problems = append(problems, chat.ChannelProblem{Channel: ch, Problem: problem})
		}
	}
	return problems, nil
}

// memberships returns which of want the bot is a member of, and not
// archived, paging through users.conversations until all of want was
// seen or the list ends.
func (a *Adapter) memberships(ctx context.Context, want map[string]bool) (map[string]bool, error) {
	member := map[string]bool{}
	params := slack.GetConversationsForUserParameters{
		Types:           []string{"public_channel", "private_channel"},
		Limit:           membershipPage,
		ExcludeArchived: true,
	}
	const what = "list the channels the bot is in"
	seen := map[string]bool{}
	for {
		var page []slack.Channel
		var next string
		err := a.withRetry(ctx, what, true, func(ctx context.Context) error {
			var err error
			page, next, err = a.api.GetConversationsForUserContext(ctx, &params)
			return err
		})
		if err != nil {
			return nil, a.fault(what, err)
		}
		for _, ch := range page {
			if want[ch.ID] {
				member[ch.ID] = true
			}
		}
		// A cursor seen before would go round forever: what is not listed
		// by then is asked about one by one.
		if next == "" || seen[next] || len(member) == len(want) {
			return member, nil
		}
		seen[next] = true
		params.Cursor = next
	}
}

// whyNot asks Slack about channel, which the bot's listing lacks, and says
// why the bot cannot post there; "" when it can after all.
func (a *Adapter) whyNot(ctx context.Context, channel string) (string, error) {
	what := "look up channel " + channel
	var info *slack.Channel
	err := a.withRetry(ctx, what, true, func(ctx context.Context) error {
		var err error
		info, err = a.api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channel})
		return err
	})
	switch {
	case codeOf(err) == "channel_not_found":
		return "no such channel, or a private one the bot was not invited to (channel_not_found): check the channel ID (C…), or invite the bot with /invite @resetbot", nil
	case err != nil:
		return "", a.fault(what, err)
	case info.IsArchived:
		return "archived: unarchive it, or send the cards to another channel", nil
	case !info.IsMember:
		name := ""
		if info.Name != "" {
			name = fmt.Sprintf(" (#%s)", info.Name)
		}
		return "the bot is not a member of it" + name + ": invite it with /invite @resetbot", nil
	}
	return "", nil
}
