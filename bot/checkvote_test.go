package bot_test

import (
	"strings"
	"testing"
	"time"

	"resetbot/bot"
)

// TestServiceCheckVote: the check before a Deny form refuses what a vote
// would refuse, audits the attempt, and changes nothing.
func TestServiceCheckVote(t *testing.T) {
	e := newEnv(t)
	id := e.ask(as("sam", bot.PlatformSlack), "hpc:u1 the batch is down") // needs 2 approvals
	e.mustDo(as("bob", bot.PlatformSlack), "approve "+id)
	cancelled := e.ask(as("alice", bot.PlatformSlack), "prod-db locked out")
	e.mustDo(as("alice", bot.PlatformSlack), "cancel "+cancelled)

	for _, tc := range []struct {
		name, id string
		actor    bot.Actor
		code     string
		says     string
	}{
		{"Stranger", id, bot.Actor{Platform: bot.PlatformSlack, UserID: "U0NOBODY"}, bot.EFORBIDDEN, "not in resetbot's list"},
		{"NotAnApprover", id, as("alice", bot.PlatformSlack), bot.EFORBIDDEN, "not an approver of hpc"},
		{"TheRequester", id, as("sam", bot.PlatformDiscord), bot.EFORBIDDEN, "your own request"},
		{"VotedAlready", id, as("bob", bot.PlatformDiscord), bot.EFORBIDDEN, "already voted"},
		{"NotPending", cancelled, as("bob", bot.PlatformSlack), bot.ECONFLICT, "already cancelled"},
		{"UnknownRequest", "R-ZZZZZZ", as("bob", bot.PlatformSlack), bot.ENOTFOUND, "no request R-ZZZZZZ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := e.svc.CheckVote(e.ctx, tc.actor, tc.id)
			if bot.ErrorCode(err) != tc.code || !strings.Contains(bot.ErrorMessage(err), tc.says) {
				t.Errorf("got %v, want %s saying %q", err, tc.code, tc.says)
			}
		})
	}
	if err := e.svc.CheckVote(e.ctx, as("carol", bot.PlatformSlack), id); err != nil {
		t.Errorf("carol, an approver who has not voted: got %v, want nil", err)
	}
	if err := e.svc.CheckVote(e.ctx, bot.Actor{Platform: bot.PlatformDiscord, UserID: "4001", Roles: []string{"role-dba"}}, cancelled); bot.ErrorCode(err) != bot.ECONFLICT {
		t.Errorf("rita, by role, on a cancelled request: got %v, want a conflict (the role counts)", err)
	}
	e.wantAudit(id, "refused", "alice", "not an approver of hpc")
	e.wantAudit(id, "refused", "slack:U0NOBODY", "unknown person")
	events, err := e.store.AuditLog(e.ctx, bot.AuditQuery{RequestID: id})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events {
		if stranger := ev.Actor == "slack:U0NOBODY"; ev.Stranger != stranger {
			t.Errorf("event %s by %s: stranger %v, want %v", ev.Kind, ev.Actor, ev.Stranger, stranger)
		}
	}

	req := e.wantState(id, bot.StatePending)
	if len(req.Votes) != 1 {
		t.Errorf("votes after the checks: got %d, want 1", len(req.Votes))
	}
	e.clock.Advance(10 * time.Minute)
	if err := e.svc.CheckVote(e.ctx, as("carol", bot.PlatformSlack), id); bot.ErrorCode(err) != bot.ECONFLICT || !strings.Contains(bot.ErrorMessage(err), "expired") {
		t.Errorf("after the TTL: got %v, want a conflict saying it expired", err)
	}
}
