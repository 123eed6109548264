package slack_test

import (
	"context"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	slackad "resetbot/adapters/slack"
	"resetbot/adapters/slack/slacktest"
	"resetbot/bot"
)

// newAdapter is an adapter on the fake Slack f alone, without a service:
// for the Notifier calls the service makes.
func newAdapter(t testing.TB, f *slacktest.Server, edit ...func(*slackad.Options)) *slackad.Adapter {
	t.Helper()
	opts := slackad.Options{BotToken: botToken, SigningSecret: secret, ApprovalsChannel: approvalsChannel, APIURL: f.APIURL()}
	for _, e := range edit {
		e(&opts)
	}
	ad, err := slackad.New(opts)
	if err != nil {
		t.Fatalf("slack.New: %v", err)
	}
	return ad
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// pending is a pending request as the service hands it to Card and Remind.
func pending(id string) bot.Request {
	return bot.Request{ID: id, Account: "prod-db", Users: []string{"app_user"}, Requester: "alice",
		State: bot.StatePending, Approvals: 1, CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
}

// postCard posts req's card and returns its reference.
func postCard(t testing.TB, ad *slackad.Adapter, req bot.Request) string {
	t.Helper()
	ref, err := ad.Card(testCtx(t), req, accounts[0], "")
	if err != nil {
		t.Fatalf("Card: %v", err)
	}
	return ref
}

// reminders returns the chat.postMessage calls that carried a thread_ts.
func reminders(f *slacktest.Server) []slacktest.Call {
	var out []slacktest.Call
	for _, c := range f.CallsOf("chat.postMessage") {
		if c.Get("thread_ts") != "" {
			out = append(out, c)
		}
	}
	return out
}

// TestRemindRepliesUnderTheCard: one reply in the card's thread, starting
// with a mention Slack notifies for each person with a Slack ID, naming a
// person without one, and nothing else in it able to ping or link.
func TestRemindRepliesUnderTheCard(t *testing.T) {
	f := slacktest.NewServer(t, botToken, appToken)
	ad := newAdapter(t, f)
	ref := postCard(t, ad, pending("R-REMIND1"))
	channel, ts, _ := strings.Cut(ref, "/")

	erin := bot.Person{Name: "erin", Groups: []string{"db-approvers"}} // Discord only, say
	who := []bot.Person{people[1], erin, {Name: "dave", Slack: dave}}
	text := "R-REMIND1 waits for your approval <!channel> & @here"
	if err := ad.Remind(testCtx(t), pending("R-REMIND1"), ref, who, text); err != nil {
		t.Fatalf("Remind: %v", err)
	}

	replies := f.Replies(ref)
	if len(replies) != 1 {
		t.Fatalf("replies under the card: got %d, want 1", len(replies))
	}
	if n := len(f.Messages(channel)); n != 2 {
		t.Errorf("messages in %s: got %d, want 2 (the card and its one reply)", channel, n)
	}
	got := replies[0]
	if got.Channel != channel || got.ThreadTS != ts {
		t.Errorf("reply: in %s under %q, want in %s under %q", got.Channel, got.ThreadTS, channel, ts)
	}
	const wantStart = "<@" + bob + "> erin <@" + dave + "> R-REMIND1 waits for your approval"
	if !strings.HasPrefix(got.Text, wantStart) {
		t.Errorf("reply text %q, want it to start %q", got.Text, wantStart)
	}
	if strings.Contains(got.Text, "<!channel>") || !strings.Contains(got.Text, "&lt;!channel&gt; &amp; @here") {
		t.Errorf("reply text %q: the text's own markup is not escaped", got.Text)
	}
	if n := strings.Count(got.Text, "<"); n != 2 {
		t.Errorf("reply text %q: got %d pieces of markup, want the 2 mentions", got.Text, n)
	}
	call := reminders(f)[0]
	if p := call.Get("parse"); p != "none" {
		t.Errorf("parse=%q, want none: full would show the mentions as typed", p)
	}
	if l := call.Get("link_names"); l == "true" || l == "1" {
		t.Errorf("link_names=%q: @here in the text would ping the channel", l)
	}
	if call.Get("reply_broadcast") == "true" {
		t.Errorf("the reminder is broadcast to the channel, want it under the card only")
	}
}

// TestRemindPostsOnce: a reply that may have been posted is never posted
// again (it would ping everyone twice) and says so (EUNKNOWN); a refusal
// that guarantees nothing was posted is retried, or returned.
func TestRemindPostsOnce(t *testing.T) {
	tests := []struct {
		name  string
		fault slacktest.Fault
		code  string // of Remind's error
		calls int    // chat.postMessage calls with a thread_ts
		kept  int    // replies Slack kept
	}{
		{"ServerError", slacktest.Fault{Status: http.StatusInternalServerError}, bot.EUNKNOWN, 1, 0},
		{"InternalErrorAnswer", slacktest.Fault{Err: "internal_error"}, bot.EUNKNOWN, 1, 0},
		{"AcceptedButAnsweredLate", slacktest.Fault{Late: true}, bot.EUNKNOWN, 1, 1},
		{"ConnectionCutAfterSending", slacktest.Fault{Cut: true}, bot.EUNKNOWN, 1, 0},
		{"RateLimitedOnce", slacktest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "1", Err: "ratelimited", Times: 1}, "", 2, 1},
		{"NotInChannel", slacktest.Fault{Err: "not_in_channel"}, bot.EINTERNAL, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := slacktest.NewServer(t, botToken, appToken)
			ad := newAdapter(t, f, func(o *slackad.Options) { o.HTTPClient = &http.Client{Timeout: time.Second} })
			ref := postCard(t, ad, pending("R-REMIND2"))
			f.Fail("chat.postMessage", tt.fault)
			err := ad.Remind(testCtx(t), pending("R-REMIND2"), ref, people[:2], "R-REMIND2 waits for your approval")
			if got := bot.ErrorCode(err); got != tt.code {
				t.Errorf("Remind: got %q (%v), want %q", got, err, tt.code)
			}
			if n := len(reminders(f)); n != tt.calls {
				t.Errorf("reminder posts: got %d, want %d", n, tt.calls)
			}
			if n := len(f.Replies(ref)); n != tt.kept {
				t.Errorf("replies Slack kept: got %d, want %d", n, tt.kept)
			}
		})
	}
}

func TestRemindBadRef(t *testing.T) {
	f := slacktest.NewServer(t, botToken, appToken)
	ad := newAdapter(t, f)
	for _, ref := range []string{"", "C0APPROVALS", "C0APPROVALS/", "/1700000000.000001"} {
		err := ad.Remind(testCtx(t), pending("R-REMIND3"), ref, people[:1], "waiting")
		if bot.ErrorCode(err) != bot.EINTERNAL || !strings.Contains(bot.ErrorMessage(err), "channel/timestamp") {
			t.Errorf("Remind under %q: got %v, want %s saying the reference is not channel/timestamp", ref, err, bot.EINTERNAL)
		}
	}
	if n := len(f.Calls()); n != 0 {
		t.Errorf("calls to Slack: got %d, want 0", n)
	}
}

// TestCheckChannels: one listing of the bot's channels answers for the
// channels it is in; each other channel is looked up to say why the bot
// cannot post there.
func TestCheckChannels(t *testing.T) {
	f := slacktest.NewServer(t, botToken, appToken)
	for _, ch := range []slacktest.Channel{
		{ID: "C0FIRST", Member: true},
		{ID: approvalsChannel, Member: true},
		{ID: "C0OUTSIDE", Name: "db-team"},             // public, the bot not invited
		{ID: "C0OLD", Member: true, Archived: true},    // the bot was in it
		{ID: "C0SECRET", Private: true},                // private, the bot not in it
		{ID: "C0PRIVATE", Private: true, Member: true}, // on the listing's second page
		{ID: "C0OTHER", Member: true}, {ID: "C0MORE", Member: true},
	} {
		f.AddChannel(ch)
	}
	f.PageLimit(2)
	ad := newAdapter(t, f)

	asked := []string{approvalsChannel, "C0OUTSIDE", "C0GONE", "C0OLD", "C0OUTSIDE", "C0PRIVATE", "C0SECRET", approvalsChannel}
	problems, err := ad.CheckChannels(testCtx(t), asked)
	if err != nil {
		t.Fatalf("CheckChannels: %v", err)
	}
	want := []struct{ channel, says string }{
		{"C0OUTSIDE", "the bot is not a member of it (#db-team): invite it with /invite @"},
		{"C0GONE", "no such channel"},
		{"C0OLD", "archived"},
		{"C0SECRET", "(channel_not_found)"},
	}
	if len(problems) != len(want) {
		t.Fatalf("problems: got %v, want one for each of %v", problems, want)
	}
	for i, w := range want {
		if problems[i].Channel != w.channel || !strings.Contains(problems[i].Problem, w.says) {
			t.Errorf("problem %d: got %+v, want %s: …%s…", i, problems[i], w.channel, w.says)
		}
	}
	if !strings.Contains(problems[1].Problem, "channel_not_found") {
		t.Errorf("missing channel: got %q, want Slack's code in it", problems[1].Problem)
	}

	lists := f.CallsOf("users.conversations")
	if len(lists) < 2 {
		t.Errorf("users.conversations calls: got %d, want the pages up to C0PRIVATE's", len(lists))
	}
	for i, c := range lists {
		if c.Get("exclude_archived") != "true" || c.Get("types") != "public_channel,private_channel" || c.Get("user") != "" {
			t.Errorf("users.conversations call %d: %s, want the bot's own public and private channels, archived ones left out", i, c.Body)
		}
		if (i == 0) != (c.Get("cursor") == "") {
			t.Errorf("users.conversations call %d: cursor %q, want the first without and the others with the last next_cursor", i, c.Get("cursor"))
		}
	}
	var looked []string
	for _, c := range f.CallsOf("conversations.info") {
		looked = append(looked, c.Get("channel"))
	}
	if w := []string{"C0OUTSIDE", "C0GONE", "C0OLD", "C0SECRET"}; !slices.Equal(looked, w) {
		t.Errorf("conversations.info asked about %v, want %v: each channel not listed, once", looked, w)
	}

	t.Run("AllWell", func(t *testing.T) {
		before := len(f.CallsOf("users.conversations"))
		problems, err := ad.CheckChannels(testCtx(t), []string{approvalsChannel, "C0PRIVATE", approvalsChannel})
		if err != nil || len(problems) != 0 {
			t.Errorf("got %v, %v; want no problem", problems, err)
		}
		if n := len(f.CallsOf("users.conversations")) - before; n != 2 {
			t.Errorf("users.conversations calls: got %d, want 2 (the listing stops once both were seen)", n)
		}
	})
	t.Run("Nothing", func(t *testing.T) {
		if problems, err := ad.CheckChannels(testCtx(t), nil); err != nil || problems != nil {
			t.Errorf("got %v, %v; want nothing", problems, err)
		}
	})
}

// TestCheckChannelsCannotAsk: when Slack cannot be asked, CheckChannels
// returns an error that names the fix, and no problems.
func TestCheckChannelsCannotAsk(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/api/"
	l.Close()

	tests := []struct {
		name  string
		edit  func(*slackad.Options)
		fault *slacktest.Fault // of users.conversations
		code  string
		says  string
	}{
		{"TokenRefused", func(o *slackad.Options) { o.BotToken = "xoxb-revoked" }, nil, bot.EINTERNAL, "the bot token was refused: check slack.bot_token"},
		{"ScopeMissing", func(*slackad.Options) {}, &slacktest.Fault{Err: "missing_scope"}, bot.EINTERNAL, "lacks a scope"},
		{"Unreachable", func(o *slackad.Options) { o.APIURL = closed }, nil, bot.EUNAVAILABLE, "cannot be reached"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := slacktest.NewServer(t, botToken, appToken)
			f.AddChannel(slacktest.Channel{ID: approvalsChannel, Member: true})
			if tt.fault != nil {
				f.Fail("users.conversations", *tt.fault)
			}
			ad := newAdapter(t, f, tt.edit)
			problems, err := ad.CheckChannels(testCtx(t), []string{approvalsChannel, "C0GONE"})
			if bot.ErrorCode(err) != tt.code || !strings.Contains(bot.ErrorMessage(err), tt.says) {
				t.Errorf("got %v, want %s saying %q", err, tt.code, tt.says)
			}
			if problems != nil {
				t.Errorf("problems: got %v, want none with the error", problems)
			}
		})
	}
}

// TestCardShowsEscalation: once escalated, the card says to whom, beside
// the rules' progress; before, it does not.
func TestCardShowsEscalation(t *testing.T) {
	f := slacktest.NewServer(t, botToken, appToken)
	ad := newAdapter(t, f)
	req := pending("R-ESCAL1")
	req.Rules = []bot.RequestRule{{Name: "db-approvers", Count: 1, People: []string{"bob"}},
		{Name: "security", Count: 1, People: []string{"dave"}}}
	req.Escalation = &bot.Escalation{To: []string{"eng-managers"}, People: []string{"carol"}, At: time.Now().Add(20 * time.Minute)}
	ref := postCard(t, ad, req)
	if m, _ := f.Message(ref); strings.Contains(m.Blocks, "escalated") {
		t.Errorf("card before the escalation says it was escalated: %s", m.Blocks)
	}

	req.Escalation.Done = true
	req.UpdatedAt = time.Now()
	if _, err := ad.Card(testCtx(t), req, accounts[0], ref); err != nil {
		t.Fatalf("update the card: %v", err)
	}
	m, _ := f.Message(ref)
	if !strings.Contains(m.Blocks, "Approvals: db-approvers 0/1 · security 0/1 · escalated to eng-managers") {
		t.Errorf("escalated card: %s, want the progress and \"escalated to eng-managers\"", m.Blocks)
	}
}
