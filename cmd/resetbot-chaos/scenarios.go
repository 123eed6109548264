package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"resetbot/bot"
)

func (w *world) scenarios(ctx context.Context, out io.Writer) error {
	var t table
	var failures []string
	lease := "2m, the default: this resetbot reads no execution_lease"
	if w.o.lease > 0 {
		lease = w.o.lease.String()
	}
	fmt.Fprintf(w.stderr, "resetbot-chaos: 3 replicas up; load: %d people at once, resets take %s at the cloud, execution lease %s\n",
		w.o.workers, w.o.resetDelay, lease)
	runStart := time.Now()
	w.setPhase("warm-up")
	for i := range w.o.workers {
		w.wg.Add(1)
		go w.person(ctx, i)
	}
	time.Sleep(5 * time.Second)
	w.ackRow(&t, "0. load alone", runStart, time.Now())

	// 1. SIGKILL during resets.
	s1 := "1. SIGKILL during resets"
	w.setPhase(s1)
	victim := w.replicas[0]
	var caught []*request
	waitFor(ctx, 20*time.Second, func() bool { caught = w.inflight(ctx, victim); return len(caught) >= 2 })
	killAt := time.Now()
	victim.inRot.Store(false)
	_ = victim.cmd.Process.Signal(syscall.SIGKILL)
	<-victim.exited
	fmt.Fprintf(w.stderr, "resetbot-chaos: killed %s with %d resets under way\n", victim.name, len(caught))
	var ends []time.Duration
	unknown, other := 0, map[string]int{}
	waitFor(ctx, w.lease()+40*time.Second, func() bool {
		for _, rq := range caught {
			w.mu.Lock()
			done := !rq.endedAt.IsZero()
			w.mu.Unlock()
			if !done {
				s, o, _, ok := w.state(ctx, rq.id)
				if !ok || !bot.State(s).Terminal() {
					return false
				}
				w.mu.Lock()
				rq.state, rq.outcome, rq.endedAt = s, o, time.Now()
				w.mu.Unlock()
			}
		}
		return true
	})
	for _, rq := range caught {
		w.mu.Lock()
		s, o, end := rq.state, rq.outcome, rq.endedAt
		w.mu.Unlock()
		switch {
		case end.IsZero():
			other["still not ended"]++
			failures = append(failures, fmt.Sprintf("%s: %s was still executing %s after the kill", s1, rq.id, ms(time.Since(killAt))))
		case s == string(bot.StateFailed) && strings.Contains(o, "outcome unknown"):
			unknown++
			ends = append(ends, end.Sub(killAt))
		default:
			other[s]++
			ends = append(ends, end.Sub(killAt))
		}
	}
	slices.Sort(ends)
	t.add(s1, "resets under way on the killed replica", "%d", len(caught))
	if len(ends) > 0 {
		t.add(s1, "kill to their end", "min %s, max %s (lease %s)", ms(ends[0]), ms(ends[len(ends)-1]), lease)
	}
	t.add(s1, "ended as failed, outcome unknown", "%d of %d%s", unknown, len(caught), otherStates(other))
	toldDM := 0
	waitFor(ctx, 15*time.Second, func() bool { // the message follows the end
		for _, rq := range caught {
			if !w.toldByDM(rq.id, "outcome unknown") {
				return false
			}
		}
		return true
	})
	for _, rq := range caught {
		if w.toldByDM(rq.id, "outcome unknown") {
			toldDM++
		}
	}
	t.add(s1, "their requesters told so by direct message", "%d of %d (the Reveal window the killed replica opened stays at its first text)", toldDM, len(caught))
	restartAt := time.Now()
	r, err := w.startReplica(ctx, victim.name+"b")
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.replicas = append(w.replicas, r)
	w.mu.Unlock()
	t.add(s1, "a new replica started and ready", "in %s", ms(time.Since(restartAt)))
	w.ackRow(&t, s1, killAt, time.Now())
	w.sawRow(&t, s1, s1)
	time.Sleep(3 * time.Second)

	// 2. Redis restarted, empty.
	s2 := "2. Redis restarted, empty"
	w.setPhase(s2)
	live := w.live()
	probeStop := make(chan struct{})
	probed := w.probe(ctx, probeStop, 200*time.Millisecond)
	time.Sleep(time.Second)
	stopAt := time.Now()
	w.stopRedis()
	if err := w.startRedis(ctx); err != nil {
		return err
	}
	upAt := time.Now()
	readyIn := make([]time.Duration, len(live))
	var rw sync.WaitGroup
	for i, r := range live {
		rw.Go(func() {
			if w.waitReady(ctx, r, 60*time.Second) {
				readyIn[i] = time.Since(upAt)
			} else {
				readyIn[i] = -1
			}
		})
	}
	rw.Wait()
	time.Sleep(2 * time.Second)
	close(probeStop)
	w.probeRows(ctx, &t, s2, <-probed)
	t.add(s2, "redis-server down (stop to answering again)", "%s", ms(upAt.Sub(stopAt)))
	var readyText []string
	for i, d := range readyIn {
		if d < 0 {
			readyText = append(readyText, live[i].name+" not within 60s")
		} else {
			readyText = append(readyText, live[i].name+" "+ms(d))
		}
	}
	t.add(s2, "Redis back to /readyz 200", "%s", strings.Join(readyText, ", "))
	time.Sleep(3 * time.Second)
	w.mu.Lock()
	lost := 0
	for _, rq := range w.reqs {
		if rq.vanished {
			lost++
		}
	}
	w.mu.Unlock()
	t.add(s2, "requests under way that vanished with Redis's data", "%d (nobody was told)", lost)
	w.ackRow(&t, s2, stopAt, time.Now())
	w.sawRow(&t, s2, s2)
	w.sawRow(&t, s2+", an Approve click on a vanished request", s2+" (a click on a vanished request)")
	time.Sleep(3 * time.Second)

	// 3. Redis paused for 10 s.
	s3 := "3. Redis paused 10 s"
	w.setPhase(s3)
	pauseAt := time.Now()
	if err := w.obs.Do(ctx, "CLIENT", "PAUSE", "10000", "ALL").Err(); err != nil {
		return fmt.Errorf("CLIENT PAUSE: %w", err)
	}
	probeStop = make(chan struct{})
	probed = w.probe(ctx, probeStop, 200*time.Millisecond)
	time.Sleep(10 * time.Second)
	close(probeStop)
	w.ackRow(&t, s3, pauseAt, pauseAt.Add(10*time.Second))
	w.probeRows(ctx, &t, s3, <-probed)
	w.sawRow(&t, s3, s3)

	// 4. SIGTERM during resets.
	s4 := "4. SIGTERM during resets"
	w.setPhase(s4)
	victim = w.live()[0]
	caught = nil
	waitFor(ctx, 20*time.Second, func() bool { caught = w.inflight(ctx, victim); return len(caught) >= 2 })
	termAt := time.Now()
	victim.inRot.Store(false)
	_ = victim.cmd.Process.Signal(syscall.SIGTERM)
	var stopTook time.Duration
	select {
	case <-victim.exited:
		stopTook = time.Since(termAt)
	case <-time.After(60 * time.Second):
		failures = append(failures, s4+": the replica did not stop within 60s of SIGTERM")
		_ = victim.cmd.Process.Kill()
		<-victim.exited
		stopTook = time.Since(termAt)
	}
	t.add(s4, "resets under way on the stopped replica", "%d", len(caught))
	t.add(s4, "SIGTERM to exit", "%s (exit: %v)", ms(stopTook), exitText(victim.waitErr))
	states := map[string]int{}
	for _, rq := range caught {
		s, _, _, _ := w.state(ctx, rq.id)
		states[s]++
	}
	t.add(s4, "those resets, once it exited", "%s", countText(states))
	w.ackRow(&t, s4, termAt.Add(-5*time.Second), time.Now())

	// The load stops; every flow under way finishes.
	w.setPhase("drain")
	w.stop.Store(true)
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(w.lease() + 90*time.Second):
		failures = append(failures, "the load did not finish within the lease and 90s")
	}
	// Answers still on their way.
	waitFor(ctx, 35*time.Second, func() bool { return len(w.unanswered(victim, false)) == 0 })

	// Correctness.
	resets := map[string]int{}
	calls := 0
	for _, c := range w.emu.Calls() {
		if strings.HasPrefix(c.Action, "Reset") {
			calls++
			if c.Code == "" {
				resets[c.Params["InstanceId"]]++
			}
		}
	}
	twice := 0
	for inst, n := range resets {
		if n > 1 {
			twice++
			failures = append(failures, fmt.Sprintf("%s was reset %d times for one request", inst, n))
		}
	}
	w.mu.Lock()
	final := map[string]int{}
	resetLost := 0
	for _, rq := range w.reqs {
		if rq.vanished {
			final["vanished with Redis"]++
			if resets["tdsql-"+rq.account] > 0 {
				resetLost++
			}
			continue
		}
		if rq.state != "" {
			final[rq.state]++
			continue
		}
		s, _, gone, ok := w.state(ctx, rq.id)
		switch {
		case !ok:
			final["unreadable"]++
		case gone:
			final["not in Redis"]++
		default:
			final[s]++
			if s == string(bot.StateExecuting) {
				failures = append(failures, fmt.Sprintf("%s is still executing at the end", rq.id))
			}
		}
	}
	nreq := len(w.reqs)
	nposts := len(w.posts)
	w.mu.Unlock()
	killed := w.replicas[0]
	lostKill := w.unanswered(killed, true)
	lostOther := w.unanswered(killed, false)
	for _, p := range lostOther {
		failures = append(failures, fmt.Sprintf("a %s acknowledged by %s at %s (%s) was never answered", p.kind, p.rep.name,
			p.start.Format("15:04:05.000"), p.phase))
	}
	all := "all"
	t.add(all, "requests asked; payloads posted", "%d; %d", nreq, nposts)
	t.add(all, "requests by final state", "%s", countText(final))
	t.add(all, "reset calls at the cloud; accounts reset twice", "%d; %d", calls, twice)
	t.add(all, "requests that vanished with Redis but whose reset went through", "%d", resetLost)
	t.add(all, "payloads acknowledged by the SIGKILLed replica and never answered", "%d%s", len(lostKill), kinds(lostKill))
	t.add(all, "payloads acknowledged by the other replicas and never answered", "%d", len(lostOther))
	w.ackRow(&t, all, runStart, time.Now())
	t.add(all, "run took", "%s", ms(time.Since(runStart)))

	t.print(out)
	if len(failures) > 0 {
		for _, f := range failures {
			fmt.Fprintln(w.stderr, "FAIL:", f)
		}
		return fmt.Errorf("%d correctness checks failed", len(failures))
	}
	return nil
}
