package slack_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	slackad "resetbot/adapters/slack"
	"resetbot/adapters/slack/slacktest"
	"resetbot/bot"
)

// blockText is every string in a call's blocks, decoded, one a line.
func blockText(c slacktest.Call) string { return slacktest.JSONStrings(c.Get("blocks")) }

// cardOf returns the last card call (post or update) for request id.
func cardOf(calls []slacktest.Call, id string) (slacktest.Call, bool) {
	for i := len(calls) - 1; i >= 0; i-- {
		c := calls[i]
		if (c.Method == "chat.postMessage" || c.Method == "chat.update") && c.Get("channel") == approvalsChannel &&
			strings.Contains(c.Get("blocks"), id) {
			return c, true
		}
	}
	return slacktest.Call{}, false
}

func TestResetOverHTTP(t *testing.T) {
	e := newEnv(t)
	var id string

	t.Run("AliceAsks", func(t *testing.T) {
		id = e.ask(alice, "prod-db locked out after the key rotation")
		posts := e.slack.CallsOf("chat.postMessage")
		if len(posts) != 1 {
			t.Fatalf("got %d chat.postMessage calls, want 1 card", len(posts))
		}
		card := posts[0]
		if got := card.Get("channel"); got != approvalsChannel {
			t.Errorf("card channel: got %q, want %q", got, approvalsChannel)
		}
		blocks := card.Get("blocks")
		for _, want := range []string{`"action_id":"approve"`, `"action_id":"deny"`, `"value":"` + id + `"`} {
			if !strings.Contains(blocks, want) {
				t.Errorf("card blocks lack %s:\n%s", want, blocks)
			}
		}
		text := blockText(card)
		for _, want := range []string{id, "alice", "prod-db", "tencent.tdsql ap-guangzhou", "instance_id=tdsql3-d8fffc3c",
			"app_user", "locked out after the key rotation", "<!date^", "Approvals: db-approvers 0/1"} {
			if !strings.Contains(text, want) {
				t.Errorf("card lacks %q:\n%s", want, text)
			}
		}
		req := e.request(id)
		if req.State != bot.StatePending {
			t.Errorf("state: got %s, want pending", req.State)
		}
		if got, want := req.Refs["card.slack"], approvalsChannel+"/"; !strings.HasPrefix(got, want) {
			t.Errorf("card ref: got %q, want %q…", got, want)
		} else if _, ok := e.slack.Message(got); !ok {
			t.Errorf("card ref %q: Slack keeps no message there", got)
		}
	})

	t.Run("OwnApproveRefused", func(t *testing.T) {
		hook := "own-" + e.next()
		if status, _ := e.interact(click(alice, "approve", id, "1700000100.000001", hook, e.slack)); status != http.StatusOK {
			t.Fatalf("click: got %d, want 200", status)
		}
		if got := e.slack.Reply(e.ctx(), hook); !strings.Contains(got, "own request") {
			t.Errorf("reply: got %q, want a refusal of her own approval", got)
		}
		if req := e.request(id); req.State != bot.StatePending || len(req.Votes) != 0 {
			t.Errorf("after her own approve: got %s with %d votes, want pending with none", req.State, len(req.Votes))
		}
	})

	t.Run("NonApproverRefused", func(t *testing.T) {
		hook := "carol-" + e.next()
		e.interact(click(carol, "approve", id, "1700000101.000001", hook, e.slack))
		if got := e.slack.Reply(e.ctx(), hook); !strings.Contains(got, "not an approver") {
			t.Errorf("reply: got %q, want a refusal", got)
		}
		if req := e.request(id); req.State != bot.StatePending || len(req.Votes) != 0 {
			t.Errorf("after carol: got %s with %d votes, want pending with none", req.State, len(req.Votes))
		}
	})

	bobClick := click(bob, "approve", id, "1700000102.000001", "bob-approve", e.slack)
	t.Run("BobApproves", func(t *testing.T) {
		if status, _ := e.interact(bobClick); status != http.StatusOK {
			t.Fatalf("click: got %d, want 200", status)
		}
		if got := e.slack.Reply(e.ctx(), "bob-approve"); !strings.Contains(got, "You approved "+id) {
			t.Errorf("reply: got %q, want a confirmation", got)
		}
		e.slack.WaitFor(e.ctx(), "the card to wait for alice's Reveal", func(cs []slacktest.Call) bool {
			c, ok := cardOf(cs, id)
			return ok && c.Method == "chat.update" && strings.Contains(c.Get("blocks"), "waiting for alice to reveal")
		})
		if n := e.resets(); n != 0 {
			t.Errorf("calls to the cloud API at approval: got %d, want 0", n)
		}
	})

	var trigger string
	t.Run("AliceReveals", func(t *testing.T) {
		e.slack.WaitFor(e.ctx(), "the Reveal offer", func(cs []slacktest.Call) bool { _, ok := offerOf(cs, id); return ok })
		hook := "alice-reveal"
		trigger = "reveal-" + hook
		e.interact(revealClick(e.slack, alice, id, hook))
		if pws := e.passwords(); !strings.Contains(e.window(trigger).Text(), e.passwords()[0]) || len(pws) > 1 {
			t.Errorf("the window does not show the one new password")
		}
		e.slack.WaitFor(e.ctx(), "the card to show success", func(cs []slacktest.Call) bool {
			c, ok := cardOf(cs, id)
			return ok && c.Method == "chat.update" && strings.Contains(c.Get("blocks"), "succeeded")
		})
	})

	t.Run("ExactlyOneProviderCall", func(t *testing.T) {
		if n := e.resets(); n != 1 {
			t.Errorf("calls to the cloud API: got %d, want 1", n)
		}
	})

	t.Run("CardUpdatedWithoutButtons", func(t *testing.T) {
		c, _ := cardOf(e.slack.Calls(), id)
		blocks := c.Get("blocks")
		if c.Method != "chat.update" || c.Get("channel") != approvalsChannel {
			t.Fatalf("last card call: got %s in %s, want chat.update in %s", c.Method, c.Get("channel"), approvalsChannel)
		}
		if strings.Contains(blocks, `"action_id":"approve"`) || strings.Contains(blocks, `"action_id":"deny"`) {
			t.Errorf("the finished card still has buttons:\n%s", blocks)
		}
		if !strings.Contains(blockText(c), "*bob* approved") {
			t.Errorf("the card does not show bob's vote:\n%s", blocks)
		}
		if got := e.request(id).State; got != bot.StateSucceeded {
			t.Errorf("state: got %s, want succeeded", got)
		}
	})

	t.Run("PasswordReachesAliceInHerWindowOnly", func(t *testing.T) {
		pws := e.passwords()
		if len(pws) != 1 {
			t.Fatalf("passwords made: got %d, want 1", len(pws))
		}
		e.ad.Wait()
		e.checkOnlyInWindow(t, pws[0], trigger)
		if v, _ := e.slack.ViewOpenedWith(trigger); strings.Contains(v.Text(), pws[0]) == false {
			t.Errorf("the window opened with alice's click does not hold the password")
		}
	})

	t.Run("ReplayedClickDoesNothing", func(t *testing.T) {
		before := len(e.slack.Calls())
		if status, _ := e.interact(bobClick); status != http.StatusOK {
			t.Fatalf("replayed click: got %d, want 200", status)
		}
		e.ad.Wait()
		if got := e.slack.Calls()[before:]; len(got) != 0 {
			t.Errorf("a replayed click made %d Slack calls (%v), want none", len(got), got[0].Method)
		}
		if n := e.resets(); n != 1 {
			t.Errorf("calls to the cloud API after the replay: got %d, want 1", n)
		}
		if votes := e.request(id).Votes; len(votes) != 1 {
			t.Errorf("votes after the replay: got %d, want 1", len(votes))
		}
	})
}

func TestRefusedRequests(t *testing.T) {
	e := newEnv(t)
	ask := e.commandForm(alice, "prod-db locked out", "refused")
	tests := []struct {
		name       string
		path, body string
		edit       func(*http.Request)
		want       int
	}{
		{"BadSignature", "/slack/commands", ask, func(r *http.Request) {
			sign(r, ask, time.Now(), "not-the-secret")
		}, http.StatusUnauthorized},
		{"TamperedBody", "/slack/commands", ask, func(r *http.Request) {
			sign(r, strings.Replace(ask, "prod-db", "staging-db", 1), time.Now(), secret)
		}, http.StatusUnauthorized},
		{"StaleTimestamp", "/slack/commands", ask, func(r *http.Request) {
			sign(r, ask, time.Now().Add(-6*time.Minute), secret)
		}, http.StatusUnauthorized},
		{"FutureTimestamp", "/slack/commands", ask, func(r *http.Request) {
			sign(r, ask, time.Now().Add(6*time.Minute), secret)
		}, http.StatusUnauthorized},
		{"NoSignature", "/slack/commands", ask, func(r *http.Request) {
			r.Header.Del("X-Slack-Signature")
		}, http.StatusUnauthorized},
		{"BadSignatureOnClick", "/slack/interactions", interactionForm(t, click(bob, "approve", "R-222222", "1", "x", e.slack)),
			func(r *http.Request) { r.Header.Set("X-Slack-Signature", "v0=00") }, http.StatusUnauthorized},
		{"BodyTooLarge", "/slack/commands", ask + "&pad=" + strings.Repeat("a", 70<<10), nil, http.StatusRequestEntityTooLarge},
		{"CommandWithoutUser", "/slack/commands", url.Values{"text": {"list"}, "command": {"/reset-password"}}.Encode(), nil, http.StatusBadRequest},
		{"InteractionWithoutPayload", "/slack/interactions", "nothing=here", nil, http.StatusBadRequest},
		{"PayloadNotJSON", "/slack/interactions", url.Values{"payload": {"{not json"}}.Encode(), nil, http.StatusBadRequest},
		{"ClickWithoutUser", "/slack/interactions", interactionForm(t, map[string]any{"type": "block_actions"}), nil, http.StatusBadRequest},
		{"ClickWithBadRequestID", "/slack/interactions", interactionForm(t, click(bob, "approve", "R-0OIL1U", "1", "x", e.slack)), nil, http.StatusBadRequest},
		{"DenyFormWithoutRequest", "/slack/interactions", interactionForm(t, map[string]any{
			"type": "view_submission", "user": map[string]any{"id": bob},
			"view": map[string]any{"id": "V1", "callback_id": "reset_deny", "private_metadata": "junk"},
		}), nil, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var edits []func(*http.Request)
			if tt.edit != nil {
				edits = append(edits, tt.edit)
			}
			if got, _ := e.post(tt.path, tt.body, edits...); got != tt.want {
				t.Errorf("status: got %d, want %d", got, tt.want)
			}
			e.ad.Wait()
			if calls := e.slack.Calls(); len(calls) != 0 {
				t.Errorf("Slack got %d calls (first %s), want none", len(calls), calls[0].Method)
			}
			if hasEvent(e.audit(), "requested", "") {
				t.Errorf("a request was created")
			}
		})
	}
}

// TestUnknownUserRefused: a stranger is answered in the acknowledgement
// itself, and nothing else happens but the audit of the attempt (design:
// every refused attempt is audited): no work queued, no Slack call.
func TestUnknownUserRefused(t *testing.T) {
	tests := []struct{ name, text string }{
		{"Ask", "prod-db let me in"},
		{"List", "list"},
		{"Form", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			status, body, _ := e.command(mallory, tt.text)
			if status != http.StatusOK {
				t.Fatalf("status: got %d, want 200", status)
			}
			if got := ackText(t, body); !strings.Contains(got, "not in resetbot's list of people") || !strings.Contains(got, mallory) {
				t.Errorf("ack: got %q, want a refusal naming the user ID", got)
			}
			e.ad.Wait()
			if calls := e.slack.Calls(); len(calls) != 0 {
				t.Errorf("Slack got %d calls (first %s), want none", len(calls), calls[0].Method)
			}
			if evs := e.audit(); len(evs) != 1 || evs[0].Kind != bot.EventRefused || !evs[0].Stranger || evs[0].Actor != "slack:"+mallory {
				t.Errorf("audit: got %v, want one refusal of the stranger", evs)
			}
		})
	}
}

// ackText is the text of an ephemeral acknowledgement.
func ackText(t testing.TB, body string) string {
	t.Helper()
	var msg struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}
	if err := json.Unmarshal([]byte(body), &msg); err != nil || msg.ResponseType != "ephemeral" {
		t.Fatalf("ack %q is not an ephemeral message (%v)", body, err)
	}
	return msg.Text
}

func TestBadCommandTextAnsweredAtOnce(t *testing.T) {
	e := newEnv(t)
	tests := []struct{ name, text, want string }{
		{"NoReason", "prod-db", "a reason is required"},
		{"BadID", "approve R-1", "is not a request ID"},
		{"BadAccountName", "prod/db why", "not allowed"},
		{"ListWithArgs", "list everything", "list takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, _ := e.command(alice, tt.text)
			if status != http.StatusOK {
				t.Fatalf("status: got %d, want 200", status)
			}
			var msg struct {
				ResponseType string `json:"response_type"`
				Text         string `json:"text"`
			}
			if err := json.Unmarshal([]byte(body), &msg); err != nil {
				t.Fatalf("body %q is not a message: %v", body, err)
			}
			if msg.ResponseType != "ephemeral" || !strings.Contains(msg.Text, tt.want) || !strings.Contains(msg.Text, "Write:") {
				t.Errorf("got %s %q, want an ephemeral %q with how to write it", msg.ResponseType, msg.Text, tt.want)
			}
		})
	}
	e.ad.Wait()
	if calls := e.slack.Calls(); len(calls) != 0 {
		t.Errorf("Slack got %d calls, want none", len(calls))
	}
	if hasEvent(e.audit(), "requested", "") {
		t.Errorf("a request was created")
	}
}

func TestTextCommands(t *testing.T) {
	e := newEnv(t)
	tests := []struct{ name, user, text, want string }{
		{"Help", alice, "help", "Usage:"},
		{"List", alice, "list", "prod-db (tencent.tdsql ap-guangzhou"},
		{"StatusEmpty", carol, "status", "no open requests"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, hook := e.command(tt.user, tt.text)
			if got := e.slack.Reply(e.ctx(), hook); !strings.Contains(got, tt.want) {
				t.Errorf("reply: got %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("ApproveAndCancelByText", func(t *testing.T) {
		id := e.ask(alice, "staging-db rotate")
		_, _, hook := e.command(alice, "cancel "+strings.ToLower(id))
		if got := e.slack.Reply(e.ctx(), hook); got != id+" is cancelled." {
			t.Errorf("cancel reply: got %q", got)
		}
		_, _, hook = e.command(bob, "approve "+id)
		if got := e.slack.Reply(e.ctx(), hook); !strings.Contains(got, "cancelled") {
			t.Errorf("approving a cancelled request: got %q, want a refusal that says it is cancelled", got)
		}
		if n := e.resets(); n != 0 {
			t.Errorf("calls to the cloud API: got %d, want 0", n)
		}
	})
}

func TestRequestForm(t *testing.T) {
	e := newEnv(t)
	status, body, hook := e.command(alice, "")
	if status != http.StatusOK || body != "" {
		t.Fatalf("got %d %q, want an empty 200", status, body)
	}
	opened := e.slack.WaitFor(e.ctx(), "views.open", func(cs []slacktest.Call) bool {
		for _, c := range cs {
			if c.Method == "views.open" {
				return true
			}
		}
		return false
	})
	var open slacktest.Call
	for _, c := range opened {
		if c.Method == "views.open" {
			open = c
		}
	}
	if got, want := open.Get("trigger_id"), "trigger-"+hook; got != want {
		t.Errorf("trigger_id: got %q, want %q", got, want)
	}
	for _, want := range []string{"prod-db", "staging-db", "reset_ask", `"action_id":"reason"`} {
		if !strings.Contains(open.Body, want) {
			t.Errorf("the form lacks %q: %s", want, open.Body)
		}
	}

	t.Run("EmptyReasonRefusedInTheForm", func(t *testing.T) {
		status, body := e.interact(submission(t, alice, open, map[string]any{
			"account": map[string]any{"type": "static_select", "selected_option": map[string]any{"value": "prod-db"}},
			"reason":  map[string]any{"type": "plain_text_input", "value": "   "},
		}))
		var got struct {
			ResponseAction string            `json:"response_action"`
			Errors         map[string]string `json:"errors"`
		}
		_ = json.Unmarshal([]byte(body), &got)
		if status != http.StatusOK || got.ResponseAction != "errors" || got.Errors["reason"] == "" {
			t.Errorf("got %d %s, want field errors on the reason", status, body)
		}
	})

	if !strings.Contains(open.Body, `"block_id":"users"`) || !strings.Contains(open.Body, "reports-db (app_user, report_user)") {
		t.Errorf("the form lacks the users field for reports-db: %s", open.Body)
	}

	t.Run("UsersCheckedInTheForm", func(t *testing.T) {
		for users, says := range map[string]string{
			"nobody":                   "has no user",
			"report_user, report_user": "named twice",
		} {
			status, body := e.interact(submission(t, alice, open, map[string]any{
				"account": map[string]any{"type": "static_select", "selected_option": map[string]any{"value": "reports-db"}},
				"users":   map[string]any{"type": "plain_text_input", "value": users},
				"reason":  map[string]any{"type": "plain_text_input", "value": "rotate"},
			}))
			var got struct {
				Errors map[string]string `json:"errors"`
			}
			_ = json.Unmarshal([]byte(body), &got)
			if status != http.StatusOK || !strings.Contains(got.Errors["users"], says) {
				t.Errorf("users %q: got %d %s, want a field error on the users saying %q", users, status, body, says)
			}
		}
	})

	t.Run("InvisibleCharactersRefusedInTheForm", func(t *testing.T) {
		for _, reason := range []string{"routine rotation \u202eDENIED yb devorppa\u202c", "zero\u200bwidth"} {
			status, body := e.interact(submission(t, alice, open, map[string]any{
				"account": map[string]any{"type": "static_select", "selected_option": map[string]any{"value": "prod-db"}},
				"reason":  map[string]any{"type": "plain_text_input", "value": reason},
			}))
			want, _ := json.Marshal(bot.ErrorMessage(bot.CheckText("reason", reason)))
			if status != http.StatusOK || !strings.Contains(body, `"reason":`+string(want)) {
				t.Errorf("reason %q: got %d %s, want the field error %s on the reason", reason, status, body, want)
			}
		}
	})

	t.Run("SubmissionAsks", func(t *testing.T) {
		sub := submission(t, alice, open, map[string]any{
			"account": map[string]any{"type": "static_select", "selected_option": map[string]any{"value": "prod-db"}},
			"reason":  map[string]any{"type": "plain_text_input", "value": "locked\nout"},
		})
		if status, body := e.interact(sub); status != http.StatusOK || body != "" {
			t.Fatalf("got %d %q, want an empty 200 that closes the form", status, body)
		}
		id := askedID(t, e.slack.Reply(e.ctx(), hook))
		req := e.request(id)
		if req.Account != "prod-db" || req.Reason != "locked out" || req.Requester != "alice" {
			t.Errorf("request: got %s %q by %s, want prod-db %q by alice", req.Account, req.Reason, req.Requester, "locked out")
		}
		t.Run("SubmittedTwiceAsksOnce", func(t *testing.T) {
			before := len(e.slack.Calls())
			e.interact(sub)
			e.ad.Wait()
			if got := len(e.slack.Calls()) - before; got != 0 {
				t.Errorf("a repeated submission made %d Slack calls, want none", got)
			}
		})
	})

	t.Run("SomeUsersOfAnAccount", func(t *testing.T) {
		sub := submission(t, alice, open, map[string]any{
			"account": map[string]any{"type": "static_select", "selected_option": map[string]any{"value": "reports-db"}},
			"users":   map[string]any{"type": "plain_text_input", "value": " report_user "},
			"reason":  map[string]any{"type": "plain_text_input", "value": "rotate the report job's password"},
		})
		sub["view"].(map[string]any)["id"] = "V-another-form"
		if status, body := e.interact(sub); status != http.StatusOK || body != "" {
			t.Fatalf("got %d %q, want an empty 200 that closes the form", status, body)
		}
		e.ad.Wait()
		open, err := e.Store.Open(context.Background(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range open {
			if r.Account == "reports-db" {
				got = r.Users
			}
		}
		if !slices.Equal(got, []string{"report_user"}) {
			t.Errorf("reports-db request's users: got %v, want [report_user]", got)
		}
	})
}

func TestDenyForm(t *testing.T) {
	e := newEnv(t)
	id := e.ask(alice, "prod-db locked out")
	// Who may not deny is told so at the click, without a form to fill in.
	// A stranger's click is refused in the acknowledgement (HTTP 403, which
	// Slack shows by the button), with nothing queued.
	if status, body := e.interact(click(mallory, "deny", id, "1700000100.000001", "mallory-deny", e.slack)); status != http.StatusForbidden ||
		!strings.Contains(body, "not in resetbot's list of people") {
		t.Errorf("mallory clicks Deny: got %d %q, want 403 saying she is not in the list of people", status, body)
	}
	for _, tc := range []struct{ user, hook, says string }{
		{carol, "carol-deny", "not an approver of prod-db"},
		{alice, "alice-deny", "cannot deny your own request"},
	} {
		e.interact(click(tc.user, "deny", id, "1700000100.000001", tc.hook, e.slack))
		if got := e.slack.Reply(e.ctx(), tc.hook); !strings.Contains(got, tc.says) {
			t.Errorf("%s clicks Deny: got %q, want %q", tc.user, got, tc.says)
		}
	}
	e.ad.Wait()
	for _, c := range e.slack.Calls() {
		if c.Method == "views.open" {
			t.Fatalf("a deny form opened for someone who may not deny")
		}
	}
	e.interact(click(bob, "deny", id, "1700000200.000001", "bob-deny", e.slack))
	calls := e.slack.WaitFor(e.ctx(), "the deny form", func(cs []slacktest.Call) bool {
		for _, c := range cs {
			if c.Method == "views.open" {
				return true
			}
		}
		return false
	})
	var open slacktest.Call
	for _, c := range calls {
		if c.Method == "views.open" {
			open = c
		}
	}
	if !strings.Contains(open.Body, "reset_deny") || !strings.Contains(open.Body, id) {
		t.Fatalf("the deny form does not name %s: %s", id, open.Body)
	}
	if got := e.request(id).State; got != bot.StatePending {
		t.Fatalf("opening the form changed the state to %s", got)
	}
	e.interact(submission(t, bob, open, map[string]any{
		"reason": map[string]any{"type": "plain_text_input", "value": "use the <!channel> break-glass account"},
	}))
	if got := e.slack.Reply(e.ctx(), "bob-deny"); !strings.Contains(got, "You denied "+id) {
		t.Errorf("reply to bob: got %q", got)
	}
	req := e.request(id)
	if req.State != bot.StateDenied {
		t.Fatalf("state: got %s, want denied", req.State)
	}
	c, _ := cardOf(e.slack.Calls(), id)
	blocks := blockText(c)
	if c.Method != "chat.update" || strings.Contains(c.Get("blocks"), `"action_id":"approve"`) || !strings.Contains(blocks, "*bob* denied") {
		t.Errorf("card after the deny: got %s\n%s", c.Method, blocks)
	}
	// Rich text shows "<!channel>" as written, without notifying anyone;
	// no mrkdwn text carries it.
	if !blocksShown(t, c.Get("blocks")).showsLiterally("use the <!channel> break-glass account") {
		t.Errorf("the card does not show a reason that mentions the channel literally:\n%s", blocks)
	}
	e.slack.WaitFor(e.ctx(), "alice to hear of the deny", func(cs []slacktest.Call) bool {
		for _, c := range cs {
			if c.Method == "chat.postEphemeral" && c.Get("user") == alice && strings.Contains(c.Get("text"), "denied by bob") {
				return true
			}
		}
		return false
	})
	if n := e.resets(); n != 0 {
		t.Errorf("calls to the cloud API: got %d, want 0", n)
	}
}

func TestRetriedDeliveryIgnored(t *testing.T) {
	e := newEnv(t)
	status, body := e.post("/slack/commands", e.commandForm(alice, "prod-db locked out", "retried"), func(r *http.Request) {
		r.Header.Set("X-Slack-Retry-Num", "1")
		r.Header.Set("X-Slack-Retry-Reason", "http_timeout")
	})
	if status != http.StatusOK || body != "" {
		t.Errorf("got %d %q, want an empty 200", status, body)
	}
	e.ad.Wait()
	if calls := e.slack.Calls(); len(calls) != 0 {
		t.Errorf("Slack got %d calls, want none", len(calls))
	}
	if hasEvent(e.audit(), "requested", "") {
		t.Errorf("a retried delivery created a request")
	}
}

func TestRepeatedCommandAsksOnce(t *testing.T) {
	tests := []struct {
		name string
		opts []envOption
	}{
		{"SharedMemory", nil},
		{"InProcessMemory", []envOption{func(c *envConfig) { c.slack.Seen = nil }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts...)
			form := e.commandForm(alice, "prod-db locked out", "twice")
			e.post("/slack/commands", form)
			e.post("/slack/commands", form) // the same signed body again, within the window
			e.ad.Wait()
			if n := len(e.slack.CallsOf("chat.postMessage")); n != 1 {
				t.Errorf("cards: got %d, want 1", n)
			}
			if n := len(e.slack.CallsOf("hook")); n != 1 {
				t.Errorf("replies: got %d, want 1", n)
			}
		})
	}
}

func TestRateLimitedCardHonoursRetryAfter(t *testing.T) {
	e := newEnv(t)
	e.slack.Fail("chat.postMessage", slacktest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "1", Err: "ratelimited", Times: 1})
	id := e.ask(alice, "prod-db locked out")
	posts := e.slack.CallsOf("chat.postMessage")
	if len(posts) != 2 {
		t.Fatalf("chat.postMessage calls: got %d, want 2 (refused, then retried)", len(posts))
	}
	if gap := posts[1].At.Sub(posts[0].At); gap < time.Second {
		t.Errorf("retried after %s, want at least the 1s of Retry-After", gap)
	}
	if ref := e.request(id).Refs["card.slack"]; ref == "" {
		t.Errorf("the card posted on the retry has no ref on the request")
	}
}

func TestChannelNotFoundLeavesRequestPending(t *testing.T) {
	e := newEnv(t)
	e.slack.Fail("chat.postMessage", slacktest.Fault{Err: "channel_not_found"})
	id := e.ask(alice, "prod-db locked out")
	req := e.request(id)
	if req.State != bot.StatePending || req.Refs["card.slack"] != "" {
		t.Errorf("got %s with card ref %q, want pending without a card", req.State, req.Refs["card.slack"])
	}
	if n := len(e.slack.CallsOf("chat.postMessage")); n != 1 {
		t.Errorf("chat.postMessage calls: got %d, want 1 (channel_not_found is not retried)", n)
	}
	if !hasEvent(e.audit(), "chat_error", "slack.approvals_channel") {
		t.Errorf("audit: no chat_error that names the setting to fix: %v", e.audit())
	}
	_, _, hook := e.command(bob, "approve "+id)
	if got := e.slack.Reply(e.ctx(), hook); !strings.Contains(got, "You approved "+id) {
		t.Errorf("approving by text without a card: got %q", got)
	}
	e.slack.WaitFor(e.ctx(), "the Reveal offer to alice", func(cs []slacktest.Call) bool {
		_, ok := offerOf(cs, id)
		return ok
	})
}

// TestOfferFaultFailsTheRequest: when the offer cannot reach the requester,
// nothing is reset, the request fails saying so, and the fault is audited.
func TestOfferFaultFailsTheRequest(t *testing.T) {
	e := newEnv(t)
	id := e.ask(alice, "prod-db locked out")
	e.slack.Fail("chat.postMessage", slacktest.Fault{Err: "invalid_auth"})
	e.interact(click(bob, "approve", id, "1700000300.000001", "bob", e.slack))
	e.slack.WaitFor(e.ctx(), "the card to show the result", func(cs []slacktest.Call) bool {
		c, ok := cardOf(cs, id)
		return ok && strings.Contains(c.Get("blocks"), "failed")
	})
	req := e.request(id)
	if req.State != bot.StateFailed || !strings.Contains(req.Outcome, "Reveal button could not be sent") {
		t.Errorf("request: got %s %q, want failed saying the Reveal button did not arrive", req.State, req.Outcome)
	}
	if !hasEvent(e.audit(), "chat_error", "slack.bot_token") {
		t.Errorf("audit: no chat_error naming the token: %v", e.audit())
	}
	offers := 0
	for _, c := range e.slack.CallsOf("chat.postMessage") {
		if c.Get("channel") == "D"+alice {
			offers++
		}
	}
	if offers != 1 {
		t.Errorf("offer attempts: got %d, want 1 (invalid_auth is not worth a retry)", offers)
	}
	if n := e.resets(); n != 0 {
		t.Errorf("calls to the cloud API: got %d, want 0", n)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		opts slackad.Options
		want string
	}{
		{"NoToken", slackad.Options{SigningSecret: "s", ApprovalsChannel: "C1"}, "bot_token"},
		{"NoSecretNorAppToken", slackad.Options{BotToken: "xoxb", ApprovalsChannel: "C1"}, "signing_secret"},
		{"NoChannel", slackad.Options{BotToken: "xoxb", SigningSecret: "s"}, "approvals_channel"},
		{"BadAPIURL", slackad.Options{BotToken: "xoxb", SigningSecret: "s", ApprovalsChannel: "C1", APIURL: "ftp://x"}, "api_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := slackad.New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	f := slacktest.NewServer(t, botToken, appToken)
	tests := []struct {
		name  string
		token string
		code  string
	}{
		{"GoodToken", botToken, ""},
		{"BadToken", "xoxb-wrong", bot.EINTERNAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ad, err := slackad.New(slackad.Options{BotToken: tt.token, SigningSecret: secret, ApprovalsChannel: approvalsChannel, APIURL: f.APIURL()})
			if err != nil {
				t.Fatal(err)
			}
			err = ad.Check(context.Background())
			if got := bot.ErrorCode(err); got != tt.code {
				t.Errorf("got %v (%s), want code %q", err, got, tt.code)
			}
			if err != nil && !strings.Contains(bot.ErrorMessage(err), "slack.bot_token") {
				t.Errorf("message %q does not say what to fix", bot.ErrorMessage(err))
			}
		})
	}
}

func TestCardFaultsLeaveRequestPending(t *testing.T) {
	tests := []struct {
		name  string
		fault slacktest.Fault
		want  string // in the audited chat_error
	}{
		{"NotInChannel", slacktest.Fault{Err: "not_in_channel"}, "/invite"},
		{"InvalidAuth", slacktest.Fault{Err: "invalid_auth"}, "slack.bot_token"},
		{"ServerError", slacktest.Fault{Status: http.StatusServiceUnavailable, Err: "service_unavailable"}, "HTTP 503"},
		{"RateLimitedTooLong", slacktest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "120", Err: "ratelimited"}, "rate limiting"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.slack.Fail("chat.postMessage", tt.fault)
			id := e.ask(alice, "prod-db locked out")
			if req := e.request(id); req.State != bot.StatePending || req.Refs["card.slack"] != "" {
				t.Errorf("got %s with card ref %q, want pending without a card", req.State, req.Refs["card.slack"])
			}
			if !hasEvent(e.audit(), "chat_error", tt.want) {
				t.Errorf("audit: no chat_error saying %q: %v", tt.want, e.audit())
			}
		})
	}
}
