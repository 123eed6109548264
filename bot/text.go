package bot

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// newID makes a request ID like R-7F3K9Q from the service's randomness.
func (s *Service) newID() (string, error) {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	return makeID(s.rand)
}

// makeID makes a request ID from rnd, without modulo bias.
func makeID(rnd io.Reader) (string, error) {
	const n = byte(len(idAlphabet))
	limit := 256 - 256%int(n) // bytes at or above limit would favour the first letters
	out := []byte(idPrefix)
	var buf [16]byte
	for len(out) < len(idPrefix)+idLength {
		if _, err := io.ReadFull(rnd, buf[:]); err != nil {
			return "", fmt.Errorf("read random bytes: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < len(idPrefix)+idLength {
				out = append(out, idAlphabet[b%n])
			}
		}
	}
	return string(out), nil
}

// Summary is one line about a request, safe for anyone who may see it. It
// is what status shows, and what a withdrawn offer says of how it ended.
func Summary(r Request) string {
	s := fmt.Sprintf("%s %s (%s) by %s: %s", r.ID, r.Account, strings.Join(r.Users, ", "), r.Requester, r.State)
	switch r.State {
	case StatePending:
		if len(r.Rules) == 0 {
			s += fmt.Sprintf(", %d of %d approvals, expires %s", r.Approved(), r.Approvals, timeOfDay(r.ExpiresAt))
			break
		}
		s += fmt.Sprintf(", %s, expires %s", ProgressText(r.Progress()), timeOfDay(r.ExpiresAt))
		if who := r.MayStillApprove(); len(who) > 0 {
			s += "; may still approve: " + strings.Join(who, ", ")
		}
		if e := r.Escalation; e != nil {
			if e.Done {
				s += "; escalated to " + r.Escalated()
			} else {
				s += fmt.Sprintf("; escalates to %s at %s", strings.Join(e.To, ", "), timeOfDay(e.At))
			}
		}
	case StateOffered:
		if r.RevealBy.IsZero() {
			s += " — " + r.Outcome
			break
		}
		s += fmt.Sprintf(" — approved by %s, waiting for %s to press Reveal in the bot's direct message (or type /reset-password reveal %s) until %s; nothing is reset before that",
			ApprovedBy(r), r.Requester, r.ID, timeOfDay(r.RevealBy))
	case StateApproved, StateExecuting, StateSucceeded, StateFailed, StateDenied, StateExpired, StateCancelled:
		if r.Outcome != "" {
			s += " — " + r.Outcome
		}
	}
	if r.Review != nil {
		s += ". " + ReviewText(r)
	}
	if r.Notice != "" {
		s += ". " + r.Notice
	}
	return s
}

// ReviewText says, in plain text, where the review of a request that
// skipped the vote stands, and what it did to the password: what status
// and the console show, and what the platforms' cards say in their own
// markup.
func ReviewText(r Request) string {
	rv := r.Review
	if rv == nil {
		return ""
	}
	kind := "BREAK-GLASS"
	if rv.Kind == ReviewOnCall {
		kind = "BREAK-GLASS, on call (approved by PagerDuty: " + rv.Detail + ")"
	}
	s := kind + " for " + rv.Incident + ": "
	switch rv.State {
	case ReviewOpen:
		s += "review by " + timeOfDay(rv.Due) + " (an approver confirms or rejects it)"
	case ReviewConfirmed:
		s += "confirmed by " + rv.By + " at " + timeOfDay(rv.At)
	case ReviewRejected:
		s += "rejected by " + rv.By + because(rv.Reason)
	case ReviewOverdue:
		s += "not confirmed by " + timeOfDay(rv.Due)
	}
	if rot := rv.Rotation; rot != nil {
		switch rot.State {
		case RotationNone:
			s += "; nothing was reset, nothing to undo"
		case RotationDone:
			s += "; the password was reset again at " + timeOfDay(rot.At) + ", nobody has it; " + r.Account + " is locked until a normal approved reset"
		case RotationPending:
			s += "; STILL EXPOSED: the password shown to " + r.Requester + " still works"
			if rot.Error != "" {
				s += fmt.Sprintf(" (resetting it again failed: %s; next try at %s)", rot.Error, timeOfDay(rot.Next))
			} else {
				s += " until it is reset again, now"
			}
		}
	}
	return s
}

// timeOfDay writes t as the bot's messages do: "14:30 UTC".
func timeOfDay(t time.Time) string { return t.UTC().Format("15:04 MST") }

// shortDuration writes d the way people say it: "30m", "1h30m", "24h".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func approvers(r Request) string {
	var names []string
	for _, v := range r.Votes {
		if v.Approve {
			names = append(names, v.Person)
		}
	}
	return strings.Join(names, ", ")
}

func because(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
