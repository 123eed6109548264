package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"resetbot/bot"
)

// skippedVote is one reset that skipped the vote, break-glass or approved
// by PagerDuty, as `audit --break-glass` prints it.
type skippedVote struct {
	Time      time.Time      `json:"time"` // when it was approved
	RequestID string         `json:"request"`
	Requester string         `json:"requester"`
	Account   string         `json:"account"`
	Incident  string         `json:"incident"`
	Kind      bot.ReviewKind `json:"kind"`
	Reason    string         `json:"reason,omitempty"`
	Detail    string         `json:"detail,omitempty"` // on call: who, policy, level, schedule, incident
	// Review says where the review stands, in words: "open, due …",
	// "confirmed by bob at …", "rejected by bob at …; rotated at …",
	// "overdue …; STILL EXPOSED (rotation failing: …)".
	Review string `json:"review"`
	// ReviewState is the review's state; "" when the request is no longer
	// in Redis (Review then says what the audit log knows).
	ReviewState bot.ReviewState `json:"review_state,omitempty"`
	// Exposed: the review rejected the reset or ran out, and the password
	// that was shown still works, its rotation not done yet.
	Exposed bool `json:"exposed,omitempty"`
}

// requestGetter is what skippedVotes needs of the store.
type requestGetter interface {
	Get(ctx context.Context, id string) (bot.Request, error)
}

// skippedVotes picks from events, oldest first, the resets that skipped
// the vote (a break_glass event, or an approval by PagerDuty) and says
// where each one's review stands: from the request in the store, or, once
// the store no longer holds it, from the events.
func skippedVotes(ctx context.Context, store requestGetter, events []bot.Event) ([]skippedVote, error) {
	byRequest := map[string][]bot.Event{}
	var picked []bot.Event
	for _, e := range events {
		if e.RequestID == "" {
			continue
		}
		byRequest[e.RequestID] = append(byRequest[e.RequestID], e)
		if e.Kind == bot.EventBreakGlass || e.Kind == bot.EventApproved && e.Actor == bot.ActorPagerDuty {
			picked = append(picked, e)
		}
	}
	var out []skippedVote
	seen := map[string]bool{}
	for _, e := range picked {
		if seen[e.RequestID] {
			continue
		}
		seen[e.RequestID] = true
		l := skippedVote{Time: e.Time, RequestID: e.RequestID, Incident: e.Incident, Kind: bot.ReviewBreakGlass}
		if e.Kind == bot.EventApproved {
			l.Kind = bot.ReviewOnCall
		}
		req, err := store.Get(ctx, e.RequestID)
		switch {
		case err == nil && req.Review != nil:
			l.Requester, l.Account, l.Reason = req.Requester, req.Account, req.Reason
			l.Detail, l.Review, l.ReviewState, l.Exposed = req.Review.Detail, reviewOutcome(req), req.Review.State, req.Exposed()
			if l.Incident == "" {
				l.Incident = req.Review.Incident
			}
		case err == nil || bot.ErrorCode(err) == bot.ENOTFOUND:
			l.fromEvents(byRequest[e.RequestID])
		default:
			return nil, fmt.Errorf("read %s: %s", e.RequestID, bot.ErrorMessage(err))
		}
		out = append(out, l)
	}
	return out, nil
}

// reviewOutcome says where the review of req stands.
func reviewOutcome(req bot.Request) string {
	rv := req.Review
	var s string
	switch rv.State {
	case bot.ReviewOpen:
		s = "open, due " + auditTime(rv.Due)
	case bot.ReviewConfirmed:
		s = "confirmed by " + rv.By + " at " + auditTime(rv.At)
	case bot.ReviewRejected:
		s = "rejected by " + rv.By + " at " + auditTime(rv.At)
		if rv.Reason != "" {
			s += ": " + rv.Reason
		}
	case bot.ReviewOverdue:
		s = "overdue: not confirmed by " + auditTime(rv.Due)
	default:
		s = string(rv.State)
	}
	rot := rv.Rotation
	if rot == nil {
		return s
	}
	switch rot.State {
	case bot.RotationNone:
		s += "; nothing to undo: it was never revealed"
	case bot.RotationDone:
		s += "; rotated at " + auditTime(rot.At) + ", nobody has the password; " + req.Account + " locked until a normal approved reset"
	case bot.RotationPending:
		if rot.Error != "" {
			s += fmt.Sprintf("; STILL EXPOSED (rotation failing: %s; next try %s)", rot.Error, auditTime(rot.Next))
		} else {
			s += "; STILL EXPOSED (rotation due " + auditTime(rot.Next) + ")"
		}
	}
	return s
}

// fromEvents fills in l from the audit events of its request, for a
// request no longer in the store.
func (l *skippedVote) fromEvents(events []bot.Event) {
	var review []string
	for _, e := range events {
		switch e.Kind {
		case bot.EventBreakGlass, bot.EventRequested:
			// Their detail is "<account>: <reason>".
			l.Requester = e.Actor
			l.Account, l.Reason, _ = strings.Cut(e.Detail, ": ")
		case bot.EventApproved:
			if e.Actor == bot.ActorPagerDuty {
				l.Detail = strings.TrimPrefix(e.Detail, "on call: ")
			}
		case bot.EventConfirmed:
			review = append(review, "confirmed by "+e.Actor+" at "+auditTime(e.Time))
		case bot.EventRejected:
			review = append(review, "rejected by "+e.Actor+" at "+auditTime(e.Time))
		case bot.EventOverdue:
			review = append(review, "overdue at "+auditTime(e.Time))
		case bot.EventRotationFailed:
			review = append(review, "rotation failed at "+auditTime(e.Time))
		case bot.EventRotated:
			review = append(review, "rotated at "+auditTime(e.Time))
		}
	}
	l.Review = "the request is no longer in Redis"
	if len(review) > 0 {
		l.Review += "; its audit events: " + strings.Join(review, "; ")
	} else {
		l.Review += "; its audit events show no review"
	}
}

// auditTime writes t as the audit's words do, with its date: the log
// spans days.
func auditTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
