package discord

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"resetbot/bot"

	"github.com/bwmarrin/discordgo"
)

var _ bot.CardFinder = (*Adapter)(nil)

// How FindCard reads a channel: from a little before the request was made
// (the store's clock and Discord's differ), a page of Discord's largest
// size at a time, and no more than a bounded number of pages.
const (
	findSkew  = 2 * time.Minute
	findPage  = 100 // Get Channel Messages' largest limit
	findPages = 5
)

// discordEpoch is the first moment of 2015, in Unix milliseconds: a
// snowflake holds the milliseconds since then from its bit 22 up.
const discordEpoch = 1420070400000

// snowflakeAt is the smallest snowflake of an instant: messages posted
// since t have larger IDs.
func snowflakeAt(t time.Time) string {
	ms := max(t.UnixMilli()-discordEpoch, 0)
	return strconv.FormatUint(uint64(ms)<<22, 10)
}

// FindCard looks in the channel of req's card (channels.discord, else
// approvals_channel) for the card of req that the bot posted since req
// was made, and returns its reference ("channel/message"), or "" when
// there is none. A post whose answer was lost (a timeout) may have made
// the card all the same, and the card's nonce protects a repeat only for
// a few minutes, less than a card owed may wait.
//
// It pages forward from the request's creation (after=, oldest pages
// first: the card was posted soon after), at most findPages pages of
// findPage messages. A card is a message by the bot itself, not a reply,
// whose embed's title, or a button's custom_id, names req (cardOf). A card
// whose post was lost was never edited, so it looks as Card first posted
// it.
func (a *Adapter) FindCard(ctx context.Context, req bot.Request, acct bot.Account) (string, error) {
	ch := cmp.Or(acct.Channels[bot.PlatformDiscord], a.opts.ApprovalsChannel)
	me, err := a.botUserID(ctx)
	if err != nil {
		return "", err
	}
	after := "0"
	if !req.CreatedAt.IsZero() {
		after = snowflakeAt(req.CreatedAt.Add(-findSkew))
	}
	what := "look for the approval card of " + req.ID + " in channel " + ch
	for page := 1; page <= findPages; page++ {
		var msgs []*discordgo.Message
		var last error // Discord's own answer, which call turns into a *bot.Error
		err := a.call(ctx, what, true, func(o ...discordgo.RequestOption) error {
			msgs, last = a.rest.ChannelMessages(ch, findPage, "", after, "", o...)
			return last
		})
		if code, _ := restCode(last); err != nil && (code == codeMissingAccess || code == codeMissingPermissions) {
			// The bot cannot read the channel: answered as "none", so that
			// the card is posted as it was before this look-up existed (two
			// cards are better than none; a bot that cannot see the channel
			// fails to post there too, and says so). Without Read Message
			// History, Discord answers with no messages at all, which reads
			// as "none" too: check-config --online reports that permission
			// missing (CheckChannels), since reminders need it as well.
			a.log.Error("discord: cannot read the approval channel to find a card posted before; give the bot View Channel and Read Message History there",
				"request", req.ID, "channel", ch, "cause", cause(last))
			return "", nil
		}
		if err != nil {
			return "", err // EUNAVAILABLE
		}
		for _, m := range msgs {
			if cardOf(m, me, req.ID) {
				return ch + "/" + m.ID, nil
			}
		}
		if len(msgs) < findPage {
			return "", nil // the channel's end
		}
		// Newest first, whatever the parameter (Discord's order): the next
		// page starts after the newest message of this one.
		after = slices.MaxFunc(msgs, func(x, y *discordgo.Message) int { return compareIDs(x.ID, y.ID) }).ID
	}
	a.log.Error("discord: stopped looking for a card posted before, after the most pages allowed",
		"request", req.ID, "channel", ch, "pages", findPages)
	return "", nil
}

// cardOf reports whether m is the approval card of request id posted by
// the bot (user ID me): its own message, not a reply (a reminder), that
// carries the card's title for id, or one of its buttons for id.
func cardOf(m *discordgo.Message, me, id string) bool {
	if m == nil || m.Author == nil || m.Author.ID != me || m.Type != discordgo.MessageTypeDefault {
		return false
	}
	for _, e := range m.Embeds {
		if e != nil && slices.Contains(cardTitles(id), e.Title) {
			return true
		}
	}
	for _, c := range m.Components {
		row, ok := c.(*discordgo.ActionsRow)
		if !ok {
			continue
		}
		for _, b := range row.Components {
			if b, ok := b.(*discordgo.Button); ok && slices.Contains(cardCustomIDs(id), b.CustomID) {
				return true
			}
		}
	}
	return false
}

// compareIDs orders snowflakes: by length, then as text (no leading
// zeros), which is their numeric order.
func compareIDs(x, y string) int {
	return cmp.Or(cmp.Compare(len(x), len(y)), strings.Compare(x, y))
}

// botUserID is the bot's own user ID, asked of Discord (GET users/@me)
// once and then remembered: the author of the messages the bot posts. An
// application's bot user often, but not always, has the application's
// ID, so that is not assumed.
func (a *Adapter) botUserID(ctx context.Context) (string, error) {
	a.meMu.Lock()
	defer a.meMu.Unlock()
	if a.me != "" {
		return a.me, nil
	}
	const what = "ask Discord who the bot is"
	var me *discordgo.User
	err := a.call(ctx, what, true, func(o ...discordgo.RequestOption) error {
		var err error
		me, err = a.rest.User("@me", o...)
		return err
	})
	if err == nil && (me == nil || me.ID == "") {
		err = a.fault(what, fmt.Errorf("Discord returned no user ID"))
	}
	if err != nil {
		return "", err
	}
	a.me = me.ID
	return a.me, nil
}
