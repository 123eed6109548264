package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"resetbot/bot"
)

// probe types an ask for a fresh account every interval, round-robin over
// the replicas, until stop is closed, as people do who keep working during
// a fault; it returns what it sent once stop is closed.
func (w *world) probe(ctx context.Context, stop <-chan struct{}, every time.Duration) <-chan []*post {
	out := make(chan []*post, 1)
	go func() {
		var mu sync.Mutex
		var sent []*post
		var wg sync.WaitGroup
		tick := time.NewTicker(every)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				wg.Wait()
				out <- sent
				return
			case <-ctx.Done():
				wg.Wait()
				out <- sent
				return
			case <-tick.C:
			}
			acct := int(w.accounts.Add(1) - 1)
			if acct >= accountCount {
				continue
			}
			wg.Go(func() {
				user := requesterID(i % requesters)
				p := w.send(ctx, "ask", "/slack/commands", nil, func(hook, trigger string) string {
					return commandForm(user, fmt.Sprintf("chaos-%d typed during a fault", acct), hook, trigger)
				})
				if p != nil {
					mu.Lock()
					sent = append(sent, p)
					mu.Unlock()
				}
			})
		}
	}()
	return out
}

// probeRows waits for the answers to the asks a probe sent and adds what
// they show: how fast they were acknowledged and answered, and what the
// answers said when they were not a request ID.
func (w *world) probeRows(ctx context.Context, t *table, scenario string, sent []*post) {
	waitFor(ctx, 40*time.Second, func() bool {
		for _, p := range sent {
			if p.acked() && p.ackText == "" {
				if _, ok := w.reply(p.hook); !ok {
					return false
				}
			}
		}
		return true
	})
	var ack, ans []time.Duration
	over, unanswered, ids := 0, 0, 0
	told := map[string]int{}
	for _, p := range sent {
		if !p.acked() {
			continue
		}
		ack = append(ack, p.dur)
		if p.dur > 3*time.Second {
			over++
		}
		if p.ackText != "" {
			told[category(p.ackText)]++
			continue
		}
		a, ok := w.replyAt(p.hook)
		switch {
		case !ok:
			unanswered++
		case askedRE.MatchString(a.text):
			ids++
			ans = append(ans, a.at.Sub(p.start))
		default:
			ans = append(ans, a.at.Sub(p.start))
			told[category(a.text)]++
		}
	}
	slices.Sort(ack)
	slices.Sort(ans)
	last := func(d []time.Duration) time.Duration {
		if len(d) == 0 {
			return 0
		}
		return d[len(d)-1]
	}
	t.add(scenario, "asks typed meanwhile (one each 200 ms)", "%d sent, %d acknowledged: ack p50 %s, p99 %s, max %s, %d over 3 s",
		len(sent), len(ack), ms(quantile(ack, 0.5)), ms(quantile(ack, 0.99)), ms(last(ack)), over)
	t.add(scenario, "their answers", "%d with a request ID, %d other, %d none within 40 s; answered after p50 %s, max %s",
		ids, len(ans)-ids, unanswered, ms(quantile(ans, 0.5)), ms(last(ans)))
	if len(told) > 0 {
		t.add(scenario, "what those other answers said", "%s", topText(told))
	}
}

// topText lists the most frequent answers first.
func topText(m map[string]int) string {
	type kv struct {
		k string
		v int
	}
	var all []kv
	for k, v := range m {
		all = append(all, kv{k, v})
	}
	slices.SortFunc(all, func(a, b kv) int {
		if a.v != b.v {
			return b.v - a.v
		}
		return strings.Compare(a.k, b.k)
	})
	var parts []string
	for i, e := range all {
		if i == 4 {
			parts = append(parts, fmt.Sprintf("%d other answers", len(all)-4))
			break
		}
		parts = append(parts, fmt.Sprintf("%d× “%s”", e.v, e.k))
	}
	return strings.Join(parts, "; ")
}

// table collects the figures.
type table struct{ rows [][3]string }

func (t *table) add(scenario, figure string, format string, args ...any) {
	t.rows = append(t.rows, [3]string{scenario, figure, fmt.Sprintf(format, args...)})
}

func (t *table) print(out io.Writer) {
	fmt.Fprintln(out, "| scenario | figure | value |")
	fmt.Fprintln(out, "| --- | --- | --- |")
	for _, r := range t.rows {
		fmt.Fprintf(out, "| %s | %s | %s |\n", r[0], r[1], strings.ReplaceAll(r[2], "|", "/"))
	}
}

func ms(d time.Duration) string {
	if d < time.Millisecond {
		return "<1ms"
	}
	if d >= 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// acks sums up the acknowledgement times of the POSTs started in [from, to).
func (w *world) acks(from, to time.Time) (n int, p50, p99, maxd time.Duration, over, failed int) {
	w.mu.Lock()
	var d []time.Duration
	for _, p := range w.posts {
		if p.start.Before(from) || !p.start.Before(to) {
			continue
		}
		if !p.acked() {
			failed++
			continue
		}
		d = append(d, p.dur)
		if p.dur > 3*time.Second {
			over++
		}
	}
	w.mu.Unlock()
	slices.Sort(d)
	if len(d) > 0 {
		maxd = d[len(d)-1]
	}
	return len(d), quantile(d, 0.5), quantile(d, 0.99), maxd, over, failed
}

func (w *world) ackRow(t *table, scenario string, from, to time.Time) {
	n, p50, p99, mx, over, failed := w.acks(from, to)
	t.add(scenario, "acks (POSTs answered 200)", "%d: p50 %s, p99 %s, max %s; %d over 3 s; %d POSTs not acknowledged (refused or no answer)",
		n, ms(p50), ms(p99), ms(mx), over, failed)
}

// sawRow lists what people were told in a phase, most often first.
func (w *world) sawRow(t *table, scenario, phase string) {
	w.mu.Lock()
	m := maps.Clone(w.notes[phase])
	w.mu.Unlock()
	if len(m) == 0 {
		return
	}
	t.add(scenario, "people were told (besides normal answers)", "%s", topText(m))
}

// inflight is the requests whose Reveal click went to r and that are
// executing now.
func (w *world) inflight(ctx context.Context, r *replica) []*request {
	w.mu.Lock()
	var cand []*request
	for _, rq := range w.reqs {
		if rq.revealRep == r && rq.endedAt.IsZero() && !rq.vanished {
			cand = append(cand, rq)
		}
	}
	w.mu.Unlock()
	var out []*request
	for _, rq := range cand {
		if s, _, _, ok := w.state(ctx, rq.id); ok && s == string(bot.StateExecuting) {
			out = append(out, rq)
		}
	}
	return out
}

// unanswered is the acknowledged payloads never answered: those of r when
// of is true, the others' otherwise.
func (w *world) unanswered(r *replica, of bool) []*post {
	w.mu.Lock()
	ps := slices.Clone(w.posts)
	w.mu.Unlock()
	var out []*post
	for _, p := range ps {
		if p.acked() && (p.rep == r) == of && !w.answered(p) {
			out = append(out, p)
		}
	}
	return out
}

func (w *world) live() []*replica {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*replica
	for _, r := range w.replicas {
		if r.inRot.Load() {
			out = append(out, r)
		}
	}
	return out
}

func kinds(ps []*post) string {
	m := map[string]int{}
	for _, p := range ps {
		m[p.kind]++
	}
	if len(m) == 0 {
		return ""
	}
	return " (" + countText(m) + ")"
}

func countText(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		name := k
		if name == "" {
			name = "none"
		}
		parts = append(parts, fmt.Sprintf("%s %d", name, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func otherStates(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	return "; others: " + countText(m)
}

func exitText(err error) string {
	if err == nil {
		return "status 0"
	}
	return err.Error()
}
