package discord

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
)

// Run holds a Gateway session while ctx lasts, when Options.Gateway is set,
// and returns nil at once otherwise. Of several replicas sharing a Lease, one
// holds the session; the others wait and take over when it lets go or stops
// renewing. Run returns nil when ctx ends.
func (a *Adapter) Run(ctx context.Context) error {
	if !a.opts.Gateway {
		return nil
	}
	lease := a.opts.Lease
	if lease == nil {
		lease = soleLease{}
	}
	name := "discord.gateway." + a.opts.ApplicationID
	holder := randomHolder()
	every := a.leaseTTL / 3
	for {
		held, err := lease.Acquire(ctx, name, holder, a.leaseTTL)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			a.log.Error("discord: take the Gateway lease", "err", err)
		case held:
			a.log.Info("discord: holding the Gateway session", "holder", holder)
			a.hold(ctx, lease, name, holder)
			// ctx may be over: letting go still has to reach the store.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := lease.Release(rctx, name, holder); err != nil {
				a.log.Error("discord: release the Gateway lease", "err", err)
			}
			cancel()
		}
		if !sleep(ctx, every) {
			return nil
		}
	}
}

// hold keeps a Gateway session open while the lease is held and ctx lasts,
// reconnecting when it drops. It closes the session before the lease could
// run out unrenewed, so that two replicas never both hold one.
func (a *Adapter) hold(ctx context.Context, lease Lease, name, holder string) {
	token := strings.TrimPrefix(a.rest.Token, "Bot ")
	sess := a.session(token)

	// Interactions in flight finish before hold returns; none start after.
	var mu sync.Mutex
	var inflight sync.WaitGroup
	closing := false
	// Read from the raw event, as over HTTP: discordgo's own reading fails
	// on components it does not know (a form's Labels).
	sess.AddHandler(func(_ *discordgo.Session, ev *discordgo.Event) {
		if ev.Type != "INTERACTION_CREATE" {
			return
		}
		i, err := decode(ev.RawData)
		if err != nil {
			a.log.Info("discord: refused an interaction from the Gateway", "why", "not an interaction Discord sends")
			return
		}
		mu.Lock()
		if closing {
			mu.Unlock()
			return
		}
		inflight.Add(1)
		mu.Unlock()
		defer inflight.Done()
		a.gatewayInteraction(ctx, i)
	})
	dropped := make(chan struct{}, 1)
	sess.AddHandler(func(_ *discordgo.Session, _ *discordgo.Disconnect) {
		select {
		case dropped <- struct{}{}:
		default:
		}
	})

	// discordgo's Open cannot be interrupted, so it runs aside while the
	// lease is renewed; a session that opens after hold has given up is
	// closed at once.
	opening := false
	opened := make(chan error, 1)
	open := func() {
		opening = true
		go func() { opened <- sess.Open() }()
	}
	open()
	connected := false
	renewed := time.Now() // the lease's ttl runs in real time, whatever the bot's clock
	tick := time.NewTicker(a.leaseTTL / 3)
	defer func() {
		tick.Stop()
		mu.Lock()
		closing = true
		mu.Unlock()
		if opening {
			a.pool.Track("close a Gateway session", func() {
				<-opened
				_ = sess.Close()
			})
		} else {
			_ = sess.Close()
		}
		inflight.Wait()
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case err := <-opened:
			opening = false
			connected = err == nil || errors.Is(err, discordgo.ErrWSAlreadyOpen)
			if !connected {
				a.log.Error("discord: connect to the Gateway", "err", err)
			}
		case <-dropped:
			connected = false // reconnect on the next tick, still under the lease
		case <-tick.C:
			ok, err := lease.Renew(ctx, name, holder, a.leaseTTL)
			switch {
			case ctx.Err() != nil:
				return
			case err == nil && !ok:
				a.log.Error("discord: lost the Gateway lease; closing the session")
				return
			case err != nil && time.Since(renewed) > a.leaseTTL*2/3:
				a.log.Error("discord: cannot renew the Gateway lease; closing the session before it runs out", "err", err)
				return
			case err != nil:
				a.log.Error("discord: renew the Gateway lease", "err", err)
			default:
				renewed = time.Now()
			}
			if !connected && !opening {
				open()
			}
		}
	}
}

// gatewayInteraction handles one interaction from the Gateway. Discord
// signed nothing here: the Gateway connection is the bot's own.
func (a *Adapter) gatewayInteraction(ctx context.Context, i *discordgo.Interaction) {
	if i == nil || i.Type == discordgo.InteractionPing || i.ID == "" || i.Token == "" || userOf(i) == nil ||
		i.AppID != a.opts.ApplicationID || a.service() == nil {
		a.log.Info("discord: refused an interaction from the Gateway", "why", "a ping, another application's, no ID, token or user, or no service yet")
		return
	}
	endpoint := discordgo.EndpointInteractionResponse(i.ID, i.Token)
	a.handle(ctx, i, func(resp *response) error {
		// Not repeated on doubt: a second callback would be refused anyway.
		return a.call(ctx, "answer an interaction", false, func(o ...discordgo.RequestOption) error {
			_, err := a.rest.RequestWithBucketID("POST", endpoint, resp, endpoint, o...)
			return err
		})
	})
}

// soleLease is the lease of a replica that is alone.
type soleLease struct{}

func (soleLease) Acquire(context.Context, string, string, time.Duration) (bool, error) {
	return true, nil
}
func (soleLease) Renew(context.Context, string, string, time.Duration) (bool, error) {
	return true, nil
}
func (soleLease) Release(context.Context, string, string) error { return nil }

// sleep waits for d, or less when ctx ends first; it reports whether it
// slept the whole time.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
