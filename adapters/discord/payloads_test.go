package discord_test

import (
	"slices"
	"strings"
	"testing"

	"resetbot/bot"
)

// Interactions shaped as Discord sends them (interaction object, receiving
// and responding; components reference), beyond a guild member's slash
// command.

// inDM makes i come from a DM with the bot: `user` instead of `member`, no
// guild, the context and who installed the app.
func inDM(i map[string]any, user string) map[string]any {
	delete(i, "member")
	delete(i, "guild_id")
	i["user"] = map[string]any{"id": user, "username": "user" + user, "global_name": nil, "discriminator": "0", "avatar": nil}
	i["channel_id"] = "dm-" + user
	i["channel"] = map[string]any{"id": "dm-" + user, "type": 1, "flags": 0, "last_message_id": nil, "recipients": []any{}}
	i["context"] = 1
	i["authorizing_integration_owners"] = map[string]any{"0": guildID}
	i["app_permissions"] = "1126451162869824"
	i["locale"] = "en-US"
	i["entitlements"] = []any{}
	i["attachment_size_limit"] = 10485760
	return i
}

// userInstalled makes i come through the app installed by user, used in a
// guild that has not installed it, or in a group DM (private channel).
func userInstalled(i map[string]any, user string, private bool) map[string]any {
	i["authorizing_integration_owners"] = map[string]any{"1": user}
	i["app_permissions"] = "562949953601536"
	i["locale"] = "en-GB"
	i["entitlements"] = []any{}
	if private {
		inDM(i, user)
		i["context"] = 2
		i["channel"] = map[string]any{"id": "gdm-1", "type": 3, "recipients": []any{}}
		i["channel_id"] = "gdm-1"
		i["authorizing_integration_owners"] = map[string]any{"1": user}
		return i
	}
	i["context"] = 0
	i["guild_id"] = otherGuild
	i["guild"] = map[string]any{"id": otherGuild, "locale": "en-US", "features": []any{}}
	i["guild_locale"] = "en-US"
	return i
}

func TestRealPayloads(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		i    map[string]any
		want string
	}{
		{"ListInADM", inDM(e.slash(alice, "list"), alice), "prod-db (tencent.tdsql"},
		{"HelpInADM", inDM(e.slash(carol, "help"), carol), "/reset-password ask account:"},
		{"StrangerInADM", inDM(e.slash(mallory, "list"), mallory), "not in resetbot's list of people"},
		{"UserInstalledInAnotherGuild", userInstalled(e.slash(alice, "list"), alice, false), "prod-db (tencent.tdsql"},
		{"UserInstalledInAGroupDM", userInstalled(e.slash(alice, "status"), alice, true), "no open"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if a := e.mustSend(tc.i); !strings.Contains(strings.ToLower(a.Content()), strings.ToLower(tc.want)) {
				t.Errorf("answer: got %q, want %q in it", a.Content(), tc.want)
			}
		})
	}

	t.Run("AskInADM", func(t *testing.T) {
		a := e.mustSend(inDM(e.slash(carol, "ask", "account", "hpc", "users", "u2", "reason", "rotate"), carol))
		id := idRE.FindString(a.Content())
		if req, err := e.store.Get(e.ctx, id); err != nil || req.Requester != "carol" || !slices.Equal(req.Users, []string{"u2"}) {
			t.Errorf("request: got %+v %v, want carol's for u2", req, err)
		}
	})

	t.Run("AutocompleteFocusedInADM", func(t *testing.T) {
		// Discord sends every option typed so far, the focused one marked.
		i := inDM(e.complete(alice, "users", "u", "account", "hpc", "reason", "rot"), alice)
		a := e.send(i)
		if a.Status != 200 || a.Type() != 8 {
			t.Fatalf("answer: got %d %s, want an autocomplete result", a.Status, a.Raw)
		}
		var got []string
		for _, c := range a.data()["choices"].([]any) {
			got = append(got, c.(map[string]any)["value"].(string))
		}
		if want := []string{"u1", "u2", "u3"}; !slices.Equal(got, want) {
			t.Errorf("choices: got %v, want %v", got, want)
		}
	})
}

// TestDenyFormLayouts: the Deny form's reason is read whether Discord
// sends its input in an Action Row (the older layout) or in a Label (type
// 18, the current one), next to components of types the adapter does not
// know; the reason reaches the card.
func TestDenyFormLayouts(t *testing.T) {
	for _, tc := range []struct {
		name       string
		components func(reason string) []any
	}{
		{"ActionRows", func(reason string) []any {
			return []any{map[string]any{"type": 1, "id": 1, "components": []any{
				map[string]any{"type": 4, "id": 2, "custom_id": "reason", "value": reason}}}}
		}},
		{"Labels", func(reason string) []any {
			return []any{
				map[string]any{"type": 10, "id": 1},
				map[string]any{"type": 18, "id": 2, "component": map[string]any{"type": 4, "id": 3, "custom_id": "reason", "value": reason}},
				map[string]any{"type": 99, "id": 4, "custom_id": "future", "values": []any{"x"}},
			}
		}},
		{"LabelsInADM", func(reason string) []any {
			return []any{map[string]any{"type": 18, "id": 1, "component": map[string]any{"type": 4, "id": 2, "custom_id": "reason", "value": reason}}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			id, _ := e.ask(alice, "prod-db")
			const reason = "use the break-glass account"
			i := e.interaction(bob, 5, map[string]any{"custom_id": "deny:" + id, "components": tc.components(reason)})
			if tc.name == "LabelsInADM" {
				inDM(i, bob)
			}
			a := e.mustSend(i)
			if !strings.Contains(a.Content(), "You denied "+id) {
				t.Fatalf("answer: got %q, want the denial confirmed", a.Content())
			}
			edit := e.fake.Wait(e.ctx, "the card edited to denied", cardState("Denied"))
			if !strings.Contains(embedText(edit), reason) {
				t.Errorf("denied card: got %s, want the reason", embedText(edit))
			}
			if req, _ := e.store.Get(e.ctx, id); req.State != bot.StateDenied || !strings.Contains(req.Outcome, reason) {
				t.Errorf("request: got %s %q, want denied with the reason", req.State, req.Outcome)
			}
		})
	}
	t.Run("HiddenCharacterInTheReason", func(t *testing.T) {
		e := newEnv(t)
		id, _ := e.ask(alice, "prod-db")
		i := e.interaction(bob, 5, map[string]any{"custom_id": "deny:" + id, "components": []any{
			map[string]any{"type": 18, "component": map[string]any{"type": 4, "custom_id": "reason", "value": "fine\u202e"}}}})
		if a := e.mustSend(i); !strings.Contains(a.Content(), "invisible or formatting") {
			t.Errorf("answer: got %q, want it refused", a.Content())
		}
		if req, _ := e.store.Get(e.ctx, id); req.State != bot.StatePending {
			t.Errorf("request: got %s, want still pending", req.State)
		}
	})
}
