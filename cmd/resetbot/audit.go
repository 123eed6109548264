package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"resetbot/adapters/auditwebhook"
	"resetbot/approvals"
	"resetbot/bot"
	"resetbot/config"
)

// audit prints the audit log as JSON lines (or CSV), oldest first; with
// --follow, then the events written after, as they come, until
// interrupted; with --break-glass, the resets that skipped the vote
// instead, one line each with where its review stands.
func audit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs, getenv)
	request := fs.String("request", "", "only the events of request `ID`")
	since := fs.Duration("since", 0, "only events of the last `DURATION` (e.g. 24h); with --follow, print those first")
	breakGlass := fs.Bool("break-glass", false, "only the break-glass and on-call resets, approved without a vote, with their review's outcome")
	follow := fs.Bool("follow", false, "print new events as they are written, until interrupted (from now, or from --since)")
	format := fs.String("format", "json", "`json` (one JSON object a line) or csv (with a header line)")
	if err := fs.Parse(args); err != nil {
		return errQuiet
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "audit takes no arguments, only flags: %q is extra\n", fs.Arg(0))
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
	if *format != "json" && *format != "csv" {
		fmt.Fprintf(stderr, "--format must be json or csv, not %q\n", *format)
		return errQuiet
	}
	if *breakGlass && (*follow || *format != "json") {
		fmt.Fprintln(stderr, "--break-glass prints JSON lines of the resets as they stand: it takes neither --follow nor --format csv")
		return errQuiet
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
	store := approvals.New(rdb, approvals.Options{Prefix: cfg.Redis.Prefix, Replicas: cfg.Redis.Replicas()})
	if *breakGlass {
		events, err := store.AuditLog(ctx, q)
		if err != nil {
			return fmt.Errorf("read the audit log: %s", bot.ErrorMessage(err))
		}
		lines, err := skippedVotes(ctx, store, events)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		for _, l := range lines {
			if err := enc.Encode(l); err != nil {
				return err
			}
		}
		return nil
	}
	out := newEventWriter(stdout, *format)
	if *follow {
		return followAudit(ctx, store, q, out, stderr)
	}
	events, err := store.AuditLog(ctx, q)
	if err != nil {
		return fmt.Errorf("read the audit log: %s", bot.ErrorMessage(err))
	}
	for _, e := range events {
		if err := out.write(e); err != nil {
			return err
		}
	}
	return out.flush()
}

// followPoll is how long one read of --follow waits for new events; ctx's
// end is seen between two reads.
const followPoll = time.Second

// followAudit prints the events written from q.Since (from now when it is
// zero), then each new one as it comes, until ctx ends. Redis failing is
// said on stderr and tried again.
func followAudit(ctx context.Context, store *approvals.Store, q bot.AuditQuery, out *eventWriter, stderr io.Writer) error {
	var cur approvals.AuditCursor
	if q.Since.IsZero() {
		var err error
		if cur, err = store.AuditEnd(ctx); err != nil {
			return fmt.Errorf("read the audit log: %s", bot.ErrorMessage(err))
		}
	} else {
		cur = approvals.AuditCursorAt(q.Since)
	}
	if err := out.flush(); err != nil { // the CSV header, before any event
		return err
	}
	failing := false
	for {
		events, next, err := store.FollowAudit(ctx, cur, followPoll)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if !failing {
				fmt.Fprintf(stderr, "follow the audit log: %s; trying again\n", bot.ErrorMessage(err))
				failing = true
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(followPoll):
			}
			continue
		}
		failing = false
		cur = next
		for _, e := range events {
			if q.RequestID != "" && e.RequestID != q.RequestID {
				continue
			}
			if err := out.write(e); err != nil {
				return err
			}
		}
		if err := out.flush(); err != nil {
			return err
		}
	}
}

// csvHeader names the columns of --format csv.
var csvHeader = []string{"time", "event", "request", "actor", "platform", "detail", "incident", "count"}

// eventWriter prints events as JSON lines or CSV rows.
type eventWriter struct {
	json *json.Encoder
	csv  *csv.Writer
}

func newEventWriter(w io.Writer, format string) *eventWriter {
	if format == "csv" {
		c := csv.NewWriter(w)
		_ = c.Write(csvHeader) // an error sticks, and flush returns it
		return &eventWriter{csv: c}
	}
	return &eventWriter{json: json.NewEncoder(w)}
}

func (w *eventWriter) write(e bot.Event) error {
	if w.json != nil {
		return w.json.Encode(e)
	}
	count := ""
	if e.Count > 0 {
		count = strconv.Itoa(e.Count)
	}
	return w.csv.Write([]string{e.Time.UTC().Format(time.RFC3339Nano), string(e.Kind), e.RequestID, cell(e.Actor),
		string(e.Platform), cell(e.Detail), cell(e.Incident), count})
}

// cell keeps a CSV cell that holds what people typed (a reason in a
// detail, an incident reference) from reading as a formula in a
// spreadsheet: one starting with = + - @ or a tab or carriage return gets
// a leading apostrophe, the convention spreadsheets show as text.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func (w *eventWriter) flush() error {
	if w.csv == nil {
		return nil
	}
	w.csv.Flush()
	return w.csv.Error()
}

// auditSender is the audit webhook's sender as cfg configures it, nil
// without audit.webhook. consumer is the replica's name in the audit log's
// consumer group.
func auditSender(cfg *config.Config, store *approvals.Store, consumer string, log *slog.Logger) (*auditwebhook.Sender, error) {
	if cfg.Audit == nil || cfg.Audit.Webhook == nil {
		return nil, nil
	}
	w := cfg.Audit.Webhook
	return auditwebhook.New(auditwebhook.Options{URL: w.URL, Secret: w.Secret, Log: store, Consumer: consumer, Logger: log})
}
