package discord_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"resetbot/adapters/discord"
	"resetbot/adapters/discord/discordtest"
	"resetbot/bot"
)

// TestRevealDeliveryUnknown: the answer that holds the password may have
// reached Discord without Discord saying so (its answer came after the
// client's timeout, a 5xx, a connection cut after the request was
// written). The password is sent once, never again; the request says its
// outcome is unknown; nothing is reset twice.
func TestRevealDeliveryUnknown(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault *discordtest.Fault
		shown bool // whether Discord shows the password all the same
	}{
		{name: "AnsweredAfterTheClientsTimeout", fault: &discordtest.Fault{Late: true}, shown: true},
		{name: "ServerError", fault: &discordtest.Fault{Status: 500, Body: `{"message": "500: Internal Server Error", "code": 0}`}},
		{name: "BadGateway", fault: &discordtest.Fault{Status: 502, Body: `{"message": "502: Bad Gateway", "code": 0}`}},
		{name: "ConnectionCutAfterWriting", fault: &discordtest.Fault{Hang: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(o *discord.Options) { o.HTTPClient = &http.Client{Timeout: time.Second} })
			id, _, offer := e.approved()
			i := e.dmClick(alice, "reveal:"+id, msgID(offer))
			path := "webhooks/" + appID + "/" + tokenOf(i) + "/messages/@original"
			isPassword := func(c discordtest.Call) bool {
				return c.Method == "PATCH" && c.Path == path && strings.Contains(content(c), "New password")
			}
			e.fake.SetFault(func(c discordtest.Call) *discordtest.Fault {
				if isPassword(c) {
					return tc.fault
				}
				return nil
			})
			if a := e.send(i); a.Status != 200 || a.Type() != 5 {
				t.Fatalf("answer: got %d %s, want a deferral", a.Status, a.Raw)
			}
			e.wantWithdrawn(offer, id)
			e.ad.Wait()
			if n := e.resets(); n != 1 {
				t.Errorf("resets: got %d, want 1", n)
			}
			if n := e.fake.Count(isPassword); n != 1 {
				t.Errorf("answers sent with the password: got %d, want 1 (never sent again)", n)
			}
			e.checkShownOnce(e.passwords(), tokenOf(i))
			e.wantState(id, bot.StateFailed, "delivery unknown")
			if audit := e.auditOf(id); !slices.Contains(audit, "delivery_failed:system") {
				t.Errorf("audit: got %v, want delivery_failed", audit)
			}
			if !strings.Contains(e.logs.String(), "may have it, unconfirmed; not sent again") {
				t.Errorf("log: want the unconfirmed answer logged")
			}
			orig, _ := e.fake.Original(tokenOf(i))
			if got, _ := orig["content"].(string); strings.Contains(got, "New password") != tc.shown {
				t.Errorf("the answer in Discord: got %q, want the password shown: %v", got, tc.shown)
			}
		})
	}
}

// TestRevealNothingDelivered: a refusal by Discord (a rate limit too long
// to wait out) reached nothing, so the service may try again: the password
// went in no answer Discord took.
func TestRevealNothingDelivered(t *testing.T) {
	e := newEnv(t)
	id, _, offer := e.approved()
	i := e.dmClick(alice, "reveal:"+id, msgID(offer))
	path := "webhooks/" + appID + "/" + tokenOf(i) + "/messages/@original"
	isPassword := func(c discordtest.Call) bool {
		return c.Method == "PATCH" && c.Path == path && strings.Contains(content(c), "New password")
	}
	e.fake.SetFault(func(c discordtest.Call) *discordtest.Fault {
		if isPassword(c) {
			return discordtest.RateLimited("60")
		}
		return nil
	})
	if a := e.send(i); a.Status != 200 || a.Type() != 5 {
		t.Fatalf("answer: got %d %s, want a deferral", a.Status, a.Raw)
	}
	e.wantWithdrawn(offer, id)
	e.ad.Wait()
	if n := e.fake.Count(isPassword); n < 2 {
		t.Errorf("tries of the answer refused with 429: got %d, want more than one (nothing reached Discord, so trying again is safe)", n)
	}
	if n := e.fake.Count(func(c discordtest.Call) bool { return isPassword(c) && c.Status != 429 }); n != 0 {
		t.Errorf("answers with the password Discord took: got %d, want 0", n)
	}
	if n := e.resets(); n != 1 {
		t.Errorf("resets: got %d, want 1", n)
	}
	e.wantState(id, bot.StateFailed, "outcome unknown")
	e.checkSecrets(e.passwords())
}

// TestOfferSentOnce: an offer that Discord took but answered after the
// client's timeout is not sent again: one Reveal button, never two. The
// request stays offered, and the requester is told how to reveal it
// without the button.
func TestOfferSentOnce(t *testing.T) {
	e := newEnv(t, func(o *discord.Options) { o.HTTPClient = &http.Client{Timeout: time.Second} })
	e.fake.SetFault(func(c discordtest.Call) *discordtest.Fault {
		if isPostTo("channels/dm-"+alice+"/messages")(c) && len(customIDs(c.Body)) == 1 {
			return &discordtest.Fault{Late: true}
		}
		return nil
	})
	id, _ := e.ask(alice, "prod-db")
	e.mustSend(e.click(bob, "approve:"+id))
	e.fake.Wait(e.ctx, "alice told how to reveal without the button", func(c discordtest.Call) bool {
		return strings.Contains(content(c), "may not have reached you") && strings.Contains(content(c), "/reset-password reveal "+id)
	})
	e.ad.Wait()
	e.wantState(id, bot.StateOffered, "")
	if n := e.fake.Count(isOffer(id)); n != 1 {
		t.Errorf("offers sent: got %d, want 1", n)
	}
	if n := e.resets(); n != 0 {
		t.Errorf("resets: got %d, want 0", n)
	}
}
