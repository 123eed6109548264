package approvals_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"resetbot/approvals"
	"resetbot/bot"
)

// A vote the Redis client sends again (its connection failed after Redis
// ran the script, before the answer came) recognises itself: it succeeds,
// counted once, instead of answering "you already voted".
func TestVoteRetriedSendSucceeds(t *testing.T) {
	for _, srv := range servers() {
		t.Run(srv.name, func(t *testing.T) {
			e := newEnv(t, srv)
			ctx := ctx(t)
			t.Run("SameNonceSucceedsAgain", func(t *testing.T) {
				e.mustCreate(e.request("R-NONC01", "alice", "acct-nonce", 2))
				v := bot.Vote{Person: "bob", Platform: bot.PlatformSlack, Approve: true}
				for i := range 2 {
					r, err := approvals.VoteWithNonce(e.store, ctx, "R-NONC01", v, "n1")
					if err != nil || r.Approved() != 1 || r.State != bot.StatePending {
						t.Fatalf("send %d with the same nonce: got %s with %d approvals, %v; want pending with 1", i+1, r.State, r.Approved(), err)
					}
				}
				_, err := approvals.VoteWithNonce(e.store, ctx, "R-NONC01", v, "n2")
				wantError(t, err, bot.EFORBIDDEN)
				if _, err := e.store.Vote(ctx, "R-NONC01", v); bot.ErrorCode(err) != bot.EFORBIDDEN {
					t.Errorf("a second click: got %v, want refused as a second vote", err)
				}
			})
			for _, approve := range []bool{true, false} {
				name := map[bool]string{true: "ApprovalCut", false: "DenialCut"}[approve]
				t.Run(name, func(t *testing.T) {
					id := map[bool]string{true: "R-CUTA01", false: "R-CUTD01"}[approve]
					voter := map[bool]string{true: "voter-cut-a", false: "voter-cut-d"}[approve]
					e.mustCreate(e.request(id, "alice", "acct-"+id, 1))
					// Redis has the script already, so the cut send is the
					// one that runs it.
					e.mustCreate(e.request(id+"X", "alice", "acct-"+id+"X", 1))
					e.mustVote(id+"X", "bob", true)

					cut := &cutter{match: []byte(voter)}
					client := redis.NewClient(&redis.Options{Addr: e.addr, Dialer: cut.dial})
					t.Cleanup(func() { _ = client.Close() })
					store := approvals.New(client, approvals.Options{Prefix: e.prefix, Clock: e.clock})
					r, err := store.Vote(ctx, id, bot.Vote{Person: voter, Platform: bot.PlatformDiscord, Approve: approve, Reason: "no"})
					if n := cut.cuts(); n != 1 {
						t.Fatalf("connections cut after the vote: got %d, want 1 (the test did not reproduce the retry)", n)
					}
					want := map[bool]bot.State{true: bot.StateApproved, false: bot.StateDenied}[approve]
					if err != nil || r.State != want {
						t.Fatalf("vote with its answer lost once: got %s, %v; want %s", r.State, err, want)
					}
					if got := e.mustGet(id); len(got.Votes) != 1 || got.Votes[0].Person != voter {
						t.Errorf("votes: got %+v, want %s's one", got.Votes, voter)
					}
					evs := e.events(id)
					if _, ok := findEvent(evs, bot.EventRefused, voter); ok {
						t.Errorf("audit: got %s, want no refusal of the resent vote", kinds(evs))
					}
					if approve {
						if got := kinds(evs); got != "[requested/alice voted/"+voter+" approved/"+voter+"]" {
							t.Errorf("audit: got %s, want requested, voted, approved once", got)
						}
						n := 0
						for _, m := range e.raw.XRange(ctx, e.key("queue"), "-", "+").Val() {
							if m.Values["request"] == id {
								n++
							}
						}
						if n != 1 {
							t.Errorf("queue: %d entries for %s, want 1", n, id)
						}
					} else if got := kinds(evs); got != "[requested/alice denied/"+voter+"]" {
						t.Errorf("audit: got %s, want requested, denied once", got)
					}
				})
			}
		})
	}
}
