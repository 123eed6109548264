package bot_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/approvals"
	"resetbot/bot"
	"resetbot/internal/redistest"
	"resetbot/internal/testkit"
)

// The service's tests run it end to end on real Redis (approvals.Store). The
// chat platforms and the cloud are test doubles that record what they were
// asked to do.

const waitLimit = 20 * time.Second

var (
	_ bot.Notifier = notifier{}
	_ bot.Provider = (*provider)(nil)
	_ bot.Metrics  = (*metrics)(nil)
	_ bot.Clock    = (*testkit.Clock)(nil)
)

func people() []bot.Person {
	return []bot.Person{
		{Name: "alice", Slack: "U0ALICE", Discord: "1001", Groups: []string{"eng"}},
		{Name: "sam", Slack: "U0SAM", Discord: "1002", Groups: []string{"eng", "approvers"}},
		{Name: "bob", Slack: "U0BOB", Discord: "2001", Groups: []string{"approvers"}},
		{Name: "carol", Slack: "U0CAROL", Discord: "2002", Groups: []string{"approvers"}},
		{Name: "dave", Slack: "U0DAVE", Discord: "2003", Groups: []string{"approvers"}},
		{Name: "erin", Slack: "U0ERIN", Discord: "2004", Groups: []string{"approvers"}},
		{Name: "frank", Slack: "U0FRANK", Discord: "2005", Groups: []string{"approvers"}},
		{Name: "rita", Discord: "4001"}, // approves through a Discord role only
		{Name: "mallory", Slack: "U0MALLORY", Discord: "3001", Groups: []string{"contractors"}},
	}
}

func accounts() []bot.Account {
	return []bot.Account{
		{
			Name: "prod-db", Provider: "test.tdsql", Region: "ap-guangzhou",
			Users:      []string{"app_user"},
			Settings:   testkit.Resource("instance_id=tdsql3-d8fffc3c"),
			Requesters: []string{"eng"}, Approvers: []string{"approvers"}, ApproverRoles: []string{"role-dba"},
			Approvals: 1, TTL: 30 * time.Minute,
		},
		{
			Name: "hpc", Provider: "test.ehpc", Region: "cn-hangzhou",
			Users: []string{"u1", "u2", "u3"}, Selectable: true,
			Settings:   testkit.Resource("cluster_id=ehpc-hz-1"),
			Requesters: []string{"eng"}, Approvers: []string{"approvers"},
			Approvals: 2, TTL: 10 * time.Minute,
		},
	}
}

// shown is one thing the bot showed on a chat platform. A password is never
// among them: it goes only to the show function given to Reveal.
type shown struct {
	Kind     string // card, notify, offer, withdraw
	Platform bot.Platform
	Audience string // "channel" for a card; the person, privately, otherwise
	Ref      string // the card's reference passed in ("" posts a new card); the offer's, for withdraw
	Request  bot.Request
	Text     string
}

// chat is every chat platform at once, shared by all the services of a test
// as the real Slack and Discord would be.
type chat struct {
	mu      sync.Mutex
	shown   []shown
	changed chan struct{}
	cards   int
	// offerErr, when set, is what Offer answers.
	offerErr error
	// announceErr, when set, is what Announce answers.
	announceErr error
	// offerGate, when set, is called before an offer is sent.
	offerGate func(req bot.Request)
}

func newChat() *chat { return &chat{changed: make(chan struct{})} }

func (c *chat) record(s shown) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.shown = append(c.shown, s)
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *chat) all() []shown {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]shown(nil), c.shown...)
}

// waitFor waits until what was shown satisfies ok.
func (c *chat) waitFor(ctx context.Context, what string, ok func([]shown) bool) error {
	for {
		c.mu.Lock()
		done, changed := ok(c.shown), c.changed
		c.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-changed:
		}
	}
}

func (c *chat) count(kind string, match func(shown) bool) int {
	n := 0
	for _, s := range c.all() {
		if s.Kind == kind && (match == nil || match(s)) {
			n++
		}
	}
	return n
}

// notifier is one process's adapter for a platform. Like the real ones, it
// drops a card update older than one it showed (Request.Version), which it
// knows of in its own process only: cards holds what it showed.
type notifier struct {
	platform bot.Platform
	chat     *chat
	cards    *cardVersions
}

type cardVersions struct {
	mu    sync.Mutex
	shown map[string]bot.Version
}

func newNotifier(pl bot.Platform, c *chat) notifier {
	return notifier{platform: pl, chat: c, cards: &cardVersions{shown: map[string]bot.Version{}}}
}

func (n notifier) Platform() bot.Platform { return n.platform }

func (n notifier) Card(_ context.Context, req bot.Request, _ bot.Account, ref string) (string, error) {
	if ref != "" {
		n.cards.mu.Lock() // held while the card is edited, as the adapters do
		defer n.cards.mu.Unlock()
		if v, ok := n.cards.shown[ref]; ok && req.Version().Before(v) {
			return ref, nil
		}
		n.cards.shown[ref] = req.Version()
	}
	n.chat.record(shown{Kind: "card", Platform: n.platform, Audience: "channel", Ref: ref, Request: req})
	if ref != "" {
		return ref, nil
	}
	n.chat.mu.Lock()
	n.chat.cards++
	ref = fmt.Sprintf("%s/card-%d", n.platform, n.chat.cards)
	n.chat.mu.Unlock()
	return ref, nil
}

func (n notifier) Notify(_ context.Context, p bot.Person, req bot.Request, text string) error {
	n.chat.record(shown{Kind: "notify", Platform: n.platform, Audience: p.Name, Request: req, Text: text})
	return nil
}

// Offer sends the Reveal button in a direct message, whose reference is
// "dm/<id>".
func (n notifier) Offer(_ context.Context, p bot.Person, req bot.Request) (string, error) {
	n.chat.mu.Lock()
	gate := n.chat.offerGate
	n.chat.mu.Unlock()
	if gate != nil {
		gate(req)
	}
	n.chat.record(shown{Kind: "offer", Platform: n.platform, Audience: p.Name, Request: req})
	n.chat.mu.Lock()
	defer n.chat.mu.Unlock()
	if n.chat.offerErr != nil {
		return "", n.chat.offerErr
	}
	return "dm/" + req.ID, nil
}

// Remind records a reply under a card; Audience lists the people
// mentioned, by name, comma-separated.
func (n notifier) Remind(_ context.Context, req bot.Request, ref string, people []bot.Person, text string) error {
	names := make([]string, len(people))
	for i, p := range people {
		names[i] = p.Name
	}
	n.chat.record(shown{Kind: "remind", Platform: n.platform, Audience: strings.Join(names, ","), Ref: ref, Request: req, Text: text})
	return nil
}

func (n notifier) Withdraw(_ context.Context, req bot.Request, ref string) error {
	n.chat.record(shown{Kind: "withdraw", Platform: n.platform, Audience: req.Requester, Ref: ref, Request: req})
	return nil
}

// Announce records a message for everyone; Audience is the channel ("" for
// the approvals channel).
func (n notifier) Announce(_ context.Context, channel, text string) error {
	n.chat.mu.Lock()
	err := n.chat.announceErr
	n.chat.mu.Unlock()
	if err != nil {
		return err
	}
	n.chat.record(shown{Kind: "announce", Platform: n.platform, Audience: channel, Text: text})
	return nil
}

// provider makes a fresh random password per user and counts its calls.
type provider struct {
	calls atomic.Int64

	mu        sync.Mutex
	passwords []string
	err       error            // the whole call fails with it
	userErr   map[string]error // these users fail
	gate      func()           // called first, outside the lock, when set
}

func (p *provider) Reset(_ context.Context, _ bot.Account, users []string) ([]bot.UserResult, error) {
	p.calls.Add(1)
	p.mu.Lock()
	gate := p.gate
	p.mu.Unlock()
	if gate != nil {
		gate()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return nil, p.err
	}
	var out []bot.UserResult
	for _, u := range users {
		if err := p.userErr[u]; err != nil {
			out = append(out, bot.UserResult{User: u, Err: err})
			continue
		}
		var b [12]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		pw := "Pw" + hex.EncodeToString(b[:]) + "!"
		p.passwords = append(p.passwords, pw)
		out = append(out, bot.UserResult{User: u, Password: bot.NewSecret(pw)})
	}
	return out, nil
}

func (p *provider) generated() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.passwords...)
}

// metrics records every label the service gives metrics.
type metrics struct {
	mu     sync.Mutex
	labels []string
}

func (m *metrics) Event(kind bot.EventKind) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.labels = append(m.labels, string(kind))
}

func (m *metrics) Execution(provider bot.ProviderKey, d time.Duration, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.labels = append(m.labels, fmt.Sprint(provider, d, ok))
}

func (m *metrics) Decided(decision bot.State, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.labels = append(m.labels, fmt.Sprint("decided ", decision, " ", d))
}

func (m *metrics) Revealed(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.labels = append(m.labels, fmt.Sprint("revealed ", d))
}

func (m *metrics) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return strings.Join(m.labels, " ")
}

// env is one test's world: a key prefix on the shared redis-server, a clock,
// the chat, the cloud, the log, and a first service.
type env struct {
	t       *testing.T
	ctx     context.Context
	client  redis.UniversalClient
	prefix  string
	clock   *testkit.Clock
	chat    *chat
	prov    *provider
	log     *testkit.Log
	metrics *metrics
	store   *approvals.Store
	svc     *bot.Service
	// replicas is how many replicas each store waits for
	// (approvals.Options.Replicas): 1 on a Sentinel setup, as serve does.
	storeReplicas int
}

func newEnv(t *testing.T, mods ...func(*bot.Options)) *env {
	t.Helper()
	client, prefix := redistest.Client(t)
	return newEnvOn(t, client, prefix, mods...)
}

func newEnvOn(t *testing.T, client redis.UniversalClient, prefix string, mods ...func(*bot.Options)) *env {
	t.Helper()
	return newEnvReplicated(t, client, prefix, 0, mods...)
}

// newEnvReplicated is newEnvOn with stores that wait for replicas.
func newEnvReplicated(t *testing.T, client redis.UniversalClient, prefix string, replicas int, mods ...func(*bot.Options)) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	t.Cleanup(cancel)
	e := &env{
		t: t, ctx: ctx, client: client, prefix: prefix,
		clock:         testkit.NewClock(time.Date(2030, 1, 2, 9, 30, 0, 0, time.UTC)),
		chat:          newChat(),
		prov:          &provider{},
		log:           &testkit.Log{},
		metrics:       &metrics{},
		storeReplicas: replicas,
	}
	t.Cleanup(func() {
		// The shared server outlives the test: leave nothing behind.
		ctx := context.Background()
		iter := client.Scan(ctx, 0, "{"+prefix+"}*", 1000).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
	})
	e.svc, e.store = e.newService(client, mods...)
	return e
}

// newService is another replica of the bot: its own Redis client and store,
// the same prefix, chat, cloud and clock.
func (e *env) newService(client redis.UniversalClient, mods ...func(*bot.Options)) (*bot.Service, *approvals.Store) {
	e.t.Helper()
	store := approvals.New(client, approvals.Options{Prefix: e.prefix, Clock: e.clock, Poll: 50 * time.Millisecond,
		Replicas: e.storeReplicas})
	opts := bot.Options{
		Store:     store,
		Providers: map[bot.ProviderKey]bot.Provider{"test.tdsql": e.prov, "test.ehpc": e.prov},
		Notifiers: []bot.Notifier{newNotifier(bot.PlatformSlack, e.chat), newNotifier(bot.PlatformDiscord, e.chat)},
		People:    people(),
		Accounts:  accounts(),
		Clock:     e.clock,
		Log:       slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics:   e.metrics,
	}
	for _, m := range mods {
		m(&opts)
	}
	svc, err := bot.New(opts)
	if err != nil {
		e.t.Fatalf("bot.New: %v", err)
	}
	return svc, store
}

// as is the actor of a configured person on a platform.
func as(name string, pl bot.Platform) bot.Actor {
	for _, p := range people() {
		if p.Name != name {
			continue
		}
		id := map[bot.Platform]string{bot.PlatformSlack: p.Slack, bot.PlatformDiscord: p.Discord, bot.PlatformConsole: p.Name}[pl]
		return bot.Actor{Platform: pl, UserID: id}
	}
	panic("no person " + name)
}

func (e *env) do(a bot.Actor, text string) bot.Reply {
	return e.svc.HandleText(e.ctx, a, text)
}

// ask has a person ask and returns the new request's ID.
func (e *env) ask(a bot.Actor, text string) string {
	e.t.Helper()
	r := e.do(a, text)
	if r.Err != nil || r.Request == nil {
		e.t.Fatalf("%s asks %q: got %q (%v), want a new request", a.UserID, text, r.Text, r.Err)
	}
	if _, err := bot.ParseID(r.Request.ID); err != nil {
		e.t.Fatalf("new request ID %q: %v", r.Request.ID, err)
	}
	return r.Request.ID
}

func (e *env) mustDo(a bot.Actor, text string) bot.Reply {
	e.t.Helper()
	r := e.do(a, text)
	if r.Err != nil {
		e.t.Fatalf("%s: %q: got %q (%v), want success", a.UserID, text, r.Text, r.Err)
	}
	return r
}

// refused checks that the reply refuses with code and a message saying why.
func refused(t *testing.T, r bot.Reply, code, says string) {
	t.Helper()
	if got := bot.ErrorCode(r.Err); got != code {
		t.Fatalf("reply %q: got code %q (%v), want %q", r.Text, got, r.Err, code)
	}
	if !strings.Contains(r.Text, says) {
		t.Errorf("reply %q: want it to say %q", r.Text, says)
	}
}

func (e *env) get(id string) bot.Request {
	e.t.Helper()
	r, err := e.store.Get(e.ctx, id)
	if err != nil {
		e.t.Fatalf("Get(%s): %v", id, err)
	}
	return r
}

func (e *env) wantState(id string, want bot.State) bot.Request {
	e.t.Helper()
	r := e.get(id)
	if r.State != want {
		e.t.Fatalf("%s: got state %s, want %s", id, r.State, want)
	}
	return r
}

// wantAudit checks that the audit log has an event of kind by actor whose
// detail contains detail.
func (e *env) wantAudit(id string, kind bot.EventKind, actor, detail string) {
	e.t.Helper()
	events, err := e.store.AuditLog(e.ctx, bot.AuditQuery{RequestID: id})
	if err != nil {
		e.t.Fatalf("AuditLog: %v", err)
	}
	for _, ev := range events {
		if ev.Kind == kind && ev.Actor == actor && strings.Contains(ev.Detail, detail) {
			return
		}
	}
	e.t.Errorf("audit of %q: no %s event by %s saying %q in %+v", id, kind, actor, detail, events)
}

// told reports whether person was told, on any platform, something about id
// containing text.
func told(person, id, text string) func([]shown) bool {
	return func(all []shown) bool {
		for _, s := range all {
			if s.Kind == "notify" && s.Audience == person && s.Request.ID == id && strings.Contains(s.Text, text) {
				return true
			}
		}
		return false
	}
}

// offers reports whether id was offered to its requester n times (a
// take-over that found nothing reset offers it again).
func offers(id string, n int) func([]shown) bool {
	return func(all []shown) bool {
		got := 0
		for _, s := range all {
			if s.Kind == "offer" && s.Request.ID == id {
				got++
			}
		}
		return got == n
	}
}

func (e *env) wantTold(person, id, text string) {
	e.t.Helper()
	if !told(person, id, text)(e.chat.all()) {
		e.t.Errorf("%s was not told %q about %s; shown: %+v", person, text, id, e.chat.all())
	}
}

// wantCardState checks that every platform's card of id shows state: the
// last update the platform received.
func (e *env) wantCardState(id string, want bot.State) {
	e.t.Helper()
	last := map[bot.Platform]bot.State{}
	for _, s := range e.chat.all() {
		if s.Kind == "card" && s.Request.ID == id {
			last[s.Platform] = s.Request.State
		}
	}
	for _, pl := range []bot.Platform{bot.PlatformSlack, bot.PlatformDiscord} {
		if last[pl] != want {
			e.t.Errorf("%s card of %s: got state %q, want %q", pl, id, last[pl], want)
		}
	}
}

// runExecutor runs svc's executor until the returned stop is called; stop
// waits for it to return.
func (e *env) runExecutor(svc *bot.Service, consumer string) (stop func()) {
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- svc.RunExecutor(ctx, consumer) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					e.t.Errorf("RunExecutor(%s): %v", consumer, err)
				}
			case <-time.After(waitLimit):
				e.t.Errorf("RunExecutor(%s) did not return after its context ended", consumer)
			}
		})
	}
	e.t.Cleanup(stop)
	return stop
}

func TestServiceAsk(t *testing.T) {
	t.Run("RequesterGetsAnIDAndApproversACardOnEveryPlatform", func(t *testing.T) {
		e := newEnv(t)
		r := e.mustDo(as("alice", bot.PlatformSlack), "/reset-password prod-db locked out")
		id := r.Request.ID
		if !strings.Contains(r.Text, id) {
			t.Errorf("reply %q does not name the request %s", r.Text, id)
		}
		req := e.wantState(id, bot.StatePending)
		if req.Requester != "alice" || req.Account != "prod-db" || req.Reason != "locked out" || req.Approvals != 1 {
			t.Errorf("stored request: got %+v", req)
		}
		if got, want := req.Users, []string{"app_user"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("users: got %v, want %v", got, want)
		}
		if got, want := req.ExpiresAt, e.clock.Now().Add(30*time.Minute); !got.Equal(want) {
			t.Errorf("expiry: got %v, want %v", got, want)
		}
		posts := e.chat.count("card", func(s shown) bool { return s.Ref == "" && s.Request.ID == id && s.Audience == "channel" })
		if posts != 2 {
			t.Errorf("cards posted: got %d, want 2 (Slack and Discord)", posts)
		}
		for _, pl := range []bot.Platform{bot.PlatformSlack, bot.PlatformDiscord} {
			if req.Refs[bot.Ref(bot.RefCard, pl)] == "" {
				t.Errorf("request refs %v: no card.%s", req.Refs, pl)
			}
		}
		e.wantAudit(id, "requested", "alice", "prod-db: locked out")
	})

	t.Run("SelectedUsers", func(t *testing.T) {
		e := newEnv(t)
		id := e.ask(as("alice", bot.PlatformDiscord), "hpc:u3,u1 batch job stuck")
		req := e.get(id)
		if got, want := fmt.Sprint(req.Users), "[u3 u1]"; got != want {
			t.Errorf("users: got %s, want %s", got, want)
		}
		if req.Platform != bot.PlatformDiscord || req.Approvals != 2 {
			t.Errorf("platform, approvals: got %s, %d, want discord, 2", req.Platform, req.Approvals)
		}
	})

	refusals := []struct {
		name  string
		actor bot.Actor
		text  string
		code  string
		says  string
	}{
		{"NotARequester", as("mallory", bot.PlatformSlack), "prod-db please", bot.EFORBIDDEN, "you may not ask for \"prod-db\""},
		{"UnknownAccount", as("alice", bot.PlatformSlack), "nosuch please", bot.EFORBIDDEN, "/reset-password list"},
		{"UnknownPerson", bot.Actor{Platform: bot.PlatformSlack, UserID: "U0NOBODY"}, "prod-db please", bot.EFORBIDDEN, "not in resetbot's list of people"},
		{"UnknownPersonOnDiscord", bot.Actor{Platform: bot.PlatformDiscord, UserID: "U0ALICE"}, "prod-db please", bot.EFORBIDDEN, "not in resetbot's list of people"},
		{"NoUserID", bot.Actor{Platform: bot.PlatformConsole}, "prod-db please", bot.EFORBIDDEN, "not in resetbot's list of people"},
		{"UserNotOfTheAccount", as("alice", bot.PlatformSlack), "hpc:u1,u9 please", bot.EINVALID, "has no user \"u9\""},
		{"UsersOfAFixedAccount", as("alice", bot.PlatformSlack), "prod-db:app_user please", bot.EINVALID, "leave out the users"},
		{"NoReason", as("alice", bot.PlatformSlack), "prod-db", bot.EINVALID, "a reason is required. Write:"},
	}
	for _, tc := range refusals {
		t.Run("Refuses/"+tc.name, func(t *testing.T) {
			e := newEnv(t)
			refused(t, e.do(tc.actor, tc.text), tc.code, tc.says)
			if n := e.chat.count("card", nil); n != 0 {
				t.Errorf("cards: got %d, want none", n)
			}
			for _, p := range people() {
				if open, err := e.store.Open(e.ctx, p.Name); err != nil || len(open) != 0 {
					t.Errorf("open requests of %s: got %v, %v, want none", p.Name, open, err)
				}
			}
		})
	}

	t.Run("RefusalsAreAudited", func(t *testing.T) {
		e := newEnv(t)
		e.do(as("mallory", bot.PlatformSlack), "prod-db please")
		e.do(bot.Actor{Platform: bot.PlatformSlack, UserID: "U0NOBODY"}, "prod-db please")
		e.wantAudit("", "refused", "mallory", "not a requester of prod-db")
		e.wantAudit("", "refused", "slack:U0NOBODY", "unknown person")
	})

	t.Run("DuplicateAnswersWithTheFirstID", func(t *testing.T) {
		e := newEnv(t)
		first := e.ask(as("alice", bot.PlatformSlack), "prod-db locked out")
		for _, pl := range []bot.Platform{bot.PlatformSlack, bot.PlatformDiscord} {
			r := e.do(as("alice", pl), "prod-db still locked out")
			refused(t, r, bot.EDUPLICATE, first)
			if r.Request == nil || r.Request.ID != first {
				t.Errorf("from %s: reply's request: got %+v, want ID %s", pl, r.Request, first)
			}
		}
		open, err := e.store.Open(e.ctx, "alice")
		if err != nil || len(open) != 1 || open[0].ID != first {
			t.Errorf("open requests: got %+v, %v, want only %s", open, err, first)
		}
		e.wantAudit(first, "refused", "alice", "duplicate")
		// Another account is another request.
		if second := e.ask(as("alice", bot.PlatformSlack), "hpc:u1 also"); second == first {
			t.Errorf("a request for another account got the same ID %s", first)
		}
	})

	t.Run("RateLimit", func(t *testing.T) {
		e := newEnv(t, func(o *bot.Options) { o.Limit = bot.Limit{N: 2, Window: time.Hour} })
		alice := as("alice", bot.PlatformSlack)
		for i := 0; i < 2; i++ {
			id := e.ask(alice, "prod-db try")
			e.mustDo(alice, "cancel "+id)
			e.clock.Advance(time.Minute)
		}
		refused(t, e.do(alice, "prod-db third"), bot.ERATELIMIT, "try again in")
		e.wantAudit("", "refused", "alice", "rate limit")
		e.clock.Advance(time.Hour)
		e.ask(alice, "prod-db an hour later")
	})

	t.Run("DefaultRateLimitIs10AnHour", func(t *testing.T) {
		e := newEnv(t)
		alice := as("alice", bot.PlatformSlack)
		for i := 0; i < 10; i++ {
			id := e.ask(alice, "prod-db try")
			e.mustDo(alice, "cancel "+id)
		}
		refused(t, e.do(alice, "prod-db eleventh"), bot.ERATELIMIT, "10")
	})

	t.Run("IDCollisionTakesANewID", func(t *testing.T) {
		// The same random bytes twice, then others: the second ask first
		// draws the first one's ID.
		rnd := append(append(bytes.Repeat([]byte{0}, 16), bytes.Repeat([]byte{0}, 16)...), bytes.Repeat([]byte{1}, 16)...)
		e := newEnv(t, func(o *bot.Options) { o.Rand = bytes.NewReader(rnd) })
		first := e.ask(as("alice", bot.PlatformSlack), "prod-db one")
		second := e.ask(as("alice", bot.PlatformSlack), "hpc two")
		if first != "R-222222" || second != "R-333333" {
			t.Errorf("IDs: got %s, %s, want R-222222, R-333333", first, second)
		}
		if req := e.get(first); req.Account != "prod-db" {
			t.Errorf("the first request was overwritten: %+v", req)
		}
	})
}

func TestServiceVote(t *testing.T) {
	t.Run("ApproverApproves", func(t *testing.T) {
		e := newEnv(t)
		id := e.ask(as("alice", bot.PlatformSlack), "prod-db locked out")
		r := e.mustDo(as("bob", bot.PlatformDiscord), "approve "+strings.ToLower(id))
		if r.Request == nil || r.Request.State != bot.StateApproved {
			t.Errorf("reply's request: got %+v, want approved", r.Request)
		}
		req := e.wantState(id, bot.StateApproved)
		if v, ok := req.VoteOf("bob"); !ok || !v.Approve || v.Platform != bot.PlatformDiscord {
			t.Errorf("bob's vote: got %+v, %v", v, ok)
		}
		e.wantTold("alice", id, "approved by bob")
		e.wantCardState(id, bot.StateApproved)
		e.wantAudit(id, "approved", "bob", "1 of 1")
	})

	t.Run("ApproverByDiscordRole", func(t *testing.T) {
		e := newEnv(t)
		id := e.ask(as("alice", bot.PlatformSlack), "prod-db locked out")
		rita := as("rita", bot.PlatformDiscord)
		noRole := e.do(rita, "approve "+id)
		refused(t, noRole, bot.EFORBIDDEN, "not an approver of prod-db")
		rita.Roles = []string{"role-other", "role-dba"}
		e.mustDo(rita, "approve "+id)
		e.wantState(id, bot.StateApproved)
	})

	t.Run("NonApproverRefused", func(t *testing.T) {
		e := newEnv(t)
		id := e.ask(as("alice", bot.PlatformSlack), "prod-db locked out")
		for _, text := range []string{"approve " + id, "deny " + id + " no"} {
			refused(t, e.do(as("mallory", bot.PlatformSlack), text), bot.EFORBIDDEN, "not an approver of prod-db")
		}
		// alice may ask, not approve
		refused(t, e.do(as("alice", bot.PlatformDiscord), "approve "+id), bot.EFORBIDDEN, "not an approver")
		if req := e.wantState(id, bot.StatePending); len(req.Votes) != 0 {
			t.Errorf("votes: got %+v, want none", req.Votes)
		}
		e.wantAudit(id, "refused", "mallory", "not an approver of prod-db")
	})

	t.Run("UnknownPersonCannotVote", func(t *testing.T) {
		e := newEnv(t)
		id := e.ask(as("alice", bot.PlatformSlack), "prod-db locked out")
		refused(t, e.do(bot.Actor{Platform: bot.PlatformDiscord, UserID: "9999"}, "approve "+id), bot.EFORBIDDEN, "not in resetbot's list")
		e.wantState(id, bot.StatePending)
		e.wantAudit(id, "refused", "discord:9999", "unknown person")
	})

	t.Run("SelfApprovalRefusedFromAnyPlatform", func(t *testing.T) {
		e := newEnv(t)
		id := e.ask(as("sam", bot.PlatformSlack), "prod-db locked out")
		for _, pl := range []bot.Platform{bot.PlatformDiscord, bot.PlatformSlack} {
			refused(t, e.do(as("sam", pl), "approve "+id), bot.EFORBIDDEN, "your own request")
		}
		refused(t, e.do(as("sam", bot.PlatformDiscord), "deny "+id), bot.EFORBIDDEN, "your own request")
		if req := e.wantState(id, bot.StatePending); len(req.Votes) != 0 {
			t.Errorf("votes: got %+v, want none", req.Votes)
		}
		e.wantAudit(id, "refused", "sam", "your own request")
		// Someone else still may.
		e.mustDo(as("bob", bot.PlatformSlack), "approve "+id)
		e.wantState(id, bot.StateApproved)
	})

	t.Run("OneVotePerPerson", func(t *testing.T) {
		e := newEnv(t)
		id := e.ask(as("alice", bot.PlatformSlack), "hpc:u1 job")
		e.mustDo(as("bob", bot.PlatformSlack), "approve "+id)
		refused(t, e.do(as("bob", bot.PlatformDiscord), "approve "+id), bot.EFORBIDDEN, "already voted")
		refused(t, e.do(as("bob", bot.PlatformSlack), "approve "+id), bot.EFORBIDDEN, "already voted")
		refused(t, e.do(as("bob", bot.PlatformDiscord), "deny "+id), bot.EFORBIDDEN, "already voted")
		req := e.wantState(id, bot.StatePending)
		if req.Approved() != 1 || len(req.Votes) != 1 {
			t.Errorf("votes: got %+v, want bob's one approval", req.Votes)
		}
		e.wantAudit(id, "refused", "bob", "already voted")
	})

	t.Run("NDistinctApprovals", func(t *testing.T) {
		e := newEnv(t)
		id := e.ask(as("alice", bot.PlatformSlack), "hpc:u1,u2 job")
		r := e.mustDo(as("bob", bot.PlatformSlack), "approve "+id)
		if !strings.Contains(r.Text, "pending") {
			t.Errorf("reply after one of two: %q, want it to say pending", r.Text)
		}
		e.wantState(id, bot.StatePending)
		e.wantTold("alice", id, "bob approved (approvers 1/2)")
		e.wantCardState(id, bot.StatePending)
		e.mustDo(as("carol", bot.PlatformDiscord), "approve "+id)
		req := e.wantState(id, bot.StateApproved)
		if req.Approved() != 2 {
			t.Errorf("approvals: got %d, want 2", req.Approved())
		}
		e.wantTold("alice", id, "approved by bob, carol")
		e.wantCardState(id, bot.StateApproved)
		refused(t, e.do(as("dave", bot.PlatformSlack), "approve "+id), bot.ECONFLICT, "already approved")
	})

	t.Run("OneDenyEndsIt", func(t *testing.T) {
		e := newEnv(t)
		id := e.ask(as("alice", bot.PlatformSlack), "hpc:u1 job")
		e.mustDo(as("bob", bot.PlatformSlack), "approve "+id)
		e.mustDo(as("carol", bot.PlatformDiscord), "deny "+id+" not during the freeze")
		req := e.wantState(id, bot.StateDenied)
		if !strings.Contains(req.Outcome, "carol") || !strings.Contains(req.Outcome, "not during the freeze") {
			t.Errorf("outcome: got %q, want who denied and why", req.Outcome)
		}
		e.wantTold("alice", id, "denied by carol: not during the freeze")
		e.wantCardState(id, bot.StateDenied)
		e.wantAudit(id, "denied", "carol", "not during the freeze")
		refused(t, e.do(as("dave", bot.PlatformSlack), "approve "+id), bot.ECONFLICT, "already denied")
		e.wantAudit(id, "refused", "dave", "already denied")
		// The account is free to ask for again.
		e.ask(as("alice", bot.PlatformSlack), "hpc:u1 job, again")
	})

	t.Run("UnknownRequest", func(t *testing.T) {
		e := newEnv(t)
		refused(t, e.do(as("bob", bot.PlatformSlack), "approve R-222222"), bot.ENOTFOUND, "R-222222")
	})
}

func TestServiceExpiry(t *testing.T) {
	e := newEnv(t)
	id := e.ask(as("alice", bot.PlatformSlack), "prod-db locked out")
	other := e.ask(as("sam", bot.PlatformSlack), "hpc:u1 later")

	e.clock.Advance(29 * time.Minute)
	e.svc.Sweep(e.ctx)
	e.wantState(id, bot.StatePending)
	e.wantState(other, bot.StateExpired) // hpc's ttl is 10 minutes
	e.wantTold("sam", other, "expired")

	e.clock.Advance(time.Minute)
	refused(t, e.do(as("bob", bot.PlatformSlack), "approve "+id), bot.ECONFLICT, "expired")

	e.svc.Sweep(e.ctx)
	req := e.wantState(id, bot.StateExpired)
	if req.Outcome == "" {
		t.Errorf("an expired request has no outcome")
	}
	e.wantTold("alice", id, id+" expired")
	e.wantCardState(id, bot.StateExpired)
	e.wantAudit(id, "expired", "system", "")
	refused(t, e.do(as("bob", bot.PlatformDiscord), "approve "+id), bot.ECONFLICT, "already expired")

	// A second sweep finds nothing more to say.
	before := len(e.chat.all())
	e.svc.Sweep(e.ctx)
	if after := len(e.chat.all()); after != before {
		t.Errorf("a second sweep showed %d more messages, want none", after-before)
	}
	e.ask(as("alice", bot.PlatformSlack), "prod-db again")
}

func TestServiceCancel(t *testing.T) {
	t.Run("RequesterCancels", func(t *testing.T) {
		e := newEnv(t)
		id := e.ask(as("alice", bot.PlatformSlack), "prod-db locked out")
		refused(t, e.do(as("bob", bot.PlatformSlack), "cancel "+id), bot.EFORBIDDEN, "only alice")
		r := e.mustDo(as("alice", bot.PlatformDiscord), "cancel "+id)
		if !strings.Contains(r.Text, "cancelled") {
			t.Errorf("reply: %q, want it to say cancelled", r.Text)
		}
		e.wantState(id, bot.StateCancelled)
		e.wantCardState(id, bot.StateCancelled)
		e.wantAudit(id, "cancelled", "alice", "")
		refused(t, e.do(as("bob", bot.PlatformSlack), "approve "+id), bot.ECONFLICT, "already cancelled")
		refused(t, e.do(as("alice", bot.PlatformSlack), "cancel "+id), bot.ECONFLICT, "already cancelled")
	})

	t.Run("NotOnceApproved", func(t *testing.T) {
		e := newEnv(t)
		id := e.ask(as("alice", bot.PlatformSlack), "prod-db locked out")
		e.mustDo(as("bob", bot.PlatformSlack), "approve "+id)
		refused(t, e.do(as("alice", bot.PlatformSlack), "cancel "+id), bot.ECONFLICT, "already approved")
		e.wantState(id, bot.StateApproved)
	})
}

func TestServiceStatus(t *testing.T) {
	e := newEnv(t)
	id := e.ask(as("alice", bot.PlatformSlack), "prod-db locked out")
	if r := e.mustDo(as("alice", bot.PlatformSlack), "status"); !strings.Contains(r.Text, id) {
		t.Errorf("alice's open requests: %q, want %s", r.Text, id)
	}
	if r := e.mustDo(as("alice", bot.PlatformSlack), "status "+id); !strings.Contains(r.Text, "pending") {
		t.Errorf("status: %q, want pending", r.Text)
	}
	e.mustDo(as("bob", bot.PlatformDiscord), "status "+id)
	refused(t, e.do(as("mallory", bot.PlatformSlack), "status "+id), bot.ENOTFOUND, id)
	// Whoever may approve may look, whichever way they may approve.
	rita := as("rita", bot.PlatformDiscord)
	rita.Roles = []string{"role-dba"}
	if r := e.do(rita, "status "+id); r.Err != nil {
		t.Errorf("an approver by Discord role asks for the status: got %q (%v), want it", r.Text, r.Err)
	}
}

func TestServiceExecutes(t *testing.T) {
	t.Run("OffersThenRevealResets", func(t *testing.T) {
		e := newEnv(t)
		e.runExecutor(e.svc, "only")
		id := e.ask(as("alice", bot.PlatformDiscord), "hpc:u1,u2 job")
		e.mustDo(as("bob", bot.PlatformSlack), "approve "+id)
		e.mustDo(as("carol", bot.PlatformSlack), "approve "+id)
		e.waitOffer(id)
		if n := e.prov.calls.Load(); n != 0 {
			t.Fatalf("provider calls before the click: got %d, want 0", n)
		}
		var sh show
		if err := e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, sh.fn); err != nil {
			t.Fatalf("Reveal: %v", err)
		}
		req := e.wantState(id, bot.StateSucceeded)
		if req.Outcome != "reset u1, u2" {
			t.Errorf("outcome: got %q, want reset u1, u2", req.Outcome)
		}
		if sh.calls != 1 || len(sh.results) != 2 || sh.results[0].User != "u1" || sh.results[1].User != "u2" {
			t.Errorf("shown: %d calls, %+v; want one with u1 and u2", sh.calls, sh.results)
		}
		e.wantTold("alice", id, id+" done: reset u1, u2")
		e.wantCardState(id, bot.StateSucceeded)
		e.wantAudit(id, "delivered", "system", "to alice, at the Reveal click")
		e.wantAudit(id, "succeeded", "system", "reset u1, u2")
		e.waitWithdrawn(id, bot.StateSucceeded)
	})

	// The cloud refuses at the click: the answer says what it said, in the
	// provider's words, and the request fails so, on every card.
	tests := []struct {
		name    string
		err     error
		code    string
		outcome string
	}{
		{"ProviderRefuses", bot.Errorf(bot.EPROVIDER, "account app_user does not exist in TDSQL"), bot.EPROVIDER, "account app_user does not exist in TDSQL"},
		{"OutcomeUnknown", bot.Errorf(bot.EUNKNOWN, "outcome unknown for prod-db: check the account before asking again"), bot.EUNKNOWN, "outcome unknown for prod-db"},
		{"InternalError", errors.New("sdk: connection reset by peer 10.0.0.1"), bot.EPROVIDER, "internal error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.prov.err = tc.err
			e.runExecutor(e.svc, "only")
			id := e.ask(as("alice", bot.PlatformSlack), "prod-db locked out")
			e.mustDo(as("bob", bot.PlatformSlack), "approve "+id)
			e.waitOffer(id)
			var sh show
			err := e.svc.Reveal(e.ctx, as("alice", bot.PlatformSlack), id, sh.fn)
			if bot.ErrorCode(err) != tc.code || bot.ErrorMessage(err) != id+" failed: "+bot.ErrorMessage(tc.err) {
				t.Errorf("Reveal: got %v, want %s %q", err, tc.code, id+" failed: "+bot.ErrorMessage(tc.err))
			}
			req := e.wantState(id, bot.StateFailed)
			if !strings.Contains(req.Outcome, tc.outcome) {
				t.Errorf("outcome: got %q, want %q", req.Outcome, tc.outcome)
			}
			for _, text := range []string{req.Outcome, bot.ErrorMessage(err)} {
				if strings.Contains(text, "10.0.0.1") {
					t.Errorf("%q shows an internal error's text", text)
				}
			}
			if sh.calls != 0 {
				t.Errorf("shows: got %d, want none", sh.calls)
			}
			e.wantTold("alice", id, id+" failed: "+req.Outcome)
			e.wantCardState(id, bot.StateFailed)
			e.wantAudit(id, "failed", "system", tc.outcome)
			e.waitWithdrawn(id, bot.StateFailed)
		})
	}
}

// TestServiceExactlyOnce: three replicas on one Redis, 50 approve clicks at
// once from five approvers on both platforms, spread over the replicas: one
// offer. Then 30 Reveal clicks by the requester, from both platforms,
// spread over the replicas: one provider call, one answer with the
// password.
func TestServiceExactlyOnce(t *testing.T) {
	e := newEnv(t)
	svcs := []*bot.Service{e.svc}
	for i := 1; i < 3; i++ {
		client, _ := redistest.Client(t)
		svc, _ := e.newService(client)
		svcs = append(svcs, svc)
	}
	var stops []func()
	for i, svc := range svcs {
		stops = append(stops, e.runExecutor(svc, fmt.Sprintf("replica-%d", i)))
	}
	id := e.ask(as("alice", bot.PlatformSlack), "hpc:u1,u2 the batch is down")

	approvers := []string{"bob", "carol", "dave", "erin", "frank"}
	const clicks = 50
	start := make(chan struct{})
	replies := make(chan bot.Reply, clicks)
	var wg sync.WaitGroup
	for i := 0; i < clicks; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pl := bot.PlatformSlack
			if i%2 == 1 {
				pl = bot.PlatformDiscord
			}
			<-start
			replies <- svcs[i%len(svcs)].HandleText(e.ctx, as(approvers[i%len(approvers)], pl), "approve "+id)
		}()
	}
	close(start)
	wg.Wait()
	close(replies)

	accepted := 0
	for r := range replies {
		switch bot.ErrorCode(r.Err) {
		case "":
			accepted++
		case bot.ECONFLICT, bot.EFORBIDDEN:
		default:
			t.Errorf("a click got %q (%v), want acceptance or a refusal", r.Text, r.Err)
		}
	}
	if accepted != 2 {
		t.Errorf("accepted votes: got %d, want 2 (the approvals needed)", accepted)
	}
	e.waitOffer(id)
	req := e.wantState(id, bot.StateOffered)
	if req.Approved() != 2 || len(req.Votes) != 2 {
		t.Errorf("votes: got %+v, want 2 approvals", req.Votes)
	}

	var sh show
	const reveals = 30
	errs := make(chan error, reveals)
	start = make(chan struct{})
	for i := range reveals {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pl := bot.PlatformSlack
			if i%2 == 1 {
				pl = bot.PlatformDiscord // the text fallback, typed on the other platform
			}
			<-start
			errs <- svcs[i%len(svcs)].Reveal(e.ctx, as("alice", pl), id, sh.fn)
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	won := 0
	for err := range errs {
		switch bot.ErrorCode(err) {
		case "":
			won++
		case bot.ECONFLICT:
		default:
			t.Errorf("a Reveal click got %v, want success or a conflict", err)
		}
	}
	if won != 1 {
		t.Errorf("Reveal clicks that reset: got %d, want 1", won)
	}
	e.wantState(id, bot.StateSucceeded)
	// Nothing is left that another executor could take: no lease, no queue
	// entry pending or unread.
	if n := e.client.ZCard(e.ctx, "{"+e.prefix+"}leases").Val(); n != 0 {
		t.Errorf("leases: got %d, want 0", n)
	}
	if n := e.client.XLen(e.ctx, "{"+e.prefix+"}queue").Val(); n != 0 {
		t.Errorf("queue entries: got %d, want 0", n)
	}
	pending, err := e.client.XPending(e.ctx, "{"+e.prefix+"}queue", approvals.Group).Result()
	if err != nil || pending.Count != 0 {
		t.Errorf("pending queue entries: got %+v, %v, want 0", pending, err)
	}
	// Stop every executor: whatever they were about to do is done.
	for _, stop := range stops {
		stop()
	}

	if got := e.prov.calls.Load(); got != 1 {
		t.Errorf("provider calls: got %d, want 1", got)
	}
	if sh.calls != 1 || len(sh.results) != 2 {
		t.Errorf("answers with the password: got %d (%d results), want 1 with 2", sh.calls, len(sh.results))
	}
	if got := e.chat.count("offer", nil); got != 1 {
		t.Errorf("offers: got %d, want 1", got)
	}
	posts := e.chat.count("card", func(s shown) bool { return s.Ref == "" })
	if posts != 2 {
		t.Errorf("cards posted: got %d, want 2 (one per platform)", posts)
	}
	e.wantCardState(id, bot.StateSucceeded)
	e.waitWithdrawn(id, bot.StateSucceeded)
}

// TestServiceResumedExecution: an executor claims a request from the queue
// and dies before offering it. Nothing was reset, so another replica's
// executor, once the lease has run out, offers it (not "outcome unknown"),
// and the requester's Reveal resets it.
func TestServiceResumedExecution(t *testing.T) {
	e := newEnv(t)
	id := e.ask(as("alice", bot.PlatformSlack), "prod-db locked out")
	e.mustDo(as("bob", bot.PlatformSlack), "approve "+id)

	deadClient, _ := redistest.Client(t)
	dead := approvals.New(deadClient, approvals.Options{Prefix: e.prefix, Clock: e.clock})
	claim, err := dead.Next(e.ctx, "dead", 50*time.Millisecond)
	if err != nil {
		t.Fatalf("the dead executor's Next: %v", err)
	}
	if claim.Request.ID != id || claim.Stale || claim.Resumed {
		t.Fatalf("the dead executor's claim: got %+v, want a fresh claim of %s", claim, id)
	}
	e.wantState(id, bot.StateExecuting)

	liveClient, _ := redistest.Client(t)
	live, _ := e.newService(liveClient)
	e.runExecutor(live, "live")
	e.clock.Advance(time.Second) // the dead executor's lease runs out

	e.waitOffer(id)
	req := e.wantState(id, bot.StateOffered)
	if !strings.Contains(req.Outcome, "waiting for alice to reveal") {
		t.Errorf("outcome: got %q, want it waiting for alice's Reveal", req.Outcome)
	}
	if got := e.prov.calls.Load(); got != 0 {
		t.Errorf("provider calls: got %d, want 0", got)
	}
	e.wantAudit(id, "executing", "system", "taken over by live")
	e.wantAudit(id, "executing", "system", "nothing was reset")
	// The dead executor coming back can neither offer nor end it.
	if _, err := dead.Offer(e.ctx, claim, e.clock.Now().Add(time.Hour), "x"); bot.ErrorCode(err) != bot.ECONFLICT {
		t.Errorf("the dead executor's Offer: got %v, want %s", err, bot.ECONFLICT)
	}
	if _, err := dead.Finish(e.ctx, claim, bot.StateFailed, "x"); bot.ErrorCode(err) != bot.ECONFLICT {
		t.Errorf("the dead executor's Finish: got %v, want %s", err, bot.ECONFLICT)
	}
	var sh show
	if err := e.svc.Reveal(e.ctx, as("alice", bot.PlatformSlack), id, sh.fn); err != nil {
		t.Fatalf("Reveal: %v", err)
	}
	e.wantState(id, bot.StateSucceeded)
	if got := e.prov.calls.Load(); got != 1 || sh.calls != 1 {
		t.Errorf("provider calls, answers: got %d, %d; want 1, 1", got, sh.calls)
	}
	if n := e.chat.count("offer", nil); n != 1 {
		t.Errorf("offers: got %d, want 1", n)
	}
}

// TestServiceRedisDown stops Redis under a running service: people get a
// clear answer, nothing panics, and the service works again once Redis is
// back (empty: the test server keeps nothing on disk).
func TestServiceRedisDown(t *testing.T) {
	srv, err := redistest.Start()
	if err != nil {
		t.Fatalf("no redis-server of the test's own: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1}) // fail fast while it is down
	t.Cleanup(func() { _ = client.Close() })
	e := newEnvOn(t, client, "down:")
	e.runExecutor(e.svc, "only")
	id := e.ask(as("alice", bot.PlatformSlack), "prod-db locked out")

	if err := srv.Stop(); err != nil {
		t.Fatalf("stop redis: %v", err)
	}
	for _, c := range []struct {
		actor bot.Actor
		text  string
	}{
		{as("alice", bot.PlatformSlack), "hpc:u1 locked out"},
		{as("bob", bot.PlatformSlack), "approve " + id},
		{as("alice", bot.PlatformSlack), "cancel " + id},
		{as("alice", bot.PlatformDiscord), "status"},
		{as("alice", bot.PlatformDiscord), "status " + id},
	} {
		r := e.do(c.actor, c.text)
		refused(t, r, bot.EUNAVAILABLE, "unreachable")
		if strings.Contains(r.Text, srv.Addr) || strings.Contains(r.Text, "connection refused") {
			t.Errorf("%q: reply %q shows Redis's own error", c.text, r.Text)
		}
	}
	e.svc.Sweep(e.ctx) // logs, does not panic
	if !strings.Contains(e.log.String(), "unreachable") {
		t.Errorf("log: want the outage logged, got %q", e.log.String())
	}

	if err := srv.Restart(); err != nil {
		t.Fatalf("restart redis: %v", err)
	}
	// The client takes a moment to dial again after failures: ask until
	// Redis answers.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	r := e.do(as("alice", bot.PlatformSlack), "prod-db locked out, again")
	for bot.ErrorCode(r.Err) == bot.EUNAVAILABLE {
		select {
		case <-e.ctx.Done():
			t.Fatalf("Redis is back, the service is not: %q", r.Text)
		case <-tick.C:
		}
		r = e.do(as("alice", bot.PlatformSlack), "prod-db locked out, again")
	}
	if r.Err != nil || r.Request == nil {
		t.Fatalf("ask after the restart: got %q (%v)", r.Text, r.Err)
	}
	id = r.Request.ID
	e.mustDo(as("bob", bot.PlatformSlack), "approve "+id)
	e.waitOffer(id)
	var sh show
	if err := e.svc.Reveal(e.ctx, as("alice", bot.PlatformSlack), id, sh.fn); err != nil {
		t.Fatalf("Reveal after the restart: %v", err)
	}
	e.wantState(id, bot.StateSucceeded)
	if got := e.prov.calls.Load(); got != 1 {
		t.Errorf("provider calls: got %d, want 1", got)
	}
}

// TestServicePasswordOnlyInTheRevealAnswer runs full flows and looks for
// the new passwords everywhere the bot writes: every Redis key, the audit
// log, every card, status line, offer and withdrawn offer, the replies and
// Reveal's answers, the log and the metrics. They may only be in what
// Reveal handed to show.
func TestServicePasswordOnlyInTheRevealAnswer(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(e *env, sh *show)
		state   bot.State
		audited bot.EventKind
	}{
		{"Revealed", func(e *env, sh *show) {}, bot.StateSucceeded, "delivered"},
		{"PartlyFailedAndNotShown", func(e *env, sh *show) {
			e.prov.userErr = map[string]error{"u2": bot.Errorf(bot.EPROVIDER, "user u2 does not exist in the cluster")}
			sh.err = errors.New("discord: unknown webhook")
		}, bot.StateFailed, "delivery_failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			var sh show
			tc.setup(e, &sh)
			e.runExecutor(e.svc, "only")
			var replies []string
			do := func(a bot.Actor, text string) {
				r := e.do(a, text)
				replies = append(replies, fmt.Sprintf("%+v %v", r, r.Request))
			}
			id := e.ask(as("alice", bot.PlatformDiscord), "hpc:u1,u2 the batch is down")
			do(as("bob", bot.PlatformSlack), "approve "+id)
			do(as("carol", bot.PlatformDiscord), "approve "+id)
			e.waitOffer(id)
			do(as("alice", bot.PlatformDiscord), "reveal "+id)
			err := e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, sh.fn)
			replies = append(replies, fmt.Sprintf("%v %+v", err, err))
			if got := e.get(id).State; got != tc.state {
				t.Fatalf("state: got %s (%v), want %s", got, err, tc.state)
			}
			err = e.svc.Reveal(e.ctx, as("alice", bot.PlatformDiscord), id, sh.fn)
			replies = append(replies, fmt.Sprintf("%v %+v", err, err))
			do(as("alice", bot.PlatformDiscord), "status "+id)
			do(as("bob", bot.PlatformSlack), "status "+id)
			do(as("alice", bot.PlatformSlack), "status")
			do(as("dave", bot.PlatformSlack), "approve "+id)
			e.waitWithdrawn(id, tc.state)

			passwords := e.prov.generated()
			if len(passwords) == 0 {
				t.Fatal("the provider made no password")
			}
			// Where the passwords must not be.
			places := map[string]string{
				"redis":   redisDump(t, e),
				"audit":   auditDump(t, e),
				"log":     e.log.String(),
				"metrics": e.metrics.String(),
				"chat":    chatDump(e),
				"replies": strings.Join(replies, "\n"),
			}
			if !strings.Contains(places["redis"], "{"+e.prefix+"}req:"+id) || !strings.Contains(places["redis"], "the batch is down") {
				t.Fatalf("the Redis dump misses the request: the scan is broken")
			}
			if !strings.Contains(places["audit"], `"`+string(tc.audited)+`"`) {
				t.Fatalf("the audit dump misses %s: the scan is broken", tc.audited)
			}
			if !strings.Contains(places["chat"], "withdraw") {
				t.Fatalf("the chat dump misses the withdrawn offer: the scan is broken")
			}
			if tc.state == bot.StateFailed && !strings.Contains(places["log"], "show the new password") {
				t.Errorf("log: want the failed answer logged, got %q", places["log"])
			}
			var answered strings.Builder
			for _, r := range sh.all() {
				answered.WriteString(r.Password.Value() + "\n")
			}
			for _, pw := range passwords {
				if !strings.Contains(answered.String(), pw) {
					t.Errorf("password %q was not handed to the click's answer", pw)
				}
				for where, text := range places {
					if strings.Contains(text, pw) {
						t.Errorf("a new password shows in the %s", where)
					}
				}
			}
		})
	}
}

// chatDump is everything the chat platforms were asked to show, printed
// every way a careless adapter might.
func chatDump(e *env) string {
	var b strings.Builder
	for _, s := range e.chat.all() {
		fmt.Fprintf(&b, "%+v %v\n", s, s)
		j, _ := json.Marshal(s)
		b.Write(j)
		b.WriteString("\n")
	}
	return b.String()
}

// redisDump is every key of the test server with its contents.
func redisDump(t *testing.T, e *env) string { return testkit.RedisDump(t, e.client, "*") }

func auditDump(t *testing.T, e *env) string {
	t.Helper()
	events, err := e.store.AuditLog(e.ctx, bot.AuditQuery{})
	if err != nil {
		t.Fatalf("AuditLog: %v", err)
	}
	b, err := json.Marshal(events)
	if err != nil {
		t.Fatalf("encode the audit log: %v", err)
	}
	return string(b)
}
