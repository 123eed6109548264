package auditwebhook_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"resetbot/adapters/auditwebhook"
	"resetbot/adapters/auditwebhook/webhooktest"
)

// TestSlowReceiverKeepsItsBatchFromOtherReplicas: a receiver that answers
// every POST 2xx, but slowly, so that one batch takes well over ClaimAfter
// to get through. The replica working through the batch keeps it claimed
// all along, though none of its POSTs fails, and a second replica,
// started in the middle of the batch and running until its end, claims
// none of it: every event arrives exactly once, and the group ends with
// nothing pending.
func TestSlowReceiverKeepsItsBatchFromOtherReplicas(t *testing.T) {
	const (
		claimAfter = 600 * time.Millisecond
		perPost    = 100 * time.Millisecond // under Timeout, a third of ClaimAfter
		perStream  = 15                     // one batch a stream: 1.5 s of POSTs
	)
	r := newRig(t)
	r.write(3 * perStream)
	r.recv.SetDelay(perPost)
	opts := func(o *auditwebhook.Options) { o.ClaimAfter = claimAfter; o.Batch = perStream }
	a, _ := r.start("replica-a", opts)

	// Once an event of each stream has arrived, replica a has read the
	// whole log, a batch a stream, and is posting it.
	r.recv.WaitFor(t, 10*time.Second, "an event of each stream", func(rv *webhooktest.Receiver) bool {
		streams := map[string]bool{}
		for _, e := range rv.Events() {
			streams[streamOf(e)] = true
		}
		return len(streams) == 3
	})
	bStarted := time.Now()
	b, _ := r.start("replica-b", opts)
	r.waitAll(10 * time.Second)
	if d := time.Since(bStarted); d < claimAfter {
		t.Fatalf("replica a got through its batches %s after replica b started, within ClaimAfter (%s): b had no chance to claim them", d, claimAfter)
	}

	if n := r.check(); n != 0 {
		t.Errorf("%d events sent twice, want none: another replica claimed events of a batch still being worked through", n)
	}
	waitUntil(t, "nothing pending in the group", func() bool { return r.pending() == 0 })
	waitDelivered(3*perStream, a.Delivered)
	if got := a.Delivered(); got != 3*perStream || b.Delivered() != 0 {
		t.Errorf("replica a delivered %d events and replica b %d, want all %d by a", got, b.Delivered(), 3*perStream)
	}
}

// TestHangingPostIsCutBeforeAnotherReplicaCanClaimItsEvent: Timeout is
// lowered to a third of ClaimAfter, so a POST that gets no answer is cut
// and tried again, its event touched in between, before the event has sat
// idle for long enough that another replica may claim it. The second
// replica, running while the first tries for longer than ClaimAfter,
// never posts the event.
func TestHangingPostIsCutBeforeAnotherReplicaCanClaimItsEvent(t *testing.T) {
	const claimAfter = 600 * time.Millisecond
	r := newRig(t)
	r.write(1)
	r.recv.SetMode(webhooktest.Hang)
	var triesA, triesB atomic.Int64
	opts := func(tries *atomic.Int64) func(*auditwebhook.Options) {
		return func(o *auditwebhook.Options) {
			o.ClaimAfter = claimAfter
			o.Timeout = 2 * claimAfter // lowered to 200ms
			o.Client = &http.Client{Transport: countingTransport{tries}}
		}
	}
	r.start("replica-a", opts(&triesA))
	waitUntil(t, "replica a's first try", func() bool { return triesA.Load() > 0 })
	r.start("replica-b", opts(&triesB))

	// Six tries of 200ms, with the waits between them, take replica a
	// well past ClaimAfter since it read the event.
	waitUntil(t, "six tries by replica a, or one by replica b", func() bool { return triesA.Load() >= 6 || triesB.Load() > 0 })
	if n := triesB.Load(); n > 0 {
		t.Fatalf("replica b posted the event (%d tries) while replica a was still trying it", n)
	}
	if !strings.Contains(r.log.String(), "no answer within 200ms") {
		t.Errorf("the POSTs were not cut at a third of ClaimAfter:\n%s", r.log)
	}

	r.recv.SetMode(webhooktest.OK)
	r.waitAll(10 * time.Second)
	if n := r.check(); n != 0 {
		t.Errorf("%d events sent twice, want none", n)
	}
	waitUntil(t, "nothing pending in the group", func() bool { return r.pending() == 0 })
	if n := triesB.Load(); n > 0 {
		t.Errorf("replica b posted the event (%d tries), want it left to replica a", n)
	}
}
