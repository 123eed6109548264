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

	Client *http.Client // default: a client of its own, without redirects
	// Timeout is how long one POST may wait for its answer; default 10s,
	// and never more than a third of ClaimAfter (it is lowered to that):
	// the Sender keeps its events claimed between POSTs, so a POST that
	// waited longer could see another replica claim its event meanwhile,
	// and both would send it.
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between two tries of one
	// event: it starts at MinBackoff and doubles up to MaxBackoff;
	// defaults 1s and 1m. MaxBackoff is lowered to a third of ClaimAfter
	// (but not below MinBackoff), for the same reason as Timeout.
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
	// The events of a batch are touched, once a third of ClaimAfter has
	// passed since the last time, before each POST and before each wait
	// between two tries. So that their idle time stays under ClaimAfter
	// (and no other replica claims one this Sender is still posting, and
	// posts it too), a wait and a POST are each bounded by a third of
	// ClaimAfter: an event then sits idle for two thirds of it at most.
	opts.MaxBackoff = min(opts.MaxBackoff, max(opts.ClaimAfter/3, opts.MinBackoff))
	opts.Timeout = min(opts.Timeout, max(opts.ClaimAfter/3, time.Millisecond))
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

// follow delivers stream's events until ctx ends, each batch in the order
// it was read: the events already pending to this consumer, then those
// claimed from another replica, then new ones.
func (s *Sender) follow(ctx context.Context, stream string) {
	b := s.backoff()
	for ctx.Err() == nil {
		// The read resets the idle time of every event it hands out, so
		// the batch counts as touched from before it.
		read := time.Now()
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
		bt := &batch{stream: stream, ids: make([]string, len(evs)), mine: map[string]bool{}, touched: read}
		for i, e := range evs {
			bt.ids[i] = e.ID
			bt.mine[e.ID] = true
		}
		for i, e := range evs {
			if !bt.mine[e.ID] {
				continue // another replica claimed it: theirs to deliver
			}
			if !s.deliver(ctx, bt, i, e) {
				return
			}
		}
	}
}

// batch is what one read handed this consumer from one stream, shared by
// the deliveries of its events, so that the whole batch stays claimed
// while the Sender works through it, however long that takes: its POSTs
// may fail and be retried, or succeed but slowly.
type batch struct {
	stream  string
	ids     []string        // the events read, in order
	mine    map[string]bool // those still this consumer's to deliver
	touched time.Time       // when their idle time was last reset, or before
}

// keep touches the batch's events from the i'th on that are still this
// consumer's, once a third of ClaimAfter has passed since the last touch,
// so that no other replica claims them; it drops from b.mine those no
// longer pending to this consumer. It returns false when the i'th is no
// longer this consumer's: another replica claimed it (after a Redis outage
// kept it from being touched in time), or it was acknowledged.
func (s *Sender) keep(ctx context.Context, b *batch, i int) bool {
	if time.Since(b.touched) < s.o.ClaimAfter/3 {
		return true
	}
	var rest []string
	for _, id := range b.ids[i:] {
		if b.mine[id] {
			rest = append(rest, id)
		}
	}
	now := time.Now()
	held, err := s.o.Log.TouchAudit(ctx, s.o.Group, b.stream, s.o.Consumer, rest...)
	if err != nil {
		if ctx.Err() == nil {
			// Still held as far as this Sender knows: it goes on, and
			// touches again before its next POST or wait.
			s.o.Logger.Warn("audit webhook: keep events claimed", "stream", b.stream, "err", bot.ErrorMessage(err))
		}
		return true
	}
	b.touched = now
	for _, id := range rest {
		b.mine[id] = false
	}
	for _, id := range held {
		b.mine[id] = true
	}
	return b.mine[b.ids[i]]
}

// deliver posts e, the i'th event of b, until the receiver takes it, then
// acknowledges it; it returns false when ctx ended first. Before each POST
// and each wait between two tries it keeps the rest of the batch claimed
// (keep), and gives up on e if another replica claimed it after all.
func (s *Sender) deliver(ctx context.Context, b *batch, i int, e bot.Event) bool {
	body, err := json.Marshal(e)
	if err != nil {
		s.o.Logger.Error("audit webhook: encode an event", "stream", b.stream, "id", e.ID, "err", err)
		return true
	}
	bo := s.backoff()
	for {
		if !s.keep(ctx, b, i) {
			return true // claimed by another replica, or acknowledged: theirs now
		}
		err := s.post(ctx, body)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return false
		}
		s.o.Logger.Warn("audit webhook: delivery failed, will retry", "url", s.target, "stream", b.stream, "id", e.ID,
			"err", err.Error(), "retry_in", bo.next.String())
		if !s.keep(ctx, b, i) {
			return true
		}
		if !bo.wait(ctx) {
			return false
		}
	}
	s.delivered.Add(1)
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.o.Log.AckAudit(actx, s.o.Group, b.stream, e.ID); err != nil {
		// Left pending, it is read and sent again: a repeat, not a loss.
		s.o.Logger.Warn("audit webhook: acknowledge a delivered event", "stream", b.stream, "id", e.ID, "err", bot.ErrorMessage(err))
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
