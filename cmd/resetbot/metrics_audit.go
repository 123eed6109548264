package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// auditLag is how far the audit webhook is behind the audit log.
type auditLag interface {
	Lag() (events int64, oldest time.Duration)
}

// registerAuditMetrics exports the audit webhook's lag: how many events
// the SIEM has not received yet, and the age of the oldest of them.
func registerAuditMetrics(reg prometheus.Registerer, lag auditLag) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "resetbot_audit_webhook_lag_events",
			Help: "Audit events not yet delivered to audit.webhook (pending to a replica or not yet handed out), over the audit log's streams.",
		}, func() float64 { n, _ := lag.Lag(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "resetbot_audit_webhook_oldest_seconds",
			Help: "Age of the oldest audit event not yet delivered to audit.webhook; 0 when none is waiting.",
		}, func() float64 { _, d := lag.Lag(); return d.Seconds() }),
	)
}
