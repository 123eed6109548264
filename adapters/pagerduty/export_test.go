package pagerduty

// WaitingForOnCalls counts the callers waiting for the running or kept
// look-up of policy's on-calls.
func WaitingForOnCalls(o *OnCall, policy string) int {
	o.oncalls.mu.Lock()
	defer o.oncalls.mu.Unlock()
	if f, ok := o.oncalls.flights[policy]; ok {
		return int(f.waiting.Load())
	}
	return 0
}
