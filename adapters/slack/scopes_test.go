package slack_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	slackad "resetbot/adapters/slack"
	"resetbot/adapters/slack/slacktest"
	"resetbot/bot"
)

// MissingScopes reads the token's scopes from the X-OAuth-Scopes header of
// auth.test's answer and names each scope of the manifest it lacks, with
// what that breaks.
func TestMissingScopes(t *testing.T) {
	fake := slacktest.NewServer(t, botToken, "")
	ad, err := slackad.New(slackad.Options{BotToken: botToken, SigningSecret: secret, APIURL: fake.APIURL(), ApprovalsChannel: approvalsChannel})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ad.MissingScopes(t.Context()); err != nil || len(got) != 0 {
		t.Errorf("an app installed from the manifest: missing %q, %v; want none", got, err)
	}

	fake.SetScopes("commands", "chat:write", "im:write", "channels:read", "groups:read")
	got, err := ad.MissingScopes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"the app lacks the channels:history scope: a card whose post timed out may be posted twice",
		"the app lacks the groups:history scope: a card whose post timed out may be posted twice in a private channel",
	}
	if !slices.Equal(got, want) {
		t.Errorf("an app from an older manifest: got\n%q\nwant\n%q", got, want)
	}

	wrong, err := slackad.New(slackad.Options{BotToken: "xoxb-wrong", SigningSecret: secret, APIURL: fake.APIURL(), ApprovalsChannel: approvalsChannel})
	if err != nil {
		t.Fatal(err)
	}
	_, err = wrong.MissingScopes(t.Context())
	if bot.ErrorCode(err) != bot.EUNAVAILABLE || !strings.Contains(bot.ErrorMessage(err), "invalid_auth") || strings.Contains(err.Error(), "xoxb-wrong") {
		t.Errorf("a refused token: got %v, want EUNAVAILABLE naming invalid_auth, without the token", err)
	}
}

// The scopes the adapter checks, the fake grants by default and the
// manifest asks for are the same.
func TestScopesAreTheManifests(t *testing.T) {
	data, err := os.ReadFile("../../deploy/slack/manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		OAuth struct {
			Scopes struct {
				Bot []string `yaml:"bot"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
	}
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	var checked []string
	for _, s := range slackad.Scopes {
		checked = append(checked, s.Name)
	}
	if !slices.Equal(checked, m.OAuth.Scopes.Bot) || !slices.Equal(slacktest.AppScopes, m.OAuth.Scopes.Bot) {
		t.Errorf("scopes: the manifest asks for %q; the adapter checks %q; the fake grants %q", m.OAuth.Scopes.Bot, checked, slacktest.AppScopes)
	}
}
