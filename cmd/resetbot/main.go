// Command resetbot is the composition root: config -> Redis -> providers ->
// bot -> adapters -> run. Nothing else in the project wires things together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errQuiet) {
			fmt.Fprintln(os.Stderr, "resetbot:", err)
		}
		os.Exit(1)
	}
}

// errQuiet ends the program with exit 1 after the command printed why.
var errQuiet = errors.New("failed")

const usage = `resetbot: approved password resets from Slack and Discord

Usage:
  resetbot serve --config FILE          run the bot (or set RESETBOT_CONFIG)
  resetbot check-config --config FILE   check a config file and list every problem
  resetbot playground                   try it in a console: embedded Redis, emulated clouds
  resetbot audit --config FILE [--request ID] [--since DURATION] [--follow] [--format json|csv]
                                        print the audit log as JSON lines (or CSV); --follow:
                                        then new events as they come, until interrupted
  resetbot audit --config FILE --break-glass [--request ID] [--since DURATION]
                                        the resets that skipped the vote and their reviews
`

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return errQuiet
	}
	cmd, rest := args[1], args[2:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout, stderr)
	case "check-config":
		return checkConfig(rest, getenv, stdout, stderr)
	case "playground":
		return playground(ctx, rest, stdin, stdout, stderr)
	case "audit":
		return audit(ctx, rest, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
	return errQuiet
}

// configFlag adds --config, defaulting to RESETBOT_CONFIG.
func configFlag(fs *flag.FlagSet, getenv func(string) string) *string {
	return fs.String("config", getenv("RESETBOT_CONFIG"), "config `FILE` (default $RESETBOT_CONFIG)")
}
