package discord_test

import (
	"context"
	"log"
	"net/http"

	"resetbot/adapters/discord"
	"resetbot/bot"
)

// Example shows how cmd/resetbot wires the adapter: make it, give it to the
// service as a notifier, attach the service, serve its handler, register the
// command, and run the Gateway (which returns at once when it is off).
func Example() {
	var store bot.Store // approvals.New(redisClient, approvals.Options{...})
	ad, err := discord.New(discord.Options{
		BotToken:         "bot-token",
		ApplicationID:    "123",
		PublicKey:        "9f5d7e7c2a1b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5",
		GuildID:          "456",
		ApprovalsChannel: "789",
	})
	if err != nil {
		log.Fatal(err)
	}
	svc, err := bot.New(bot.Options{Store: store, Notifiers: []bot.Notifier{ad} /* people, accounts, providers */})
	if err != nil {
		log.Fatal(err)
	}
	ad.Attach(svc)
	mux := http.NewServeMux()
	ad.Register(mux)
	ctx := context.Background()
	if err := ad.Start(ctx); err != nil {
		log.Fatal(err)
	}
	go func() { _ = ad.Run(ctx) }()
	_ = http.ListenAndServe(":8080", mux)
}

// ExampleAdapter_CheckChannels is what check-config --online does with
// the channels of the cards: ask once, and report each problem.
func ExampleAdapter_CheckChannels() {
	ad, err := discord.New(discord.Options{
		BotToken:         "bot-token",
		ApplicationID:    "123",
		PublicKey:        "9f5d7e7c2a1b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5",
		GuildID:          "456",
		ApprovalsChannel: "789",
	})
	if err != nil {
		log.Fatal(err)
	}
	// approvals_channel, then each account's channels.discord
	problems, err := ad.CheckChannels(context.Background(), []string{"789", "790"})
	if err != nil {
		log.Fatal(err) // Discord could not be asked
	}
	for _, p := range problems {
		log.Printf("discord channel %s: %s", p.Channel, p.Problem)
	}
}
