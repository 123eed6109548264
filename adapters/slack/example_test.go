package slack_test

import (
	"context"
	"log"
	"net/http"
	"os"
	"os/signal"

	slackad "resetbot/adapters/slack"
	"resetbot/bot"
)

// The adapter is built before the service, which needs it as a Notifier,
// and attached to the service before it serves.
func ExampleNew() {
	ad, err := slackad.New(slackad.Options{
		BotToken:         os.Getenv("SLACK_BOT_TOKEN"),
		SigningSecret:    os.Getenv("SLACK_SIGNING_SECRET"),
		AppToken:         os.Getenv("SLACK_APP_TOKEN"), // empty: HTTP only
		ApprovalsChannel: "C0APPROVALS",
	})
	if err != nil {
		log.Fatal(err)
	}
	svc, err := bot.New(bot.Options{Store: nil /* an approvals.Store */, Notifiers: []bot.Notifier{ad}})
	if err != nil {
		log.Fatal(err)
	}
	ad.Attach(svc)

	mux := http.NewServeMux()
	ad.Register(mux) // POST /slack/commands, POST /slack/interactions
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() { _ = ad.Run(ctx) }() // Socket Mode, when AppToken is set
	srv := &http.Server{Addr: ":8080", Handler: mux}
	go func() { <-ctx.Done(); _ = srv.Shutdown(context.Background()) }()
	_ = srv.ListenAndServe()
	ad.Wait() // let answers already acknowledged go out
}
