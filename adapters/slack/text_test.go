package slack_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// shown is how Slack renders the person-typed parts of a message's blocks:
// the texts of rich_text elements and plain_text objects, which Slack shows
// as they are, and the mrkdwn texts, which it reads as markup.
type shown struct {
	literal []string // rich text and plain_text: shown as written
	mrkdwn  []string // read as markup
}

func blocksShown(t testing.TB, blocksJSON string) shown {
	t.Helper()
	var blocks any
	if err := json.Unmarshal([]byte(blocksJSON), &blocks); err != nil {
		t.Fatalf("blocks %q: %v", blocksJSON, err)
	}
	var s shown
	var walk func(v any, inRich bool)
	walk = func(v any, inRich bool) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(e, inRich)
			}
		case map[string]any:
			typ, _ := x["type"].(string)
			text, isText := x["text"].(string)
			switch {
			case isText && typ == "mrkdwn":
				s.mrkdwn = append(s.mrkdwn, text)
			case isText && (typ == "plain_text" || inRich && typ == "text"):
				s.literal = append(s.literal, text)
			}
			for k, e := range x {
				if k != "text" || !isText {
					walk(e, inRich || typ == "rich_text")
				}
			}
		}
	}
	walk(blocks, false)
	return s
}

// showsLiterally reports whether want is shown exactly as written, in a
// literal text, and appears in no mrkdwn text.
func (s shown) showsLiterally(want string) bool {
	for _, m := range s.mrkdwn {
		if strings.Contains(m, want) {
			return false
		}
	}
	for _, l := range s.literal {
		if strings.Contains(l, want) {
			return true
		}
	}
	return false
}
