package providertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"resetbot/providers/emulator"
)

// Recorder is an http.Handler that passes requests to Handler and keeps the
// passwords in their bodies and in the answers, and the URLs requested.
type Recorder struct {
	Handler http.Handler

	mu        sync.Mutex
	passwords []string
	urls      []string
}

func (rec *Recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	found := passwords(body)
	rec.mu.Lock()
	rec.passwords = append(rec.passwords, found...)
	rec.urls = append(rec.urls, r.URL.String())
	rec.mu.Unlock()
	cw := &captureWriter{ResponseWriter: w}
	rec.Handler.ServeHTTP(cw, r)
	rec.mu.Lock()
	rec.passwords = append(rec.passwords, passwords(cw.body.Bytes())...)
	rec.mu.Unlock()
}

// Passwords returns every password seen so far.
func (rec *Recorder) Passwords() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]string(nil), rec.passwords...)
}

// URLs returns every URL requested so far, query included.
func (rec *Recorder) URLs() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]string(nil), rec.urls...)
}

type captureWriter struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (c *captureWriter) Write(b []byte) (int, error) {
	c.body.Write(b)
	return c.ResponseWriter.Write(b)
}

func (c *captureWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// passwords finds password values in a JSON document or a form body.
func passwords(body []byte) []string {
	var out []string
	var v any
	if json.Unmarshal(body, &v) == nil {
		walk(v, &out)
		return out
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil
	}
	for k, vs := range form {
		if strings.HasSuffix(strings.ToLower(k), "password") {
			for _, s := range vs {
				if s != "" {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

func walk(v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && s != "" && strings.EqualFold(k, "password") {
				*out = append(*out, s)
			}
			walk(x, out)
		}
	case []any:
		for _, x := range v {
			walk(x, out)
		}
	}
}

// Leaks reports, by label, the texts that contain one of the passwords. It
// never prints a password.
func Leaks(tb testing.TB, passwords []string, texts map[string]string) {
	tb.Helper()
	for label, text := range texts {
		for i, pw := range passwords {
			if pw != "" && strings.Contains(text, pw) {
				tb.Errorf("%s contains password #%d", label, i)
			}
		}
	}
}

// LeaksOnTheWire is Leaks over texts plus what went over the wire: every
// URL rec saw, and every call the emulator recorded (a call that carried a
// password in its URL fails too).
func LeaksOnTheWire(tb testing.TB, passwords []string, texts map[string]string, rec *Recorder, calls []emulator.Call) {
	tb.Helper()
	for i, u := range rec.URLs() {
		texts[fmt.Sprint("URL ", i)] = u
	}
	for i, c := range calls {
		if c.PasswordInURL {
			tb.Errorf("call %d carried a password in its URL", i)
		}
		texts[fmt.Sprint("call ", i)] = fmt.Sprintf("%+v", c)
	}
	Leaks(tb, passwords, texts)
}

// Capture runs fn with os.Stdout, os.Stderr and the log package writing to
// a pipe, and returns what they wrote. Tests using it must not run in
// parallel.
func Capture(tb testing.TB, fn func()) string {
	tb.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, stderr, logOut := os.Stdout, os.Stderr, log.Writer()
	os.Stdout, os.Stderr = w, w
	log.SetOutput(w)
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	defer func() {
		os.Stdout, os.Stderr = stdout, stderr
		log.SetOutput(logOut)
	}()
	fn()
	_ = w.Close()
	return <-done
}
