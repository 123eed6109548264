package slack_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"resetbot/adapters/slack/slacktest"
	"resetbot/bot"
)

// Payloads shaped as Slack sends them, beyond the plain ones of the other
// tests: Enterprise Grid (W… user IDs, enterprise_id, org-wide installs),
// commands from direct messages, private and shared channels, clicks from
// messages, ephemeral messages and views, and form submissions that carry
// more than the bot's own fields.

// gridCommand is /reset-password text as Slack sends it from channel (with
// name) in an Enterprise Grid org where the app is installed org-wide.
func (e *env) gridCommand(user, text, hook string, fields url.Values) string {
	v, _ := url.ParseQuery(e.commandForm(user, text, hook))
	for k, vs := range fields {
		v[k] = vs
	}
	return v.Encode()
}

func TestCommandPayloads(t *testing.T) {
	tests := []struct {
		name   string
		user   string
		fields url.Values
	}{
		{"EnterpriseGridOrgInstall", dave, url.Values{
			"team_id": {"T0WORKSPACE"}, "team_domain": {"eng-ws"},
			"enterprise_id": {"E0GRID"}, "enterprise_name": {"Globular Construct Inc"},
			"is_enterprise_install": {"true"}, "channel_id": {"C0GRIDENG"}, "channel_name": {"eng"},
		}},
		{"EnterpriseGridWorkspaceInstall", dave, url.Values{
			"enterprise_id": {"E0GRID"}, "enterprise_name": {"Globular Construct Inc"},
			"is_enterprise_install": {"false"},
		}},
		{"DirectMessage", alice, url.Values{"channel_id": {"D0ALICEDM"}, "channel_name": {"directmessage"}}},
		{"GroupDirectMessage", alice, url.Values{"channel_id": {"C0MPDM"}, "channel_name": {"mpdm-alice--bob-1"}}},
		{"PrivateChannel", alice, url.Values{"channel_id": {"G0PRIVATE"}, "channel_name": {"privategroup"}}},
		{"SharedChannel", carol, url.Values{
			"team_id": {"T0PARTNER"}, "team_domain": {"partner"},
			"channel_id": {"C0SHARED"}, "channel_name": {"ext-eng-partner"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			hook := "cmd-" + e.next()
			status, body := e.post("/slack/commands", e.gridCommand(tt.user, "prod-db locked out", hook, tt.fields))
			if status != http.StatusOK || body != "" {
				t.Fatalf("got %d %q, want an empty 200", status, body)
			}
			id := askedID(t, e.slack.Reply(e.ctx(), hook))
			req := e.request(id)
			p, _ := e.svc.Person(bot.PlatformSlack, tt.user)
			if req.Requester != p.Name || req.Reason != "locked out" || req.Account != "prod-db" {
				t.Errorf("request: got %s %q by %s, want prod-db %q by %s", req.Account, req.Reason, req.Requester, "locked out", p.Name)
			}
		})
	}
}

// actionFrom is bob's Approve of id, clicked in container; with a
// response_url unless the container is a view, which has none.
func actionFrom(f *slacktest.Server, id, hook string, container map[string]any, extra map[string]any) map[string]any {
	p := click(bob, "approve", id, "1700000200."+hook, hook, f)
	p["container"] = container
	if container["type"] == "view" {
		delete(p, "response_url")
		delete(p, "channel")
	}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

func TestActionPayloads(t *testing.T) {
	tests := []struct {
		name      string
		container map[string]any
		extra     map[string]any
	}{
		{"Message", map[string]any{"type": "message", "message_ts": "1700000000.000001", "channel_id": approvalsChannel, "is_ephemeral": false},
			map[string]any{"message": map[string]any{"type": "message", "ts": "1700000000.000001", "text": "card", "bot_id": "BBOT"}}},
		{"EphemeralMessage", map[string]any{"type": "message", "message_ts": "1700000000.000002", "channel_id": approvalsChannel, "is_ephemeral": true}, nil},
		{"EnterpriseGridOrgInstall", map[string]any{"type": "message", "message_ts": "1700000000.000003", "channel_id": approvalsChannel, "is_ephemeral": false},
			map[string]any{"team": nil, "enterprise": map[string]any{"id": "E0GRID", "name": "Globular Construct Inc"},
				"is_enterprise_install": true, "user": map[string]any{"id": bob, "username": "bob", "team_id": "T0WORKSPACE"}}},
		{"View", map[string]any{"type": "view", "view_id": "V0HOME"},
			map[string]any{"view": map[string]any{"id": "V0HOME", "type": "modal", "callback_id": "other", "hash": "h", "state": map[string]any{"values": map[string]any{}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			id := e.ask(alice, "prod-db locked out")
			hook := "act-" + e.next()
			if status, body := e.interact(actionFrom(e.slack, id, hook, tt.container, tt.extra)); status != http.StatusOK || body != "" {
				t.Fatalf("got %d %q, want an empty 200", status, body)
			}
			if tt.container["type"] == "view" { // no response_url: the answer goes by direct message
				e.slack.WaitFor(e.ctx(), "the answer in bob's DM", func(cs []slacktest.Call) bool {
					for _, c := range cs {
						if c.Method == "chat.postEphemeral" && c.Get("user") == bob && strings.Contains(c.Get("text"), "You approved "+id) {
							return true
						}
					}
					return false
				})
			} else if got := e.slack.Reply(e.ctx(), hook); !strings.Contains(got, "You approved "+id) {
				t.Errorf("reply: got %q, want the approval", got)
			}
			e.slack.WaitFor(e.ctx(), "the offer", func(cs []slacktest.Call) bool {
				_, ok := offerOf(cs, id)
				return ok
			})
		})
	}

	t.Run("OtherActionInAView", func(t *testing.T) {
		e := newEnv(t)
		before := len(e.slack.Calls())
		p := map[string]any{
			"type": "block_actions", "user": map[string]any{"id": alice}, "api_app_id": "A1", "team": map[string]any{"id": "T1"},
			"trigger_id": "t-select", "container": map[string]any{"type": "view", "view_id": "V0ASK"},
			"view": map[string]any{"id": "V0ASK", "type": "modal", "callback_id": "reset_ask", "state": map[string]any{"values": map[string]any{}}},
			"actions": []any{map[string]any{"type": "static_select", "block_id": "account", "action_id": "account",
				"selected_option": map[string]any{"value": "prod-db", "text": map[string]any{"type": "plain_text", "text": "prod-db"}},
				"action_ts":       "1700000000.1"}},
		}
		if status, body := e.interact(p); status != http.StatusOK || body != "" {
			t.Fatalf("got %d %q, want an empty 200", status, body)
		}
		e.ad.Wait()
		if n := len(e.slack.Calls()); n != before {
			t.Errorf("Slack calls: got %d more, want none", n-before)
		}
	})
}

// TestSubmissionWithExtraState: a view_submission as Slack sends it, with
// the whole view, fields the form does not have, and empty optional ones.
func TestSubmissionWithExtraState(t *testing.T) {
	e := newEnv(t)
	_, _, hook := e.command(alice, "")
	calls := e.slack.WaitFor(e.ctx(), "views.open", func(cs []slacktest.Call) bool {
		return len(e.slack.CallsOf("views.open")) > 0
	})
	var open slacktest.Call
	for _, c := range calls {
		if c.Method == "views.open" {
			open = c
		}
	}
	sub := submission(t, alice, open, map[string]any{
		"account": map[string]any{"type": "static_select", "selected_option": map[string]any{
			"value": "prod-db", "text": map[string]any{"type": "plain_text", "text": "prod-db — tencent.tdsql ap-guangzhou", "emoji": true}}},
		"users":  map[string]any{"type": "plain_text_input", "value": nil},
		"reason": map[string]any{"type": "plain_text_input", "value": "  locked\n\tout  "},
		"extra":  map[string]any{"type": "checkboxes", "selected_options": []any{}},
	})
	view := sub["view"].(map[string]any)
	view["team_id"], view["app_id"], view["bot_id"] = "T1", "A1", "BBOT"
	view["app_installed_team_id"], view["root_view_id"], view["previous_view_id"] = "T1", view["id"], nil
	view["blocks"] = []any{map[string]any{"type": "input", "block_id": "reason"}}
	view["title"] = map[string]any{"type": "plain_text", "text": "Reset a password"}
	view["notify_on_close"], view["clear_on_close"], view["external_id"] = false, false, ""
	sub["response_urls"], sub["enterprise"], sub["is_enterprise_install"] = []any{}, nil, false
	sub["user"] = map[string]any{"id": alice, "username": "alice", "name": "alice", "team_id": "T1"}
	if status, body := e.interact(sub); status != http.StatusOK || body != "" {
		t.Fatalf("got %d %q, want an empty 200 that closes the form", status, body)
	}
	id := askedID(t, e.slack.Reply(e.ctx(), hook))
	if req := e.request(id); req.Account != "prod-db" || req.Reason != "locked out" || len(req.Users) != 1 {
		t.Errorf("request: got %s %q %v, want prod-db %q for its one user", req.Account, req.Reason, req.Users, "locked out")
	}
}

// TestFormsUseTheOneTextCheck: the request form refuses exactly what
// bot.CheckText refuses, with its words, and splits on bot.Fields: one
// definition of typed text on every platform.
func TestFormsUseTheOneTextCheck(t *testing.T) {
	reasons := []string{
		"routine rotation \u202eDENIED yb devorppa\u202c",
		"zero\u200bwidth",
		"ok " + strings.Repeat("\u3164", 120) + "APPROVED BY SECURITY",
		"braille\u2800blank",
		"e" + strings.Repeat("\u0301", 12),
		"plain\u2003em space",
	}
	for i, reason := range reasons {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			e := newEnv(t)
			_, _, hook := e.command(alice, "")
			e.slack.WaitFor(e.ctx(), "views.open", func([]slacktest.Call) bool { return len(e.slack.CallsOf("views.open")) > 0 })
			open := e.slack.CallsOf("views.open")[0]
			status, body := e.interact(submission(t, alice, open, map[string]any{
				"account": map[string]any{"type": "static_select", "selected_option": map[string]any{"value": "prod-db"}},
				"reason":  map[string]any{"type": "plain_text_input", "value": reason},
			}))
			one := strings.Join(bot.Fields(reason), " ")
			if err := bot.CheckText("reason", one); err != nil {
				want, _ := json.Marshal(bot.ErrorMessage(err))
				if status != http.StatusOK || !strings.Contains(body, `"reason":`+string(want)) {
					t.Errorf("reason %q: got %d %s, want the field error %s", reason, status, body, want)
				}
				return
			}
			if status != http.StatusOK || body != "" {
				t.Fatalf("reason %q: got %d %q, want it taken, as bot.CheckText takes it", reason, status, body)
			}
			if got := e.request(askedID(t, e.slack.Reply(e.ctx(), hook))).Reason; got != one {
				t.Errorf("reason: got %q, want %q", got, one)
			}
		})
	}
}
