package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"resetbot/adapters/chat"
	"resetbot/adapters/discord"
	"resetbot/adapters/slack"
	"resetbot/approvals"
	"resetbot/bot"
	"resetbot/config"
)

// chatAdapter is what serve needs of a chat platform's adapter. Slack's and
// Discord's satisfy it.
type chatAdapter interface {
	bot.Notifier
	// Attach hands the adapter the service its handlers call.
	Attach(chat.Service)
	// Register puts the platform's HTTP endpoints on mux.
	Register(mux *http.ServeMux)
	// Routes are the patterns Register serves.
	Routes() []string
	// Start makes the platform's start-up calls (Discord registers its
	// command). A platform that is down then is logged, not fatal.
	Start(ctx context.Context) error
	// Run holds the platform's connection (Socket Mode, the Gateway) until
	// ctx ends; it returns nil at once when there is none to hold.
	Run(ctx context.Context) error
	// Wait blocks until the work the handlers started is done.
	Wait()
	// CheckChannels asks the platform whether the bot can post in each of
	// channels; the error says it could not be asked.
	CheckChannels(ctx context.Context, channels []string) ([]chat.ChannelProblem, error)
}

// chatAdapters makes an adapter for each configured platform. With a nil
// store (check-config --online, which only asks the platforms), each
// adapter remembers deliveries in memory and holds no Gateway lease. calls,
// when not nil, wraps each platform's HTTP transport (to count its calls).
func chatAdapters(cfg *config.Config, store *approvals.Store, log *slog.Logger,
	calls func(bot.Platform, http.RoundTripper) http.RoundTripper) ([]chatAdapter, error) {
	// Each client has the timeout the adapter gives its own by default.
	client := func(p bot.Platform, timeout time.Duration) *http.Client {
		if calls == nil {
			return nil
		}
		return &http.Client{Timeout: timeout, Transport: calls(p, nil)}
	}
	var out []chatAdapter
	var seen chat.Seen
	var lease discord.Lease
	if store != nil {
		seen, lease = store.Seen, store
	}
	if s := cfg.Slack; s != nil {
		a, err := slack.New(slack.Options{
			BotToken:         s.BotToken.Value(),
			SigningSecret:    s.SigningSecret.Value(),
			AppToken:         s.AppToken.Value(),
			Command:          s.Command,
			APIURL:           s.APIURL,
			ApprovalsChannel: s.ApprovalsChannel,
			Log:              log.With("platform", "slack"),
			Seen:             seen,
			HTTPClient:       client(bot.PlatformSlack, 15*time.Second),
		})
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if d := cfg.Discord; d != nil {
		a, err := discord.New(discord.Options{
			BotToken:         d.BotToken.Value(),
			ApplicationID:    d.ApplicationID,
			PublicKey:        d.PublicKey,
			GuildID:          d.GuildID,
			APIURL:           d.APIURL,
			ApprovalsChannel: d.ApprovalsChannel,
			Gateway:          d.Gateway,
			Log:              log.With("platform", "discord"),
			Seen:             seen,
			Lease:            lease,
			HTTPClient:       client(bot.PlatformDiscord, 20*time.Second),
		})
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}
