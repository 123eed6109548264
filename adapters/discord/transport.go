package discord

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"time"

	"resetbot/adapters/chat"
)

// rewriter sends discordgo's REST calls to the configured API URL.
//
// discordgo builds every URL from package-level variables
// (discordgo.EndpointAPI and the functions built on it). Assigning those
// would change every session in the process, race with calls in flight, and
// leave two adapters with different API URLs (a test's Discord and the real
// one, or two bots) unable to live side by side. A transport on the adapter's
// own client changes nothing shared: it swaps discordgo's prefix for the
// adapter's on each request, and refuses anything outside the API, so that no
// call can reach discord.com when api_url points elsewhere.
type rewriter struct {
	from, to *url.URL
	next     http.RoundTripper
	maxWait  time.Duration
}

func (t *rewriter) RoundTrip(r *http.Request) (*http.Response, error) {
	esc := r.URL.EscapedPath()
	prefix := t.from.EscapedPath()
	if r.URL.Scheme != t.from.Scheme || r.URL.Host != t.from.Host || !strings.HasPrefix(esc, prefix) {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, fmt.Errorf("discord: refusing a call outside the Discord API: %s %s", r.Method, r.URL.Host)
	}
	rawPath := t.to.EscapedPath() + strings.TrimPrefix(esc, prefix)
	path, err := url.PathUnescape(rawPath)
	if err != nil {
		return nil, fmt.Errorf("discord: rewrite the API path: %w", err)
	}
	ctx := r.Context()
	p := probeOf(ctx)
	if p != nil {
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			WroteHeaderField: func(string, []string) { p.setWrote() },
			WroteHeaders:     p.setWrote,
		})
	}
	out := r.Clone(ctx)
	u := *r.URL
	u.Scheme, u.Host, u.Path, u.RawPath = t.to.Scheme, t.to.Host, path, rawPath
	out.URL = &u
	out.Host = ""
	resp, err := t.next.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	if p != nil {
		p.setStatus(resp.StatusCode)
	}
	boundRateLimit(resp.Header, t.maxWait)
	if resp.StatusCode == http.StatusTooManyRequests {
		retryAfterInBody(resp, time.Now())
	}
	return resp, nil
}

// retryAfterInBody makes sure a 429's body says how long to wait. Discord
// puts it in the JSON body (retry_after), where discordgo reads it; a proxy
// in front of Discord may send only the Retry-After header, and discordgo
// would then fail to read the body, or read a wait of zero.
func retryAfterInBody(resp *http.Response, now time.Time) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if err != nil {
		body = nil
	}
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		m = map[string]any{"message": "rate limited"}
	}
	if _, ok := m["retry_after"].(float64); !ok {
		if wait, ok := chat.ParseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
			m["retry_after"] = wait.Seconds()
		} else {
			m["retry_after"] = 1.0 // a 429 that names no wait: a second, as Slack's
		}
		body, _ = json.Marshal(m)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
}

// boundRateLimit caps the reset that discordgo's rate limiter waits for.
// discordgo sleeps for as long as a bucket's X-RateLimit-Reset-After says,
// with no context, before the next call on that bucket; a proxy's or a
// broken server's large value would hang the bot. A capped wait only risks a
// 429, which call handles.
func boundRateLimit(h http.Header, max time.Duration) {
	if v := h.Get("X-RateLimit-Remaining"); v != "" {
		if _, err := strconv.ParseInt(v, 10, 32); err != nil {
			h.Del("X-RateLimit-Remaining") // discordgo would fail the call on it
		}
	}
	after := h.Get("X-RateLimit-Reset-After")
	if after == "" {
		// discordgo would compute the reset from X-RateLimit-Reset and the
		// Date header, unbounded; Discord always sends Reset-After.
		h.Del("X-RateLimit-Reset")
		return
	}
	secs, err := strconv.ParseFloat(after, 64)
	if err != nil || !(secs >= 0) { // NaN too
		h.Del("X-RateLimit-Reset-After")
		h.Del("X-RateLimit-Reset")
		return
	}
	if secs > max.Seconds() {
		h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(max.Seconds(), 'f', 3, 64))
	}
}
