package slack

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/slack-go/slack"
)

// read reads the body of a Slack request. On failure it has answered w
// already and returns ok false.
func (a *Adapter) read(w http.ResponseWriter, r *http.Request) (body []byte, ok bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "cannot read the request body", http.StatusBadRequest)
		}
		return nil, false
	}
	return body, true
}

// sslCheck reports whether body is Slack's check of the bot's certificate
// (ssl_check=1, sent to a slash command's URL, signed or not), which wants
// an empty 200 and nothing done.
func sslCheck(body []byte) bool {
	form, err := url.ParseQuery(string(body))
	return err == nil && form.Get("ssl_check") == "1" && form.Get("command") == ""
}

// verify checks the v0 signature and timestamp of a Slack request whose
// body is body. On failure it has answered w already and returns false.
func (a *Adapter) verify(w http.ResponseWriter, r *http.Request, body []byte) bool {
	// slack-go checks the timestamp against the wall clock; the bot's clock
	// is checked here too, so that tests and the service agree on "now".
	ts, err := strconv.ParseInt(r.Header.Get("X-Slack-Request-Timestamp"), 10, 64)
	if err != nil || a.clock.Now().Sub(time.Unix(ts, 0)).Abs() > maxSkew {
		a.unauthorized(w, r, "missing or stale timestamp")
		return false
	}
	sv, err := slack.NewSecretsVerifier(r.Header, a.opts.SigningSecret)
	if err != nil {
		a.unauthorized(w, r, err.Error())
		return false
	}
	if _, err := sv.Write(body); err != nil {
		a.unauthorized(w, r, err.Error())
		return false
	}
	if err := sv.Ensure(); err != nil {
		a.unauthorized(w, r, err.Error())
		return false
	}
	return true
}

func (a *Adapter) unauthorized(w http.ResponseWriter, r *http.Request, why string) {
	a.log.Info("slack: refused an unverified request", "path", r.URL.Path, "why", why, "remote", r.RemoteAddr)
	http.Error(w, "invalid Slack signature", http.StatusUnauthorized)
}

// retried reports whether Slack marked r as a retry: the first delivery is
// being handled already, so a retry is acknowledged and dropped.
func (a *Adapter) retried(r *http.Request) bool {
	if n := r.Header.Get("X-Slack-Retry-Num"); n != "" {
		a.log.Info("slack: dropped a retried delivery", "path", r.URL.Path, "retry", n,
			"reason", r.Header.Get("X-Slack-Retry-Reason"))
		return true
	}
	return false
}

func (a *Adapter) serveCommand(w http.ResponseWriter, r *http.Request) {
	body, ok := a.read(w, r)
	if !ok {
		return
	}
	if sslCheck(body) { // nothing to verify or do: the probe only wants TLS to work
		w.WriteHeader(http.StatusOK)
		return
	}
	if !a.verify(w, r, body) {
		return
	}
	if a.retried(r) {
		w.WriteHeader(http.StatusOK)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		a.write(w, badPayload("the command is not a form"))
		return
	}
	a.write(w, a.onCommand(slack.SlashCommand{
		TeamID:      form.Get("team_id"),
		ChannelID:   form.Get("channel_id"),
		UserID:      form.Get("user_id"),
		Command:     form.Get("command"),
		Text:        form.Get("text"),
		ResponseURL: form.Get("response_url"),
		TriggerID:   form.Get("trigger_id"),
	}))
}

func (a *Adapter) serveInteraction(w http.ResponseWriter, r *http.Request) {
	body, ok := a.read(w, r)
	if !ok {
		return
	}
	if sslCheck(body) {
		w.WriteHeader(http.StatusOK)
		return
	}
	if !a.verify(w, r, body) {
		return
	}
	if a.retried(r) {
		w.WriteHeader(http.StatusOK)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		a.write(w, badPayload("the interaction has no payload"))
		return
	}
	var ic slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &ic); err != nil {
		a.write(w, badPayload("the interaction payload is not valid JSON"))
		return
	}
	a.write(w, a.onInteraction(ic))
}

// write sends an acknowledgement over HTTP.
func (a *Adapter) write(w http.ResponseWriter, k ack) {
	if k.status != http.StatusOK {
		a.log.Info("slack: refused a payload", "status", k.status, "why", k.problem)
		http.Error(w, k.problem, k.status)
		return
	}
	if k.body == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	b, err := json.Marshal(k.body)
	if err != nil {
		a.log.Error("slack: encode an acknowledgement", "err", err)
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
