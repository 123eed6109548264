package discord

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/bwmarrin/discordgo"
)

// noticeMessage is a message for everyone in a channel; nonce with
// enforce_nonce makes a repeated call post nothing more.
type noticeMessage struct {
	Content         string                            `json:"content"`
	AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions"`
	Nonce           string                            `json:"nonce"`
	EnforceNonce    bool                              `json:"enforce_nonce"`
}

// Announce posts text for everyone in channel ("" is approvals_channel).
// It pings nobody, whatever text holds.
func (a *Adapter) Announce(ctx context.Context, channel, text string) error {
	ch := cmp.Or(channel, a.opts.ApprovalsChannel)
	content := clip(escapeMarkdown(text), maxContent)
	sum := sha256.Sum256([]byte(ch + "\x00" + content))
	msg := noticeMessage{Content: content, AllowedMentions: noMentions(),
		Nonce: "n-" + hex.EncodeToString(sum[:])[:23], EnforceNonce: true}
	endpoint := discordgo.EndpointChannelMessages(ch)
	return a.call(ctx, "post a notice in "+ch, true, func(o ...discordgo.RequestOption) error {
		body, err := a.rest.RequestWithBucketID("POST", endpoint, msg, endpoint, o...)
		if err != nil {
			return err
		}
		var posted discordgo.Message
		return json.Unmarshal(body, &posted)
	})
}
