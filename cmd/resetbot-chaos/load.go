package main

import (
	"context"
	"fmt"
	"time"

	"resetbot/bot"
)

// person runs one simulated person's loop: ask, have it approved, reveal,
// until the load stops.
func (w *world) person(ctx context.Context, n int) {
	defer w.wg.Done()
	for i := n; !w.stop.Load() && ctx.Err() == nil; i += w.o.workers {
		acct := int(w.accounts.Add(1) - 1)
		if acct >= accountCount {
			return
		}
		w.flow(ctx, requesterID(i%requesters), approverID((i/2)%approvers), acct)
	}
}

func (w *world) flow(ctx context.Context, requester, approver string, acct int) {
	account := fmt.Sprintf("chaos-%d", acct)
	ask := w.send(ctx, "ask", "/slack/commands", nil, func(hook, trigger string) string {
		return commandForm(requester, account+" chaos run", hook, trigger)
	})
	if ask == nil {
		return
	}
	if ask.ackText != "" {
		time.Sleep(time.Second)
		return
	}
	var text string
	if !waitFor(ctx, 35*time.Second, func() bool { var ok bool; text, ok = w.reply(ask.hook); return ok }) {
		return // counted as unanswered at the end
	}
	m := askedRE.FindStringSubmatch(text)
	if m == nil {
		w.note(text)
		time.Sleep(500 * time.Millisecond)
		return
	}
	rq := &request{id: m[1], requester: requester, account: account, askRep: ask.rep, askAt: ask.start}
	w.mu.Lock()
	rq.phase = w.phase
	w.reqs[rq.id] = rq
	w.mu.Unlock()

	gone := func() bool {
		_, _, g, ok := w.state(ctx, rq.id)
		return ok && g
	}
	// Approve, on another replica than the ask's; again, as a person
	// would, when nothing happened.
	approved := false
	for try := 0; try < 3 && !approved && ctx.Err() == nil; try++ {
		vote := w.send(ctx, "approve", "/slack/interactions", ask.rep, func(hook, trigger string) string {
			return clickForm(approver, "approve", rq.id, fmt.Sprintf("%d.%06d", time.Now().Unix(), w.seq.Add(1)), hook, trigger, channel)
		})
		if vote == nil {
			continue
		}
		approved = waitFor(ctx, 20*time.Second+w.lease(), func() bool {
			if w.offered(rq.id) {
				return true
			}
			s, _, g, ok := w.state(ctx, rq.id)
			if ok && (g || bot.State(s).Terminal()) {
				return true
			}
			// A vote that was lost leaves it pending: click again.
			return ok && s == string(bot.StatePending) && time.Since(vote.start) > 15*time.Second
		}) && w.offered(rq.id)
		if g := gone(); g {
			w.markGone(rq)
			w.clickGone(ctx, approver, rq.id)
			return
		}
	}
	if !approved {
		return
	}
	// Reveal, on whichever replica is next; again when the click did not
	// start the reset (its window did not open).
	for try := 0; try < 3 && ctx.Err() == nil; try++ {
		click := w.send(ctx, "reveal", "/slack/interactions", nil, func(hook, trigger string) string {
			return clickForm(requester, "reveal", rq.id, fmt.Sprintf("%d.%06d", time.Now().Unix(), w.seq.Add(1)), hook, trigger, "D"+requester)
		})
		if click == nil {
			continue
		}
		w.mu.Lock()
		rq.revealRep, rq.revealAt = click.rep, click.start
		w.mu.Unlock()
		again := false
		waitFor(ctx, 30*time.Second+w.lease(), func() bool {
			s, o, g, ok := w.state(ctx, rq.id)
			switch {
			case !ok:
				return false
			case g:
				return true
			case bot.State(s).Terminal():
				w.mu.Lock()
				rq.state, rq.outcome, rq.endedAt = s, o, time.Now()
				w.mu.Unlock()
				return true
			case s == string(bot.StateOffered) && time.Since(click.start) > 8*time.Second:
				again = true
				return true
			}
			return false
		})
		if gone() {
			w.markGone(rq)
			return
		}
		if !again {
			return
		}
		if t, ok := w.reply(click.hook); ok {
			w.note(t)
		}
	}
}

func (w *world) markGone(rq *request) {
	w.mu.Lock()
	defer w.mu.Unlock()
	rq.vanished = true
}

// clickGone presses Approve on a request that vanished, as its approver
// would, and notes the answer.
func (w *world) clickGone(ctx context.Context, approver, id string) {
	p := w.send(ctx, "approve", "/slack/interactions", nil, func(hook, trigger string) string {
		return clickForm(approver, "approve", id, fmt.Sprintf("%d.%06d", time.Now().Unix(), w.seq.Add(1)), hook, trigger, channel)
	})
	if p == nil {
		return
	}
	var text string
	if waitFor(ctx, 10*time.Second, func() bool { var ok bool; text, ok = w.reply(p.hook); return ok }) {
		w.mu.Lock()
		phase := w.phase
		w.mu.Unlock()
		w.mu.Lock()
		m := w.notes[phase+" (a click on a vanished request)"]
		if m == nil {
			m = map[string]int{}
			w.notes[phase+" (a click on a vanished request)"] = m
		}
		m[category(text)]++
		w.mu.Unlock()
	}
}
