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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"resetbot/adapters/chat"
	"resetbot/bot"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

// DefaultAPIURL is where REST calls go unless Options.APIURL says otherwise.
const DefaultAPIURL = "https://discord.com/api/v10/"

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
	editTimeout     = 30 * time.Second // editing a deferred answer in
	// maxWorking bounds background work running at once, so that a burst
	// of interactions queues instead of starving the Redis pool.
	maxWorking = 32
	attempts   = 3 // tries of one REST call
	// strangerTimeout bounds refusing a stranger, which happens within the
	// acknowledgement.
	strangerTimeout = 1 * time.Second
)

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

	// Seen tells an interaction delivered twice (a replay, or over HTTP
	// and the Gateway) from the first; every replica must share it. nil:
	// remembered in this process only.
	Seen chat.Seen

	// Lease keeps the Gateway session to one replica. nil: this replica
	// assumes it is the only one.
	Lease Lease
	// LeaseTTL is how long the Gateway lease lasts without renewal (it is
	// renewed every third of it). 0: 30s.
	LeaseTTL time.Duration

	// AckWithin is how long a command may run before its answer is deferred
	// (Discord wants a response within 3 s). 0: 1.5s; negative: always defer.
	AckWithin time.Duration
	// Gate admits each user's interactions before any work is queued or
	// the store is asked: beyond it, they are told to slow down. nil: one a
	// second per user, in bursts of 20.
	Gate *chat.Gate
	// MaxWorking bounds the work run at once; as much again may wait for
	// a slot, and beyond that an interaction is told that the bot is busy.
	// 0: 32.
	MaxWorking int

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
	seen      chat.Seen
	ackWithin time.Duration
	maxWait   time.Duration
	leaseTTL  time.Duration
	retry     chat.Retry
	pool      *chat.Pool
	gate      *chat.Gate
	cards     chat.Cards

	meMu sync.Mutex
	me   string // the bot's user ID, once asked (botUserID)

	svc atomic.Pointer[chat.Service]
}

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
	a.seen = chat.SeenOr(opts.Seen, a.clock)
	if a.ackWithin == 0 {
		a.ackWithin = defaultAck
	}
	if a.maxWait <= 0 {
		a.maxWait = defaultMaxWait
	}
	if a.leaseTTL <= 0 {
		a.leaseTTL = defaultLeaseTTL
	}
	working := opts.MaxWorking
	if working <= 0 {
		working = maxWorking
	}
	a.pool = chat.NewPool("discord", working, a.log)
	a.gate = opts.Gate
	if a.gate == nil {
		a.gate = chat.NewGate(time.Second, 20)
	}
	// A 429 longer than maxWait fails at once, saying when to try again:
	// the person waiting for an answer should not wait in silence.
	a.retry = chat.Retry{Platform: "discord", Tries: attempts, MaxWait: a.maxWait, Log: a.log, Describe: cause}

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
// serving: the service needs the adapter as a Notifier first.
func (a *Adapter) Attach(s chat.Service) { a.svc.Store(&s) }

// service is the attached service, or nil before Attach.
func (a *Adapter) service() chat.Service {
	if s := a.svc.Load(); s != nil {
		return *s
	}
	return nil
}

// Register adds POST /discord/interactions to mux.
func (a *Adapter) Register(mux *http.ServeMux) {
	mux.HandleFunc(routeInteractions, a.serveHTTP)
}

// routeInteractions is the pattern of the Interactions Endpoint URL.
const routeInteractions = "POST /discord/interactions"

// Routes are the patterns Register serves, for the HTTP metrics.
func (a *Adapter) Routes() []string { return []string{routeInteractions} }

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

// Wait blocks until the work started by interactions is done. Call it
// after the HTTP server and Run have stopped, for a graceful shutdown.
func (a *Adapter) Wait() { a.pool.Wait() }

func randomHolder() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails
	return hex.EncodeToString(b[:])
}
