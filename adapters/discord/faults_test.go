package discord_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"resetbot/adapters/discord"
	"resetbot/adapters/discord/discordtest"
	"resetbot/bot"
	"resetbot/internal/testkit"
)

func pendingRequest(id string) bot.Request {
	now := time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)
	return bot.Request{ID: id, Account: "prod-db", Users: []string{"app_user"}, Reason: "x", Requester: "alice",
		Platform: bot.PlatformDiscord, State: bot.StatePending, Approvals: 1, CreatedAt: now, UpdatedAt: now,
		ExpiresAt: now.Add(30 * time.Minute)}
}

func isPostTo(path string) func(discordtest.Call) bool {
	return func(c discordtest.Call) bool { return c.Method == "POST" && c.Path == path }
}

func TestRateLimits(t *testing.T) {
	cardPath := "channels/" + approvalsCh + "/messages"
	acct := accounts[0]

	t.Run("ShortRetryAfterIsWaitedFor", func(t *testing.T) {
		e := newEnv(t)
		e.fake.SetFault(discordtest.FaultFirst(2, isPostTo(cardPath), discordtest.RateLimited("0.05")))
		ref, err := e.ad.Card(e.ctx, pendingRequest("R-222222"), acct, "")
		if err != nil || !strings.HasPrefix(ref, approvalsCh+"/") {
			t.Fatalf("Card: got %q %v, want a card after two 429s", ref, err)
		}
		if got := e.fake.Count(isPostTo(cardPath)); got != 3 {
			t.Errorf("attempts: got %d, want 3", got)
		}
		if got := e.fake.Count(isCardPost); got != 1 {
			t.Errorf("cards: got %d, want 1", got)
		}
	})

	t.Run("RetryAfterHeaderAloneIsHonoured", func(t *testing.T) {
		e := newEnv(t)
		// A proxy's 429: the wait in the Retry-After header, none in the body.
		e.fake.SetFault(discordtest.FaultFirst(1, isPostTo(cardPath), &discordtest.Fault{Status: 429,
			Body: `{"message": "slow down"}`, Header: map[string]string{"Retry-After": "0"}}))
		ref, err := e.ad.Card(e.ctx, pendingRequest("R-222222"), acct, "")
		if err != nil || !strings.HasPrefix(ref, approvalsCh+"/") {
			t.Fatalf("Card: got %q %v, want a card after the 429", ref, err)
		}
		if got := e.fake.Count(isPostTo(cardPath)); got != 2 {
			t.Errorf("attempts: got %d, want 2", got)
		}
	})

	t.Run("LongRetryAfterHeaderGivesUpAtOnce", func(t *testing.T) {
		e := newEnv(t)
		e.fake.SetFault(discordtest.FaultFirst(1, isPostTo(cardPath), &discordtest.Fault{Status: 429,
			Body: `<html>Too Many Requests</html>`, Header: map[string]string{"Retry-After": "120"}}))
		_, err := e.ad.Card(e.ctx, pendingRequest("R-222222"), acct, "")
		if bot.ErrorCode(err) != bot.EUNAVAILABLE || !strings.Contains(bot.ErrorMessage(err), "rate limiting") {
			t.Errorf("Card: got %v, want EUNAVAILABLE about the rate limit", err)
		}
		if got := e.fake.Count(isPostTo(cardPath)); got != 1 {
			t.Errorf("attempts: got %d, want 1 (120 s is too long to wait)", got)
		}
	})

	t.Run("PersistentRateLimitIsBounded", func(t *testing.T) {
		e := newEnv(t)
		e.fake.SetFault(func(c discordtest.Call) *discordtest.Fault { return discordtest.RateLimited("0.05") })
		_, err := e.ad.Card(e.ctx, pendingRequest("R-222222"), acct, "")
		if bot.ErrorCode(err) != bot.EUNAVAILABLE || !strings.Contains(bot.ErrorMessage(err), "rate limiting") {
			t.Errorf("Card: got %v, want EUNAVAILABLE about the rate limit", err)
		}
		if got := e.fake.Count(isPostTo(cardPath)); got != 3 {
			t.Errorf("attempts: got %d, want 3", got)
		}
	})

	t.Run("LongRetryAfterGivesUpAtOnce", func(t *testing.T) {
		e := newEnv(t)
		e.fake.SetFault(discordtest.FaultFirst(1, isPostTo(cardPath), discordtest.RateLimited("100")))
		_, err := e.ad.Card(e.ctx, pendingRequest("R-222222"), acct, "")
		if bot.ErrorCode(err) != bot.EUNAVAILABLE || !strings.Contains(bot.ErrorMessage(err), "try again in") {
			t.Errorf("Card: got %v, want EUNAVAILABLE saying when to try again", err)
		}
		if got := e.fake.Count(isPostTo(cardPath)); got != 1 {
			t.Errorf("attempts: got %d, want 1 (100 s is too long to wait)", got)
		}
		// The bucket now says "reset after 100 s"; discordgo would sleep that
		// long, without a context, before the next call. The adapter bounds it.
		done := make(chan error, 1)
		go func() {
			_, err := e.ad.Card(context.Background(), pendingRequest("R-333333"), acct, "")
			done <- err
		}()
		ctx, cancel := context.WithTimeout(e.ctx, 20*time.Second)
		defer cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("the next card: %v", err)
			}
		case <-ctx.Done():
			t.Fatalf("the next card waited on the rate limit's 100 s")
		}
	})

	t.Run("RevealAnswerAfterA429", func(t *testing.T) {
		e := newEnv(t)
		id, _, offer := e.approved()
		i := e.dmClick(alice, "reveal:"+id, msgID(offer))
		path := "webhooks/" + appID + "/" + tokenOf(i) + "/messages/@original"
		isAnswer := func(c discordtest.Call) bool { return c.Method == "PATCH" && c.Path == path }
		e.fake.SetFault(discordtest.FaultFirst(1, isAnswer, discordtest.RateLimited("0.05")))
		got := e.revealWith(e.srv.URL, i)
		pws := e.passwords()
		if len(pws) != 1 || !strings.Contains(got, pws[0]) {
			t.Fatalf("answer: got %q, want the password after the 429", got)
		}
		if n := e.fake.Count(isAnswer); n != 2 {
			t.Errorf("attempts: got %d, want 2", n)
		}
		if n := e.resets(); n != 1 {
			t.Errorf("resets: got %d, want 1", n)
		}
		e.ad.Wait()
		e.checkSecrets(pws)
	})
}

func TestAPIFaults(t *testing.T) {
	acct := accounts[0]
	cardPath := "channels/" + approvalsCh + "/messages"
	for _, tc := range []struct {
		name     string
		fault    func(c discordtest.Call) *discordtest.Fault
		change   func(*discord.Options)
		edit     bool   // edit an existing card rather than post one
		want     string // "" for success, else in the error's message
		attempts int
		match    func(discordtest.Call) bool
	}{
		{name: "UnknownChannel", change: func(o *discord.Options) { o.ApprovalsChannel = "404404" },
			want: "discord.approvals_channel (404404)", attempts: 1, match: isPostTo("channels/404404/messages")},
		{name: "MissingPermissions", fault: func(discordtest.Call) *discordtest.Fault {
			return &discordtest.Fault{Status: 403, Body: `{"message": "Missing Permissions", "code": 50013}`}
		}, want: "lacks a permission", attempts: 1, match: isPostTo(cardPath)},
		{name: "BadToken", fault: func(discordtest.Call) *discordtest.Fault {
			return &discordtest.Fault{Status: 401, Body: `{"message": "401: Unauthorized", "code": 0}`}
		}, want: "discord.bot_token", attempts: 1, match: isPostTo(cardPath)},
		{name: "DroppedConnectionOnPostIsRetried", fault: discordtest.FaultFirst(1, isPostTo(cardPath), &discordtest.Fault{Hang: true}),
			attempts: 2, match: isPostTo(cardPath)},
		{name: "ServerErrorOnEditIsRetried", edit: true,
			fault:    discordtest.FaultFirst(1, func(c discordtest.Call) bool { return c.Method == "PATCH" }, &discordtest.Fault{Status: 500, Body: `{"message": "oops", "code": 0}`}),
			attempts: 2, match: func(c discordtest.Call) bool { return c.Method == "PATCH" }},
		{name: "PersistentServerErrorIsBounded", edit: true, fault: func(c discordtest.Call) *discordtest.Fault {
			if c.Method == "PATCH" {
				return &discordtest.Fault{Status: 503, Body: `{"message": "down", "code": 0}`}
			}
			return nil
		}, want: "having trouble (HTTP 503)", attempts: 3, match: func(c discordtest.Call) bool { return c.Method == "PATCH" }},
		{name: "DeletedCard", edit: true, fault: func(c discordtest.Call) *discordtest.Fault {
			if c.Method == "PATCH" {
				return &discordtest.Fault{Status: 404, Body: `{"message": "Unknown Message", "code": 10008}`}
			}
			return nil
		}, want: "was deleted", attempts: 1, match: func(c discordtest.Call) bool { return c.Method == "PATCH" }},
		{name: "GarbageAnswer", fault: func(c discordtest.Call) *discordtest.Fault {
			return &discordtest.Fault{Status: 200, Body: `<html>proxy says hi</html>`}
		}, want: "cannot reach Discord", attempts: 1, match: isPostTo(cardPath)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var change []func(*discord.Options)
			if tc.change != nil {
				change = append(change, tc.change)
			}
			e := newEnv(t, change...)
			ref := ""
			if tc.edit {
				var err error
				if ref, err = e.ad.Card(e.ctx, pendingRequest("R-222222"), acct, ""); err != nil {
					t.Fatalf("post the card: %v", err)
				}
			}
			e.fake.SetFault(tc.fault)
			req := pendingRequest("R-222222")
			if tc.edit {
				req.State = bot.StateApproved
			}
			_, err := e.ad.Card(e.ctx, req, acct, ref)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Card: got %v, want success", err)
			case tc.want != "" && (bot.ErrorCode(err) != bot.EUNAVAILABLE || !strings.Contains(bot.ErrorMessage(err), tc.want)):
				t.Errorf("Card: got %v, want EUNAVAILABLE with %q", err, tc.want)
			}
			if got := e.fake.Count(tc.match); got != tc.attempts {
				t.Errorf("attempts: got %d, want %d", got, tc.attempts)
			}
			if !tc.edit && tc.want == "" {
				if got := e.fake.Count(isCardPost); got != 1 {
					t.Errorf("cards: got %d, want 1", got)
				}
			}
		})
	}

	t.Run("FollowupNotRepeatedOnServerError", func(t *testing.T) {
		e := newEnv(t)
		i := e.slash(alice, "ask")
		req := pendingRequest("R-222222")
		req.CreatedAt = e.clock.Now()
		req.Refs = map[bot.RefKey]string{bot.Ref(bot.RefInteraction, bot.PlatformDiscord): tokenOf(i)}
		path := "webhooks/" + appID + "/" + tokenOf(i)
		e.fake.SetFault(discordtest.FaultFirst(1, isPostTo(path), &discordtest.Fault{Status: 500, Body: `{"message": "oops", "code": 0}`}))
		err := e.ad.Notify(e.ctx, people[0], req, "hello")
		if bot.ErrorCode(err) != bot.EUNAVAILABLE {
			t.Errorf("Notify: got %v, want EUNAVAILABLE", err)
		}
		if got := e.fake.Count(isPostTo(path)); got != 1 {
			t.Errorf("attempts: got %d, want 1 (a follow-up may have been posted)", got)
		}
	})

	t.Run("Unreachable", func(t *testing.T) {
		e := newEnv(t, func(o *discord.Options) { o.APIURL = "http://127.0.0.1:1/api/v10/" })
		_, err := e.ad.Card(e.ctx, pendingRequest("R-222222"), acct, "")
		if bot.ErrorCode(err) != bot.EUNAVAILABLE || !strings.Contains(bot.ErrorMessage(err), "cannot reach Discord at http://127.0.0.1:1/api/v10/") {
			t.Errorf("Card: got %v, want EUNAVAILABLE naming the API URL", err)
		}
	})
}

// TestAPIURL checks that every REST call goes to the adapter's own API URL,
// with two adapters in one process, and that the default is Discord's v10.
func TestAPIURL(t *testing.T) {
	t.Run("TwoAdaptersInOneProcess", func(t *testing.T) {
		clock := newClock()
		logs := &testkit.Log{}
		f1 := discordtest.NewServer(t, clock, "token-one", approvalsCh)
		f2 := discordtest.NewServer(t, clock, "token-two", approvalsCh)
		o1, o2 := adapterOptions(f1, clock, logs), adapterOptions(f2, clock, logs)
		o1.BotToken, o2.BotToken = "token-one", "token-two"
		a1, err1 := discord.New(o1)
		a2, err2 := discord.New(o2)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		const n = 10
		var wg sync.WaitGroup
		errs := make(chan error, 2*n)
		for k := 0; k < n; k++ {
			for _, a := range []*discord.Adapter{a1, a2} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := a.Card(ctx, pendingRequest("R-222222"), accounts[0], "")
					errs <- err
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("Card: %v", err)
			}
		}
		for _, tc := range []struct {
			f    *discordtest.Server
			auth string
		}{{f1, "Bot token-one"}, {f2, "Bot token-two"}} {
			calls := tc.f.Calls()
			if len(calls) != n {
				t.Errorf("calls to %s: got %d, want %d", tc.f.APIURL(), len(calls), n)
			}
			for _, c := range calls {
				if c.Auth != tc.auth || !isCardPost(c) {
					t.Errorf("call to %s: got %s %s with %q, want a card with %q", tc.f.APIURL(), c.Method, c.Path, c.Auth, tc.auth)
				}
			}
		}
	})

	t.Run("DefaultIsDiscordV10", func(t *testing.T) {
		var mu sync.Mutex
		var urls []string
		client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			urls = append(urls, r.URL.String())
			mu.Unlock()
			return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(`{"id": "5001", "channel_id": "789"}`)), Request: r}, nil
		})}
		o := adapterOptions(discordtest.NewServer(t, newClock(), botToken), newClock(), &testkit.Log{})
		o.APIURL, o.HTTPClient = "", client
		a, err := discord.New(o)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Card(context.Background(), pendingRequest("R-222222"), accounts[0], ""); err != nil {
			t.Fatalf("Card: %v", err)
		}
		if len(urls) != 1 || urls[0] != "https://discord.com/api/v10/channels/789/messages" {
			t.Errorf("URLs: got %v, want https://discord.com/api/v10/channels/789/messages", urls)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestCardNeverGoesBack: updates that arrive late (a vote's handler behind
// the executor) do not put an older state back on the card.
func TestCardNeverGoesBack(t *testing.T) {
	e := newEnv(t)
	req := pendingRequest("R-222222")
	ref, err := e.ad.Card(e.ctx, req, accounts[0], "")
	if err != nil {
		t.Fatal(err)
	}
	approved, done := req, req
	approved.State, approved.UpdatedAt = bot.StateApproved, req.UpdatedAt.Add(time.Second)
	done.State, done.UpdatedAt, done.Outcome = bot.StateSucceeded, req.UpdatedAt.Add(2*time.Second), "reset app_user"
	for _, r := range []bot.Request{done, approved, req} {
		if _, err := e.ad.Card(e.ctx, r, accounts[0], ref); err != nil {
			t.Fatalf("Card(%s): %v", r.State, err)
		}
	}
	edits := 0
	for _, c := range e.fake.Calls() {
		if isCardEdit(c) {
			edits++
			if !strings.Contains(embedText(c), "**Done**") {
				t.Errorf("edit: got %s, want only the newest state", embedText(c))
			}
		}
	}
	if edits != 1 {
		t.Errorf("edits: got %d, want 1", edits)
	}
}

// TestCardPostedOnceAfterALostAnswer: a card Discord posted but whose
// answer never came (the client's timeout) is asked for again, and the
// nonce makes Discord return the card already posted: one card.
func TestCardPostedOnceAfterALostAnswer(t *testing.T) {
	b := newBare(t, func(o *discord.Options) { o.HTTPClient = &http.Client{Timeout: time.Second} })
	cardPath := "channels/" + approvalsCh + "/messages"
	b.fake.SetFault(discordtest.FaultFirst(1, isPostTo(cardPath), &discordtest.Fault{Late: true}))
	ref, err := b.ad.Card(b.ctx, pendingRequest("R-LOST22"), accounts[0], "")
	if err != nil {
		t.Fatalf("Card: %v", err)
	}
	if n := b.fake.Count(isPostTo(cardPath)); n != 2 {
		t.Errorf("calls: got %d, want 2 (the lost one and its retry)", n)
	}
	posted := postedMessages(b.fake, isPostTo(cardPath))
	if len(posted) != 1 || ref != approvalsCh+"/"+posted[0] {
		t.Errorf("cards in Discord: got %v (ref %s), want one, the one returned", posted, ref)
	}
}
