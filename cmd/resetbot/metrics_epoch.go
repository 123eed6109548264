package main

import "github.com/prometheus/client_golang/prometheus"

// registerDataLost exports resetbot_redis_data_lost_total, at zero from the
// start, and returns what bot.Options.DataLost calls.
func registerDataLost(reg prometheus.Registerer) func() {
	c := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "resetbot_redis_data_lost_total",
		Help: "Times this process found that Redis lost the bot's data (the epoch key was gone or replaced: Redis came back empty).",
	})
	reg.MustRegister(c)
	return c.Inc
}
