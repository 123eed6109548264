package discordtest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"resetbot/adapters/discord/discordtest"
	"resetbot/internal/testkit"
)

const app = "111"

type fake struct {
	t     *testing.T
	srv   *discordtest.Server
	clock *testkit.Clock
}

func newFake(t *testing.T) fake {
	clock := testkit.NewClock(time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC))
	return fake{t, discordtest.NewServer(t, clock, "bot-token", "789"), clock}
}

// do makes one call to the fake and returns its status and decoded body.
func (f fake) do(method, path string, body any) (int, map[string]any) {
	f.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, f.srv.APIURL()+path, r)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bot bot-token")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func (f fake) callback(token string, typ int, data map[string]any) (int, map[string]any) {
	return f.do("POST", "interactions/1/"+token+"/callback", map[string]any{"type": typ, "data": data})
}

func original(token string) string { return "webhooks/" + app + "/" + token + "/messages/@original" }

func code(m map[string]any) int { return int(discordtest.Num(m["code"])) }

func TestInteractionRules(t *testing.T) {
	t.Run("DeferThenEdit", func(t *testing.T) {
		f := newFake(t)
		f.srv.Issue("tok")
		if st, m := f.do("GET", original("tok"), nil); st != 404 || code(m) != 10008 {
			t.Errorf("@original before an answer: got %d %v, want 404 Unknown Message", st, m)
		}
		if st, m := f.do("POST", "webhooks/"+app+"/tok", map[string]any{"content": "hi"}); st != 404 || code(m) != 10015 {
			t.Errorf("follow-up before an answer: got %d %v, want 404 Unknown Webhook", st, m)
		}
		if st, _ := f.callback("tok", 5, map[string]any{"flags": 64}); st != 204 {
			t.Fatalf("deferral: got %d, want 204", st)
		}
		if st, m := f.callback("tok", 4, map[string]any{"content": "again"}); st != 400 || code(m) != 40060 {
			t.Errorf("a second answer: got %d %v, want 400 already acknowledged", st, m)
		}
		if st, m := f.do("GET", original("tok"), nil); st != 200 || discordtest.Num(m["flags"]) != 64+128 {
			t.Errorf("the deferral: got %d %v, want it ephemeral and loading", st, m)
		}
		if st, m := f.do("PATCH", original("tok"), map[string]any{"content": "done"}); st != 200 || m["content"] != "done" ||
			discordtest.Num(m["flags"]) != 64 {
			t.Errorf("the edit: got %d %v, want it ephemeral, loaded, done", st, m)
		}
		last := f.srv.Calls()[len(f.srv.Calls())-1]
		if !last.Ephemeral {
			t.Errorf("the edit of an ephemeral answer: not marked ephemeral")
		}
		if st, m := f.do("POST", "webhooks/"+app+"/tok", map[string]any{"content": "more"}); st != 200 || m["id"] == nil ||
			discordtest.Num(m["flags"]) != 0 {
			t.Errorf("a follow-up: got %d %v, want a new message, not ephemeral", st, m)
		}
		f.clock.Advance(15 * time.Minute)
		if st, m := f.do("PATCH", original("tok"), map[string]any{"content": "late"}); st != 404 || code(m) != 10015 {
			t.Errorf("an edit after 15 minutes: got %d %v, want 404 Unknown Webhook", st, m)
		}
	})

	t.Run("FollowupRightAfterADeferralEditsIt", func(t *testing.T) {
		f := newFake(t)
		f.srv.Issue("tok")
		f.callback("tok", 5, map[string]any{"flags": 64})
		if st, _ := f.do("POST", "webhooks/"+app+"/tok", map[string]any{"content": "x"}); st != 200 {
			t.Fatalf("follow-up: got %d", st)
		}
		if m, _ := f.srv.Original("tok"); m["content"] != "x" || discordtest.Num(m["flags"]) != 64 {
			t.Errorf("@original: got %v, want the follow-up's content, still ephemeral", m)
		}
		if last := f.srv.Calls()[len(f.srv.Calls())-1]; !last.Ephemeral {
			t.Errorf("the follow-up that edited an ephemeral deferral: not marked ephemeral")
		}
	})

	t.Run("AnswerAfterThreeSeconds", func(t *testing.T) {
		f := newFake(t)
		f.srv.Issue("tok")
		f.clock.Advance(3*time.Second + time.Millisecond)
		if st, m := f.callback("tok", 5, nil); st != 404 || code(m) != 10062 {
			t.Errorf("late answer: got %d %v, want 404 Unknown interaction", st, m)
		}
		if st, m := f.do("GET", original("tok"), nil); st != 404 || code(m) != 10015 {
			t.Errorf("@original after a late answer: got %d %v, want 404 Unknown Webhook (token invalidated)", st, m)
		}
	})

	t.Run("UpdateMessageEditsTheClickedMessage", func(t *testing.T) {
		f := newFake(t)
		_, msg := f.do("POST", "channels/789/messages", map[string]any{"content": "card"})
		ref := "789/" + msg["id"].(string)
		f.srv.IssueOn("tok", ref)
		if st, _ := f.callback("tok", 7, map[string]any{"content": "updated", "components": []any{}}); st != 204 {
			t.Fatalf("update: got %d, want 204", st)
		}
		if m, _ := f.srv.Message(ref); m["content"] != "updated" {
			t.Errorf("the clicked message: got %v, want it updated", m)
		}
		if last := f.srv.Calls()[len(f.srv.Calls())-1]; last.Ephemeral {
			t.Errorf("an update of a channel message: marked ephemeral")
		}
		if !strings.Contains(f.srv.Stored(), "updated") {
			t.Errorf("Stored: want the updated message")
		}
		f.srv.Issue("cmd")
		if st, m := f.callback("cmd", 6, nil); st != 400 || code(m) != 50035 {
			t.Errorf("type 6 for a command: got %d %v, want 400", st, m)
		}
	})
}
