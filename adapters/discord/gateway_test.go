package discord_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"resetbot/adapters/discord"
	"resetbot/adapters/discord/discordtest"
	"resetbot/bot"
)

// crashingLease never lets go, like a replica that died.
type crashingLease struct{ discord.Lease }

func (crashingLease) Release(context.Context, string, string) error { return nil }

type running struct {
	stop context.CancelFunc
	done chan error
}

func (e *env) gatewayAdapter(token string, lease discord.Lease) *discord.Adapter {
	e.t.Helper()
	e.fake.Allow(token)
	o := adapterOptions(e.fake, e.clock, e.logs)
	o.BotToken, o.Gateway, o.Lease, o.LeaseTTL = token, true, lease, 600*time.Millisecond
	a, err := discord.New(o)
	if err != nil {
		e.t.Fatal(err)
	}
	a.Attach(e.svc)
	return a
}

func run(a *discord.Adapter) running {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	return running{stop, done}
}

func (r running) halt(t *testing.T, ctx context.Context) {
	t.Helper()
	r.stop()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-ctx.Done():
		t.Fatalf("Run did not return after its context ended")
	}
}

func (e *env) nextIdentify() discordtest.Hello {
	e.t.Helper()
	select {
	case h := <-e.fake.Identified():
		return h
	case <-e.ctx.Done():
		e.t.Fatalf("waiting for a Gateway IDENTIFY: %v", e.ctx.Err())
	}
	return discordtest.Hello{}
}

func (e *env) nextGone() string {
	e.t.Helper()
	select {
	case tok := <-e.fake.Closed():
		return tok
	case <-e.ctx.Done():
		e.t.Fatalf("waiting for a Gateway connection to close: %v", e.ctx.Err())
	}
	return ""
}

// TestGateway runs three replicas against one lease in Redis: one holds the
// Gateway session at a time, interactions that arrive through it are
// answered, and another replica takes over when the holder stops, dies, or
// loses the lease.
func TestGateway(t *testing.T) {
	e := newEnv(t)
	lease := redisLease{c: e.redis, prefix: e.prefix}

	a := run(e.gatewayAdapter("gw-a", lease))
	h := e.nextIdentify()
	if h.Token != "gw-a" || h.Open != 1 {
		t.Fatalf("first session: got %s with %d open, want gw-a alone", h.Token, h.Open)
	}
	b := run(e.gatewayAdapter("gw-b", crashingLease{lease}))

	t.Run("InteractionsAreAnswered", func(t *testing.T) {
		i := e.slash(alice, "help")
		if err := e.fake.Dispatch(h, i); err != nil {
			t.Fatal(err)
		}
		cb := e.fake.Wait(e.ctx, "the callback", isPostTo("interactions/"+i["id"].(string)+"/"+tokenOf(i)+"/callback"))
		data, _ := cb.Body["data"].(map[string]any)
		if discordtest.Num(cb.Body["type"]) != 4 || !cb.Ephemeral || !strings.Contains(data["content"].(string), "Usage on Discord") {
			t.Errorf("callback: got %s, want the usage, ephemeral", cb.Raw)
		}
		// the same interaction twice: handled once
		if err := e.fake.Dispatch(h, i); err != nil {
			t.Fatal(err)
		}
		again := e.fake.WaitN(e.ctx, 2, "the second callback", isPostTo("interactions/"+i["id"].(string)+"/"+tokenOf(i)+"/callback"))
		if !strings.Contains(again.Raw, "handled already") {
			t.Errorf("second callback: got %s, want it recognised as a repeat", again.Raw)
		}
	})

	t.Run("DenyFormInLabels", func(t *testing.T) {
		id, _ := e.ask(carol, "hpc")
		i := e.interaction(bob, 5, map[string]any{"custom_id": "deny:" + id, "components": []any{
			map[string]any{"type": 18, "id": 1, "component": map[string]any{"type": 4, "id": 2, "custom_id": "reason", "value": "not this week"}}}})
		if err := e.fake.Dispatch(h, i); err != nil {
			t.Fatal(err)
		}
		cb := e.fake.Wait(e.ctx, "the callback", isPostTo("interactions/"+i["id"].(string)+"/"+tokenOf(i)+"/callback"))
		if !strings.Contains(cb.Raw, "You denied "+id) {
			t.Errorf("callback: got %s, want the denial confirmed", cb.Raw)
		}
		if req, _ := e.store.Get(e.ctx, id); !strings.Contains(req.Outcome, "not this week") {
			t.Errorf("request: got %s %q, want denied with the reason", req.State, req.Outcome)
		}
	})

	t.Run("StoppingHandsOver", func(t *testing.T) {
		a.halt(t, e.ctx)
		if gone := e.nextGone(); gone != "gw-a" {
			t.Errorf("closed: got %s, want gw-a", gone)
		}
		h := e.nextIdentify()
		if h.Token != "gw-b" || h.Open != 1 {
			t.Errorf("next session: got %s with %d open, want gw-b alone", h.Token, h.Open)
		}
	})

	var c running
	t.Run("DyingHandsOverWhenTheLeaseRunsOut", func(t *testing.T) {
		b.halt(t, e.ctx) // closes its session but leaves the lease held
		if gone := e.nextGone(); gone != "gw-b" {
			t.Errorf("closed: got %s, want gw-b", gone)
		}
		c = run(e.gatewayAdapter("gw-c", lease))
		h := e.nextIdentify()
		if h.Token != "gw-c" || h.Open != 1 {
			t.Errorf("next session: got %s with %d open, want gw-c alone", h.Token, h.Open)
		}
	})

	t.Run("LosingTheLeaseClosesTheSession", func(t *testing.T) {
		key := e.prefix + "discord.gateway." + appID
		if err := e.redis.Set(e.ctx, key, "someone-else", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if gone := e.nextGone(); gone != "gw-c" {
			t.Errorf("closed: got %s, want gw-c", gone)
		}
		if err := e.redis.Del(e.ctx, key).Err(); err != nil {
			t.Fatal(err)
		}
		h := e.nextIdentify() // free again: it connects again
		if h.Token != "gw-c" || h.Open != 1 {
			t.Errorf("next session: got %s with %d open, want gw-c alone", h.Token, h.Open)
		}
	})
	c.halt(t, e.ctx)
	if held, _ := e.redis.Exists(e.ctx, e.prefix+"discord.gateway."+appID).Result(); held != 0 {
		t.Errorf("lease after the last replica stopped: still held")
	}
}

func TestRunWithoutGatewayReturns(t *testing.T) {
	e := newEnv(t)
	if err := e.ad.Run(e.ctx); err != nil {
		t.Errorf("Run: got %v, want nil at once", err)
	}
	if n := len(e.fake.Calls()); n != 0 {
		t.Errorf("calls: got %d, want none", n)
	}
}

// TestGatewayReveal: a Reveal (the button, or its command) that arrives
// through the Gateway is deferred through the callback endpoint, and the
// password replaces that ephemeral answer. One that arrives too late for
// Discord to take its answer resets nothing.
func TestGatewayReveal(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reveal func(e *env, id, offer string) map[string]any
	}{
		{"Button", func(e *env, id, offer string) map[string]any { return e.dmClick(alice, "reveal:"+id, offer) }},
		{"Command", func(e *env, id, _ string) map[string]any { return e.slash(alice, "reveal", "id", id) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ga := e.gatewayAdapter("gw-reveal", redisLease{c: e.redis, prefix: e.prefix})
			r := run(ga)
			defer r.halt(t, e.ctx)
			h := e.nextIdentify()
			id, _, offer := e.approved()
			callback := func(i map[string]any) func(discordtest.Call) bool {
				return isPostTo("interactions/" + i["id"].(string) + "/" + tokenOf(i) + "/callback")
			}

			// Handled more than 3 s after the click: Discord refuses the
			// deferral, so there would be nowhere to show a password.
			late := tc.reveal(e, id, msgID(offer))
			e.clock.Advance(4 * time.Second)
			if err := e.fake.Dispatch(h, late); err != nil {
				t.Fatal(err)
			}
			if cb := e.fake.Wait(e.ctx, "the late deferral", callback(late)); cb.Status != 404 {
				t.Fatalf("late callback: got %d, want 404 (Unknown interaction)", cb.Status)
			}
			waitFor(t, e.ctx, "the refused deferral logged", func() bool {
				return strings.Contains(e.logs.String(), "defer the answer to Reveal; nothing was reset")
			})
			ga.Wait()
			if n := e.resets(); n != 0 {
				t.Fatalf("resets after a refused deferral: got %d, want 0", n)
			}
			e.wantState(id, bot.StateOffered, "waiting for alice")
			e.wantOfferKept(offer)

			i := tc.reveal(e, id, msgID(offer))
			if err := e.fake.Dispatch(h, i); err != nil {
				t.Fatal(err)
			}
			cb := e.fake.Wait(e.ctx, "the deferral", callback(i))
			if discordtest.Num(cb.Body["type"]) != 5 || !cb.Ephemeral || cb.Status != 204 {
				t.Fatalf("callback: got %d %s, want an ephemeral deferral, taken", cb.Status, cb.Raw)
			}
			answer := e.fake.Wait(e.ctx, "the password", isEditOriginal(tokenOf(i)))
			pws := e.passwords()
			if len(pws) != 1 || !strings.Contains(content(answer), pws[0]) || !answer.Ephemeral {
				t.Fatalf("answer: got %q (ephemeral %v), want the new password, ephemeral", content(answer), answer.Ephemeral)
			}
			e.wantWithdrawn(offer, "was revealed")
			ga.Wait()
			e.ad.Wait()
			e.checkShownOnce(pws, tokenOf(i))
		})
	}
}
