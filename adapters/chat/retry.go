package chat

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Verdict is what a platform adapter makes of one failed API call.
type Verdict struct {
	// Again is true when another try may succeed and cannot do harm: the
	// platform refused without acting (a rate limit, a connection never
	// made), or the call is safe to repeat.
	Again bool
	// After is how long the platform asked to wait (a rate limit's
	// Retry-After); zero: back off as Retry says.
	After time.Duration
}

// Retry runs a platform's API calls again where waiting helps. Each
// adapter keeps one, and judges its platform's errors itself.
type Retry struct {
	// Platform names the platform in the log ("slack").
	Platform string
	// Tries is how many times a call is made in all; 0: 3.
	Tries int
	// Backoff is the wait before the second try when the platform named
	// none; it doubles for each try after. 0: 250ms.
	Backoff time.Duration
	// MaxWait is the longest Retry-After worth waiting for: a call asked to
	// wait longer fails at once, so that its caller can say when to try
	// again. 0: no bound but the context's deadline.
	MaxWait time.Duration
	// Log gets a line for each retry; nil: none.
	Log *slog.Logger
	// Describe turns an error into text safe to log (no token, no URL
	// that is a credential); nil: err.Error().
	Describe func(error) string
}

// Do runs call until it succeeds, judge says a failure is final, the tries
// run out, or ctx ends. It never waits past ctx's deadline: a wait that
// would outlast it ends the tries at once. It returns nil or the last
// error of call (joined with ctx's error when ctx ended during a wait).
func (r Retry) Do(ctx context.Context, what string, judge func(error) Verdict, call func(context.Context) error) error {
	tries := r.Tries
	if tries <= 0 {
		tries = 3
	}
	backoff := r.Backoff
	if backoff <= 0 {
		backoff = 250 * time.Millisecond
	}
	for try := 1; ; try++ {
		err := call(ctx)
		if err == nil {
			return nil
		}
		if try >= tries || ctx.Err() != nil {
			return err
		}
		v := judge(err)
		if !v.Again {
			return err
		}
		wait := backoff
		if v.After > 0 {
			if r.MaxWait > 0 && v.After > r.MaxWait {
				return err // too long to hold the caller: let it say when to come back
			}
			wait = v.After
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return err // waiting as long as asked would outlive the work
		}
		if r.Log != nil {
			r.Log.Info(r.Platform+": retrying an API call", "call", what, "try", try, "after", wait, "cause", r.describe(err))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (%w)", err, ctx.Err())
		case <-t.C:
		}
		backoff *= 2
	}
}

func (r Retry) describe(err error) string {
	if r.Describe != nil {
		return r.Describe(err)
	}
	return err.Error()
}

// ParseRetryAfter reads an HTTP Retry-After value: seconds (Discord sends
// fractions) or an HTTP date, relative to now.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if !(secs >= 0) || secs > 1e6 { // NaN, negative, absurd
			return 0, false
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}
