package slacktest

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Triggers, the views (modals) opened with them, and the messages the bot
// posted, as the fake Slack keeps them.

type trigger struct {
	issued time.Time
	used   bool
}

// Trigger makes id a trigger_id that Slack has just issued (with a click or
// a slash command), to put in a payload: views.open may exchange it once,
// within TriggerLife.
func (f *Server) Trigger(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.triggers[id] = &trigger{issued: time.Now()}
	return id
}

// ExpireTrigger ages the trigger id past TriggerLife, as if the app had
// taken too long to use it.
func (f *Server) ExpireTrigger(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t := f.triggers[id]; t != nil {
		t.issued = time.Now().Add(-2 * TriggerLife)
	}
}

// exchange uses up the trigger id, or returns Slack's error code for it.
func (f *Server) exchange(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.triggers[id]
	switch {
	case t == nil:
		return "invalid_trigger_id"
	case t.used:
		return "exchanged_trigger_id"
	case time.Since(t.issued) > TriggerLife:
		return "expired_trigger_id"
	}
	t.used = true
	return ""
}

// View is a modal the bot opened.
type View struct {
	ID      string
	Trigger string         // the trigger_id it was opened with
	Open    bool           // false once the user closed it
	Hash    string         // changes with every update
	Body    map[string]any // the view as last sent
	Updates int            // views.update calls that changed it
}

// Text is every string in the view, one a line.
func (v View) Text() string {
	b, _ := json.Marshal(v.Body)
	return JSONStrings(string(b))
}

func (v *View) response() map[string]any {
	out := map[string]any{"id": v.ID, "hash": v.Hash, "team_id": "T1"}
	for k, x := range v.Body {
		out[k] = x
	}
	return out
}

// View returns the view id as it stands.
func (f *Server) View(id string) (View, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.views[id]
	if v == nil {
		return View{}, false
	}
	return *v, true
}

// ViewOpenedWith returns the view opened with trigger_id trigger.
func (f *Server) ViewOpenedWith(trigger string) (View, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range f.views {
		if v.Trigger == trigger {
			return *v, true
		}
	}
	return View{}, false
}

// CloseView closes the view id, as the user does with its Close button or
// Esc: later updates of it are not_found.
func (f *Server) CloseView(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v := f.views[id]; v != nil {
		v.Open = false
	}
}

// Message is a message the bot posted, as it stands after its updates.
type Message struct {
	Channel, TS string
	// ThreadTS is the ts of the message this one replies to (thread_ts);
	// empty for a message posted in the channel itself.
	ThreadTS string
	Text     string
	Blocks   string    // JSON
	Metadata *Metadata // as last set by chat.postMessage or chat.update; nil: none
	Updates  int       // chat.update calls
	// BotID is the bot user's of the app that posted it: "" for the bot
	// the token belongs to (auth.test's "BBOT"); PostAsApp sets another.
	BotID string
}

// Replies returns the replies in the thread of the message at ref
// ("channel/ts"), oldest first.
func (f *Server) Replies(ref string) []Message {
	channel, ts, _ := strings.Cut(ref, "/")
	var out []Message
	for _, m := range f.Messages(channel) {
		if m.ThreadTS == ts && ts != "" {
			out = append(out, m)
		}
	}
	return out
}

// Message returns the message at ref ("channel/ts", as the adapter's
// references are written).
func (f *Server) Message(ref string) (Message, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.messages[ref]
	if m == nil {
		return Message{}, false
	}
	return *m, true
}

// Messages returns the messages in channel, oldest first.
func (f *Server) Messages(channel string) []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Message
	for _, m := range f.messages {
		if m.Channel == channel {
			out = append(out, *m)
		}
	}
	slices.SortFunc(out, func(a, b Message) int { return strings.Compare(a.TS, b.TS) })
	return out
}
