package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"resetbot/adapters/console"
	"resetbot/approvals"
	"resetbot/bot"
)

// playground runs the bot in a console: embedded Redis, an in-process
// emulator of the five cloud APIs, sample people and accounts.
func playground(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("playground", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return errQuiet
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		return fmt.Errorf("start embedded redis: %w", err)
	}
	defer mr.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Add(1)
	go func() { // miniredis's clock stands still unless moved: move it so TTLs expire
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				mr.FastForward(100 * time.Millisecond)
			}
		}
	}()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()

	store := approvals.New(rdb, approvals.Options{Prefix: "resetbot:", Poll: 200 * time.Millisecond})
	providers, describe, closeProviders, err := playgroundProviders(rdb)
	if err != nil {
		return err
	}
	defer closeProviders()

	con := console.New(stdout, nil)
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc, err := bot.New(bot.Options{
		Store:     store,
		Providers: providers,
		Notifiers: []bot.Notifier{con},
		People:    samplePeople(),
		Accounts:  sampleAccounts(),
		Log:       log,
	})
	if err != nil {
		return err
	}
	con.Attach(svc)

	fmt.Fprintf(stdout, `resetbot playground: embedded Redis, %s.
People: alice (requester), bob and carol (approvers). Accounts: %s.
Type lines as a person, for example:
  alice> /reset-password demo-tdsql locked out
  bob> approve R-XXXXXX
  alice> /reset-password help
End of input (Ctrl-D) quits.
`, describe, strings.Join(sampleAccountNames(), ", "))

	wg.Add(2)
	go func() { defer wg.Done(); _ = svc.RunExecutor(ctx, "playground") }()
	go func() { defer wg.Done(); _ = svc.RunSweeper(ctx, time.Second) }()

	ids, err := con.Run(ctx, stdin)
	if err != nil {
		return err
	}
	// Piped input ends at once: let approved requests finish so their
	// deliveries are shown.
	console.Settle(ctx, store.Get, ids, 15*time.Second)
	return nil
}

func samplePeople() []bot.Person {
	return []bot.Person{
		{Name: "alice", Groups: []string{"eng"}},
		{Name: "bob", Groups: []string{"eng", "approvers"}},
		{Name: "carol", Groups: []string{"approvers"}},
	}
}

func sampleAccountNames() []string {
	var names []string
	for _, a := range sampleAccounts() {
		names = append(names, a.Name)
	}
	return names
}

func sampleAccounts() []bot.Account {
	base := func(name, provider, region string, users []string, settings map[string]string) bot.Account {
		return bot.Account{
			Name: name, Provider: provider, Region: region, Users: users, Settings: settings,
			NeedResetPassword: true,
			Requesters:        []string{"eng"}, Approvers: []string{"approvers"},
			Approvals: 1, TTL: 10 * time.Minute,
		}
	}
	ehpc := base("demo-ehpc", "alibaba.ehpc", "cn-hangzhou", []string{"hpc1", "hpc2"}, map[string]string{"cluster_id": "ehpc-demo01"})
	ehpc.Selectable = true
	return []bot.Account{
		base("demo-tdsql", "tencent.tdsql", "ap-guangzhou", []string{"app_user"}, map[string]string{"instance_id": "tdsql3-demo01", "host": "%"}),
		base("demo-cam", "tencent.cam", "ap-guangzhou", []string{"demo-operator"}, map[string]string{}),
		base("demo-ciam", "tencent.ciam", "ap-guangzhou", []string{"user-0001"}, map[string]string{"user_store_id": "ustore-demo01"}),
		base("demo-tcr", "tencent.tcr", "ap-guangzhou", []string{"ci-robot"}, map[string]string{"registry_id": "tcr-demo01"}),
		ehpc,
	}
}
