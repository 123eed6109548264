package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"resetbot/config"
	"resetbot/providers"
)

// reportLoad prints the problems of a config that did not load, against
// name (its path), and returns errQuiet; any other error is returned as is.
func reportLoad(name string, err error, stderr io.Writer) error {
	var ce *config.Error
	if errors.As(err, &ce) {
		fmt.Fprintf(stderr, "%s: %s\n", name, ce.Error())
		for _, w := range ce.Warnings {
			fmt.Fprintf(stderr, "  warning: %s\n", w)
		}
		return errQuiet
	}
	return err
}

// loadConfigFile reads and checks the config file at path.
func loadConfigFile(path string, getenv func(string) string, stderr io.Writer) (*config.Config, error) {
	if path == "" {
		fmt.Fprintln(stderr, "no config: pass --config FILE or set RESETBOT_CONFIG")
		return nil, errQuiet
	}
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "read config: %v\n", err)
		return nil, errQuiet
	}
	cfg, err := config.Load(data, getenv, providers.Kinds())
	if err != nil {
		return nil, reportLoad(path, err, stderr)
	}
	return cfg, nil
}

func checkConfig(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs, getenv)
	online := fs.Bool("online", false, "also ask Redis and each chat platform, once, whether the bot can work with them")
	if err := fs.Parse(args); err != nil {
		return errQuiet
	}
	cfg, err := loadConfigFile(*path, getenv, stdout)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	if *online {
		ctx, cancel := context.WithTimeout(context.Background(), onlineTimeout)
		defer cancel()
		problems, warnings := redisOnline(ctx, cfg)
		chats, err := chatAdapters(cfg, nil, slog.New(slog.DiscardHandler), nil)
		if err != nil {
			return err
		}
		problems = append(problems, channelProblems(ctx, cfg, chats)...)
		warnings = append(warnings, scopeWarnings(ctx, chats)...)
		for _, w := range warnings {
			fmt.Fprintf(stdout, "warning: %s\n", w)
		}
		for _, p := range problems {
			fmt.Fprintf(stdout, "problem: %s\n", p)
		}
		if len(problems) > 0 {
			noun := "problems"
			if len(problems) == 1 {
				noun = "problem"
			}
			fmt.Fprintf(stdout, "%s: %d %s found online\n", *path, len(problems), noun)
			return errQuiet
		}
	}
	fmt.Fprintf(stdout, "%s: ok (%d people, %d accounts)\n", *path, len(cfg.PersonConfigs), len(cfg.AccountConfigs))
	return nil
}

// onlineTimeout bounds check-config --online's questions to Redis and the
// chat platforms.
const onlineTimeout = 30 * time.Second
