package main

import (
	"context"
	"log/slog"
	"net/http"

	"resetbot/approvals"
	"resetbot/bot"
)

// chat holds the configured chat adapters and what serve does with them.
type chat struct {
	notifiers []bot.Notifier
	attach    func(*bot.Service)
	register  func(*http.ServeMux)
	start     func(context.Context) error
	runners   []func(context.Context) error
	wait      func()
}

func chatAdapters(cfg *Config, store *approvals.Store, log *slog.Logger) (*chat, error) {
	c := &chat{
		attach:   func(*bot.Service) {},
		register: func(*http.ServeMux) {},
		start:    func(context.Context) error { return nil },
		wait:     func() {},
	}
	return c, nil
}
