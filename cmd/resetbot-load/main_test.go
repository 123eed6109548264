package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"resetbot/internal/redistest"
)

// TestLoadRuns runs a small load end to end and checks the figures it
// prints come from work that was done.
func TestLoadRuns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, []string{"-redis", redistest.Addr(t), "-requests", "6", "-concurrency", "3", "-replicas", "2", "-rate", "200"}, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{"ask: n=6 ", "approve: n=6 ", "approval to Reveal offer: n=6 ",
		"Reveal click to password: n=6 ", "(bot overhead): n=6 ", "resets: 6 done, 6 passwords shown, 0 refused"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if err := run(ctx, []string{"-requests", "0"}, &out); err == nil {
		t.Errorf("-requests 0: got no error")
	}
}
