package approvals_test

import (
	"context"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"resetbot/approvals"
	"resetbot/bot"
)

// A request goes from the ask through one approval to the executor.
func Example() {
	m, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer m.Close()
	client := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer client.Close()
	store := approvals.New(client, approvals.Options{Prefix: "resetbot:"})
	ctx := context.Background()

	req, err := store.Create(ctx, bot.Request{
		ID: "R-7F3K9Q", Account: "prod-db", Users: []string{"app_user"},
		Reason: "locked out", Requester: "alice", Platform: bot.PlatformSlack,
		Approvals: 1, ExpiresAt: time.Now().Add(30 * time.Minute),
	}, bot.Limit{N: 10, Window: time.Hour})
	if err != nil {
		panic(err)
	}
	fmt.Println(req.ID, req.State)

	_, err = store.Vote(ctx, req.ID, bot.Vote{Person: "alice", Platform: bot.PlatformDiscord, Approve: true})
	fmt.Println(bot.ErrorCode(err), bot.ErrorMessage(err))

	req, err = store.Vote(ctx, req.ID, bot.Vote{Person: "bob", Platform: bot.PlatformSlack, Approve: true})
	if err != nil {
		panic(err)
	}
	fmt.Println(req.State)

	claim, err := store.Next(ctx, "executor-1", time.Minute)
	if err != nil {
		panic(err)
	}
	fmt.Println(claim.Request.ID, claim.Request.State, claim.Stale)

	req, err = store.Finish(ctx, claim, bot.StateSucceeded, "reset app_user")
	if err != nil {
		panic(err)
	}
	fmt.Println(req.State, req.Outcome)

	// Output:
	// R-7F3K9Q pending
	// forbidden you cannot approve your own request
	// approved
	// R-7F3K9Q executing false
	// succeeded reset app_user
}
