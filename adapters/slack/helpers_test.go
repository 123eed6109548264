package slack_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"resetbot/adapters/chat"
	"resetbot/adapters/chat/chattest"
	slackad "resetbot/adapters/slack"
	"resetbot/adapters/slack/slacktest"
	"resetbot/approvals"
	"resetbot/bot"
)

const (
	botToken         = "xoxb-test-token"
	appToken         = "xapp-test-token"
	secret           = "8f742231b10e8888abcd99yyyzzz85a5"
	approvalsChannel = "C0APPROVALS"
	general          = "C0GENERAL"
	alice            = "U0ALICE"
	bob              = "U0BOB"
	carol            = "U0CAROL"
	mallory          = "U0MALLORY"
	dave             = "W0DAVE" // an Enterprise Grid user ID
)

var people = []bot.Person{
	{Name: "alice", Slack: alice, Groups: []string{"eng", "db-approvers"}}, // an approver, but not of her own requests
	{Name: "bob", Slack: bob, Groups: []string{"eng", "db-approvers"}},
	{Name: "carol", Slack: carol, Groups: []string{"eng"}},
	{Name: "dave", Slack: dave, Groups: []string{"eng"}},
}

const (
	prodDB    = "tdsql3-d8fffc3c"
	stagingDB = "tdsql3-0000aaaa"
	reportsDB = "tdsql3-0000bbbb"
)

var accounts = []bot.Account{{
	Name: "prod-db", Provider: chattest.TDSQL, Region: "ap-guangzhou",
	Users: []string{"app_user"}, Settings: chattest.TDSQLSettings(prodDB),
	Requesters: []string{"eng"}, Approvers: []string{"db-approvers"}, Approvals: 1, TTL: 30 * time.Minute,
}, {
	Name: "staging-db", Provider: chattest.TDSQL, Region: "ap-shanghai",
	Users: []string{"app_user"}, Settings: chattest.TDSQLSettings(stagingDB),
	Requesters: []string{"eng"}, Approvers: []string{"db-approvers"}, Approvals: 1, TTL: 30 * time.Minute,
}, {
	Name: "reports-db", Provider: chattest.TDSQL, Region: "ap-shanghai",
	Users: []string{"app_user", "report_user"}, Selectable: true, Settings: chattest.TDSQLSettings(reportsDB),
	Requesters: []string{"eng"}, Approvers: []string{"db-approvers"}, Approvals: 1, TTL: 30 * time.Minute,
}}

// env is the whole bot on real Redis, its Slack adapter served over HTTP,
// and a fake Slack Web API behind it.
type env struct {
	*chattest.Backend
	t     testing.TB
	slack *slacktest.Server
	ad    *slackad.Adapter
	svc   *bot.Service
	srv   *httptest.Server
	seq   atomic.Int64
	opts  []envOption
}

// envConfig is what an envOption may change.
type envConfig struct {
	slack slackad.Options
	clock bot.Clock // the service's and the store's; the adapter checks signatures on the wall clock
	// provider wraps the Tencent provider that talks to the emulated cloud;
	// nil: used as it is.
	provider func(bot.Provider) bot.Provider
	// accounts replace the package's accounts when set.
	accounts []bot.Account
	// limit is the service's per-requester rate limit; zero: its default.
	limit bot.Limit
	// wrap, when set, stands between the adapter and the service: the
	// adapter is given wrap(service).
	wrap func(chat.Service) chat.Service
}

type envOption func(*envConfig)

func withAppToken(c *envConfig) { c.slack.AppToken = appToken }

// withClock runs the service and the store on clock.
func withClock(clock bot.Clock) envOption { return func(c *envConfig) { c.clock = clock } }

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	var cfg envConfig
	for _, f := range opts {
		f(&cfg)
	}
	e := &env{t: t, Backend: chattest.NewBackend(t, approvals.Options{Poll: 100 * time.Millisecond, Clock: cfg.clock}, map[string][]string{
		prodDB: {"app_user@%"}, stagingDB: {"app_user@%"}, reportsDB: {"app_user@%", "report_user@%"},
	})}
	e.slack = slacktest.NewServer(t, botToken, appToken)
	e.opts = opts
	e.ad, e.svc, e.srv = e.replica(opts...)
	return e
}

// replica is one more resetbot process on the env's Redis, cloud and
// Slack: an adapter, a service with its executor, and an HTTP server.
func (e *env) replica(opts ...envOption) (*slackad.Adapter, *bot.Service, *httptest.Server) {
	t := e.t
	t.Helper()
	cfg := envConfig{slack: slackad.Options{
		BotToken:         botToken,
		SigningSecret:    secret,
		APIURL:           e.slack.APIURL(),
		ApprovalsChannel: approvalsChannel,
		Log:              e.Log(),
		Seen: func(ctx context.Context, key string, ttl time.Duration) (bool, error) {
			return e.Redis.SetNX(ctx, e.Prefix+"seen:"+key, 1, ttl).Result()
		},
	}}
	for _, f := range opts {
		f(&cfg)
	}
	ad, err := slackad.New(cfg.slack)
	if err != nil {
		t.Fatalf("slack.New: %v", err)
	}
	var prov bot.Provider = e.Cloud.Provider
	if cfg.provider != nil {
		prov = cfg.provider(prov)
	}
	svc, err := bot.New(bot.Options{
		Store:     e.Store,
		Providers: map[bot.ProviderKey]bot.Provider{chattest.TDSQL: prov},
		Notifiers: []bot.Notifier{ad},
		People:    people,
		Accounts:  accountsOr(cfg.accounts),
		Limit:     cfg.limit,
		Clock:     cfg.clock,
		Log:       e.Log(),
		Lease:     time.Minute,
	})
	if err != nil {
		t.Fatalf("bot.New: %v", err)
	}
	var attached chat.Service = svc
	if cfg.wrap != nil {
		attached = cfg.wrap(svc)
	}
	ad.Attach(attached)
	mux := http.NewServeMux()
	ad.Register(mux)
	srv := httptest.NewServer(mux)

	stop := chattest.StartExecutor(svc)
	t.Cleanup(func() {
		srv.Close()
		stop()
		ad.Wait()
	})
	return ad, svc, srv
}

// resets counts the calls to the cloud's TDSQL API.
func (e *env) resets() int {
	n := 0
	for _, c := range e.Cloud.Emulator.Calls() {
		if c.Provider == chattest.TDSQL {
			n++
		}
	}
	return n
}

// passwords returns the passwords the cloud API now holds.
func (e *env) passwords() []string {
	var out []string
	for _, db := range []string{prodDB, stagingDB} {
		if pw := e.Cloud.Password(db, "app_user@%"); pw != "" {
			out = append(out, pw)
		}
	}
	return out
}

// ctx is a deadline for waiting on the bot's background work.
func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	e.t.Cleanup(cancel)
	return ctx
}

// next makes a unique suffix for trigger IDs, hooks and timestamps.
func (e *env) next() string { return strconv.FormatInt(e.seq.Add(1), 10) }

// sign sets Slack's signature headers on r for body at ts.
func sign(r *http.Request, body string, ts time.Time, key string) {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(key))
	fmt.Fprintf(mac, "v0:%s:%s", stamp, body)
	r.Header.Set("X-Slack-Request-Timestamp", stamp)
	r.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
}

// post sends a signed form to path and returns the status and body.
func (e *env) post(path, body string, edit ...func(*http.Request)) (int, string) {
	e.t.Helper()
	return e.postTo(e.srv, path, body, edit...)
}

// postTo is post to one replica's server.
func (e *env) postTo(srv *httptest.Server, path, body string, edit ...func(*http.Request)) (int, string) {
	e.t.Helper()
	r, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sign(r, body, time.Now(), secret)
	for _, f := range edit {
		f(r)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// commandForm is a slash command's body as Slack sends it.
func (e *env) commandForm(user, text, hook string) string {
	return url.Values{
		"token": {"unused"}, "team_id": {"T1"}, "team_domain": {"example"},
		"channel_id": {general}, "channel_name": {"general"},
		"user_id": {user}, "user_name": {strings.ToLower(user)},
		"command": {"/reset-password"}, "text": {text},
		"api_app_id":   {"A1"},
		"response_url": {e.slack.HookURL(hook)},
		"trigger_id":   {e.slack.Trigger("trigger-" + hook)},
	}.Encode()
}

// command sends /reset-password text as user; its reply goes to the hook
// it returns.
func (e *env) command(user, text string) (status int, body, hook string) {
	e.t.Helper()
	hook = "cmd-" + e.next()
	status, body = e.post("/slack/commands", e.commandForm(user, text, hook))
	return status, body, hook
}

// interact sends an interaction payload.
func (e *env) interact(payload any) (int, string) {
	e.t.Helper()
	return e.post("/slack/interactions", interactionForm(e.t, payload))
}

func interactionForm(t testing.TB, payload any) string {
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return url.Values{"payload": {string(b)}}.Encode()
}

// click is a block_actions payload: user pressed the card's button action
// for request id. Its reply goes to hook.
func click(user, action, id, actionTS, hook string, f *slacktest.Server) map[string]any {
	return map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": user, "username": strings.ToLower(user)},
		"api_app_id":   "A1",
		"team":         map[string]any{"id": "T1"},
		"trigger_id":   f.Trigger("trigger-" + hook),
		"response_url": f.HookURL(hook),
		"channel":      map[string]any{"id": approvalsChannel},
		"container":    map[string]any{"type": "message", "channel_id": approvalsChannel, "message_ts": "1700000000.000001"},
		"actions": []any{map[string]any{
			"type": "button", "block_id": "vote", "action_id": action, "value": id, "action_ts": actionTS,
			"text": map[string]any{"type": "plain_text", "text": action},
		}},
	}
}

// submission is the view_submission of the form that views.open call c
// opened, filled in with values (block ID -> the element's state).
func submission(t testing.TB, user string, c slacktest.Call, values map[string]any) map[string]any {
	t.Helper()
	view, _ := c.JSON["view"].(map[string]any)
	if view == nil {
		t.Fatalf("views.open carried no view: %s", c.Body)
	}
	state := map[string]any{}
	for block, v := range values {
		state[block] = map[string]any{block: v}
	}
	return map[string]any{
		"type":       "view_submission",
		"user":       map[string]any{"id": user},
		"api_app_id": "A1",
		"team":       map[string]any{"id": "T1"},
		"trigger_id": "trigger-submit-" + user,
		"view": map[string]any{
			"id":               "V-" + c.Get("trigger_id"),
			"type":             "modal",
			"callback_id":      view["callback_id"],
			"private_metadata": view["private_metadata"],
			"hash":             "h1",
			"state":            map[string]any{"values": state},
		},
	}
}

// askedID extracts the request ID from the service's acknowledgement.
func askedID(t testing.TB, reply string) string {
	t.Helper()
	id, _, ok := strings.Cut(reply, ":")
	if !ok || !strings.HasPrefix(id, "R-") {
		t.Fatalf("the reply to an ask %q does not start with a request ID", reply)
	}
	return id
}

// ask has alice ask for prod-db and returns the request ID.
func (e *env) ask(user, text string) string {
	e.t.Helper()
	status, body, hook := e.command(user, text)
	if status != http.StatusOK || body != "" {
		e.t.Fatalf("ask: got %d %q, want an empty 200", status, body)
	}
	return askedID(e.t, e.slack.Reply(e.ctx(), hook))
}

// request reads a request from the store.
func (e *env) request(id string) bot.Request {
	e.t.Helper()
	r, err := e.Store.Get(context.Background(), id)
	if err != nil {
		e.t.Fatalf("get %s: %v", id, err)
	}
	return r
}

// audit returns the kinds of audit events, in order.
func (e *env) audit() []bot.Event {
	e.t.Helper()
	evs, err := e.Store.AuditLog(context.Background(), bot.AuditQuery{})
	if err != nil {
		e.t.Fatalf("audit log: %v", err)
	}
	return evs
}

func hasEvent(evs []bot.Event, kind bot.EventKind, detail string) bool {
	for _, ev := range evs {
		if ev.Kind == kind && strings.Contains(ev.Detail, detail) {
			return true
		}
	}
	return false
}

func accountsOr(accts []bot.Account) []bot.Account {
	if accts != nil {
		return accts
	}
	return accounts
}
