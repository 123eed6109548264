package slacktest_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/slack-go/slack"

	"resetbot/adapters/slack/slacktest"
)

const token = "xoxb-history"

func client(f *slacktest.Server) *slack.Client {
	return slack.New(token, slack.OptionAPIURL(f.APIURL()))
}

// post posts text in channel with metadata naming it, and returns its ts.
func post(t *testing.T, api *slack.Client, channel, text string, opts ...slack.MsgOption) string {
	t.Helper()
	opts = append([]slack.MsgOption{slack.MsgOptionText(text, false),
		slack.MsgOptionMetadata(slack.SlackMetadata{EventType: "note", EventPayload: map[string]any{"name": text}})}, opts...)
	_, ts, err := api.PostMessageContext(context.Background(), channel, opts...)
	if err != nil {
		t.Fatalf("post %q: %v", text, err)
	}
	return ts
}

func texts(msgs []slack.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Text)
	}
	return out
}

// TestHistory: conversations.history as Slack documents it, through the
// real client: newest first, without thread replies, between oldest and
// latest, a page at a time with has_more and next_cursor, the metadata
// only when asked for, and the bot's access to the channel checked.
func TestHistory(t *testing.T) {
	ctx := context.Background()
	f := slacktest.NewServer(t, token, "xapp-unused")
	api := client(f)
	var ts []string
	for _, text := range []string{"one", "two", "three", "four", "five"} {
		ts = append(ts, post(t, api, "C1", text))
	}
	post(t, api, "C1", "a reply to two", slack.MsgOptionTS(ts[1]))
	post(t, api, "C2", "elsewhere")

	t.Run("NewestFirstWithoutReplies", func(t *testing.T) {
		h, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: "C1"})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := texts(h.Messages), []string{"five", "four", "three", "two", "one"}; !slices.Equal(got, want) {
			t.Errorf("messages: got %q, want %q", got, want)
		}
		if h.HasMore || h.ResponseMetaData.NextCursor != "" {
			t.Errorf("has_more %v, next_cursor %q: want neither", h.HasMore, h.ResponseMetaData.NextCursor)
		}
		if h.Messages[3].ReplyCount != 1 {
			t.Errorf("reply_count of two: got %d, want 1", h.Messages[3].ReplyCount)
		}
	})

	t.Run("MetadataOnlyWhenAsked", func(t *testing.T) {
		for _, all := range []bool{false, true} {
			h, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: "C1", IncludeAllMetadata: all})
			if err != nil {
				t.Fatal(err)
			}
			got := h.Messages[0].Metadata
			switch {
			case all && (got.EventType != "note" || got.EventPayload["name"] != "five"):
				t.Errorf("include_all_metadata: got %+v, want the metadata posted", got)
			case !all && got.EventType != "":
				t.Errorf("without include_all_metadata: got %+v, want none", got)
			}
		}
	})

	t.Run("OldestAndLatest", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			p    slack.GetConversationHistoryParameters
			want []string
		}{
			{"Oldest", slack.GetConversationHistoryParameters{Oldest: ts[2]}, []string{"five", "four"}},
			{"OldestInclusive", slack.GetConversationHistoryParameters{Oldest: ts[2], Inclusive: true}, []string{"five", "four", "three"}},
			{"Between", slack.GetConversationHistoryParameters{Oldest: ts[0], Latest: ts[3]}, []string{"three", "two"}},
		} {
			p := tt.p
			p.ChannelID = "C1"
			h, err := api.GetConversationHistoryContext(ctx, &p)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if got := texts(h.Messages); !slices.Equal(got, tt.want) {
				t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
			}
		}
	})

	t.Run("Pages", func(t *testing.T) {
		for _, pageMax := range []int{0, 1} { // as asked, then shorter than asked
			f.PageLimit(pageMax)
			var got []string
			cursor := ""
			for page := 1; ; page++ {
				h, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: "C1", Limit: 2, Cursor: cursor})
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, texts(h.Messages)...)
				if h.HasMore != (h.ResponseMetaData.NextCursor != "") {
					t.Fatalf("page %d: has_more %v with next_cursor %q", page, h.HasMore, h.ResponseMetaData.NextCursor)
				}
				if !h.HasMore {
					break
				}
				if page > 5 {
					t.Fatalf("more than 5 pages: %q", got)
				}
				cursor = h.ResponseMetaData.NextCursor
			}
			if want := []string{"five", "four", "three", "two", "one"}; !slices.Equal(got, want) {
				t.Errorf("page limit %d: got %q, want %q", pageMax, got, want)
			}
		}
		f.PageLimit(0)
	})

	t.Run("Refusals", func(t *testing.T) {
		f.AddChannel(slacktest.Channel{ID: "C0OUTSIDE"})
		f.AddChannel(slacktest.Channel{ID: "G0SECRET", Private: true})
		for _, tt := range []struct {
			p    slack.GetConversationHistoryParameters
			want string
		}{
			{slack.GetConversationHistoryParameters{ChannelID: "C0OUTSIDE"}, "not_in_channel"},
			{slack.GetConversationHistoryParameters{ChannelID: "G0SECRET"}, "channel_not_found"},
			{slack.GetConversationHistoryParameters{ChannelID: "D0NEVER"}, "channel_not_found"},
			{slack.GetConversationHistoryParameters{ChannelID: "C1", Cursor: "bm9wZQ=="}, "invalid_cursor"},
			{slack.GetConversationHistoryParameters{ChannelID: "C1", Oldest: "yesterday"}, "invalid_ts_oldest"},
		} {
			_, err := api.GetConversationHistoryContext(ctx, &tt.p)
			var se slack.SlackErrorResponse
			if !errors.As(err, &se) || se.Err != tt.want {
				t.Errorf("%+v: got %v, want %s", tt.p, err, tt.want)
			}
		}
	})

	t.Run("UpdateKeepsOrReplacesMetadata", func(t *testing.T) {
		ctx := context.Background()
		if _, _, _, err := api.UpdateMessageContext(ctx, "C1", ts[0], slack.MsgOptionText("one, edited", false)); err != nil {
			t.Fatal(err)
		}
		if m, _ := f.Message("C1/" + ts[0]); m.Metadata == nil || m.Metadata.EventPayload["name"] != "one" {
			t.Errorf("after an update without metadata: %+v, want it kept", m.Metadata)
		}
		_, _, _, err := api.UpdateMessageContext(ctx, "C1", ts[0], slack.MsgOptionText("one", false),
			slack.MsgOptionMetadata(slack.SlackMetadata{EventType: "note", EventPayload: map[string]any{"name": "uno"}}))
		if err != nil {
			t.Fatal(err)
		}
		if m, _ := f.Message("C1/" + ts[0]); m.Metadata == nil || m.Metadata.EventPayload["name"] != "uno" {
			t.Errorf("after an update with metadata: %+v, want it replaced", m.Metadata)
		}
	})
}
