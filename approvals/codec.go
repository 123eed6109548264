package approvals

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"resetbot/bot"
)

// storedVote is how a vote sits in the request hash's "votes" field: Lua
// appends it as opaque JSON, so that no script needs a JSON library.
type storedVote struct {
	Person   string       `json:"person"`
	Platform bot.Platform `json:"platform"`
	Approve  bool         `json:"approve"`
	Reason   string       `json:"reason,omitempty"`
	At       int64        `json:"at"` // ms
}

// ms is the store's time resolution.
func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v) }

// requestFields is the hash a new request starts as. Refs that can be used
// for a while only (RefsFor) are kept apart: see keptRefs.
func requestFields(r bot.Request) ([]any, error) {
	users, err := json.Marshal(r.Users)
	if err != nil {
		return nil, fmt.Errorf("encode users: %w", err)
	}
	f := []any{
		"id", r.ID,
		"account", r.Account,
		"users", string(users),
		"reason", r.Reason,
		"requester", r.Requester,
		"platform", string(r.Platform),
		"state", string(bot.StatePending),
		"approvals", strconv.Itoa(r.Approvals),
		"created", strconv.FormatInt(ms(r.CreatedAt), 10),
		"expires", strconv.FormatInt(ms(r.ExpiresAt), 10),
		"updated", strconv.FormatInt(ms(r.UpdatedAt), 10),
		"nappr", "0",
		"rev", "1",
	}
	if len(r.Rules) > 0 {
		rules, err := encodeRules(r.Rules)
		if err != nil {
			return nil, err
		}
		f = append(f, "rules", rules)
	}
	timers, err := timerFields(r)
	if err != nil {
		return nil, err
	}
	f = append(f, timers...)
	f = append(f, reviewFields(r)...)
	if r.Notice != "" {
		f = append(f, "notice", r.Notice)
	}
	if r.RefsFor <= 0 {
		for k, v := range r.Refs {
			f = append(f, refField+string(k), v)
		}
	}
	return f, nil
}

// keptRefs are the create script's arguments for the refs of r kept no
// longer than r.RefsFor, in refs:<id>: the lifetime (ms), how many, and
// their key/value pairs.
func keptRefs(r bot.Request) []any {
	if r.RefsFor <= 0 || len(r.Refs) == 0 {
		return []any{0, 0}
	}
	out := []any{max(r.RefsFor.Milliseconds(), 1), len(r.Refs)}
	for k, v := range r.Refs {
		out = append(out, string(k), v)
	}
	return out
}

// parseRequest turns an HGETALL reply into a Request.
func parseRequest(v any) (bot.Request, error) {
	flat, ok := v.([]any)
	if !ok || len(flat)%2 != 0 {
		return bot.Request{}, fmt.Errorf("decode request: unexpected reply %T", v)
	}
	var r bot.Request
	voteRules := map[string][]int{}
	for i := 0; i < len(flat); i += 2 {
		k, _ := flat[i].(string)
		val, _ := flat[i+1].(string)
		var err error
		switch k {
		case "id":
			r.ID = val
		case "account":
			r.Account = val
		case "users":
			err = json.Unmarshal([]byte(val), &r.Users)
		case "reason":
			r.Reason = val
		case "requester":
			r.Requester = val
		case "platform":
			r.Platform = bot.Platform(val)
		case "state":
			r.State = bot.State(val)
		case "approvals":
			r.Approvals, err = strconv.Atoi(val)
		case "created":
			r.CreatedAt, err = parseMS(val)
		case "expires":
			r.ExpiresAt, err = parseMS(val)
		case "updated":
			r.UpdatedAt, err = parseMS(val)
		case "outcome":
			r.Outcome = val
		case "reveal":
			r.RevealBy, err = parseMS(val)
		case "rev":
			r.Rev, err = strconv.ParseInt(val, 10, 64)
		case "votes":
			r.Votes, err = parseVotes(val)
		case "rules":
			r.Rules, err = decodeRules(val)
		case "remind_after", "remind_backoff", "rem_sent", "remind_next":
			err = decodeReminders(&r, k, val)
		case "esc_to", "esc_people", "esc_at", "esc_done":
			err = decodeEscalation(&r, k, val)
		case "rv_kind", "rv_incident", "rv_detail", "rv_due", "rv_state", "rv_by", "rv_at", "rv_reason",
			"rot_state", "rot_attempts", "rot_next", "rot_error", "rot_at":
			err = decodeReview(&r, k, val)
		case "notice":
			r.Notice = val
		default:
			if person, ok := strings.CutPrefix(k, voteRulesField); ok {
				voteRules[person], err = decodeIndexes(val)
				break
			}
			if name, ok := strings.CutPrefix(k, refField); ok {
				if r.Refs == nil {
					r.Refs = map[bot.RefKey]string{}
				}
				r.Refs[bot.RefKey(name)] = val
			}
		}
		if err != nil {
			return bot.Request{}, fmt.Errorf("decode request field %q: %w", k, err)
		}
	}
	if r.ID == "" {
		return bot.Request{}, fmt.Errorf("decode request: no id field")
	}
	for i, v := range r.Votes {
		if v.Approve {
			r.Votes[i].Rules = voteRules[v.Person]
		}
	}
	if r.State == bot.StateApproved && !r.RevealBy.IsZero() {
		// offered, as an earlier version of the bot wrote it (see upgradeLua)
		r.State = bot.StateOffered
	}
	return r, nil
}

func parseMS(s string) (time.Time, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return fromMS(v), nil
}

func parseVotes(s string) ([]bot.Vote, error) {
	if s == "" {
		return nil, nil
	}
	var stored []storedVote
	if err := json.Unmarshal([]byte("["+s+"]"), &stored); err != nil {
		return nil, err
	}
	votes := make([]bot.Vote, len(stored))
	for i, v := range stored {
		votes[i] = bot.Vote{Person: v.Person, Platform: v.Platform, Approve: v.Approve, Reason: v.Reason, At: fromMS(v.At)}
	}
	return votes, nil
}

// reply is a script's answer, split into its status and the rest.
func reply(v any) (string, []any, error) {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return "", nil, fmt.Errorf("unexpected script reply %T", v)
	}
	status, _ := arr[0].(string)
	return status, arr[1:], nil
}

// refusal turns an {'err', code, message, id, extra} reply into a *bot.Error.
func refusal(rest []any) (*bot.Error, string) {
	str := func(i int) string {
		if i < len(rest) {
			s, _ := rest[i].(string)
			return s
		}
		return ""
	}
	return &bot.Error{Code: str(0), Message: str(1), ID: str(2)}, str(3)
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// human writes a duration the way people say it: "45s", "12m", "1h30m".
func human(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int((d+time.Second-1)/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int((d+time.Minute-1)/time.Minute))
	}
	d = (d + time.Minute - 1) / time.Minute * time.Minute
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	if m == 0 {
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh%dm", h, m)
}

// voteRulesField starts the request hash's field of each approval's rules:
// "vr:bob" holds the indexes (from 0, comma-separated) of the request's
// rules bob's approval may count toward, as the vote script found them.
const voteRulesField = "vr:"

// encodeRules writes a request's rules as its hash's rules field holds
// them, for Lua to read without a JSON library: one line a rule, of
// tab-separated fields: the count, the name, then "p:" + each person and
// "r:" + each Discord role. A word that could not be read back is refused.
func encodeRules(rules []bot.RequestRule) (string, error) {
	lines := make([]string, len(rules))
	for i, r := range rules {
		if r.Count < 1 {
			return "", bot.Errorf(bot.EINVALID, "rule %s needs a count of at least 1", r.Name)
		}
		fields := []string{strconv.Itoa(r.Count), r.Name}
		for _, p := range r.People {
			fields = append(fields, rulePerson+p)
		}
		for _, role := range r.Roles {
			fields = append(fields, ruleRole+role)
		}
		for _, f := range fields[1:] {
			if f == "" || f == rulePerson || f == ruleRole || strings.ContainsAny(f, "\t\n") {
				return "", bot.Errorf(bot.EINVALID, "rule %q: names must be non-empty, without tabs or line breaks", r.Name)
			}
		}
		lines[i] = strings.Join(fields, "\t")
	}
	return strings.Join(lines, "\n"), nil
}

// How a rule's line marks a person and a Discord role.
const (
	rulePerson = "p:"
	ruleRole   = "r:"
)

func decodeRules(s string) ([]bot.RequestRule, error) {
	var out []bot.RequestRule
	for _, line := range strings.Split(s, "\n") {
		fields := strings.Split(line, "\t")
		if len(fields) < 2 {
			return nil, fmt.Errorf("rule %q: too few fields", line)
		}
		n, err := strconv.Atoi(fields[0])
		if err != nil {
			return nil, fmt.Errorf("rule %q: %w", line, err)
		}
		r := bot.RequestRule{Name: fields[1], Count: n, People: []string{}}
		for _, f := range fields[2:] {
			if p, ok := strings.CutPrefix(f, rulePerson); ok {
				r.People = append(r.People, p)
			} else if role, ok := strings.CutPrefix(f, ruleRole); ok {
				r.Roles = append(r.Roles, role)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func decodeIndexes(s string) ([]int, error) {
	out := []int{}
	for f := range strings.SplitSeq(s, ",") {
		if f == "" {
			continue
		}
		i, err := strconv.Atoi(f)
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, nil
}
