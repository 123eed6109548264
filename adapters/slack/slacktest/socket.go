package slacktest

import (
	"net/http"

	"github.com/gorilla/websocket"
)

// Send queues a Socket Mode envelope for the adapter's connection.
func (f *Server) Send(envelope []byte) { f.envelopes <- envelope }

// Acks delivers the acknowledgements the adapter sent over Socket Mode.
func (f *Server) Acks() <-chan map[string]any { return f.acks }

// serveSocket is Slack's end of a Socket Mode connection: it says hello,
// sends the envelopes it is given and passes acknowledgements back.
func (f *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	// slack-go dials with Origin https://api.slack.com, as Slack expects.
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	if err := conn.WriteJSON(map[string]any{"type": "hello", "num_connections": 1}); err != nil {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			var m map[string]any
			if err := conn.ReadJSON(&m); err != nil {
				return
			}
			f.acks <- m
		}
	}()
	for {
		select {
		case env := <-f.envelopes:
			if err := conn.WriteMessage(websocket.TextMessage, env); err != nil {
				return
			}
		case <-done:
			return
		case <-r.Context().Done():
			return
		}
	}
}
