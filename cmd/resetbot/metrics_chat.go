package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"

	"resetbot/bot"
)

// The chat API calls the adapters make, counted by platform, method and
// result.

// The result classes of a chat API call.
const (
	chatOK          = "ok"
	chatRefused     = "refused"      // an error answer: Slack's "ok": false, a 4xx
	chatRateLimited = "rate_limited" // 429, or Slack's "ratelimited"
	chatServerError = "server_error" // 5xx
	chatTimeout     = "timeout"      // no answer in time
	chatNetwork     = "network"      // no answer: connection refused, reset, DNS, TLS
)

var chatResults = []string{chatOK, chatRefused, chatRateLimited, chatServerError, chatTimeout, chatNetwork}

// chatTransport counts the API calls a chat adapter's HTTP client makes
// through base (nil: http.DefaultTransport). Every result of the methods
// the adapters call (chatMethods) exists at zero from the start; a method
// not among them gets its results at its first call.
func (m *metrics) chatTransport(p bot.Platform, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	for _, method := range chatMethods[p] {
		m.chatSeen.Store(string(p)+" "+method, true)
		for _, res := range chatResults {
			m.chatCalls.WithLabelValues(string(p), method, res)
		}
	}
	return chatCounter{p: p, next: base, m: m}
}

// chatMethods are the API calls the chat adapters make, as chatMethod
// names them: Slack's Web API methods, Discord's REST routes.
var chatMethods = map[bot.Platform][]string{
	bot.PlatformSlack: {
		"auth.test", "chat.postMessage", "chat.update", "chat.postEphemeral", "views.open", "views.update",
		"conversations.open", "conversations.info", "conversations.history", "users.conversations",
		"apps.connections.open", "response_url",
	},
	bot.PlatformDiscord: {
		"GET /gateway", "GET /users/@me", "POST /users/@me/channels",
		"PUT /applications/:id/commands", "PUT /applications/:id/guilds/:id/commands",
		"POST /interactions/:id/:id/callback",
		"GET /webhooks/:id/:id/messages/@original", "PATCH /webhooks/:id/:id/messages/@original",
		"GET /channels/:id", "GET /channels/:id/messages", "POST /channels/:id/messages", "PATCH /channels/:id/messages/:id",
		"GET /guilds/:id", "GET /guilds/:id/members/:id",
	},
}

type chatCounter struct {
	p    bot.Platform
	next http.RoundTripper
	m    *metrics
}

func (c chatCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	method := chatMethod(c.p, r)
	resp, err := c.next.RoundTrip(r)
	result := chatResult(c.p, resp, err)
	if _, seen := c.m.chatSeen.LoadOrStore(string(c.p)+" "+method, true); !seen {
		for _, res := range chatResults {
			c.m.chatCalls.WithLabelValues(string(c.p), method, res)
		}
	}
	c.m.chatCalls.WithLabelValues(string(c.p), method, result).Inc()
	return resp, err
}

// slackMethod is a Web API method's name: "chat.postMessage".
var slackMethod = regexp.MustCompile(`^[a-z]+(\.[a-zA-Z]+)+$`)

// discordWords are the words of Discord's REST routes; any other path
// segment is an ID or a token (an interaction's token is a credential) and
// reads ":id".
var discordWords = map[string]bool{
	"applications": true, "commands": true, "guilds": true, "channels": true, "messages": true,
	"webhooks": true, "interactions": true, "callback": true, "original": true, "users": true,
	"@me": true, "@original": true, "members": true, "roles": true, "gateway": true, "bot": true, "reactions": true,
	"permissions": true, "typing": true, "pins": true, "threads": true,
}

// chatMethod names the call r makes, from a fixed vocabulary: Slack's
// method name ("chat.postMessage", or "response_url" for a post to a
// command's response URL, whose path is a credential), Discord's route
// with its IDs blanked ("POST /channels/:id/messages").
func chatMethod(p bot.Platform, r *http.Request) string {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if p == bot.PlatformSlack {
		if last := segs[len(segs)-1]; slackMethod.MatchString(last) {
			return last
		}
		return "response_url"
	}
	for i, s := range segs {
		if s == "api" { // what comes before is the API URL's, not the route's
			segs = segs[i+1:]
			if len(segs) > 0 && len(segs[0]) > 1 && segs[0][0] == 'v' && strings.Trim(segs[0][1:], "0123456789") == "" {
				segs = segs[1:]
			}
			break
		}
	}
	for i, s := range segs {
		if !discordWords[s] {
			segs[i] = ":id"
		}
	}
	return r.Method + " /" + strings.Join(segs, "/")
}

// chatResult classifies an answer. Slack answers most errors with a 200
// whose JSON says "ok": false: that body is read, and put back.
func chatResult(p bot.Platform, resp *http.Response, err error) string {
	if err != nil {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return chatTimeout
		}
		return chatNetwork
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return chatRateLimited
	case resp.StatusCode >= 500:
		return chatServerError
	case resp.StatusCode >= 400:
		return chatRefused
	}
	if p != bot.PlatformSlack || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
		return chatOK
	}
	body, rerr := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if rerr != nil { // the answer was cut: the adapter reads the same error
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), failingReader{rerr}))
		return chatNetwork
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var answer struct {
		OK    *bool  `json:"ok"`
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &answer) != nil || answer.OK == nil || *answer.OK {
		return chatOK
	}
	if answer.Error == "ratelimited" {
		return chatRateLimited
	}
	return chatRefused
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }
