package bot_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"resetbot/bot"
	"resetbot/internal/redistest"
)

// wipe empties the test's keys, as a Redis restarted without persistence
// comes back.
func (e *env) wipe() {
	e.t.Helper()
	iter := e.client.Scan(e.ctx, 0, "{"+e.prefix+"}*", 1000).Iterator()
	for iter.Next(e.ctx) {
		e.client.Del(e.ctx, iter.Val())
	}
	if err := iter.Err(); err != nil {
		e.t.Fatal(err)
	}
}

// TestServiceSaysStoreLost: Redis comes back empty under two replicas.
// Each is unready until it said so (the log, the metric); one of them, not
// both, tells each approvals channel; and a click on a request that
// vanished says what happened.
func TestServiceSaysStoreLost(t *testing.T) {
	var lostA, lostB atomic.Int64
	e := newEnv(t, func(o *bot.Options) { o.DataLost = func() { lostA.Add(1) } })
	other, _ := redistest.Client(t)
	b, _ := e.newService(other, func(o *bot.Options) { o.DataLost = func() { lostB.Add(1) } })
	for _, svc := range []*bot.Service{e.svc, b} {
		svc.Sweep(e.ctx)
		if err := svc.Ready(e.ctx); err != nil {
			t.Fatalf("Ready at start: %v", err)
		}
	}
	id := e.ask(as("alice", bot.PlatformSlack), "prod-db locked out")
	if r := e.do(as("bob", bot.PlatformSlack), "approve "+id); r.Err != nil {
		t.Fatalf("approve: %v", r.Err)
	}

	e.wipe()
	for name, svc := range map[string]*bot.Service{"A": e.svc, "B": b} {
		if err := svc.Ready(e.ctx); bot.ErrorCode(err) != bot.EUNAVAILABLE {
			t.Errorf("replica %s's Ready after the loss, unsaid: got %v, want EUNAVAILABLE", name, err)
		}
	}
	if lostA.Load()+lostB.Load() != 0 || e.chat.count("announce", nil) != 0 {
		t.Fatal("the loss was said before a sweep")
	}
	e.svc.Sweep(e.ctx)
	b.Sweep(e.ctx)
	for name, svc := range map[string]*bot.Service{"A": e.svc, "B": b} {
		if err := svc.Ready(e.ctx); err != nil {
			t.Errorf("replica %s's Ready once said: %v", name, err)
		}
	}
	if lostA.Load() != 1 || lostB.Load() != 1 {
		t.Errorf("DataLost calls: got A %d, B %d, want 1 each", lostA.Load(), lostB.Load())
	}
	if n := strings.Count(e.log.String(), "the store lost its data"); n != 2 {
		t.Errorf("log lines about the loss: got %d, want one per replica:\n%s", n, e.log)
	}
	for _, pl := range []bot.Platform{bot.PlatformSlack, bot.PlatformDiscord} {
		n := e.chat.count("announce", func(s shown) bool {
			return s.Platform == pl && s.Audience == "" && strings.Contains(s.Text, "lost its data") && strings.Contains(s.Text, "ask again")
		})
		if n != 1 {
			t.Errorf("announcements in the approvals channel on %s: got %d, want 1; shown: %+v", pl, n, e.chat.all())
		}
	}

	// The card of the vanished request still has its buttons.
	const says = " is not in the bot's store: the store (Redis) lost its data (noticed at 09:30 UTC)"
	refused(t, b.HandleText(e.ctx, as("carol", bot.PlatformSlack), "approve "+id), bot.ENOTFOUND, id+says)
	var sh show
	err := b.Reveal(e.ctx, as("alice", bot.PlatformSlack), id, sh.fn)
	if bot.ErrorCode(err) != bot.ENOTFOUND || !strings.Contains(bot.ErrorMessage(err), id+says) {
		t.Errorf("Reveal of the vanished request: got %v, want not found saying %q", err, id+says)
	}

	// Nothing more is said at the next sweeps.
	e.svc.Sweep(e.ctx)
	b.Sweep(e.ctx)
	if lostA.Load()+lostB.Load() != 2 || e.chat.count("announce", nil) != 2 {
		t.Errorf("after more sweeps: DataLost %d times, %d announcements; want 2 and 2", lostA.Load()+lostB.Load(), e.chat.count("announce", nil))
	}
}

// TestServiceVanishedAtTheFirstClick: the first to meet the loss is a
// click on the card of a request that vanished, before any sweep or
// readiness check: it is told what happened, not only "there is no
// request", and the loss is then said as usual.
func TestServiceVanishedAtTheFirstClick(t *testing.T) {
	var lost atomic.Int64
	e := newEnv(t, func(o *bot.Options) { o.DataLost = func() { lost.Add(1) } })
	e.svc.Sweep(e.ctx) // the epoch at start
	id := e.ask(as("alice", bot.PlatformSlack), "prod-db locked out")
	// with the store intact, an ID that never existed is only not found
	if r := e.do(as("bob", bot.PlatformSlack), "approve R-7F3K9Q"); bot.ErrorCode(r.Err) != bot.ENOTFOUND || strings.Contains(r.Text, "lost") {
		t.Errorf("approve R-7F3K9Q before the loss: got %v %q, want not found, saying nothing of a loss", r.Err, r.Text)
	}
	e.wipe()
	e.clock.Advance(time.Second) // it looks at most once a second
	const says = " is not in the bot's store: the store (Redis) lost its data (noticed at 09:30 UTC)"
	refused(t, e.do(as("bob", bot.PlatformSlack), "approve "+id), bot.ENOTFOUND, id+says)
	if err := e.svc.Ready(e.ctx); bot.ErrorCode(err) != bot.EUNAVAILABLE {
		t.Errorf("Ready after the click found the loss: got %v, want EUNAVAILABLE until it is said", err)
	}
	e.svc.Sweep(e.ctx)
	if lost.Load() != 1 || e.chat.count("announce", nil) != 2 {
		t.Errorf("after a sweep: DataLost %d times, %d announcements; want 1, and one per platform", lost.Load(), e.chat.count("announce", nil))
	}
}

// TestServiceAnnouncesLossOnceChatTakesIt: the chat API refuses the
// notice of the loss: the replica is ready once it logged it, and later
// sweeps post the notice, once per channel, as soon as the chat takes it.
func TestServiceAnnouncesLossOnceChatTakesIt(t *testing.T) {
	e := newEnv(t)
	e.svc.Sweep(e.ctx)
	e.wipe()
	e.chat.mu.Lock()
	e.chat.announceErr = bot.Errorf(bot.EUNAVAILABLE, "Slack answered 500")
	e.chat.mu.Unlock()
	e.svc.Sweep(e.ctx)
	if err := e.svc.Ready(e.ctx); err != nil {
		t.Errorf("Ready once logged: %v", err)
	}
	if n := e.chat.count("announce", nil); n != 0 {
		t.Fatalf("announcements while the chat refuses them: %d", n)
	}
	e.svc.Sweep(e.ctx) // still refused: still owed
	e.chat.mu.Lock()
	e.chat.announceErr = nil
	e.chat.mu.Unlock()
	e.svc.Sweep(e.ctx)
	e.svc.Sweep(e.ctx)
	for _, pl := range []bot.Platform{bot.PlatformSlack, bot.PlatformDiscord} {
		if n := e.chat.count("announce", func(s shown) bool { return s.Platform == pl }); n != 1 {
			t.Errorf("announcements on %s once the chat takes them: %d, want 1", pl, n)
		}
	}
	if n := strings.Count(e.log.String(), "the store lost its data"); n != 1 {
		t.Errorf("log lines about the loss: %d, want 1", n)
	}
}

// TestServiceStoreNotLostAtFirstStart: an empty store at a process's first
// look is a first start, not a loss.
func TestServiceStoreNotLostAtFirstStart(t *testing.T) {
	var lost atomic.Int64
	e := newEnv(t, func(o *bot.Options) { o.DataLost = func() { lost.Add(1) } })
	if err := e.svc.Ready(e.ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	e.svc.Sweep(e.ctx)
	if lost.Load() != 0 || e.chat.count("announce", nil) != 0 {
		t.Errorf("first start: DataLost %d times, %d announcements; want none", lost.Load(), e.chat.count("announce", nil))
	}
	r := e.do(as("bob", bot.PlatformSlack), "approve R-22222Z")
	if bot.ErrorCode(r.Err) != bot.ENOTFOUND || strings.Contains(r.Text, "lost") {
		t.Errorf("approve an unknown request: got %q (%v), want not found, no word of a loss", r.Text, r.Err)
	}
}

// TestServiceTidiesQueue: the sweeper removes the consumers that earlier
// processes left in the execution queue's group, keeping its own.
func TestServiceTidiesQueue(t *testing.T) {
	e := newEnv(t)
	queue := "{" + e.prefix + "}queue"
	for _, name := range []string{"gone-1", "gone-2", "gone-3", "gone-4", "gone-5", "me"} {
		if err := e.client.XGroupCreateMkStream(e.ctx, queue, "executors", "0").Err(); err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
			t.Fatal(err)
		}
		if err := e.client.XGroupCreateConsumer(e.ctx, queue, "executors", name).Err(); err != nil {
			t.Fatal(err)
		}
	}
	stop := e.runExecutor(e.svc, "me")
	defer stop()
	for {
		e.svc.Sweep(e.ctx)
		cs, err := e.client.XInfoConsumers(e.ctx, queue, "executors").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == 1 && cs[0].Name == "me" {
			return
		}
		if e.ctx.Err() != nil {
			t.Fatalf("consumers after sweeping: got %+v, want only me", cs)
		}
		e.clock.Advance(5 * time.Minute) // the sweeper tidies every 5 minutes at most
	}
}
