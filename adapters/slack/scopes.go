package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"resetbot/bot"
)

// Scopes are the bot scopes the app needs, as deploy/slack/manifest.yaml
// grants them, each with what goes wrong without it.
var Scopes = []struct{ Name, Without string }{
	{"commands", "the slash command does not reach the bot"},
	{"chat:write", "no card, reply or password can be posted"},
	{"im:write", "no Reveal offer can be sent to a requester's DM"},
	{"channels:read", "the approval channels cannot be checked"},
	{"groups:read", "private approval channels cannot be checked"},
	{"channels:history", "a card whose post timed out may be posted twice"},
	{"groups:history", "a card whose post timed out may be posted twice in a private channel"},
}

// MissingScopes asks Slack which scopes the bot token has and returns, one
// line each, those of Scopes it lacks and what that breaks. Slack lists a
// token's scopes in every Web API answer's X-OAuth-Scopes header, which
// slack-go does not expose: so auth.test is called here over plain HTTP.
// An answer without the header says nothing is missing: it cannot tell.
func (a *Adapter) MissingScopes(ctx context.Context) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.opts.APIURL+"auth.test", strings.NewReader(url.Values{}.Encode()))
	if err != nil {
		return nil, bot.Errorf(bot.EINTERNAL, "slack: check the app's scopes: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+a.opts.BotToken)
	resp, err := a.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, bot.Errorf(bot.EUNAVAILABLE, "slack: check the app's scopes: %s", safeErr(err))
	}
	defer resp.Body.Close()
	var body struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		return nil, bot.Errorf(bot.EUNAVAILABLE, "slack: check the app's scopes: auth.test answered HTTP %d", resp.StatusCode)
	}
	if !body.OK {
		return nil, bot.Errorf(bot.EUNAVAILABLE, "slack: check the app's scopes: auth.test answered %s", body.Error)
	}
	header, ok := resp.Header["X-Oauth-Scopes"]
	if !ok {
		return nil, nil
	}
	has := map[string]bool{}
	for _, h := range header {
		for s := range strings.SplitSeq(h, ",") {
			has[strings.TrimSpace(s)] = true
		}
	}
	var missing []string
	for _, s := range Scopes {
		if !has[s.Name] {
			missing = append(missing, fmt.Sprintf("the app lacks the %s scope: %s", s.Name, s.Without))
		}
	}
	return missing, nil
}
