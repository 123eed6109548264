package pagerduty

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	pd "github.com/PagerDuty/go-pagerduty"

	"resetbot/bot"
)

// Defaults for Options.
const (
	DefaultAPIURL   = "https://api.pagerduty.com"
	DefaultTimeout  = 2 * time.Second
	DefaultCacheFor = 30 * time.Second
)

// pageSize is the limit asked of every list call: PagerDuty's largest page.
const pageSize = 100

// maxPages bounds a listing, should an API keep saying "more".
const maxPages = 50

// Options configures an OnCall.
type Options struct {
	Token  string // REST API token (pagerduty.token); required
	APIURL string // pagerduty.api_url; "": DefaultAPIURL
	// Timeout bounds each listing (all its pages): PagerDuty slower than
	// that counts as down. 0: DefaultTimeout.
	Timeout time.Duration
	// CacheFor is how long an answer of /oncalls or /incidents is used
	// again. 0: DefaultCacheFor.
	CacheFor   time.Duration
	Clock      bot.Clock    // nil: the wall clock
	HTTPClient *http.Client // nil: go-pagerduty's default client
}

// OnCall tells who is on call, as PagerDuty's REST API says. It is safe for
// concurrent use.
type OnCall struct {
	client    *pd.Client
	timeout   time.Duration
	clock     bot.Clock
	oncalls   *cache[[]onCall]
	incidents *cache[[]incident]
}

var _ bot.OnCall = (*OnCall)(nil)

// onCall is what the bot needs of PagerDuty's on-call entry.
type onCall struct {
	user     string
	policy   string
	level    int
	schedule string
}

// incident is what the bot needs of PagerDuty's incident.
type incident struct {
	id      string
	number  uint
	status  string
	service string
}

// New checks o and returns an OnCall.
func New(o Options) (*OnCall, error) {
	if o.Token == "" {
		return nil, errors.New("pagerduty: token is required")
	}
	if o.APIURL == "" {
		o.APIURL = DefaultAPIURL
	}
	u, err := url.Parse(o.APIURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("pagerduty: api_url %q is not an http(s) URL", o.APIURL)
	}
	if o.Timeout < 0 || o.CacheFor < 0 {
		return nil, errors.New("pagerduty: timeout and cache time cannot be negative")
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.CacheFor == 0 {
		o.CacheFor = DefaultCacheFor
	}
	if o.Clock == nil {
		o.Clock = bot.SystemClock{}
	}
	client := pd.NewClient(o.Token, pd.WithAPIEndpoint(strings.TrimRight(o.APIURL, "/")))
	if o.HTTPClient != nil {
		client.HTTPClient = o.HTTPClient
	}
	return &OnCall{
		client:    client,
		timeout:   o.Timeout,
		clock:     o.Clock,
		oncalls:   newCache[[]onCall](o.Clock, o.CacheFor),
		incidents: newCache[[]incident](o.Clock, o.CacheFor),
	}, nil
}

// Check reports whether userID (a PagerDuty user ID, never an email) is on
// call now for policy at one of its levels and, when policy.IncidentOn is
// set, one of those services has a triggered or acknowledged incident.
// Errors are *bot.Error EUNAVAILABLE with a message safe to show, or the
// caller's context error.
func (o *OnCall) Check(ctx context.Context, policy bot.OnCallPolicy, userID string) (bot.OnCallMatch, error) {
	if err := checkPolicy(policy); err != nil {
		return bot.OnCallMatch{}, err
	}
	if userID == "" {
		return bot.OnCallMatch{Why: "no PagerDuty user ID is set for this person"}, nil
	}
	// Both look-ups start at once, so that Check takes one Timeout at
	// most; the incidents answer is cached even when it is not needed.
	oncalls := o.startOnCalls(ctx, policy.EscalationPolicy)
	var incidents *flight[[]incident]
	if len(policy.IncidentOn) > 0 {
		incidents = o.startIncidents(ctx, policy.IncidentOn)
	}

	entries, err := oncalls.wait(ctx)
	if err != nil {
		return bot.OnCallMatch{}, fmt.Errorf("pagerduty: on-calls of %s: %w", policy.EscalationPolicy, err)
	}
	m, found := match(entries, policy, userID)
	if !found {
		return m, nil
	}
	if incidents == nil {
		return m, nil
	}
	open, err := incidents.wait(ctx)
	if err != nil {
		return bot.OnCallMatch{}, fmt.Errorf("pagerduty: incidents on %s: %w", strings.Join(policy.IncidentOn, ", "), err)
	}
	inc, ok := latest(open, policy.IncidentOn)
	if !ok {
		return bot.OnCallMatch{
			Schedule: m.Schedule, Level: m.Level,
			Why: "no triggered or acknowledged incident on " + strings.Join(policy.IncidentOn, ", "),
		}, nil
	}
	m.Incident = fmt.Sprintf("#%d %s", inc.number, inc.id)
	return m, nil
}

// Who lists the PagerDuty user IDs on call now for policy at one of its
// levels, the lowest level first, each once.
func (o *OnCall) Who(ctx context.Context, policy bot.OnCallPolicy) ([]string, error) {
	if err := checkPolicy(policy); err != nil {
		return nil, err
	}
	entries, err := o.startOnCalls(ctx, policy.EscalationPolicy).wait(ctx)
	if err != nil {
		return nil, fmt.Errorf("pagerduty: on-calls of %s: %w", policy.EscalationPolicy, err)
	}
	levels := slices.Sorted(slices.Values(policy.Levels))
	who := []string{}
	for _, level := range levels {
		for _, e := range entries {
			if e.policy == policy.EscalationPolicy && e.level == level && !slices.Contains(who, e.user) {
				who = append(who, e.user)
			}
		}
	}
	return who, nil
}

func checkPolicy(p bot.OnCallPolicy) error {
	if p.EscalationPolicy == "" {
		return bot.Errorf(bot.EINVALID, "on_call has no escalation_policy")
	}
	if len(p.Levels) == 0 {
		return bot.Errorf(bot.EINVALID, "on_call for %s has no levels", p.EscalationPolicy)
	}
	return nil
}

// match finds userID among entries at the lowest of policy's levels. Not
// found, Why says so, and names the levels the user is on call at instead.
func match(entries []onCall, policy bot.OnCallPolicy, userID string) (bot.OnCallMatch, bool) {
	best := -1
	var others []int
	for i, e := range entries {
		if e.user != userID || e.policy != policy.EscalationPolicy {
			continue
		}
		if !slices.Contains(policy.Levels, e.level) {
			if !slices.Contains(others, e.level) {
				others = append(others, e.level)
			}
			continue
		}
		if best < 0 || e.level < entries[best].level || (e.level == entries[best].level && entries[best].schedule == "") {
			best = i
		}
	}
	if best < 0 {
		why := fmt.Sprintf("not on call for %s at %s now", policy.EscalationPolicy, levelsText(policy.Levels))
		if len(others) > 0 {
			slices.Sort(others)
			why = fmt.Sprintf("on call for %s at %s now, not at %s", policy.EscalationPolicy, levelsText(others), levelsText(policy.Levels))
		}
		return bot.OnCallMatch{Why: why}, false
	}
	e := entries[best]
	return bot.OnCallMatch{OnCall: true, Schedule: e.schedule, Level: e.level}, true
}

// latest returns the most recent (highest-numbered) triggered or
// acknowledged incident on one of services.
func latest(incidents []incident, services []string) (incident, bool) {
	var best incident
	found := false
	for _, inc := range incidents {
		if (inc.status != "triggered" && inc.status != "acknowledged") || !slices.Contains(services, inc.service) {
			continue
		}
		if !found || inc.number > best.number {
			best, found = inc, true
		}
	}
	return best, found
}

// levelsText writes [1] as "level 1" and [1 2] as "levels 1 or 2".
func levelsText(levels []int) string {
	s := make([]string, len(levels))
	for i, l := range levels {
		s[i] = strconv.Itoa(l)
	}
	if len(s) == 1 {
		return "level " + s[0]
	}
	return "levels " + strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// startOnCalls starts, or joins, the listing of policy's on-calls now.
// Levels are filtered here, not by PagerDuty, so that every level set of
// a policy shares one cached answer.
func (o *OnCall) startOnCalls(ctx context.Context, policy string) *flight[[]onCall] {
	return o.oncalls.start(ctx, policy, o.timeout, func(ctx context.Context) ([]onCall, error) {
		var out []onCall
		opts := pd.ListOnCallOptions{
			Limit:               pageSize,
			EscalationPolicyIDs: []string{policy},
			Earliest:            true, // one entry per level and user, the current one
		}
		for range maxPages {
			resp, err := o.client.ListOnCallsWithContext(ctx, opts)
			if err != nil {
				return nil, unavailable(ctx, err, o.timeout)
			}
			for _, e := range resp.OnCalls {
				out = append(out, onCall{
					user: e.User.ID, policy: e.EscalationPolicy.ID,
					level: int(e.EscalationLevel), schedule: e.Schedule.ID,
				})
			}
			if !resp.More || len(resp.OnCalls) == 0 {
				return out, nil
			}
			opts.Offset += uint(len(resp.OnCalls))
		}
		return nil, bot.Errorf(bot.EUNAVAILABLE, "PagerDuty listed more than %d pages of on-calls", maxPages)
	})
}

// startIncidents starts, or joins, the listing of the triggered and
// acknowledged incidents on services.
func (o *OnCall) startIncidents(ctx context.Context, services []string) *flight[[]incident] {
	services = slices.Sorted(slices.Values(services))
	services = slices.Compact(services)
	return o.incidents.start(ctx, strings.Join(services, ","), o.timeout, func(ctx context.Context) ([]incident, error) {
		var out []incident
		opts := pd.ListIncidentsOptions{
			Limit:      pageSize,
			Statuses:   []string{"triggered", "acknowledged"},
			ServiceIDs: services,
			// the API's default window is the last 30 days: an incident
			// open longer than that is open all the same
			DateRange: "all",
		}
		for range maxPages {
			resp, err := o.client.ListIncidentsWithContext(ctx, opts)
			if err != nil {
				return nil, unavailable(ctx, err, o.timeout)
			}
			for _, inc := range resp.Incidents {
				out = append(out, incident{
					id: inc.ID, number: inc.IncidentNumber,
					status: inc.Status, service: inc.Service.ID,
				})
			}
			if !resp.More || len(resp.Incidents) == 0 {
				return out, nil
			}
			opts.Offset += uint(len(resp.Incidents))
		}
		return nil, bot.Errorf(bot.EUNAVAILABLE, "PagerDuty listed more than %d pages of incidents", maxPages)
	})
}

// unavailable turns a client error into EUNAVAILABLE with a message safe
// to show; the client's own text (no token in it: the token travels in a
// header) follows for the log.
func unavailable(ctx context.Context, err error, timeout time.Duration) error {
	var safe *bot.Error
	var apiErr pd.APIError
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &apiErr):
		switch apiErr.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			safe = bot.Errorf(bot.EUNAVAILABLE, "PagerDuty refused the bot's token (HTTP %d)", apiErr.StatusCode)
		case http.StatusTooManyRequests:
			safe = bot.Errorf(bot.EUNAVAILABLE, "PagerDuty is limiting the bot's calls (HTTP 429)")
		default:
			safe = bot.Errorf(bot.EUNAVAILABLE, "PagerDuty answered %d", apiErr.StatusCode)
		}
		safe.Retryable = apiErr.StatusCode == http.StatusTooManyRequests || apiErr.StatusCode >= 500
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		safe = &bot.Error{Code: bot.EUNAVAILABLE, Message: "PagerDuty did not answer in " + timeout.String(), Retryable: true}
	case errors.As(err, &syntaxErr), errors.As(err, &typeErr):
		safe = bot.Errorf(bot.EUNAVAILABLE, "PagerDuty answered something the bot could not read")
	default:
		safe = &bot.Error{Code: bot.EUNAVAILABLE, Message: "PagerDuty could not be reached", Retryable: true}
	}
	return fmt.Errorf("%w (%v)", safe, err)
}
