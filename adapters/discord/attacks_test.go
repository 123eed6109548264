package discord_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRefusedInteractions sends what Discord would never send, or sent too
// long ago: each is refused and nothing is created.
func TestRefusedInteractions(t *testing.T) {
	e := newEnv(t)
	otherKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	askBody := func() []byte {
		b, _ := json.Marshal(e.slash(alice, "ask", "account", "prod-db", "reason", "locked out"))
		return b
	}
	now := func(d time.Duration) string { return strconv.FormatInt(e.clock.Now().Add(d).Unix(), 10) }

	for _, tc := range []struct {
		name     string
		post     func() answer
		status   int
		contains string
	}{
		{"BadSignature", func() answer {
			b := askBody()
			return e.post(b, now(0), sign(otherKey, now(0), b), "")
		}, 401, ""},
		{"SignatureOfAnotherBody", func() answer {
			b := askBody()
			return e.post(bytes.Replace(b, []byte("prod-db"), []byte("hpc"), 1), now(0), sign(e.key, now(0), b), "")
		}, 401, ""},
		{"NoSignature", func() answer { return e.post(askBody(), now(0), "", "") }, 401, ""},
		{"NoTimestamp", func() answer {
			b := askBody()
			return e.post(b, "", sign(e.key, "", b), "")
		}, 401, ""},
		{"StaleTimestamp", func() answer {
			b := askBody()
			ts := now(-6 * time.Minute)
			return e.post(b, ts, sign(e.key, ts, b), "")
		}, 401, ""},
		{"FutureTimestamp", func() answer {
			b := askBody()
			ts := now(6 * time.Minute)
			return e.post(b, ts, sign(e.key, ts, b), "")
		}, 401, ""},
		{"TimestampNotANumber", func() answer {
			b := askBody()
			return e.post(b, "yesterday", sign(e.key, "yesterday", b), "")
		}, 401, ""},
		{"MalformedJSON", func() answer {
			b := []byte(`{"type": 2, "id": `)
			return e.post(b, now(0), sign(e.key, now(0), b), "")
		}, 400, ""},
		{"OptionOfTheWrongType", func() answer {
			i := e.slash(alice, "ask", "account", "prod-db", "reason", "x")
			i["data"].(map[string]any)["options"].([]map[string]any)[0]["options"] = []map[string]any{
				{"name": "account", "type": 4, "value": 12}, {"name": "reason", "type": 3, "value": "x"}}
			return e.send(i)
		}, 200, "must be text"},
		{"NoUser", func() answer {
			i := e.slash(alice, "list")
			delete(i, "member")
			return e.send(i)
		}, 400, ""},
		{"AnotherApplication", func() answer {
			i := e.slash(alice, "ask", "account", "prod-db", "reason", "x")
			i["application_id"] = "999"
			return e.send(i)
		}, 400, ""},
		{"TooLarge", func() answer {
			i := e.slash(alice, "ask", "account", "prod-db", "reason", strings.Repeat("x", 300<<10))
			return e.send(i)
		}, 413, ""},
		{"UnknownUser", func() answer {
			return e.send(e.slash(mallory, "ask", "account", "prod-db", "reason", "let me in"))
		}, 200, "not in resetbot's list of people"},
		{"UnknownButton", func() answer { return e.send(e.click(bob, "explode:R-222222")) }, 200, "no longer works"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.post()
			if a.Status != tc.status {
				t.Errorf("status: got %d %s, want %d", a.Status, a.Raw, tc.status)
			}
			if tc.contains != "" && (!a.Ephemeral() || !strings.Contains(a.Content(), tc.contains)) {
				t.Errorf("answer: got %s, want an ephemeral %q", a.Raw, tc.contains)
			}
		})
	}

	t.Run("WrongMethod", func(t *testing.T) {
		resp, err := http.Get(e.srv.URL + "/discord/interactions")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET: got %d, want 405", resp.StatusCode)
		}
	})

	t.Run("Ping", func(t *testing.T) {
		b := []byte(`{"id":"1","application_id":"` + appID + `","type":1,"token":"x","version":1}`)
		a := e.post(b, now(0), sign(e.key, now(0), b), "")
		if a.Status != 200 || a.Type() != 1 {
			t.Errorf("PING: got %d %s, want PONG (type 1)", a.Status, a.Raw)
		}
		bad := e.post(b, now(0), sign(otherKey, now(0), b), "")
		if bad.Status != 401 {
			t.Errorf("PING with a bad signature: got %d, want 401", bad.Status)
		}
	})

	e.ad.Wait()
	for _, c := range e.fake.Calls() {
		if c.Method != "ANSWER" {
			t.Errorf("Discord call after refused interactions: %s %s", c.Method, c.Path)
		}
	}
	for _, who := range []string{"alice", "mallory"} {
		if open, err := e.store.Open(e.ctx, who); err != nil || len(open) != 0 {
			t.Errorf("open requests of %s: got %v %v, want none", who, open, err)
		}
	}
}

// TestCardShowsReasonsAsTyped: markdown in a reason (a masked link, bold
// words, a spoiler, a mention) reaches the approvals channel as plain text,
// not as something the bot seems to say.
func TestCardShowsReasonsAsTyped(t *testing.T) {
	e := newEnv(t)
	reason := "# [Approved by security](https://evil.example/sso) **pre-approved** ||hidden|| <@1002>"
	a := e.mustSend(e.slash(alice, "ask", "account", "prod-db", "reason", reason))
	if !strings.Contains(a.Content(), "asked to reset") {
		t.Fatalf("ask: got %q", a.Content())
	}
	card := e.fake.Wait(e.ctx, "the approval card", isCardPost)
	var embeds []struct {
		Fields []struct{ Name, Value string } `json:"fields"`
	}
	b, _ := json.Marshal(card.Body["embeds"])
	if err := json.Unmarshal(b, &embeds); err != nil || len(embeds) != 1 {
		t.Fatalf("embeds: %v %s", err, b)
	}
	want := `\# \[Approved by security\]\(https://evil.example/sso\) \*\*pre-approved\*\* \|\|hidden\|\| \<@1002\>`
	got := ""
	for _, f := range embeds[0].Fields {
		if f.Name == "Reason" {
			got = f.Value
		}
	}
	if got != want {
		t.Errorf("reason on the card:\n got %s\nwant %s", got, want)
	}
}
