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
			a.refuse(w, r, http.StatusRequestEntityTooLarge, "request body too large", "the body is over 256 KiB")
			return
		}
		a.refuse(w, r, http.StatusBadRequest, "cannot read the request body", "the body could not be read")
		return
	}
	// The age first: discordgo checks the signature but not how old it is.
	if !a.fresh(r.Header.Get("X-Signature-Timestamp")) {
		a.refuse(w, r, http.StatusUnauthorized, "invalid request signature", "the signature's timestamp is missing or more than 5 minutes from now")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if !discordgo.VerifyInteraction(r, a.publicKey) {
		a.refuse(w, r, http.StatusUnauthorized, "invalid request signature", "the Ed25519 signature does not verify with discord.public_key")
		return
	}
	i, err := decode(body)
	if err != nil {
		a.refuse(w, r, http.StatusBadRequest, "malformed interaction", "the signed body is not an interaction Discord sends")
		return
	}
	// A signed PING is Discord checking the endpoint, with our key: it
	// need not name the application.
	if i.Type == discordgo.InteractionPing && (i.AppID == "" || i.AppID == a.opts.ApplicationID) {
		writeJSON(w, &response{Type: discordgo.InteractionResponsePong})
		return
	}
	if i.AppID != a.opts.ApplicationID {
		a.refuse(w, r, http.StatusBadRequest, "interaction for another application", "application_id is not discord.application_id")
		return
	}
	if i.ID == "" || i.Token == "" || userOf(i) == nil {
		a.refuse(w, r, http.StatusBadRequest, "malformed interaction", "the interaction has no ID, token or user")
		return
	}
	if a.service() == nil {
		a.refuse(w, r, http.StatusServiceUnavailable, "not ready", "no service attached yet")
		return
	}
	answered := false
	a.handle(r.Context(), i, func(resp *response) error {
		if answered {
			return errors.New("discord: an interaction is answered once")
		}
		answered = true
		writeJSON(w, resp)
		return nil
	})
}

// refuse answers status with text, and logs why: never the body, which
// holds an interaction's token.
func (a *Adapter) refuse(w http.ResponseWriter, r *http.Request, status int, text, why string) {
	a.log.Info("discord: refused an interaction", "status", status, "why", why, "remote", r.RemoteAddr)
	http.Error(w, text, status)
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
