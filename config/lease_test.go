package config_test

import (
	"testing"
	"time"
)

func TestExecutionLease(t *testing.T) {
	t.Run("DefaultTwoMinutes", func(t *testing.T) {
		cfg := mustLoad(t, baseYAML, getenvFrom(testEnv))
		if got, want := cfg.Lease(), 2*time.Minute; got != want {
			t.Errorf("Lease: got %s, want %s", got, want)
		}
	})
	t.Run("Set", func(t *testing.T) {
		cfg := mustLoad(t, "execution_lease: 5m\n"+baseYAML, getenvFrom(testEnv))
		if got, want := cfg.Lease(), 5*time.Minute; got != want {
			t.Errorf("Lease: got %s, want %s", got, want)
		}
	})
}

func TestExecutionLeaseOutOfBounds(t *testing.T) {
	const why = ": must be more than 10s and less than 1h (default 2m): a lease shorter than a slow cloud call " +
		"lets another replica take the reset over, a longer one leaves a dead replica's requests waiting that long"
	tests := []struct {
		name, value, msg string
	}{
		{"AtTheFloor", "10s", "10s" + why},
		{"Zero", "0s", "0s" + why},
		{"Negative", "-1m", "-1m" + why},
		{"AtTheCeiling", "1h", "1h" + why},
		{"NotADuration", "2", `want a duration like 30m or 1h, not "2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := baseYAML + "execution_lease: " + tt.value + "\n"
			ce := problemsOf(t, data, getenvFrom(testEnv))
			line := lineOf(t, data, "execution_lease")
			for _, p := range ce.Problems {
				if p.Path == "execution_lease" && p.Message == tt.msg && p.Line == line {
					return
				}
			}
			t.Errorf("got problems:\n%v\nwant one at execution_lease, line %d: %s", ce, line, tt.msg)
		})
	}
}
