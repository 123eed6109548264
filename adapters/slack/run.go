package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// Run serves Socket Mode until ctx ends when Options.AppToken is set; it
// returns nil at once otherwise. Slash commands and interactions get the same
// handling as over HTTP: Slack has authenticated the connection, so there is
// no signature to check.
func (a *Adapter) Run(ctx context.Context) error {
	if a.opts.AppToken == "" {
		return nil
	}
	sm := socketmode.New(a.api, socketmode.OptionLog(libLog{a.log}))
	errc := make(chan error, 1)
	go func() { errc <- sm.RunContext(ctx) }()
	for {
		select {
		case err := <-errc:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("slack socket mode: %w", err)
		case evt := <-sm.Events:
			a.onSocketEvent(ctx, sm, evt)
		}
	}
}

func (a *Adapter) onSocketEvent(ctx context.Context, sm *socketmode.Client, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		a.log.Info("slack: socket mode connecting")
	case socketmode.EventTypeConnected:
		a.log.Info("slack: socket mode connected")
	case socketmode.EventTypeConnectionError:
		if e, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			if e.ErrorObj != nil {
				a.log.Error("slack: socket mode connection failed", "attempt", e.Attempt, "backoff", e.Backoff, "err", safeErr(e.ErrorObj))
			}
		}
	case socketmode.EventTypeInvalidAuth:
		a.log.Error("slack: socket mode refused the app token: check slack.app_token (xapp-…, scope connections:write)")
	case socketmode.EventTypeIncomingError, socketmode.EventTypeErrorBadMessage, socketmode.EventTypeErrorWriteFailed:
		a.log.Error("slack: socket mode message problem", "type", string(evt.Type))
	case socketmode.EventTypeSlashCommand:
		sc, ok := evt.Data.(slack.SlashCommand)
		if !ok || evt.Request == nil {
			return
		}
		a.socketAck(ctx, sm, evt.Request, func() ack { return a.onCommand(sc) })
	case socketmode.EventTypeInteractive:
		ic, ok := evt.Data.(slack.InteractionCallback)
		if !ok || evt.Request == nil {
			return
		}
		a.socketAck(ctx, sm, evt.Request, func() ack { return a.onInteraction(ic) })
	case socketmode.EventTypeEventsAPI:
		if evt.Request != nil {
			a.send(ctx, sm, evt.Request.EnvelopeID, nil) // the app subscribes to no events; acknowledge strays
		}
	}
}

// socketAck runs handle unless the envelope is a retry, and acknowledges it
// with handle's answer.
func (a *Adapter) socketAck(ctx context.Context, sm *socketmode.Client, req *socketmode.Request, handle func() ack) {
	if req.RetryAttempt > 0 {
		a.log.Info("slack: dropped a retried delivery", "retry", req.RetryAttempt, "reason", req.RetryReason)
		a.send(ctx, sm, req.EnvelopeID, nil)
		return
	}
	k := handle()
	if k.status != http.StatusOK {
		a.log.Info("slack: refused a payload", "status", k.status, "why", k.problem)
		a.send(ctx, sm, req.EnvelopeID, nil)
		return
	}
	a.send(ctx, sm, req.EnvelopeID, k.body)
}

func (a *Adapter) send(ctx context.Context, sm *socketmode.Client, envelope string, payload any) {
	if err := sm.AckCtx(ctx, envelope, payload); err != nil && !errors.Is(err, context.Canceled) {
		a.log.Error("slack: socket mode acknowledgement failed", "err", err)
	}
}
