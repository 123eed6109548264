package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"resetbot/bot"
)

// requestStates are the states the requests gauge counts: the open ones.
// Terminal requests only pile up (Redis keeps them 30 days); how many end
// each way is resetbot_events_total's.
func requestStates() []bot.State {
	var out []bot.State
	for _, s := range bot.States {
		if s.Open() {
			out = append(out, s)
		}
	}
	return out
}

// openLister is the part of the store the requests collector reads.
type openLister interface {
	Ping(ctx context.Context) error
	Open(ctx context.Context, requester string) ([]bot.Request, error)
}

// requestsCollector counts the open requests by state at each scrape,
// from Redis through the store's index of each person's open requests
// (Store.Open, one script per person in config): the count is the same
// whichever replica is scraped, survives restarts, and costs one round
// trip per person. It also says how long the oldest request of each state
// has stood still, and whether Redis answered.
type requestsCollector struct {
	store   openLister
	people  []string
	timeout time.Duration
	now     func() time.Time

	requests, oldest, up *prometheus.Desc
}

func newRequestsCollector(store openLister, people []bot.Person, timeout time.Duration) *requestsCollector {
	c := &requestsCollector{store: store, timeout: timeout, now: time.Now,
		requests: prometheus.NewDesc("resetbot_requests",
			"Open requests by state (pending, approved, offered, executing), as Redis holds them: the same on every replica.", []string{"state"}, nil),
		oldest: prometheus.NewDesc("resetbot_requests_oldest_seconds",
			"How long the open request of each state that changed least recently has been in it; 0 when there is none.", []string{"state"}, nil),
		up: prometheus.NewDesc("resetbot_redis_up",
			"1 when Redis answered the scrape's count of open requests, 0 when it did not (the request series are then left out).", nil, nil),
	}
	for _, p := range people {
		c.people = append(c.people, p.Name)
	}
	return c
}

func (c *requestsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.requests
	ch <- c.oldest
	ch <- c.up
}

func (c *requestsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	count := map[bot.State]int{}
	since := map[bot.State]time.Time{}
	down := func() { ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0) }
	if c.store.Ping(ctx) != nil {
		down()
		return
	}
	for _, p := range c.people {
		reqs, err := c.store.Open(ctx, p)
		if err != nil {
			down()
			return
		}
		for _, r := range reqs {
			count[r.State]++
			if t, ok := since[r.State]; !ok || r.UpdatedAt.Before(t) {
				since[r.State] = r.UpdatedAt
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	now := c.now()
	for _, s := range requestStates() {
		age := 0.0
		if t, ok := since[s]; ok {
			age = max(now.Sub(t).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(c.requests, prometheus.GaugeValue, float64(count[s]), string(s))
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age, string(s))
	}
}
