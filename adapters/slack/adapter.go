package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"resetbot/adapters/chat"
	"resetbot/bot"
)

// Options configure an Adapter. cmd/resetbot fills them in from the `slack:`
// section of the config.
type Options struct {
	BotToken      string // xoxb-…: every Web API call
	SigningSecret string // verifies HTTP requests; not needed for Socket Mode alone
	AppToken      string // xapp-…: turns Socket Mode on
	// APIURL is the Web API's base URL; empty: https://slack.com/api/.
	// GovSlack, proxies and tests set their own.
	APIURL           string
	ApprovalsChannel string // channel ID where approval cards go
	// Command is the slash command's name (slack.command); payloads of any
	// other command sent to the same URL are refused. Empty:
	// "/reset-password".
	Command string
	// MaxRetryWait is the longest Retry-After the adapter waits out: a call
	// Slack asks to wait longer fails at once with EUNAVAILABLE (nothing
	// was sent), so that no work outlives its deadline waiting. 0: 5s, as
	// on Discord.
	MaxRetryWait time.Duration

	HTTPClient *http.Client // nil: a client with a 15 s timeout
	Clock      bot.Clock    // nil: the wall clock; checks request timestamps
	Log        *slog.Logger // nil: discard

	// Seen tells a payload Slack delivers twice from the first; every
	// replica must share it. Nil: an in-process memory, right for one
	// replica only.
	Seen chat.Seen

	// Gate admits each user's payloads before any work is queued for them.
	// Nil: one every 2 s, in bursts of 10.
	Gate *chat.Gate
}

// Adapter connects one Slack workspace to the bot. It is a bot.Notifier for
// the service and serves Slack's HTTP requests and Socket Mode events.
type Adapter struct {
	opts    Options
	api     *slack.Client
	log     *slog.Logger
	clock   bot.Clock
	seen    chat.Seen
	apiBase *url.URL
	retry   chat.Retry
	pool    *chat.Pool
	gate    *chat.Gate
	cards   chat.Cards

	bot chat.Service

	dmMu sync.Mutex
	dms  map[string]string // user ID -> their DM channel with the bot

	botMu sync.Mutex
	botID string // the bot's own bot ID (auth.test), once known
}

var _ bot.Notifier = (*Adapter)(nil)

// Limits and timeouts of the adapter.
const (
	maxBody     = 64 << 10         // Slack's payloads are a few KiB
	maxSkew     = 5 * time.Minute  // Slack's advice for request timestamps
	workTimeout = 30 * time.Second // one command's background work, Slack calls included
	seenTTL     = 15 * time.Minute // longer than the signature window and Slack's retries
	// maxWorking bounds background work running at once, so that a burst of
	// commands queues instead of starving the acknowledgements of CPU and
	// the Redis pool of connections.
	maxWorking = 32
	maxTries   = 4 // of one Web API call
	// Each user's payloads are admitted at this rate, with this burst,
	// before any work is queued for them.
	gateEvery = 2 * time.Second
	gateBurst = 10
	// DefaultCommand is the slash command's name unless Options.Command
	// says otherwise.
	DefaultCommand = "/reset-password"
	// DefaultMaxRetryWait is Options.MaxRetryWait's default.
	DefaultMaxRetryWait = 5 * time.Second
)

// New checks opts and makes an Adapter. Attach the bot before serving.
func New(opts Options) (*Adapter, error) {
	var problems []string
	if opts.BotToken == "" {
		problems = append(problems, "slack.bot_token is empty")
	}
	if opts.SigningSecret == "" && opts.AppToken == "" {
		problems = append(problems, "slack.signing_secret is empty (it is required unless slack.app_token turns on Socket Mode)")
	}
	if opts.ApprovalsChannel == "" {
		problems = append(problems, "slack.approvals_channel is empty")
	}
	if opts.Command == "" {
		opts.Command = DefaultCommand
	}
	if !strings.HasPrefix(opts.Command, "/") || len(opts.Command) < 2 || strings.ContainsFunc(opts.Command, bot.IsSpace) {
		problems = append(problems, fmt.Sprintf("slack.command %q is not a slash command (like /reset-password)", opts.Command))
	}
	if opts.MaxRetryWait <= 0 {
		opts.MaxRetryWait = DefaultMaxRetryWait
	}
	if opts.APIURL == "" {
		opts.APIURL = slack.APIURL
	}
	if !strings.HasSuffix(opts.APIURL, "/") {
		opts.APIURL += "/"
	}
	base, err := url.Parse(opts.APIURL)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		problems = append(problems, fmt.Sprintf("slack.api_url %q is not an http(s) URL", opts.APIURL))
	}
	if len(problems) > 0 {
		return nil, errors.New("slack: " + strings.Join(problems, "; "))
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	a := &Adapter{
		opts:    opts,
		log:     opts.Log,
		clock:   opts.Clock,
		apiBase: base,
		dms:     map[string]string{},
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.clock == nil {
		a.clock = bot.SystemClock{}
	}
	a.seen = chat.SeenOr(opts.Seen, a.clock)
	a.pool = chat.NewPool("slack", maxWorking, a.log)
	a.gate = opts.Gate
	if a.gate == nil {
		a.gate = chat.NewGate(gateEvery, gateBurst)
	}
	// A Retry-After is waited out only up to MaxRetryWait, and never past
	// the work's deadline: a longer one fails the call at once, unsent.
	a.retry = chat.Retry{Platform: "slack", Tries: maxTries, MaxWait: opts.MaxRetryWait, Log: a.log, Describe: safeErr}
	clientOpts := []slack.Option{
		slack.OptionAPIURL(opts.APIURL),
		slack.OptionHTTPClient(opts.HTTPClient),
		slack.OptionLog(libLog{a.log}),
	}
	if opts.AppToken != "" {
		clientOpts = append(clientOpts, slack.OptionAppLevelToken(opts.AppToken))
	}
	a.api = slack.New(opts.BotToken, clientOpts...)
	return a, nil
}

// Attach gives the adapter the service it serves. It is called once, before
// serving: the service needs the adapter as a Notifier first.
func (a *Adapter) Attach(s chat.Service) { a.bot = s }

// Platform is Slack.
func (a *Adapter) Platform() bot.Platform { return bot.PlatformSlack }

// Register adds the Slack endpoints to mux.
func (a *Adapter) Register(mux *http.ServeMux) {
	mux.HandleFunc(routeCommands, a.serveCommand)
	mux.HandleFunc(routeInteractions, a.serveInteraction)
}

// The patterns Register serves: the slash command's and interactivity's
// Request URLs.
const (
	routeCommands     = "POST /slack/commands"
	routeInteractions = "POST /slack/interactions"
)

// Routes are the patterns Register serves, for the HTTP metrics.
func (a *Adapter) Routes() []string { return []string{routeCommands, routeInteractions} }

// Start does nothing: Slack's slash command and interactivity URL are
// declared in the app's manifest, not registered by the bot. It is here so
// that every adapter starts the same way.
func (a *Adapter) Start(context.Context) error { return nil }

// Wait blocks until the background work started by handlers is done. Call it
// after the HTTP server and Run have stopped, for a graceful shutdown.
func (a *Adapter) Wait() { a.pool.Wait() }

// Check asks Slack whether the bot token works (auth.test), for readiness
// probes and start-up checks.
func (a *Adapter) Check(ctx context.Context) error {
	return a.call(ctx, "check the bot token", func(ctx context.Context) error {
		_, err := a.api.AuthTestContext(ctx)
		return err
	})
}

// background runs f after the acknowledgement, bounded by workTimeout. The
// request's context ends when the handler returns, so f gets its own. It
// returns false, having started nothing, when the pool's queue is full: the
// handler then says so.
func (a *Adapter) background(what string, f func(ctx context.Context)) bool {
	return a.pool.TryGo(context.Background(), what, workTimeout, f)
}

// urgent runs f at once, outside the pool's bound, also bounded by
// workTimeout. It is for a Reveal, whose window must be opened with a
// trigger that Slack exchanges for three seconds only: queued behind other
// work, it would lose it. Reveals are few (one reset per offered request;
// other clicks are refused at once), so they need no bound of their own.
func (a *Adapter) urgent(what string, f func(ctx context.Context)) {
	a.pool.Track(what, func() {
		ctx, cancel := context.WithTimeout(context.Background(), workTimeout)
		defer cancel()
		f(ctx)
	})
}

// first reports whether key has not been handled yet. When the shared memory
// cannot be reached it says yes: asks and votes are idempotent in the store,
// so handling a double is safe, while dropping a first delivery is not.
func (a *Adapter) first(ctx context.Context, key string) bool {
	ok, err := a.seen(ctx, "slack:"+key, seenTTL)
	if err != nil {
		a.log.Error("slack: check for a repeated delivery", "err", err)
		return true
	}
	if !ok {
		a.log.Info("slack: dropped a payload delivered twice", "key", key)
	}
	return ok
}

// libLog sends slack-go's own log lines to slog at debug level.
type libLog struct{ l *slog.Logger }

func (l libLog) Output(_ int, s string) error {
	l.l.Debug("slack-go: " + strings.TrimSpace(s))
	return nil
}
