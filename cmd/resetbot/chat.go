package main

import (
	"context"
	"log/slog"
	"net/http"

	"resetbot/adapters/discord"
	"resetbot/adapters/slack"
	"resetbot/approvals"
	"resetbot/bot"
)

// chat holds the configured chat adapters and what serve does with them.
type chat struct {
	notifiers []bot.Notifier
	attachers []func(*bot.Service)
	muxers    []func(*http.ServeMux)
	starters  []func(context.Context) error
	runners   []func(context.Context) error // long-running: Socket Mode, Gateway
	waiters   []func()
}

func (c *chat) attach(s *bot.Service) {
	for _, f := range c.attachers {
		f(s)
	}
}

func (c *chat) register(mux *http.ServeMux) {
	for _, f := range c.muxers {
		f(mux)
	}
}

// start runs the adapters' start-up calls (Discord's command registration).
// A chat API that is down at start is logged, not fatal: the bot still
// serves the other platform and the text commands.
func (c *chat) start(ctx context.Context, log *slog.Logger) {
	for _, f := range c.starters {
		if err := f(ctx); err != nil {
			log.Error("chat start-up", "err", err)
		}
	}
}

func (c *chat) wait() {
	for _, f := range c.waiters {
		f()
	}
}

func chatAdapters(cfg *Config, store *approvals.Store, log *slog.Logger) (*chat, error) {
	c := &chat{}
	if s := cfg.Slack; s != nil {
		a, err := slack.New(slack.Options{
			BotToken:         s.BotToken.Value(),
			SigningSecret:    s.SigningSecret.Value(),
			AppToken:         s.AppToken.Value(),
			APIURL:           s.APIURL,
			ApprovalsChannel: s.ApprovalsChannel,
			Log:              log.With("platform", "slack"),
			Seen:             store.Seen,
		})
		if err != nil {
			return nil, err
		}
		c.notifiers = append(c.notifiers, a)
		c.attachers = append(c.attachers, func(s *bot.Service) { a.Attach(s) })
		c.muxers = append(c.muxers, a.Register)
		if !s.AppToken.IsZero() {
			c.runners = append(c.runners, a.Run)
		}
		c.waiters = append(c.waiters, a.Wait)
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
			Seen:             store.Seen,
			Lease:            store,
		})
		if err != nil {
			return nil, err
		}
		c.notifiers = append(c.notifiers, a)
		c.attachers = append(c.attachers, func(s *bot.Service) { a.Attach(s) })
		c.muxers = append(c.muxers, a.Register)
		c.starters = append(c.starters, a.Start)
		if d.Gateway {
			c.runners = append(c.runners, a.Run)
		}
		c.waiters = append(c.waiters, a.Wait)
	}
	return c, nil
}
