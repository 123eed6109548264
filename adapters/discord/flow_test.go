package discord_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"resetbot/adapters/discord"
	"resetbot/adapters/discord/discordtest"
	"resetbot/bot"
)

func TestStartRegistersCommands(t *testing.T) {
	for _, tc := range []struct {
		name, guild, path string
	}{
		{"InTheGuild", guildID, "applications/" + appID + "/guilds/" + guildID + "/commands"},
		{"GloballyWithoutGuild", "", "applications/" + appID + "/commands"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(o *discord.Options) { o.GuildID = tc.guild })
			if err := e.ad.Start(e.ctx); err != nil {
				t.Fatalf("Start: %v", err)
			}
			calls := e.fake.Calls()
			if len(calls) != 1 || calls[0].Method != "PUT" || calls[0].Path != tc.path {
				t.Fatalf("calls: got %+v, want one PUT %s (bulk overwrite)", calls, tc.path)
			}
			var cmds []struct {
				Name    string `json:"name"`
				Options []struct {
					Name    string `json:"name"`
					Type    int    `json:"type"`
					Options []struct {
						Name         string `json:"name"`
						Required     bool   `json:"required"`
						Autocomplete bool   `json:"autocomplete"`
					} `json:"options"`
				} `json:"options"`
			}
			if err := json.Unmarshal([]byte(calls[0].Raw), &cmds); err != nil || len(cmds) != 1 {
				t.Fatalf("body: %v %s", err, calls[0].Raw)
			}
			if cmds[0].Name != "reset-password" {
				t.Errorf("command: got %q, want reset-password", cmds[0].Name)
			}
			var subs []string
			for _, s := range cmds[0].Options {
				subs = append(subs, s.Name)
				if s.Name == "ask" {
					if len(s.Options) < 3 || s.Options[0].Name != "account" || !s.Options[0].Autocomplete || !s.Options[0].Required ||
						s.Options[1].Name != "reason" || !s.Options[1].Required || s.Options[2].Name != "users" || s.Options[2].Required {
						t.Errorf("ask's options: got %+v, want account (required, autocomplete), reason (required), users", s.Options)
					}
				}
			}
			if want := []string{"ask", "list", "status", "cancel", "reveal", "approve", "deny", "break-glass", "confirm", "reject", "help"}; !slices.Equal(subs, want) {
				t.Errorf("subcommands: got %v, want %v", subs, want)
			}
		})
	}
}

// TestApprovalFlow is the whole story: alice asks, she may not approve her
// own request, carol may not approve at all, bob approves, nothing is reset
// until alice presses Reveal in the direct message that follows, the reset
// then runs once, the password reaches her alone in the answer to that
// click, the offer and the card follow every step, and replaying an
// interaction changes nothing.
func TestApprovalFlow(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx

	id, ask := e.ask(alice, "prod-db")

	card := e.fake.Wait(ctx, "the approval card", isCardPost)
	if txt := embedText(card); !strings.Contains(txt, id) || !strings.Contains(txt, "alice") ||
		!strings.Contains(txt, "locked out during the incident") || !strings.Contains(txt, "tdsql3-d8fffc3c") {
		t.Errorf("card: got %s, want the request, requester, reason and resource", txt)
	}
	if got, want := customIDs(card.Body), []string{"approve:" + id, "deny:" + id}; !slices.Equal(got, want) {
		t.Errorf("card buttons: got %v, want %v", got, want)
	}
	if card.Body["nonce"] != "card-"+id || card.Body["enforce_nonce"] != true {
		t.Errorf("card nonce: got %v %v, want card-%s enforced", card.Body["nonce"], card.Body["enforce_nonce"], id)
	}

	t.Run("SelfApprovalRefused", func(t *testing.T) {
		a := e.mustSend(e.click(alice, "approve:"+id))
		if !strings.Contains(a.Content(), "cannot approve your own request") {
			t.Errorf("answer: got %q, want a refusal of her own approval", a.Content())
		}
	})
	t.Run("NonApproverRefused", func(t *testing.T) {
		a := e.mustSend(e.click(carol, "approve:"+id))
		if !strings.Contains(a.Content(), "not an approver") {
			t.Errorf("answer: got %q, want carol refused", a.Content())
		}
	})
	if req, err := e.store.Get(ctx, id); err != nil || req.State != bot.StatePending || len(req.Votes) != 0 {
		t.Fatalf("after refusals: got %+v %v, want pending with no votes", req, err)
	}

	approve := e.click(bob, "approve:"+id)
	a := e.mustSend(approve)
	if !strings.Contains(a.Content(), "You approved "+id) {
		t.Errorf("bob's answer: got %q, want his approval confirmed", a.Content())
	}
	token := tokenOf(ask)
	e.fake.Wait(ctx, "alice told of the approval", func(c discordtest.Call) bool {
		return isFollowup(token)(c) && c.Ephemeral && strings.Contains(content(c), "approved by bob")
	})
	offer := e.fake.Wait(ctx, "the Reveal offer", isOffer(id))
	e.fake.Wait(ctx, "the card waiting for alice", waitingCard)
	if got := e.resets(); got != 0 {
		t.Fatalf("provider calls before Reveal: got %d, want 0", got)
	}

	click := e.dmClick(alice, "reveal:"+id, msgID(offer))
	got := e.revealWith(e.srv.URL, click)
	if got := e.resets(); got != 1 {
		t.Errorf("provider calls: got %d, want 1", got)
	}
	pws := e.passwords()
	if len(pws) != 1 || !strings.Contains(got, pws[0]) {
		t.Fatalf("the answer to Reveal: got %q, want the password", got)
	}
	e.wantWithdrawn(offer, "was revealed")
	last := e.fake.Wait(ctx, "the card edited to done", cardState("Done"))
	e.fake.Wait(ctx, "alice told it is done", func(c discordtest.Call) bool {
		return isFollowup(token)(c) && c.Ephemeral && strings.Contains(content(c), id+" done: reset app_user")
	})

	// every state change edits the card; the last one has no buttons
	if ids := customIDs(last.Body); len(ids) != 0 {
		t.Errorf("buttons on the finished card: got %v, want none", ids)
	}
	if comps, ok := last.Body["components"].([]any); !ok || len(comps) != 0 {
		t.Errorf("components of the finished card: got %v, want [] (which removes the buttons)", last.Body["components"])
	}
	if e.fake.Count(cardState("Resetting")) == 0 {
		t.Errorf("card: never shown Resetting")
	}

	t.Run("ReplayChangesNothing", func(t *testing.T) {
		before := len(e.fake.Calls())
		for _, i := range []map[string]any{approve, ask, click} {
			a := e.send(i)
			if a.Status != 200 || !strings.Contains(a.Content(), "handled already") {
				t.Errorf("replay: got %d %q, want it recognised", a.Status, a.Raw)
			}
		}
		e.ad.Wait()
		if got := e.resets(); got != 1 {
			t.Errorf("provider calls: got %d, want 1", got)
		}
		req, err := e.store.Get(ctx, id)
		if err != nil || len(req.Votes) != 1 || req.State != bot.StateSucceeded {
			t.Errorf("request: got %+v %v, want one vote, succeeded", req, err)
		}
		if open, _ := e.store.Open(ctx, "alice"); len(open) != 0 {
			t.Errorf("open requests of alice: got %d, want 0 (no second ask)", len(open))
		}
		done := cardState("Done")
		for _, c := range e.fake.Calls()[before:] {
			// The reset's own card updates run aside: one of them may land
			// late, showing the same finished card again. That is no change.
			if c.Method != "ANSWER" && !done(c) {
				t.Errorf("Discord call after a replay: %s %s", c.Method, c.Path)
			}
		}
	})

	e.ad.Wait()
	e.checkShownOnce(pws, tokenOf(click))
	want := []string{"requested:alice", "refused:alice", "refused:carol", "voted:bob", "approved:bob", "executing:system", "offered:system",
		"executing:alice", "succeeded:system", "delivered:system"}
	if got := e.auditOf(id); !slices.Equal(got, want) {
		t.Errorf("audit: got %v, want %v", got, want)
	}
}

func TestDenyAsksForAReason(t *testing.T) {
	e := newEnv(t)
	id, ask := e.ask(alice, "prod-db")
	e.fake.Wait(e.ctx, "the approval card", isCardPost)

	// Who may not deny is told so at the click, without a form to fill in.
	for _, tc := range []struct{ user, says string }{
		{carol, "not an approver of prod-db"},
		{alice, "cannot deny your own request"},
		{mallory, "not in resetbot's list of people"},
	} {
		if a := e.mustSend(e.click(tc.user, "deny:"+id)); !strings.Contains(a.Content(), tc.says) {
			t.Errorf("%s clicks Deny: got %q, want %q", tc.user, a.Content(), tc.says)
		}
	}
	modal := e.send(e.click(bob, "deny:"+id))
	if modal.Status != 200 || modal.Type() != 9 {
		t.Fatalf("deny click: got %d %s, want a modal (type 9)", modal.Status, modal.Raw)
	}
	if got := modal.data()["custom_id"]; got != "deny:"+id {
		t.Errorf("modal custom_id: got %v, want deny:%s", got, id)
	}
	if !strings.Contains(modal.Raw, `"custom_id":"reason"`) {
		t.Errorf("modal: got %s, want a text input named reason", modal.Raw)
	}
	if req, _ := e.store.Get(e.ctx, id); req.State != bot.StatePending {
		t.Errorf("after the click: got %s, want still pending", req.State)
	}

	a := e.mustSend(e.submit(bob, "deny:"+id, "use the break-glass account"))
	if !strings.Contains(a.Content(), "You denied "+id) {
		t.Errorf("answer: got %q, want the denial confirmed", a.Content())
	}
	edit := e.fake.Wait(e.ctx, "the card edited to denied", cardState("Denied"))
	if ids := customIDs(edit.Body); len(ids) != 0 {
		t.Errorf("buttons on the denied card: got %v, want none", ids)
	}
	if !strings.Contains(embedText(edit), "use the break-glass account") {
		t.Errorf("denied card: got %s, want the reason", embedText(edit))
	}
	e.fake.Wait(e.ctx, "alice told of the denial", func(c discordtest.Call) bool {
		return isFollowup(tokenOf(ask))(c) && c.Ephemeral && strings.Contains(content(c), "use the break-glass account")
	})
	if got := e.resets(); got != 0 {
		t.Errorf("provider calls: got %d, want 0", got)
	}
}

func TestApprovalByRole(t *testing.T) {
	for _, tc := range []struct {
		name  string
		click func(e *env, id string) map[string]any
		want  string
	}{
		{"RoleInTheGuildApproves", func(e *env, id string) map[string]any {
			return withRoles(e.click(dave, "approve:"+id), "123", roleOps)
		}, "You approved"},
		{"WithoutTheRoleRefused", func(e *env, id string) map[string]any {
			return withRoles(e.click(dave, "approve:"+id), "123")
		}, "not an approver"},
		{"RoleFromAnotherGuildRefused", func(e *env, id string) map[string]any {
			i := withRoles(e.click(dave, "approve:"+id), roleOps)
			i["guild_id"] = otherGuild
			return i
		}, "not an approver"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			id, _ := e.ask(alice, "prod-db")
			a := e.mustSend(tc.click(e, id))
			if !strings.Contains(a.Content(), tc.want) {
				t.Errorf("answer: got %q, want %q", a.Content(), tc.want)
			}
		})
	}
}

func TestCommands(t *testing.T) {
	e := newEnv(t)
	id, _ := e.ask(alice, "prod-db")
	for _, tc := range []struct {
		name string
		i    map[string]any
		want string
	}{
		{"List", e.slash(alice, "list"), "prod-db (tencent.tdsql"},
		{"Help", e.slash(alice, "help"), "/reset-password ask account:"},
		{"StatusOfMine", e.slash(alice, "status"), id},
		{"StatusOfOne", e.slash(alice, "status", "id", strings.ToLower(id)), id + " prod-db"},
		{"AskWithoutReason", e.slash(carol, "ask", "account", "prod-db"), "a reason is required"},
		{"AskUnknownAccount", e.slash(carol, "ask", "account", "nope", "reason", "x"), "you may not ask for"},
		{"AskAccountWithSpaces", e.slash(carol, "ask", "account", "prod-db approve", "reason", "x"), "one word"},
		{"AskVerbAsAccount", e.slash(carol, "ask", "account", "approve", "reason", id), "not an account"},
		{"AskUsersOfFixedAccount", e.slash(carol, "ask", "account", "prod-db", "users", "root", "reason", "x"), "leave out the users"},
		{"AskUnknownUser", e.slash(carol, "ask", "account", "hpc", "users", "u1, u9", "reason", "x"), `has no user "u9"`},
		{"Duplicate", e.slash(alice, "ask", "account", "prod-db", "reason", "again"), id},
		{"BadID", e.slash(bob, "approve", "id", "R-0000"), "is not a request ID"},
		{"UnknownRequest", e.slash(bob, "approve", "id", "R-222222"), "no request R-222222"},
		{"CancelByOther", e.slash(bob, "cancel", "id", id), "only alice"},
		{"UnknownUser", e.slash(mallory, "list"), "not in resetbot's list of people"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.mustSend(tc.i)
			if !strings.Contains(a.Content(), tc.want) {
				t.Errorf("answer: got %q, want %q in it", a.Content(), tc.want)
			}
		})
	}
	t.Run("AskPicksUsers", func(t *testing.T) {
		a := e.mustSend(e.slash(carol, "ask", "account", "hpc", "users", "u1, u3", "reason", "rotate"))
		hid := idRE.FindString(a.Content())
		req, err := e.store.Get(e.ctx, hid)
		if err != nil || !slices.Equal(req.Users, []string{"u1", "u3"}) {
			t.Errorf("request: got %+v %v, want users u1, u3", req, err)
		}
	})
	t.Run("Cancel", func(t *testing.T) {
		a := e.mustSend(e.slash(alice, "cancel", "id", id))
		if !strings.Contains(a.Content(), id+" is cancelled") {
			t.Errorf("answer: got %q, want it cancelled", a.Content())
		}
		e.fake.Wait(e.ctx, "the card edited to cancelled", cardState("Cancelled"))
	})
	if n := e.fake.Count(isCardPost); n != 2 {
		t.Errorf("cards posted: got %d, want 2 (alice's and carol's asks only)", n)
	}
}

func TestAutocomplete(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		i    map[string]any
		want []string
	}{
		{"AccountsOfThePerson", e.complete(alice, "account", ""), []string{"hpc", "prod-db"}},
		{"Filtered", e.complete(alice, "account", "PRO"), []string{"prod-db"}},
		{"NotARequester", e.complete(dave, "account", ""), nil},
		{"UnknownUser", e.complete(mallory, "account", ""), nil},
		{"UsersOfSelectable", e.complete(alice, "users", "u1,", "account", "hpc"), []string{"u1,u2", "u1,u3"}},
		{"UsersOfFixedAccount", e.complete(alice, "users", "", "account", "prod-db"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.send(tc.i)
			if a.Status != 200 || a.Type() != 8 {
				t.Fatalf("answer: got %d %s, want an autocomplete result (type 8)", a.Status, a.Raw)
			}
			choices, ok := a.data()["choices"].([]any)
			if !ok {
				t.Fatalf("choices: got %s, want a list, even an empty one", a.Raw)
			}
			var got []string
			for _, c := range choices {
				got = append(got, c.(map[string]any)["value"].(string))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("choices: got %v, want %v", got, tc.want)
			}
		})
	}
	for _, c := range e.fake.Calls() { // autocomplete reads config only
		if c.Method != "ANSWER" {
			t.Errorf("Discord call during autocomplete: %s %s", c.Method, c.Path)
		}
	}
}

func TestDeferredAnswer(t *testing.T) {
	e := newEnv(t, func(o *discord.Options) { o.AckWithin = -1 })
	i := e.slash(alice, "ask", "account", "prod-db", "reason", "locked out")
	a := e.send(i)
	if a.Status != 200 || a.Type() != 5 || !a.Ephemeral() {
		t.Fatalf("answer: got %d %s, want a deferred ephemeral answer (type 5, flag 64)", a.Status, a.Raw)
	}
	edit := e.fake.Wait(e.ctx, "the deferred answer's edit", isEditOriginal(tokenOf(i)))
	if !edit.Ephemeral || !idRE.MatchString(content(edit)) || !strings.Contains(content(edit), "asked to reset") {
		t.Errorf("edit: got %q (ephemeral %v), want the new request's ID, ephemeral", content(edit), edit.Ephemeral)
	}

	t.Run("EditAheadOfTheDeferral", func(t *testing.T) {
		// Discord has not taken the deferral in yet when the edit comes.
		i := e.slash(alice, "list")
		e.fake.SetFault(discordtest.FaultFirst(1, func(c discordtest.Call) bool { return c.Method == "PATCH" },
			&discordtest.Fault{Status: 404, Body: `{"message": "Unknown Message", "code": 10008}`}))
		if a := e.send(i); a.Type() != 5 {
			t.Fatalf("answer: got %s, want deferred", a.Raw)
		}
		edit := e.fake.Wait(e.ctx, "the edit, again", isEditOriginal(tokenOf(i)))
		if !strings.Contains(content(edit), "prod-db") {
			t.Errorf("edit: got %q, want the list", content(edit))
		}
	})
}
