package config

import "time"

// The bounds of execution_lease. Below the floor, a slow cloud call (with
// its retries) outlives its lease and another replica takes the request
// over; above the ceiling, a replica that died holding a reset leaves its
// requester waiting an hour for "outcome unknown".
const (
	defaultExecutionLease = 2 * time.Minute
	minExecutionLease     = 10 * time.Second
	maxExecutionLease     = time.Hour
)

// Lease is execution_lease: how long a replica holds a request it executes
// before another replica may take it over (bot.Options.Lease).
func (c *Config) Lease() time.Duration {
	if c.ExecutionLease == 0 {
		return defaultExecutionLease
	}
	return c.ExecutionLease
}

func (c *Config) checkLease(k *checker) {
	d := c.ExecutionLease
	if d == 0 && !k.written("execution_lease") {
		return
	}
	if d <= minExecutionLease || d >= maxExecutionLease {
		k.errf("execution_lease", "%s: must be more than %s and less than %s (default %s): a lease shorter than a slow cloud call "+
			"lets another replica take the reset over, a longer one leaves a dead replica's requests waiting that long",
			k.plain("execution_lease", shortDuration(d)), shortDuration(minExecutionLease), shortDuration(maxExecutionLease),
			shortDuration(defaultExecutionLease))
	}
}
