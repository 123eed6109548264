package approvals_test

import (
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/approvals"
	"resetbot/bot"
)

// run has consumer take one entry off the execution queue, as a process
// does with each request it executes, and acknowledge it unless it dies
// holding it (hold).
func (e *env) run(consumer string, hold bool) {
	e.t.Helper()
	ctx := e.t.Context()
	if err := e.raw.XGroupCreateMkStream(ctx, e.key("queue"), approvals.Group, "0").Err(); err != nil && err.Error() != "BUSYGROUP Consumer Group name already exists" {
		e.t.Fatalf("create the group: %v", err)
	}
	if err := e.raw.XAdd(ctx, &redis.XAddArgs{Stream: e.key("queue"), Values: []string{"request", "R-" + consumer}}).Err(); err != nil {
		e.t.Fatal(err)
	}
	streams, err := e.raw.XReadGroup(ctx, &redis.XReadGroupArgs{Group: approvals.Group, Consumer: consumer,
		Streams: []string{e.key("queue"), ">"}, Count: 1, Block: -1}).Result()
	if err != nil || len(streams) != 1 || len(streams[0].Messages) != 1 {
		e.t.Fatalf("%s reads the queue: got (%v, %v), want one entry", consumer, streams, err)
	}
	if !hold {
		if err := e.raw.XAck(ctx, e.key("queue"), approvals.Group, streams[0].Messages[0].ID).Err(); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *env) consumers() []string {
	e.t.Helper()
	cs, err := e.raw.XInfoConsumers(e.t.Context(), e.key("queue"), approvals.Group).Result()
	if err != nil {
		e.t.Fatalf("XINFO CONSUMERS: %v", err)
	}
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	slices.Sort(names)
	return names
}

func TestTidyConsumers(t *testing.T) {
	for _, srv := range append(servers(), deployments()...) {
		t.Run(srv.name, func(t *testing.T) {
			t.Run("AfterFiveRestartsOnlyTheLiveOneStays", func(t *testing.T) {
				e := newEnv(t, srv)
				for _, name := range []string{"run-1", "run-2", "run-3", "run-4", "run-5", "live"} {
					e.run(name, false)
				}
				if got := e.consumers(); len(got) != 6 {
					t.Fatalf("before tidying: got consumers %v, want 6", got)
				}
				n, err := e.store.TidyConsumers(t.Context(), "live")
				if err != nil {
					t.Fatalf("TidyConsumers: %v", err)
				}
				if got, want := e.consumers(), []string{"live"}; !slices.Equal(got, want) || n != 5 {
					t.Errorf("after tidying: got consumers %v (%d removed), want %v (5 removed)", got, n, want)
				}
			})
			t.Run("OneHoldingAnEntryStays", func(t *testing.T) {
				e := newEnv(t, srv)
				e.run("live", false)
				e.run("died-holding", true)
				e.run("died-empty", false)
				if _, err := e.store.TidyConsumers(t.Context(), "live"); err != nil {
					t.Fatalf("TidyConsumers: %v", err)
				}
				if got, want := e.consumers(), []string{"died-holding", "live"}; !slices.Equal(got, want) {
					t.Errorf("after tidying: got consumers %v, want %v", got, want)
				}
			})
			t.Run("NoQueueYet", func(t *testing.T) {
				e := newEnv(t, srv)
				if n, err := e.store.TidyConsumers(t.Context(), "live"); err != nil || n != 0 {
					t.Errorf("TidyConsumers on no queue: got (%d, %v), want (0, nil)", n, err)
				}
			})
		})
	}
}

// sameCheck compares checks, their times as instants.
func sameCheck(a, b bot.EpochCheck) bool {
	return a.Epoch.ID == b.Epoch.ID && a.Epoch.Since.Equal(b.Epoch.Since) && a.Lost == b.Lost && a.Announce == b.Announce
}

func TestEpoch(t *testing.T) {
	for _, srv := range append(servers(), deployments()...) {
		t.Run(srv.name, func(t *testing.T) {
			e := newEnv(t, srv)
			ctx := t.Context()
			at := e.clock.Now()
			first, err := e.store.Epoch(ctx, "", bot.Epoch{ID: "e1", Since: at})
			if err != nil {
				t.Fatalf("Epoch: %v", err)
			}
			if want := (bot.EpochCheck{Epoch: bot.Epoch{ID: "e1", Since: at}}); !sameCheck(first, want) {
				t.Fatalf("first start: got %+v, want %+v", first, want)
			}
			// Another replica starting later adopts it; the same one sees it again.
			for _, expected := range []string{"", "e1"} {
				c, err := e.store.Epoch(ctx, expected, bot.Epoch{ID: "other", Since: at.Add(time.Minute)})
				if err != nil || c.Lost || c.Epoch.ID != "e1" {
					t.Errorf("expecting %q: got (%+v, %v), want e1, not lost", expected, c, err)
				}
			}

			e.raw.Del(ctx, e.key("epoch")) // Redis came back empty
			later := at.Add(time.Hour)
			a, err := e.store.Epoch(ctx, "e1", bot.Epoch{ID: "e2", Since: later})
			if err != nil {
				t.Fatalf("Epoch: %v", err)
			}
			if want := (bot.EpochCheck{Epoch: bot.Epoch{ID: "e2", Since: later}, Lost: true, Announce: true}); !sameCheck(a, want) {
				t.Errorf("the first replica to look: got %+v, want %+v", a, want)
			}
			b, err := e.store.Epoch(ctx, "e1", bot.Epoch{ID: "e3", Since: later.Add(time.Second)})
			if err != nil {
				t.Fatalf("Epoch: %v", err)
			}
			if want := (bot.EpochCheck{Epoch: bot.Epoch{ID: "e2", Since: later}, Lost: true}); !sameCheck(b, want) {
				t.Errorf("the second replica to look: got %+v, want %+v (lost, said by the first)", b, want)
			}

			// A replica that started after the loss wrote the epoch: the
			// first that knew the old one says it.
			e.raw.Del(ctx, e.key("epoch"))
			if c, err := e.store.Epoch(ctx, "", bot.Epoch{ID: "e4", Since: later}); err != nil || c.Lost {
				t.Fatalf("a new replica's first look: got (%+v, %v), want not lost", c, err)
			}
			for i, want := range []bool{true, false} {
				c, err := e.store.Epoch(ctx, "e2", bot.Epoch{ID: "x", Since: later})
				if err != nil || !c.Lost || c.Announce != want || c.Epoch.ID != "e4" {
					t.Errorf("replica %d knowing e2: got (%+v, %v), want lost, announce %v", i+1, c, err, want)
				}
			}
		})
	}
}

func TestCardDebts(t *testing.T) {
	for _, srv := range append(servers(), deployments()...) {
		t.Run(srv.name, func(t *testing.T) {
			e := newEnv(t, srv)
			ctx := t.Context()
			other := e.newStore()
			if err := e.store.OweCard(ctx, "R-AAAAAA", bot.PlatformSlack); err != nil {
				t.Fatalf("OweCard: %v", err)
			}
			got, err := e.store.CardDebts(ctx, time.Minute, 10)
			if err != nil || len(got) != 1 || got[0].RequestID != "R-AAAAAA" || got[0].Platform != bot.PlatformSlack || got[0].Tries != 1 {
				t.Fatalf("CardDebts: got (%+v, %v), want the one owed, tried once", got, err)
			}
			if again, err := other.CardDebts(ctx, time.Minute, 10); err != nil || len(again) != 0 {
				t.Fatalf("another replica's CardDebts while claimed: got (%+v, %v), want none", again, err)
			}

			// Owed again while claimed: the claim cannot pay it, and it
			// comes back after the backoff.
			if err := e.store.OweCard(ctx, "R-AAAAAA", bot.PlatformSlack); err != nil {
				t.Fatalf("OweCard: %v", err)
			}
			if paid, err := e.store.PayCard(ctx, got[0]); err != nil || paid {
				t.Fatalf("PayCard of a debt owed again: got (%v, %v), want (false, nil)", paid, err)
			}
			if due, _ := other.CardDebts(ctx, time.Minute, 10); len(due) != 0 {
				t.Fatalf("owed a second time: due at once, want after 5s: %+v", due)
			}
			e.clock.Advance(5 * time.Second)
			due, err := other.CardDebts(ctx, time.Minute, 10)
			if err != nil || len(due) != 1 || due[0].Tries != 2 {
				t.Fatalf("5s later: got (%+v, %v), want the debt, tried twice", due, err)
			}
			if paid, err := other.PayCard(ctx, due[0]); err != nil || !paid {
				t.Fatalf("PayCard: got (%v, %v), want (true, nil)", paid, err)
			}
			e.clock.Advance(time.Hour)
			if left, _ := e.store.CardDebts(ctx, time.Minute, 10); len(left) != 0 {
				t.Errorf("after paying: got %+v, want nothing owed", left)
			}
			// Owed afresh, it counts its tries from one again.
			if err := e.store.OweCard(ctx, "R-AAAAAA", bot.PlatformSlack); err != nil {
				t.Fatal(err)
			}
			if d, _ := e.store.CardDebts(ctx, time.Minute, 10); len(d) != 1 || d[0].Tries != 1 {
				t.Errorf("owed afresh: got %+v, want one debt tried once", d)
			}
		})
	}
}

func TestCardDebtClaimLapses(t *testing.T) {
	e := newEnv(t, servers()[0])
	ctx := t.Context()
	if err := e.store.OweCard(ctx, "R-BBBBBB", bot.PlatformDiscord); err != nil {
		t.Fatal(err)
	}
	if d, _ := e.store.CardDebts(ctx, time.Minute, 10); len(d) != 1 {
		t.Fatalf("claim: got %+v, want one", d)
	}
	e.clock.Advance(time.Minute + time.Millisecond) // the claimant died
	d, err := e.newStore().CardDebts(ctx, time.Minute, 10)
	if err != nil || len(d) != 1 || d[0].RequestID != "R-BBBBBB" {
		t.Errorf("after the lease: got (%+v, %v), want the debt handed out again", d, err)
	}
}
