package discord

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"resetbot/bot"
)

// DefaultAPIURL is where REST calls go unless Options.APIURL says otherwise.
const DefaultAPIURL = "https://discord.com/api/v10/"

// RefInteraction is the key of Request.Refs under which the adapter keeps the
// token of the interaction with which the requester asked.
const RefInteraction = "discord.interaction"

const (
	commandName     = "reset-password"
	signatureWindow = 5 * time.Minute // how old (or early) a signed timestamp may be
	tokenLife       = 15 * time.Minute
	tokenMargin     = 30 * time.Second // clock skew and the time a follow-up takes
	seenTTL         = 2 * signatureWindow
	maxBody         = 256 << 10
	defaultAck      = 1500 * time.Millisecond
	defaultMaxWait  = 5 * time.Second
	defaultLeaseTTL = 30 * time.Second
	workTimeout     = 2 * time.Minute
)

// Bot is what the adapter needs of the service; *bot.Service satisfies it.
type Bot interface {
	// Handle runs cmd for a. The reply is shown to a alone.
	Handle(ctx context.Context, a bot.Actor, cmd bot.Command) bot.Reply
	// Person finds who a platform user is.
	Person(p bot.Platform, userID string) (bot.Person, bool)
	// AccountsFor lists the accounts p may ask for, by name.
	AccountsFor(p bot.Person) []bot.Account
	// CheckVote tells whether a may vote on request id, before the Deny
	// form opens.
	CheckVote(ctx context.Context, a bot.Actor, id string) error
}

// Revealer is the part of the service that runs a reset at the requester's
// click on Reveal, so that a password that cannot be delivered at once never
// has to be kept. *bot.Service implements it; a Bot that does not gets a
// Reveal button that answers that it is not available.
type Revealer interface {
	// Reveal resets the passwords of the request id waiting for Reveal, when
	// a is its requester, and hands them to show, which puts them in the
	// click's ephemeral answer. Errors are *bot.Error: ENOTFOUND, EFORBIDDEN
	// (a is not the requester), ECONFLICT (not waiting for a reveal), or the
	// reset's failure.
	Reveal(ctx context.Context, a bot.Actor, id string, show func(context.Context, []bot.UserResult) error) error
}

// Lease lets one replica of many hold a named role (the Gateway session) at
// a time. Every method is atomic across replicas; a lease not renewed within
// its ttl is free for anyone. Errors mean the store could not be reached and
// say nothing about who holds the lease.
type Lease interface {
	// Acquire takes name for holder for ttl when nobody holds it, or extends
	// it when holder already does. It reports whether holder holds it now.
	Acquire(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// Renew extends holder's lease on name to ttl from now. It reports false,
	// and changes nothing, when holder no longer holds it.
	Renew(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// Release gives name up if holder holds it, and does nothing otherwise.
	Release(ctx context.Context, name, holder string) error
}

// Options configure an Adapter. cmd/resetbot fills them in from the
// `discord:` section of the configuration.
type Options struct {
	BotToken         string // with or without the "Bot " prefix
	ApplicationID    string
	PublicKey        string // the application's Ed25519 public key, hex
	GuildID          string // commands are registered in this guild; "" registers them globally
	APIURL           string // "": DefaultAPIURL
	ApprovalsChannel string // channel ID of the approval cards

	// Gateway makes Run hold a Gateway session through which interactions
	// also arrive (for deployments that cannot be reached over HTTP).
	Gateway bool

	HTTPClient *http.Client // nil: a client with a 20s timeout
	Clock      bot.Clock    // nil: the wall clock
	Log        *slog.Logger // nil: discard

	// Seen reports whether key is seen for the first time within ttl, in
	// every replica (Redis SET NX). nil: remembered in this process only.
	Seen func(ctx context.Context, key string, ttl time.Duration) (first bool, err error)

	// Lease keeps the Gateway session to one replica. nil: this replica
	// assumes it is the only one.
	Lease Lease
	// LeaseTTL is how long the Gateway lease lasts without renewal (it is
	// renewed every third of it). 0: 30s.
	LeaseTTL time.Duration

	// AckWithin is how long a command may run before its answer is deferred
	// (Discord wants a response within 3 s). 0: 1.5s; negative: always defer.
	AckWithin time.Duration
	// MaxRetryWait is the longest the adapter waits on a rate limit (a 429's
	// retry_after or a bucket's reset) before it gives up. 0: 5s.
	MaxRetryWait time.Duration
}

// Adapter is the Discord side of resetbot: an HTTP handler, a Gateway client
// and a bot.Notifier.
type Adapter struct {
	opts      Options
	publicKey ed25519.PublicKey
	rest      *discordgo.Session
	client    *http.Client
	clock     bot.Clock
	log       *slog.Logger
	seen      func(ctx context.Context, key string, ttl time.Duration) (bool, error)
	ackWithin time.Duration
	maxWait   time.Duration
	leaseTTL  time.Duration

	bot   atomic.Value // botBox
	cards cards

	wg sync.WaitGroup
}

type botBox struct{ b Bot }

var _ bot.Notifier = (*Adapter)(nil)

// New checks opts and makes an Adapter. It makes no network calls.
func New(opts Options) (*Adapter, error) {
	token := strings.TrimSpace(strings.TrimPrefix(opts.BotToken, "Bot "))
	switch {
	case token == "":
		return nil, errors.New("discord: no bot token")
	case opts.ApplicationID == "":
		return nil, errors.New("discord: no application ID")
	case opts.ApprovalsChannel == "":
		return nil, errors.New("discord: no approvals channel")
	}
	key, err := hex.DecodeString(opts.PublicKey)
	if err != nil || len(key) != ed25519.PublicKeySize {
		return nil, errors.New("discord: the public key must be 64 hex digits (the application's Ed25519 key)")
	}
	if opts.APIURL == "" {
		opts.APIURL = DefaultAPIURL
	}
	to, err := url.Parse(opts.APIURL)
	if err != nil || (to.Scheme != "http" && to.Scheme != "https") || to.Host == "" {
		return nil, fmt.Errorf("discord: api_url %q is not an http(s) URL", opts.APIURL)
	}
	if !strings.HasSuffix(to.Path, "/") {
		to.Path += "/"
		to.RawPath = ""
	}
	// discordgo's API prefix is read, never written: see transport.go.
	from, err := url.Parse(discordgo.EndpointAPI)
	if err != nil {
		return nil, fmt.Errorf("discord: discordgo's API endpoint: %w", err)
	}

	a := &Adapter{
		opts:      opts,
		publicKey: ed25519.PublicKey(key),
		clock:     opts.Clock,
		log:       opts.Log,
		seen:      opts.Seen,
		ackWithin: opts.AckWithin,
		maxWait:   opts.MaxRetryWait,
		leaseTTL:  opts.LeaseTTL,
	}
	if a.clock == nil {
		a.clock = bot.SystemClock{}
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.seen == nil {
		a.seen = newMemorySeen(a.clock).Seen
	}
	if a.ackWithin == 0 {
		a.ackWithin = defaultAck
	}
	if a.maxWait <= 0 {
		a.maxWait = defaultMaxWait
	}
	if a.leaseTTL <= 0 {
		a.leaseTTL = defaultLeaseTTL
	}

	base := opts.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: 20 * time.Second}
	}
	client := *base
	next := base.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	client.Transport = &rewriter{from: from, to: to, next: next, maxWait: a.maxWait}
	a.client = &client

	a.rest = a.session(token)
	return a, nil
}

// session makes a discordgo session whose REST calls go through the
// adapter's client.
func (a *Adapter) session(token string) *discordgo.Session {
	s, _ := discordgo.New("Bot " + token) // New never fails
	s.Client = a.client
	// Rate limits are retried by call, which bounds the wait and honours
	// the context; discordgo would sleep as long as Discord asks, again and
	// again.
	s.ShouldRetryOnRateLimit = false
	s.ShouldReconnectOnError = false // Run reconnects, under the lease
	s.StateEnabled = false
	s.Identify.Intents = discordgo.IntentsNone // interactions need no intents
	s.LogLevel = -1                            // discordgo logs through the log package; the adapter logs itself
	// The Gateway's handshake is bounded well within a lease's life.
	s.Dialer = &websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: min(10*time.Second, a.leaseTTL/3)}
	return s
}

// Platform is Discord.
func (a *Adapter) Platform() bot.Platform { return bot.PlatformDiscord }

// Attach gives the adapter the service it hands commands to. Call it before
// serving.
func (a *Adapter) Attach(b Bot) { a.bot.Store(botBox{b}) }

func (a *Adapter) service() Bot {
	box, _ := a.bot.Load().(botBox)
	return box.b
}

// Register adds POST /discord/interactions to mux.
func (a *Adapter) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /discord/interactions", a.serveHTTP)
}

// Start registers the slash command, replacing whatever the application had
// (in the guild when GuildID is set, else globally).
func (a *Adapter) Start(ctx context.Context) error {
	cmds := commands()
	err := a.call(ctx, "register the /reset-password command", true, func(o ...discordgo.RequestOption) error {
		_, err := a.rest.ApplicationCommandBulkOverwrite(a.opts.ApplicationID, a.opts.GuildID, cmds, o...)
		return err
	})
	if err != nil {
		return fmt.Errorf("discord: %w", err)
	}
	return nil
}

// Wait blocks until the work started by interactions is done.
func (a *Adapter) Wait() { a.wg.Wait() }

// goBackground runs f in a goroutine that Wait waits for. A panic in f is
// logged rather than taking the process down with it.
func (a *Adapter) goBackground(f func()) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer func() {
			if p := recover(); p != nil {
				a.log.Error("discord: panic in background work", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			}
		}()
		f()
	}()
}

func randomHolder() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails
	return hex.EncodeToString(b[:])
}

// memorySeen remembers keys in this process: enough for one replica.
type memorySeen struct {
	clock bot.Clock
	mu    sync.Mutex
	keys  map[string]time.Time // key -> expiry
}

func newMemorySeen(c bot.Clock) *memorySeen {
	return &memorySeen{clock: c, keys: map[string]time.Time{}}
}

func (m *memorySeen) Seen(_ context.Context, key string, ttl time.Duration) (bool, error) {
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if exp, ok := m.keys[key]; ok && now.Before(exp) {
		return false, nil
	}
	if len(m.keys) > 1024 { // keep the map small: drop what has expired
		for k, exp := range m.keys {
			if !now.Before(exp) {
				delete(m.keys, k)
			}
		}
	}
	m.keys[key] = now.Add(ttl)
	return true, nil
}
