package discord

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/bwmarrin/discordgo"
)

// serveHTTP answers POST /discord/interactions.
func (a *Adapter) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read the request body", http.StatusBadRequest)
		return
	}
	// The age first: discordgo checks the signature but not how old it is.
	if !a.fresh(r.Header.Get("X-Signature-Timestamp")) {
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if !discordgo.VerifyInteraction(r, a.publicKey) {
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return
	}
	var i discordgo.Interaction
	if err := json.Unmarshal(body, &i); err != nil {
		http.Error(w, "malformed interaction", http.StatusBadRequest)
		return
	}
	if i.AppID != a.opts.ApplicationID {
		http.Error(w, "interaction for another application", http.StatusBadRequest)
		return
	}
	if i.Type == discordgo.InteractionPing {
		writeJSON(w, &response{Type: discordgo.InteractionResponsePong})
		return
	}
	if i.ID == "" || i.Token == "" || userOf(&i) == nil {
		http.Error(w, "malformed interaction", http.StatusBadRequest)
		return
	}
	if a.service() == nil {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	answered := false
	a.handle(r.Context(), &i, func(resp *response) error {
		if answered {
			return errors.New("discord: an interaction is answered once")
		}
		answered = true
		writeJSON(w, resp)
		return nil
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// fresh reports whether a signature timestamp (Unix seconds) is within the
// window around now, so that a recorded interaction cannot be replayed later.
func (a *Adapter) fresh(ts string) bool {
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	age := a.clock.Now().Sub(time.Unix(secs, 0))
	return age <= signatureWindow && age >= -signatureWindow
}
