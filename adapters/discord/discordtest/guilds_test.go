package discordtest_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"resetbot/adapters/discord/discordtest"
)

// list makes a GET call whose answer is a JSON array.
func (f fake) list(path string) (int, []map[string]any) {
	f.t.Helper()
	req, _ := http.NewRequest("GET", f.srv.APIURL()+path, nil)
	req.Header.Set("Authorization", "Bot bot-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var l []map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&l)
	return resp.StatusCode, l
}

// TestGuilds: a guild set on the Server answers Discord's reads in
// Discord's shapes: permissions as strings, an @everyone role always, the
// member without guild_id, and Discord's codes for what is unknown.
func TestGuilds(t *testing.T) {
	f := newFake(t)
	f.srv.SetGuild(discordtest.Guild{ID: "500", OwnerID: "1",
		Roles: []discordtest.Role{{ID: "600", Name: "bots", Permissions: 1 << 11}},
		Channels: []discordtest.GuildChannel{
			{ID: "700", Type: discordtest.ChannelText, Overwrites: []discordtest.Overwrite{
				{ID: "600", Type: discordtest.OverwriteRole, Deny: 1 << 11}}},
			{ID: "701", Type: discordtest.ChannelVoice},
		},
		Members: []discordtest.Member{{UserID: discordtest.BotUserID, Roles: []string{"600"}}},
	})

	if st, me := f.do("GET", "users/@me", nil); st != 200 || me["id"] != discordtest.BotUserID || me["bot"] != true {
		t.Errorf("users/@me: got %d %v, want the bot", st, me)
	}
	st, g := f.do("GET", "guilds/500", nil)
	roles, _ := g["roles"].([]any)
	if st != 200 || g["owner_id"] != "1" || len(roles) != 2 {
		t.Fatalf("guild: got %d %v, want it with @everyone and one role", st, g)
	}
	if r := roles[0].(map[string]any); r["id"] != "500" || r["permissions"] != "0" {
		t.Errorf("@everyone: got %v, want the guild's ID and permissions \"0\"", r)
	}
	if r := roles[1].(map[string]any); r["permissions"] != "2048" {
		t.Errorf("role permissions: got %v, want the string \"2048\"", r["permissions"])
	}
	st, chans := f.list("guilds/500/channels")
	if st != 200 || len(chans) != 2 || chans[0]["guild_id"] != "500" || discordtest.Num(chans[1]["type"]) != 2 {
		t.Fatalf("channels: got %d %v, want both, in the guild", st, chans)
	}
	ows, _ := chans[0]["permission_overwrites"].([]any)
	if len(ows) != 1 || ows[0].(map[string]any)["deny"] != "2048" || ows[0].(map[string]any)["allow"] != "0" {
		t.Errorf("overwrites: got %v, want deny \"2048\", allow \"0\"", ows)
	}
	st, m := f.do("GET", "guilds/500/members/"+discordtest.BotUserID, nil)
	if st != 200 || !slices.Equal(asStrings(m["roles"]), []string{"600"}) || m["guild_id"] != nil {
		t.Errorf("member: got %d %v, want its roles and no guild_id", st, m)
	}
	if st, c := f.do("GET", "channels/701", nil); st != 200 || c["guild_id"] != "500" {
		t.Errorf("channel: got %d %v, want it with its guild", st, c)
	}
	for path, want := range map[string]int{"guilds/501": 10004, "guilds/500/members/9": 10007, "channels/702": 10003} {
		if st, m := f.do("GET", path, nil); st != 404 || code(m) != want {
			t.Errorf("GET %s: got %d %v, want 404 code %d", path, st, m, want)
		}
	}
	if st, m := f.do("POST", "channels/700/messages", map[string]any{"content": "posted"}); st != 200 || m["id"] == nil {
		t.Errorf("a message in a guild channel: got %d %v", st, m)
	}

	f.srv.SetGuild(discordtest.Guild{ID: "510", Channels: []discordtest.GuildChannel{{ID: "710"}}})
	for _, path := range []string{"guilds/510", "guilds/510/channels", "channels/710"} {
		if st, m := f.do("GET", path, nil); st != 403 || code(m) != 50001 {
			t.Errorf("GET %s of a guild without the bot: got %d %v, want 403 Missing Access", path, st, m)
		}
	}
}

// TestReplies: message_reference, allowed_mentions and nonce are judged
// as Discord does.
func TestReplies(t *testing.T) {
	f := newFake(t)
	_, card := f.do("POST", "channels/789/messages", map[string]any{"content": "card"})
	ref := func(id string, fail any) map[string]any {
		r := map[string]any{"message_id": id}
		if fail != nil {
			r["fail_if_not_exists"] = fail
		}
		return r
	}
	for _, tc := range []struct {
		name    string
		body    map[string]any
		status  int
		typ     float64
		pinged  []string
		replyTo string
	}{
		{name: "Reply", body: map[string]any{"content": "<@1> <@2> <@3> hi", "message_reference": ref(card["id"].(string), false),
			"allowed_mentions": map[string]any{"parse": []any{}, "users": []any{"1", "2"}}},
			status: 200, typ: 19, pinged: []string{"1", "2"}, replyTo: card["id"].(string)},
		{name: "NoAllowedMentionsPingsAll", body: map[string]any{"content": "<@1> <@!2>"}, status: 200, pinged: []string{"1", "2"}},
		{name: "ParseUsers", body: map[string]any{"content": "<@1>", "allowed_mentions": map[string]any{"parse": []any{"users"}}},
			status: 200, pinged: []string{"1"}},
		{name: "NoPings", body: map[string]any{"content": "<@1>", "allowed_mentions": map[string]any{"parse": []any{}}}, status: 200},
		{name: "GoneReferenceAllowed", body: map[string]any{"content": "x", "message_reference": ref("1", false)}, status: 200},
		{name: "GoneReferenceFails", body: map[string]any{"content": "x", "message_reference": ref("1", nil)}, status: 400},
		{name: "UsersBothWays", body: map[string]any{"content": "<@1>",
			"allowed_mentions": map[string]any{"parse": []any{"users"}, "users": []any{"1"}}}, status: 400},
		{name: "LongNonce", body: map[string]any{"content": "x", "nonce": "12345678901234567890123456"}, status: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, m := f.do("POST", "channels/789/messages", tc.body)
			if st != tc.status {
				t.Fatalf("status: got %d %v, want %d", st, m, tc.status)
			}
			if st != 200 {
				if code(m) != 50035 {
					t.Errorf("code: got %v, want 50035 Invalid Form Body", m)
				}
				return
			}
			if discordtest.Num(m["type"]) != tc.typ {
				t.Errorf("type: got %v, want %v", m["type"], tc.typ)
			}
			if got := discordtest.Mentioned(m); !slices.Equal(got, tc.pinged) {
				t.Errorf("pinged: got %v, want %v", got, tc.pinged)
			}
			r, _ := m["message_reference"].(map[string]any)
			if got, _ := r["message_id"].(string); got != tc.replyTo {
				t.Errorf("reply to: got %q, want %q", got, tc.replyTo)
			}
		})
	}
}

func asStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
