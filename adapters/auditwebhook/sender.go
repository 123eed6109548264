package auditwebhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"resetbot/bot"
)

// Headers of every POST.
const (
	HeaderTimestamp = "X-Resetbot-Timestamp"
	HeaderSignature = "X-Resetbot-Signature"
)

// DefaultGroup is the consumer group the Sender reads the audit log
// through.
const DefaultGroup = "audit-webhook"

// Log is the audit log as the Sender reads it: each stream apart, through
// a consumer group that remembers what was acknowledged. approvals.Store
// implements it. Errors are *bot.Error, EUNAVAILABLE when Redis cannot be
// reached.
type Log interface {
	// AuditStreams names the streams, each read on its own.
	AuditStreams() []string
	// ReadAuditGroup returns up to count events of stream for consumer,
	// oldest first: those already pending to it, then those another
	// consumer left idle for minIdle (claimed for consumer), then new ones,
	// waiting up to block for some.
	ReadAuditGroup(ctx context.Context, group, stream, consumer string, count int, minIdle, block time.Duration) ([]bot.Event, error)
	// AckAudit marks events of stream as delivered: no consumer of group
	// is handed them again.
	AckAudit(ctx context.Context, group, stream string, ids ...string) error
	// TouchAudit keeps the events ids, still pending to consumer, claimed
	// for another minIdle, and returns those still pending to it.
	TouchAudit(ctx context.Context, group, stream, consumer string, ids ...string) ([]string, error)
	// AuditGroupLag is how many events group has not acknowledged and the
	// age of the oldest.
	AuditGroupLag(ctx context.Context, group string) (events int64, oldest time.Duration, err error)
	// LeaveAuditGroup removes consumer from group where nothing is
	// pending to it.
	LeaveAuditGroup(ctx context.Context, group, consumer string) error
	// TidyAuditGroup removes the consumers idle for longer than idle
	// with nothing pending.
	TidyAuditGroup(ctx context.Context, group string, idle time.Duration) error
}

// Options configure a Sender. URL, Secret, Log and Consumer are needed;
// zero values of the others take the defaults.
type Options struct {
	URL    string
	Secret bot.Secret
	Log    Log
	// Consumer is this replica's name in the group: unique among the
	// replicas running at once.
	Consumer string
	// Group is the consumer group; default DefaultGroup. Replicas that
	// share it share the work.
	Group string

	Client  *http.Client  // default: a client of its own, without redirects
	Timeout time.Duration // per POST; default 10s
	// MinBackoff and MaxBackoff bound the wait between two tries of one
	// event: it starts at MinBackoff and doubles up to MaxBackoff;
	// defaults 1s and 1m.
	MinBackoff, MaxBackoff time.Duration
	// ClaimAfter is how long an event may sit pending to a consumer that
	// does not touch it before another replica claims it; default 1m.
	ClaimAfter time.Duration
	// Block is how long one read waits for new events; default 2s. A
	// Sender stops within about that long.
	Block time.Duration
	// Batch is how many events one read takes; default 100.
	Batch int
	// LagEvery is how often Lag is read from Redis; default 10s.
	LagEvery time.Duration
	// TidyAfter: consumers of the group idle for longer, with nothing
	// pending (replicas gone), are removed; default 1h.
	TidyAfter time.Duration

	Clock  bot.Clock // the signatures' timestamps; default bot.SystemClock{}
	Logger *slog.Logger
}

// Sender delivers the audit log to the webhook. Run it once per replica.
type Sender struct {
	o      Options
	target string // the URL for logs, without user or password

	lagEvents atomic.Int64
	lagOldest atomic.Int64 // ns
	delivered atomic.Int64
}

// New checks opts and returns a Sender.
func New(opts Options) (*Sender, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("audit webhook: the URL is not an http(s) URL")
	}
	if opts.Secret.IsZero() {
		return nil, errors.New("audit webhook: no secret")
	}
	if opts.Log == nil || opts.Consumer == "" {
		return nil, errors.New("audit webhook: needs the audit log and a consumer name")
	}
	if opts.Group == "" {
		opts.Group = DefaultGroup
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(time.Minute, opts.MinBackoff)
	}
	if opts.ClaimAfter <= 0 {
		opts.ClaimAfter = time.Minute
	}
	// An event being retried is touched after each wait: a wait longer than
	// a third of ClaimAfter would let another replica claim it meanwhile,
	// and both post it.
	opts.MaxBackoff = min(opts.MaxBackoff, max(opts.ClaimAfter/3, opts.MinBackoff))
	if opts.Block <= 0 {
		opts.Block = 2 * time.Second
	}
	if opts.Batch <= 0 {
		opts.Batch = 100
	}
	if opts.LagEvery <= 0 {
		opts.LagEvery = 10 * time.Second
	}
	if opts.TidyAfter <= 0 {
		opts.TidyAfter = time.Hour
	}
	if opts.Clock == nil {
		opts.Clock = bot.SystemClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Client == nil {
		opts.Client = &http.Client{
			// A redirect would send the signed event elsewhere: it is a
			// failure, tried again.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	// Logged as scheme and host only: a SIEM's endpoint often carries its
	// credential in the path or the query (/receiver/<token>, ?api-key=).
	return &Sender{o: opts, target: u.Scheme + "://" + u.Host}, nil
}

// Lag is how far behind the receiver is, as last read from Redis: the
// events not delivered yet (pending to a replica, or not handed out) over
// the audit log's streams, and the age of the oldest of them (0 when
// there is none).
func (s *Sender) Lag() (events int64, oldest time.Duration) {
	return s.lagEvents.Load(), time.Duration(s.lagOldest.Load())
}

// Delivered is how many events this Sender delivered (answered 2xx) since
// it started.
func (s *Sender) Delivered() int64 { return s.delivered.Load() }

// Run delivers events until ctx ends, then leaves the group (where nothing
// is pending to it) and returns nil. Redis or the receiver failing is
// logged and retried, never returned.
func (s *Sender) Run(ctx context.Context) error {
	s.o.Logger.Info("audit webhook", "url", s.target, "group", s.o.Group, "consumer", s.o.Consumer)
	var wg sync.WaitGroup
	for _, stream := range s.o.Log.AuditStreams() {
		wg.Go(func() { s.follow(ctx, stream) })
	}
	wg.Go(func() { s.watchLag(ctx) })
	wg.Wait()
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.o.Log.LeaveAuditGroup(lctx, s.o.Group, s.o.Consumer); err != nil {
		s.o.Logger.Warn("audit webhook: leave the consumer group", "err", bot.ErrorMessage(err))
	}
	return nil
}

// follow delivers stream's events, in order, until ctx ends.
func (s *Sender) follow(ctx context.Context, stream string) {
	b := s.backoff()
	for ctx.Err() == nil {
		evs, err := s.o.Log.ReadAuditGroup(ctx, s.o.Group, stream, s.o.Consumer, s.o.Batch, s.o.ClaimAfter, s.o.Block)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.o.Logger.Warn("audit webhook: read the audit log", "stream", stream, "err", bot.ErrorMessage(err))
			if !b.wait(ctx) {
				return
			}
			continue
		}
		b.reset()
		ids := make([]string, len(evs))
		for i, e := range evs {
			ids[i] = e.ID
		}
		// mine is what of the batch is still this consumer's to deliver.
		mine := map[string]bool{}
		for _, id := range ids {
			mine[id] = true
		}
		for i, e := range evs {
			if !mine[e.ID] {
				continue // another replica claimed it while this one retried
			}
			if !s.deliver(ctx, stream, e, ids[i:], mine) {
				return
			}
		}
	}
}

// deliver posts e until the receiver takes it, then acknowledges it; it
// returns false when ctx ended first. While it retries, it keeps rest (e
// and the batch behind it) claimed, and gives up on e if another replica
// claimed it after all.
func (s *Sender) deliver(ctx context.Context, stream string, e bot.Event, rest []string, mine map[string]bool) bool {
	body, err := json.Marshal(e)
	if err != nil {
		s.o.Logger.Error("audit webhook: encode an event", "stream", stream, "id", e.ID, "err", err)
		return true
	}
	b := s.backoff()
	touched := time.Now()
	for {
		err := s.post(ctx, body)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return false
		}
		s.o.Logger.Warn("audit webhook: delivery failed, will retry", "url", s.target, "stream", stream, "id", e.ID,
			"err", err.Error(), "retry_in", b.next.String())
		if !b.wait(ctx) {
			return false
		}
		if time.Since(touched) >= s.o.ClaimAfter/3 {
			held, err := s.o.Log.TouchAudit(ctx, s.o.Group, stream, s.o.Consumer, rest...)
			if err != nil {
				if ctx.Err() != nil {
					return false
				}
				s.o.Logger.Warn("audit webhook: keep events claimed", "stream", stream, "err", bot.ErrorMessage(err))
				continue
			}
			touched = time.Now()
			for k := range mine {
				delete(mine, k)
			}
			for _, id := range held {
				mine[id] = true
			}
			if !mine[e.ID] {
				return true // claimed by another replica, or acknowledged: theirs now
			}
		}
	}
	s.delivered.Add(1)
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.o.Log.AckAudit(actx, s.o.Group, stream, e.ID); err != nil {
		// Left pending, it is read and sent again: a repeat, not a loss.
		s.o.Logger.Warn("audit webhook: acknowledge a delivered event", "stream", stream, "id", e.ID, "err", bot.ErrorMessage(err))
	}
	return true
}

// errStatus is an answer other than 2xx.
type errStatus int

func (e errStatus) Error() string { return "the receiver answered " + strconv.Itoa(int(e)) }

// post sends one signed POST of body and waits up to Timeout for a 2xx.
// Its errors never hold the URL (which may carry a password) or the secret.
func (s *Sender) post(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.o.URL, bytes.NewReader(body))
	if err != nil {
		return errors.New("cannot make the request")
	}
	ts := strconv.FormatInt(s.o.Clock.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "resetbot-audit-webhook")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(s.o.Secret, ts, body))
	resp, err := s.o.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			if ue.Timeout() {
				return fmt.Errorf("no answer within %s", s.o.Timeout)
			}
			return fmt.Errorf("%s failed: %w", ue.Op, ue.Err)
		}
		return errors.New("the request failed")
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return errStatus(resp.StatusCode)
	}
	return nil
}

// watchLag reads the group's lag every LagEvery, and tidies the group of
// consumers gone, until ctx ends.
func (s *Sender) watchLag(ctx context.Context) {
	t := time.NewTicker(s.o.LagEvery)
	defer t.Stop()
	tidied := time.Time{}
	for {
		events, oldest, err := s.o.Log.AuditGroupLag(ctx, s.o.Group)
		if err == nil {
			s.lagEvents.Store(events)
			s.lagOldest.Store(int64(oldest))
		} else if ctx.Err() == nil {
			s.o.Logger.Warn("audit webhook: read how far behind it is", "err", bot.ErrorMessage(err))
		}
		if time.Since(tidied) > s.o.TidyAfter/4 {
			if err := s.o.Log.TidyAuditGroup(ctx, s.o.Group, s.o.TidyAfter); err != nil && ctx.Err() == nil {
				s.o.Logger.Warn("audit webhook: remove consumers gone", "err", bot.ErrorMessage(err))
			}
			tidied = time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sign is the X-Resetbot-Signature of body sent at timestamp (unix
// seconds, as in X-Resetbot-Timestamp).
func Sign(secret bot.Secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret.Value()))
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a delivery as a receiver should: the signature over the
// timestamp and the raw body, in constant time, and the timestamp within
// window of now. Receivers (and this package's tests) use it.
func Verify(secret bot.Secret, h http.Header, body []byte, now time.Time, window time.Duration) error {
	ts := h.Get(HeaderTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("no unix timestamp in " + HeaderTimestamp)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > window || d < -window {
		return fmt.Errorf("timestamp %s is %s away from now", ts, d.Round(time.Second))
	}
	if !hmac.Equal([]byte(h.Get(HeaderSignature)), []byte(Sign(secret, ts, body))) {
		return errors.New("bad signature")
	}
	return nil
}

// backoff is the wait between tries: MinBackoff, doubled each time up to
// MaxBackoff.
type backoff struct {
	min, max, next time.Duration
}

func (s *Sender) backoff() *backoff {
	return &backoff{min: s.o.MinBackoff, max: s.o.MaxBackoff, next: s.o.MinBackoff}
}

func (b *backoff) reset() { b.next = b.min }

// wait sleeps the current backoff and doubles it; false when ctx ended.
func (b *backoff) wait(ctx context.Context) bool {
	t := time.NewTimer(b.next)
	defer t.Stop()
	b.next = min(2*b.next, b.max)
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
