package discord_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"resetbot/adapters/discord"
	"resetbot/adapters/discord/discordtest"
	"resetbot/bot"
)

// card posts the card of a pending request and returns it and its ref.
func (b *bare) card(t *testing.T, id string) (bot.Request, string) {
	t.Helper()
	req := pendingRequest(id)
	req.Reminders = &bot.Reminders{After: 10 * time.Minute, Backoff: 2, Sent: 1}
	ref, err := b.ad.Card(b.ctx, req, accounts[0], "")
	if err != nil {
		t.Fatalf("Card: %v", err)
	}
	return req, ref
}

// isReply matches the replies posted under the card message ref.
func isReply(ref string) func(discordtest.Call) bool {
	ch, id, _ := strings.Cut(ref, "/")
	return func(c discordtest.Call) bool {
		r, _ := c.Body["message_reference"].(map[string]any)
		return c.Method == "POST" && c.Path == "channels/"+ch+"/messages" && r != nil && r["message_id"] == id
	}
}

// TestRemind: a reminder is one reply under the card that pings exactly
// the people it names who have a Discord ID, names those without one, and
// pings nobody else, whatever its text says.
func TestRemind(t *testing.T) {
	b := newBare(t)
	req, ref := b.card(t, "R-REM222")
	erin := bot.Person{Name: "erin_ops"} // no Discord ID
	who := []bot.Person{people[0], people[1], erin, people[1]}
	text := "R-REM222 has waited 10 minutes for your approval (not <@" + mallory + ">, not @everyone)."
	if err := b.ad.Remind(b.ctx, req, ref, who, text); err != nil {
		t.Fatalf("Remind: %v", err)
	}

	replies := b.fake.Calls()
	replies = slices.DeleteFunc(replies, func(c discordtest.Call) bool { return !isReply(ref)(c) })
	if len(replies) != 1 {
		t.Fatalf("replies under the card: got %d, want 1", len(replies))
	}
	c := replies[0]
	_, cardID, _ := strings.Cut(ref, "/")
	if r := c.Body["message_reference"].(map[string]any); r["message_id"] != cardID || r["fail_if_not_exists"] != false {
		t.Errorf("message_reference: got %v, want the card %s with fail_if_not_exists false", r, cardID)
	}
	// The text is shown as written: Markdown in it (a reason someone typed)
	// is escaped, and so is the mention it holds.
	wantStart := "<@" + alice + "> <@" + bob + "> erin\\_ops " +
		"R-REM222 has waited 10 minutes for your approval \\(not \\<@" + mallory + "\\>, not @everyone\\)."
	if got := content(c); got != wantStart {
		t.Errorf("content: got %q, want %q", got, wantStart)
	}
	am, _ := c.Body["allowed_mentions"].(map[string]any)
	if parse, ok := am["parse"].([]any); !ok || len(parse) != 0 {
		t.Errorf("allowed_mentions.parse: got %v, want [] (no role, @everyone or @here ping)", am["parse"])
	}
	if got, want := am["users"], []any{alice, bob}; !slices.Equal(asStrings(got), asStrings(want)) {
		t.Errorf("allowed_mentions.users: got %v, want %v", got, want)
	}
	if n, _ := c.Body["nonce"].(string); n == "" || len(n) > 25 || c.Body["enforce_nonce"] != true {
		t.Errorf("nonce: got %q enforce %v, want one of at most 25 characters, enforced", n, c.Body["enforce_nonce"])
	}

	msg, ok := b.fake.Message(strings.Split(ref, "/")[0] + "/" + msgID(c))
	if !ok {
		t.Fatalf("the reply is not in Discord")
	}
	if got, want := discordtest.Mentioned(msg), []string{alice, bob}; !slices.Equal(got, want) {
		t.Errorf("pinged: got %v, want %v", got, want)
	}
	if discordtest.Num(msg["type"]) != 19 {
		t.Errorf("message type: got %v, want 19 (a reply)", msg["type"])
	}
}

func asStrings(v any) []string {
	var out []string
	switch l := v.(type) {
	case []any:
		for _, x := range l {
			s, _ := x.(string)
			out = append(out, s)
		}
	case []string:
		out = l
	}
	return out
}

// TestRemindOnce: a reminder whose answer was lost is tried again, and
// Discord returns the reply already posted (the nonce): one reply, not
// two; so does the same reminder asked again. The next reminder, or other
// words, is a new reply.
func TestRemindOnce(t *testing.T) {
	b := newBare(t, func(o *discord.Options) { o.HTTPClient = &http.Client{Timeout: time.Second} })
	req, ref := b.card(t, "R-REM333")
	b.fake.SetFault(discordtest.FaultFirst(1, isReply(ref), &discordtest.Fault{Late: true}))
	who := []bot.Person{people[1]}
	text := "R-REM333 is waiting for your approval."
	if err := b.ad.Remind(b.ctx, req, ref, who, text); err != nil {
		t.Fatalf("Remind after a lost answer: %v", err)
	}
	if n := b.fake.Count(isReply(ref)); n != 2 {
		t.Errorf("calls: got %d, want 2 (the lost one and its retry)", n)
	}
	if got := postedMessages(b.fake, isReply(ref)); len(got) != 1 {
		t.Fatalf("replies in Discord: got %v, want one", got)
	}

	if err := b.ad.Remind(b.ctx, req, ref, who, text); err != nil {
		t.Fatalf("the same reminder again: %v", err)
	}
	if got := postedMessages(b.fake, isReply(ref)); len(got) != 1 {
		t.Errorf("replies after the same reminder again: got %v, want one", got)
	}

	next := req
	next.Reminders = &bot.Reminders{After: req.Reminders.After, Backoff: 2, Sent: 2}
	if err := b.ad.Remind(b.ctx, next, ref, who, text); err != nil {
		t.Fatalf("the next reminder: %v", err)
	}
	if err := b.ad.Remind(b.ctx, next, ref, who, "other words"); err != nil {
		t.Fatalf("another reminder: %v", err)
	}
	if got := postedMessages(b.fake, isReply(ref)); len(got) != 3 {
		t.Errorf("replies: got %v, want 3 (the next reminder, and other words, are new)", got)
	}
}

// TestRemindEdges: a bad reference is an internal error and calls
// nothing; a deleted card still gets the reminder, as a plain message; a
// long text is cut to Discord's 2000 characters, mentions first.
func TestRemindEdges(t *testing.T) {
	b := newBare(t)
	req, ref := b.card(t, "R-REM444")
	who := []bot.Person{people[0]}

	t.Run("BadRef", func(t *testing.T) {
		before := len(b.fake.Calls())
		for _, bad := range []string{"", "789", "/5001", "789/"} {
			err := b.ad.Remind(b.ctx, req, bad, who, "x")
			if bot.ErrorCode(err) != bot.EINTERNAL || !strings.Contains(bot.ErrorMessage(err), "not channel/message") {
				t.Errorf("Remind(%q): got %v, want EINTERNAL naming the reference's shape", bad, err)
			}
		}
		if n := len(b.fake.Calls()); n != before {
			t.Errorf("calls to Discord: got %d, want none", n-before)
		}
	})
	t.Run("CardGone", func(t *testing.T) {
		gone := approvalsCh + "/999999"
		if err := b.ad.Remind(b.ctx, req, gone, who, "still waiting"); err != nil {
			t.Fatalf("Remind under a deleted card: %v", err)
		}
		c := b.fake.Wait(b.ctx, "the reminder", isReply(gone))
		if c.Status != 200 {
			t.Fatalf("reminder: got HTTP %d %v, want it posted", c.Status, c.Resp)
		}
		if m, _ := b.fake.Message(approvalsCh + "/" + msgID(c)); discordtest.Num(m["type"]) != 0 {
			t.Errorf("type: got %v, want 0 (a plain message, the card being gone)", m["type"])
		}
	})
	t.Run("Long", func(t *testing.T) {
		long := strings.Repeat("é", 1500)
		if err := b.ad.Remind(b.ctx, req, ref, who, long); err != nil {
			t.Fatalf("Remind: %v", err)
		}
		var got string
		for _, c := range b.fake.Calls() {
			if isReply(ref)(c) {
				got = content(c)
			}
		}
		if len(got) > 2000 || !strings.HasPrefix(got, "<@"+alice+"> éé") || !strings.HasSuffix(got, "…") {
			t.Errorf("content: %d bytes, starts %q, want at most 2000, the mention first, marked cut", len(got), got[:min(len(got), 12)])
		}
	})
}
