package discord_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"resetbot/adapters/chat/chattest"
	"resetbot/adapters/discord"
	"resetbot/adapters/discord/discordtest"
	"resetbot/approvals"
	"resetbot/bot"
	"resetbot/internal/testkit"
)

const (
	appID       = "11110000"
	guildID     = "22220000"
	otherGuild  = "22229999"
	approvalsCh = "789"
	teamCh      = "790" // an account's own channel (channels.discord)
	botToken    = "discord-bot-token"
	roleOps     = "777" // may approve prod-db

	alice   = "1001"
	bob     = "1002"
	carol   = "1003"
	dave    = "1004"
	mallory = "6666" // not in config
)

var people = []bot.Person{
	{Name: "alice", Discord: alice, Slack: "U0ALICE", Groups: []string{"eng", "db-approvers"}}, // an approver, not of her own requests
	{Name: "bob", Discord: bob, Slack: "U0BOB", Groups: []string{"eng", "db-approvers"}},
	{Name: "carol", Discord: carol, Groups: []string{"eng"}},
	{Name: "dave", Discord: dave, Groups: []string{"ops"}},
}

const tdsqlInstance = "tdsql3-d8fffc3c"

// prod-db goes through the real Tencent provider to the emulator; hpc
// through a recorder.
var accounts = []bot.Account{{
	Name: "prod-db", Provider: chattest.TDSQL, Region: "ap-guangzhou",
	Users: []string{"app_user"}, Settings: chattest.TDSQLSettings(tdsqlInstance),
	Requesters: []string{"eng"}, Approvers: []string{"db-approvers"}, ApproverRoles: []string{roleOps},
	Approvals: 1, TTL: 30 * time.Minute,
}, {
	Name: "hpc", Provider: "test.recorder", Region: "cn-hangzhou",
	Users: []string{"u1", "u2", "u3"}, Selectable: true, Settings: testkit.Resource("cluster_id=ehpc-hz-1"),
	Requesters: []string{"eng"}, Approvers: []string{"db-approvers"}, Approvals: 1, TTL: 30 * time.Minute,
}}

// newClock is the time every part of a test agrees on.
func newClock() *testkit.Clock { return testkit.NewClock(time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)) }

// recorder is a bot.Provider that makes a random password per user and
// remembers every one, so tests can look for them where they must not be.
type recorder struct {
	mu        sync.Mutex
	calls     int
	passwords []string
}

func (r *recorder) Reset(_ context.Context, _ bot.Account, users []string) ([]bot.UserResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	var out []bot.UserResult
	for _, u := range users {
		var b [9]byte
		_, _ = rand.Read(b[:])
		pw := "Pw-" + hex.EncodeToString(b[:]) + "!"
		r.passwords = append(r.passwords, pw)
		out = append(out, bot.UserResult{User: u, Password: bot.NewSecret(pw)})
	}
	return out, nil
}

func (r *recorder) Calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

func (r *recorder) Passwords() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.passwords...)
}

// env is one resetbot with Discord: the real service and Redis store, the
// adapter under test on an httptest server, and a fake Discord.
type env struct {
	t      *testing.T
	ctx    context.Context
	clock  *testkit.Clock
	fake   *discordtest.Server
	ad     *discord.Adapter
	svc    *bot.Service
	store  *approvals.Store
	redis  *redis.Client
	prefix string
	prov   *recorder
	cloud  *chattest.Cloud
	back   *chattest.Backend
	srv    *httptest.Server
	key    ed25519.PrivateKey
	logs   *testkit.Log

	mu  sync.Mutex
	seq int
}

func testKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
}

func adapterOptions(f *discordtest.Server, clock bot.Clock, logs io.Writer) discord.Options {
	return discord.Options{
		BotToken:         botToken,
		ApplicationID:    appID,
		PublicKey:        hex.EncodeToString(testKey().Public().(ed25519.PublicKey)),
		GuildID:          guildID,
		APIURL:           f.APIURL(),
		ApprovalsChannel: approvalsCh,
		Clock:            clock,
		Log:              slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		MaxRetryWait:     500 * time.Millisecond,
	}
}

// newEnv starts an env; change adapts the adapter's options.
func newEnv(t *testing.T, change ...func(*discord.Options)) *env {
	t.Helper()
	return newEnvWith(t, accounts, change...)
}

// newEnvWith starts an env whose service has accts.
func newEnvWith(t *testing.T, accts []bot.Account, change ...func(*discord.Options)) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	e := &env{t: t, ctx: ctx, clock: newClock(), prov: &recorder{}, key: testKey()}
	e.backend()

	opts := adapterOptions(e.fake, e.clock, e.logs)
	for _, c := range change {
		c(&opts)
	}
	ad, err := discord.New(opts)
	if err != nil {
		t.Fatalf("discord.New: %v", err)
	}
	e.ad = ad
	e.svc, err = bot.New(bot.Options{
		Store:     e.store,
		Providers: e.providers(),
		Notifiers: []bot.Notifier{ad},
		People:    people,
		Accounts:  accts,
		Clock:     e.clock,
		Log:       slog.New(slog.NewTextHandler(e.logs, nil)),
	})
	if err != nil {
		t.Fatalf("bot.New: %v", err)
	}
	ad.Attach(e.svc)
	mux := http.NewServeMux()
	ad.Register(mux)
	e.srv = httptest.NewServer(mux)

	stop := chattest.StartExecutor(e.svc)
	t.Cleanup(func() {
		stop()
		e.srv.Close()
		ad.Wait()
		cancel()
	})
	return e
}

// backend makes what does not depend on the chat platforms: the fake
// Discord, the Redis store, and the cloud (the Tencent emulator).
func (e *env) backend() {
	t := e.t
	e.fake = discordtest.NewServer(t, e.clock, botToken, approvalsCh, teamCh)
	e.back = chattest.NewBackend(t, approvals.Options{Clock: e.clock}, map[string][]string{tdsqlInstance: {"app_user@%"}})
	e.redis, e.prefix, e.store, e.cloud, e.logs = e.back.Redis, e.back.Prefix, e.back.Store, e.back.Cloud, e.back.Logs
}

func (e *env) providers() map[bot.ProviderKey]bot.Provider {
	return map[bot.ProviderKey]bot.Provider{chattest.TDSQL: e.cloud.Provider, "test.recorder": e.prov}
}

// resets counts the resets done: calls to the cloud that changed a password.
func (e *env) resets() int { return e.prov.Calls() + e.cloud.Resets() }

// passwords lists every password set so far.
func (e *env) passwords() []string {
	pws := e.prov.Passwords()
	if pw := e.cloud.Password(tdsqlInstance, "app_user@%"); pw != "" {
		pws = append(pws, pw)
	}
	return pws
}

// interaction makes an interaction from user in the configured guild, with
// a token the fake Discord accepts for 15 minutes from now.
func (e *env) interaction(user string, typ int, data map[string]any) map[string]any {
	e.mu.Lock()
	e.seq++
	id := strconv.Itoa(880000 + e.seq)
	e.mu.Unlock()
	token := "itok-" + id
	e.fake.Issue(token)
	return map[string]any{
		"id": id, "application_id": appID, "type": typ, "token": token, "version": 1,
		"guild_id": guildID, "channel_id": "555",
		"member": map[string]any{"user": map[string]any{"id": user, "username": "user" + user}, "roles": []string{}},
		"data":   data,
	}
}

// slash is /reset-password <sub> with string options given as name, value.
func (e *env) slash(user, sub string, kv ...string) map[string]any {
	var opts []map[string]any
	for i := 0; i+1 < len(kv); i += 2 {
		opts = append(opts, map[string]any{"name": kv[i], "type": 3, "value": kv[i+1]})
	}
	return e.interaction(user, 2, map[string]any{"id": "9001", "name": "reset-password", "type": 1,
		"options": []map[string]any{{"name": sub, "type": 1, "options": opts}}})
}

// complete is an autocomplete of ask's option focused, others given as name, value.
func (e *env) complete(user, focused, typed string, kv ...string) map[string]any {
	opts := []map[string]any{{"name": focused, "type": 3, "value": typed, "focused": true}}
	for i := 0; i+1 < len(kv); i += 2 {
		opts = append(opts, map[string]any{"name": kv[i], "type": 3, "value": kv[i+1]})
	}
	return e.interaction(user, 4, map[string]any{"id": "9001", "name": "reset-password", "type": 1,
		"options": []map[string]any{{"name": "ask", "type": 1, "options": opts}}})
}

// click is a button click on the approval card.
func (e *env) click(user, customID string) map[string]any {
	i := e.interaction(user, 3, map[string]any{"custom_id": customID, "component_type": 2})
	i["message"] = map[string]any{"id": "5001", "channel_id": approvalsCh}
	return i
}

// submit is the Deny form sent with reason.
func (e *env) submit(user, customID, reason string) map[string]any {
	return e.interaction(user, 5, map[string]any{"custom_id": customID, "components": []any{
		map[string]any{"type": 1, "components": []any{map[string]any{"type": 4, "custom_id": "reason", "value": reason}}},
	}})
}

func withRoles(i map[string]any, roles ...string) map[string]any {
	i["member"].(map[string]any)["roles"] = roles
	return i
}

// answer is an HTTP answer to an interaction.
type answer struct {
	Status int
	Body   map[string]any
	Raw    string
}

func (a answer) Type() int { return int(discordtest.Num(a.Body["type"])) }

func (a answer) data() map[string]any { d, _ := a.Body["data"].(map[string]any); return d }

func (a answer) Content() string { s, _ := a.data()["content"].(string); return s }

func (a answer) Ephemeral() bool { return int(discordtest.Num(a.data()["flags"]))&64 != 0 }

// send signs i with the application's key at the clock's time and posts it.
func (e *env) send(i map[string]any) answer {
	e.t.Helper()
	return e.sendTo(e.srv.URL, i)
}

// sendTo is send to the resetbot at base.
func (e *env) sendTo(base string, i map[string]any) answer {
	e.t.Helper()
	body, err := json.Marshal(i)
	if err != nil {
		e.t.Fatal(err)
	}
	ts := strconv.FormatInt(e.clock.Now().Unix(), 10)
	return e.postTo(base, body, ts, sign(e.key, ts, body), i["token"])
}

func sign(key ed25519.PrivateKey, ts string, body []byte) string {
	return hex.EncodeToString(ed25519.Sign(key, append([]byte(ts), body...)))
}

// post sends a body with the given signature headers ("" leaves one out).
func (e *env) post(body []byte, ts, sig string, token any) answer {
	e.t.Helper()
	return e.postTo(e.srv.URL, body, ts, sig, token)
}

func (e *env) postTo(base string, body []byte, ts, sig string, token any) answer {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.ctx, "POST", base+"/discord/interactions", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if ts != "" {
		req.Header.Set("X-Signature-Timestamp", ts)
	}
	if sig != "" {
		req.Header.Set("X-Signature-Ed25519", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("post an interaction: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{Status: resp.StatusCode, Raw: string(raw)}
	if resp.StatusCode == 200 {
		_ = json.Unmarshal(raw, &a.Body)
		if tok, _ := token.(string); tok != "" {
			e.fake.Answer(tok, raw)
		}
	}
	return a
}

// mustSend sends i and insists on an ephemeral message in answer.
func (e *env) mustSend(i map[string]any) answer {
	e.t.Helper()
	a := e.send(i)
	if a.Status != 200 || a.Type() != 4 || !a.Ephemeral() {
		e.t.Fatalf("answer: got %d %s, want 200 with an ephemeral message (type 4, flag 64)", a.Status, a.Raw)
	}
	return a
}

var idRE = regexp.MustCompile(`R-[2-9A-HJKMNP-TV-Z]{6}`)

// ask has alice (or who) ask for prod-db and returns the request ID.
func (e *env) ask(who, account string) (string, map[string]any) {
	e.t.Helper()
	i := e.slash(who, "ask", "account", account, "reason", "locked out during the incident")
	a := e.mustSend(i)
	id := idRE.FindString(a.Content())
	if id == "" || !strings.Contains(a.Content(), "asked to reset") {
		e.t.Fatalf("ask: got %q, want a new request's ID", a.Content())
	}
	return id, i
}

func tokenOf(i map[string]any) string { return i["token"].(string) }

// call matchers

func isCardPost(c discordtest.Call) bool {
	return c.Method == "POST" && c.Path == "channels/"+approvalsCh+"/messages" && c.Status == 200
}

func isCardEdit(c discordtest.Call) bool {
	return c.Method == "PATCH" && strings.HasPrefix(c.Path, "channels/"+approvalsCh+"/messages/") && c.Status == 200
}

func isFollowup(token string) func(discordtest.Call) bool {
	return func(c discordtest.Call) bool {
		return c.Method == "POST" && c.Path == "webhooks/"+appID+"/"+token && c.Status < 300
	}
}

func isEditOriginal(token string) func(discordtest.Call) bool {
	return func(c discordtest.Call) bool {
		return c.Method == "PATCH" && c.Path == "webhooks/"+appID+"/"+token+"/messages/@original" && c.Status == 200
	}
}

func isDM(user string) func(discordtest.Call) bool {
	return func(c discordtest.Call) bool {
		return c.Method == "POST" && c.Path == "channels/dm-"+user+"/messages" && c.Status == 200
	}
}

func cardState(state string) func(discordtest.Call) bool {
	return func(c discordtest.Call) bool { return isCardEdit(c) && strings.Contains(embedText(c), "**"+state+"**") }
}

// embedText is the card's embed as text.
func embedText(c discordtest.Call) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // <t:…> as Discord gets it
	_ = enc.Encode(c.Body["embeds"])
	return strings.TrimSpace(b.String())
}

// customIDs lists the buttons' custom_ids of a message body.
func customIDs(body map[string]any) []string {
	var out []string
	rows, _ := body["components"].([]any)
	for _, r := range rows {
		row, _ := r.(map[string]any)
		items, _ := row["components"].([]any)
		for _, it := range items {
			m, _ := it.(map[string]any)
			if id, _ := m["custom_id"].(string); id != "" {
				out = append(out, id)
			}
		}
	}
	return out
}

func content(c discordtest.Call) string { s, _ := c.Body["content"].(string); return s }

// checkSecrets fails if a password is anywhere but the answer to a Reveal:
// an ephemeral edit of an interaction's @original. Not in any other call to
// Discord, not in a message that stays there, not in the logs, not in
// Redis.
func (e *env) checkSecrets(passwords []string) {
	e.t.Helper()
	if len(passwords) == 0 {
		return
	}
	stored := e.fake.Stored()
	for _, pw := range passwords {
		for _, c := range e.fake.Calls() {
			if strings.Contains(c.Raw, pw) && !(isAnswerEdit(c) && c.Ephemeral) {
				e.t.Errorf("the password is in a call that is not the ephemeral answer to a Reveal: %s %s", c.Method, c.Path)
			}
		}
		if strings.Contains(stored, pw) {
			e.t.Errorf("the password is in a message that stays in Discord")
		}
	}
	e.back.CheckNoSecrets(e.t, passwords...)
}

// checkShownOnce fails unless the passwords reached Discord in exactly one
// call, the edit of the answer to the Reveal whose token is answer, and
// nowhere else (checkSecrets).
func (e *env) checkShownOnce(passwords []string, answer string) {
	e.t.Helper()
	e.checkSecrets(passwords)
	for _, pw := range passwords {
		var where []string
		for _, c := range e.fake.Calls() {
			if strings.Contains(c.Raw, pw) {
				where = append(where, c.Method+" "+c.Path)
			}
		}
		want := "PATCH webhooks/" + appID + "/" + answer + "/messages/@original"
		if len(where) != 1 || where[0] != want {
			e.t.Errorf("calls holding a password: got %v, want [%s]", where, want)
		}
	}
}

func isAnswerEdit(c discordtest.Call) bool {
	return c.Method == "PATCH" && strings.HasPrefix(c.Path, "webhooks/"+appID+"/") && strings.HasSuffix(c.Path, "/messages/@original")
}

// redisLease is the Gateway lease on real Redis, as a deployment backs it.
type redisLease struct {
	c      *redis.Client
	prefix string
}

var (
	acquireLua = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
elseif v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`)
	renewLua = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)
	releaseLua = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)
)

func (l redisLease) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	n, err := acquireLua.Run(ctx, l.c, []string{l.prefix + name}, holder, ttl.Milliseconds()).Int()
	return n == 1, err
}

func (l redisLease) Renew(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	n, err := renewLua.Run(ctx, l.c, []string{l.prefix + name}, holder, ttl.Milliseconds()).Int()
	return n == 1, err
}

func (l redisLease) Release(ctx context.Context, name, holder string) error {
	return releaseLua.Run(ctx, l.c, []string{l.prefix + name}, holder).Err()
}

var _ discord.Lease = redisLease{}

// bare is the adapter and a fake Discord, without a service or a store:
// enough for what the service asks of a notifier.
type bare struct {
	ctx   context.Context
	clock *testkit.Clock
	fake  *discordtest.Server
	ad    *discord.Adapter
	logs  *testkit.Log
}

func newBare(t *testing.T, change ...func(*discord.Options)) *bare {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	b := &bare{ctx: ctx, clock: newClock(), logs: &testkit.Log{}}
	b.fake = discordtest.NewServer(t, b.clock, botToken, approvalsCh, teamCh)
	opts := adapterOptions(b.fake, b.clock, b.logs)
	for _, c := range change {
		c(&opts)
	}
	ad, err := discord.New(opts)
	if err != nil {
		t.Fatalf("discord.New: %v", err)
	}
	b.ad = ad
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the adapter's log:\n%s", b.logs)
		}
	})
	return b
}

// postedMessages are the distinct messages that calls matching match
// made in Discord (a call answered from a nonce makes none).
func postedMessages(f *discordtest.Server, match func(discordtest.Call) bool) []string {
	var ids []string
	for _, c := range f.Calls() {
		if match(c) && c.Status == 200 && !slices.Contains(ids, msgID(c)) {
			ids = append(ids, msgID(c))
		}
	}
	return ids
}
