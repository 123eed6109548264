package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"resetbot/approvals"
	"resetbot/bot"
)

// audit prints the audit log as JSON lines, oldest first; with
// --break-glass, the resets that skipped the vote instead, one line each
// with where its review stands.
func audit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs, getenv)
	request := fs.String("request", "", "only the events of request `ID`")
	since := fs.Duration("since", 0, "only events of the last `DURATION` (e.g. 24h)")
	breakGlass := fs.Bool("break-glass", false, "only the break-glass and on-call resets, approved without a vote, with their review's outcome")
	if err := fs.Parse(args); err != nil {
		return errQuiet
	}
	q := bot.AuditQuery{}
	if *request != "" {
		id, err := bot.ParseID(*request)
		if err != nil {
			fmt.Fprintln(stderr, bot.ErrorMessage(err))
			return errQuiet
		}
		q.RequestID = id
	}
	if *since < 0 {
		fmt.Fprintln(stderr, "--since must be a positive duration, like 24h")
		return errQuiet
	}
	if *since > 0 {
		q.Since = time.Now().Add(-*since)
	}
	cfg, err := loadConfigFile(*path, getenv, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	rdb, closeRedis, err := openRedis(cfg, log)
	if err != nil {
		return err
	}
	defer closeRedis()
	store := approvals.New(rdb, approvals.Options{Prefix: cfg.Redis.Prefix})
	events, err := store.AuditLog(ctx, q)
	if err != nil {
		return fmt.Errorf("read the audit log: %s", bot.ErrorMessage(err))
	}
	enc := json.NewEncoder(stdout)
	if *breakGlass {
		lines, err := skippedVotes(ctx, store, events)
		if err != nil {
			return err
		}
		for _, l := range lines {
			if err := enc.Encode(l); err != nil {
				return err
			}
		}
		return nil
	}
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return nil
}
