package slack_test

import (
	"testing"

	"resetbot/adapters/slack/slacktest"
	"resetbot/bot"
)

func TestAnnounce(t *testing.T) {
	t.Run("InTheApprovalsChannelPingingNobody", func(t *testing.T) {
		f := slacktest.NewServer(t, botToken, appToken)
		ad := newAdapter(t, f)
		if err := ad.Announce(testCtx(t), "", "the store lost its data <!channel> @here: ask again"); err != nil {
			t.Fatalf("Announce: %v", err)
		}
		msgs := f.Messages(approvalsChannel)
		if len(msgs) != 1 {
			t.Fatalf("messages in the approvals channel: got %d, want 1", len(msgs))
		}
		if got, want := msgs[0].Text, "the store lost its data &lt;!channel&gt; @here: ask again"; got != want {
			t.Errorf("text: got %q, want %q (escaped: no ping)", got, want)
		}
		calls := f.CallsOf("chat.postMessage")
		if got := calls[0].Get("link_names"); got == "true" || got == "1" {
			t.Errorf("link_names: got %q, want off", got)
		}
	})
	t.Run("InAnAccountsChannel", func(t *testing.T) {
		f := slacktest.NewServer(t, botToken, appToken)
		f.AddChannel(slacktest.Channel{ID: "C0OTHER", Name: "other", Member: true})
		ad := newAdapter(t, f)
		if err := ad.Announce(testCtx(t), "C0OTHER", "notice"); err != nil {
			t.Fatalf("Announce: %v", err)
		}
		if got := len(f.Messages("C0OTHER")); got != 1 {
			t.Errorf("messages in C0OTHER: got %d, want 1", got)
		}
	})
	t.Run("ChatDownIsAnError", func(t *testing.T) {
		f := slacktest.NewServer(t, botToken, appToken)
		f.Fail("chat.postMessage", slacktest.Fault{Status: 500})
		err := newAdapter(t, f).Announce(testCtx(t), "", "notice")
		if code := bot.ErrorCode(err); code != bot.EUNKNOWN {
			t.Errorf("Announce while Slack answers 500: got %v (%s), want EUNKNOWN: it may have been posted", err, code)
		}
		if n := len(f.CallsOf("chat.postMessage")); n != 1 {
			t.Errorf("chat.postMessage calls: got %d, want 1 (a 500 after the request was sent is not retried)", n)
		}
	})
}
