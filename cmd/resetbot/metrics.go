package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"resetbot/bot"
)

// metrics backs bot.Metrics with Prometheus. Labels are event kinds and
// provider keys only: nothing a person typed, never a password.
type metrics struct {
	events     *prometheus.CounterVec
	executions *prometheus.HistogramVec
}

var _ bot.Metrics = (*metrics)(nil)

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resetbot_events_total",
			Help: "Workflow events by kind (requested, voted, refused, approved, denied, expired, succeeded, failed, delivered, ...).",
		}, []string{"event"}),
		executions: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "resetbot_provider_call_seconds",
			Help:    "Time of one reset through a cloud provider, by provider and result.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 10),
		}, []string{"provider", "result"}),
	}
	reg.MustRegister(m.events, m.executions)
	return m
}

func (m *metrics) Event(kind bot.EventKind) { m.events.WithLabelValues(string(kind)).Inc() }

func (m *metrics) Execution(provider bot.ProviderKey, d time.Duration, ok bool) {
	result := "ok"
	if !ok {
		result = "error"
	}
	m.executions.WithLabelValues(string(provider), result).Observe(d.Seconds())
}
