package discord

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"resetbot/bot"

	"github.com/bwmarrin/discordgo"
)

// maxMentionUsers is how many users one message's allowed_mentions may
// name.
const maxMentionUsers = 100

// replyMessage is a reply under a card: message_reference makes it one,
// allowed_mentions lets exactly the mentioned people be pinged, and nonce
// with enforce_nonce makes a repeated call return the first reply instead
// of posting a second (as cardMessage does).
type replyMessage struct {
	Content          string                            `json:"content"`
	MessageReference *discordgo.MessageReference       `json:"message_reference"`
	AllowedMentions  *discordgo.MessageAllowedMentions `json:"allowed_mentions"`
	Nonce            string                            `json:"nonce"`
	EnforceNonce     bool                              `json:"enforce_nonce"`
}

// Remind replies under the card at ref ("channel/message", what Card
// returned) with text, after a mention of each of people: <@id>, which
// pings them, or their name when they have no Discord ID. Nobody else is
// pinged, whatever text holds. A repeated call with the same arguments
// (a retry after a lost answer) posts nothing more.
func (a *Adapter) Remind(ctx context.Context, req bot.Request, ref string, people []bot.Person, text string) error {
	ch, id, ok := strings.Cut(ref, "/")
	if !ok || ch == "" || id == "" {
		return bot.Errorf(bot.EINTERNAL, "the Discord card reference %q is not channel/message", ref)
	}
	var words, users []string
	for _, p := range people {
		switch {
		case p.Discord == "":
			words = append(words, escapeMarkdown(p.Name))
		case !slices.Contains(users, p.Discord):
			words = append(words, "<@"+p.Discord+">")
			users = append(users, p.Discord)
		}
	}
	words = append(words, escapeMarkdown(text))
	content := clip(strings.Join(words, " "), maxContent)
	if len(users) > maxMentionUsers {
		users = users[:maxMentionUsers]
	}
	no := false
	msg := replyMessage{
		Content:          content,
		MessageReference: &discordgo.MessageReference{MessageID: id, ChannelID: ch, FailIfNotExists: &no},
		// parse stays empty: users alone are pinged, and no role, @everyone
		// or @here that text might hold.
		AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}, Users: users},
		Nonce:           reminderNonce(req, ref, content),
		EnforceNonce:    true,
	}
	endpoint := discordgo.EndpointChannelMessages(ch)
	what := "remind about " + req.ID
	var posted discordgo.Message
	err := a.call(ctx, what, true, func(o ...discordgo.RequestOption) error {
		body, err := a.rest.RequestWithBucketID("POST", endpoint, msg, endpoint, o...)
		if err != nil {
			return err
		}
		return json.Unmarshal(body, &posted)
	})
	if err != nil {
		return err
	}
	if posted.ID == "" {
		return a.fault(what, fmt.Errorf("Discord returned no message ID"))
	}
	return nil
}

// reminderNonce names one reminder within Discord's 25 characters: the
// same for a repeat of the same call, different for another card, text or
// audience, and for the next reminder of the same request (its number and
// whether it was escalated are in the hash, so identical words sent again
// later are not taken for a repeat).
func reminderNonce(req bot.Request, ref, content string) string {
	sent := 0
	if req.Reminders != nil {
		sent = req.Reminders.Sent
	}
	h := sha256.New()
	for _, part := range []string{ref, content, strconv.Itoa(sent), strconv.FormatBool(req.Escalated() != "")} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return "rem-" + hex.EncodeToString(h.Sum(nil))[:20]
}
