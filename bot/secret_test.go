package bot_test

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"strings"
	"testing"
	"text/template"

	"resetbot/bot"
)

const password = "Hunter2-Pa55w0rd!x"

const redactedText = "[redacted]"

type withSecret struct {
	User     string
	Password bot.Secret
}

type withSecretPtr struct {
	User     string
	Password *bot.Secret
}

// Code outside bot may keep a password in an unexported field; printing the
// struct must not show it.
type withHiddenSecret struct {
	user string
	pw   bot.Secret
}

type nested struct {
	Results []bot.UserResult
	ByUser  map[string]bot.Secret
	Inner   withSecret
	Any     any
}

func TestSecretFmt(t *testing.T) {
	s := bot.NewSecret(password)
	ptr := &s
	verbs := []string{"%v", "%s", "%q", "%+v", "%#v", "%x", "%X", "%d", "%20s", "%-8v", "%T %v"}
	// hidden values keep the Secret where fmt cannot call its methods: they
	// print no "[redacted]", but no password either.
	values := []struct {
		name   string
		v      any
		hidden bool
	}{
		{"Value", s, false},
		{"Pointer", ptr, false},
		{"InStruct", withSecret{"alice", s}, false},
		{"PointerToStruct", &withSecret{"alice", s}, false},
		{"PointerInStruct", withSecretPtr{"alice", ptr}, false},
		{"UnexportedField", withHiddenSecret{"alice", s}, true},
		{"PointerToUnexportedField", &withHiddenSecret{"alice", s}, true},
		{"UserResult", bot.UserResult{User: "alice", Password: s}, false},
		{"Nested", nested{
			Results: []bot.UserResult{{User: "alice", Password: s}},
			ByUser:  map[string]bot.Secret{"alice": s},
			Inner:   withSecret{"alice", s},
			Any:     s,
		}, false},
		{"Slice", []bot.Secret{s, s}, false},
		{"Map", map[string]bot.Secret{"alice": s}, false},
		{"MapKey", map[bot.Secret]int{s: 1}, false},
		{"Interface", []any{s}, false},
	}
	for _, val := range values {
		for _, verb := range verbs {
			t.Run(val.name+"/"+verb, func(t *testing.T) {
				got := fmt.Sprintf(verb, val.v)
				if verb == "%T %v" {
					got = fmt.Sprintf(verb, val.v, val.v)
				}
				if val.hidden {
					checkNoPassword(t, got)
					return
				}
				checkRedacted(t, got)
			})
		}
	}
	t.Run("PrintFunctions", func(t *testing.T) {
		checkRedacted(t, fmt.Sprint(s, withSecret{"a", s}))
		checkRedacted(t, fmt.Sprintln(s, withSecret{"a", s}))
		var b bytes.Buffer
		fmt.Fprint(&b, s)
		fmt.Fprintf(&b, "%v", s)
		checkRedacted(t, b.String())
	})
	t.Run("StringAndGoString", func(t *testing.T) {
		if got := s.String(); got != redactedText {
			t.Errorf("String: got %q, want %q", got, redactedText)
		}
		if got := s.GoString(); got != redactedText {
			t.Errorf("GoString: got %q, want %q", got, redactedText)
		}
	})
}

func TestSecretShowsRedacted(t *testing.T) {
	s := bot.NewSecret(password)
	tests := []struct{ name, got, want string }{
		{"Value", fmt.Sprint(s), "[redacted]"},
		{"Struct", fmt.Sprintf("%+v", withSecret{"alice", s}), "{User:alice Password:[redacted]}"},
		{"Quoted", fmt.Sprintf("%q", s), "[redacted]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestSecretEncodings(t *testing.T) {
	s := bot.NewSecret(password)
	t.Run("JSON", func(t *testing.T) {
		for _, v := range []any{s, &s, withSecret{"alice", s}, withSecretPtr{"alice", &s},
			[]bot.UserResult{{User: "alice", Password: s}}, map[string]bot.Secret{"a": s},
			map[bot.Secret]int{s: 1}, withHiddenSecret{"alice", s}} {
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("json.Marshal(%T): %v", v, err)
			}
			checkNoPassword(t, string(b))
		}
		b, _ := json.Marshal(withSecret{"alice", s})
		if got, want := string(b), `{"User":"alice","Password":"[redacted]"}`; got != want {
			t.Errorf("json: got %s, want %s", got, want)
		}
	})
	t.Run("XML", func(t *testing.T) {
		b, err := xml.Marshal(withSecret{"alice", s})
		if err != nil {
			t.Fatalf("xml.Marshal: %v", err)
		}
		checkRedacted(t, string(b))
	})
	t.Run("Gob", func(t *testing.T) {
		// gob does not use MarshalText: refusing to encode is as safe.
		var b bytes.Buffer
		err := gob.NewEncoder(&b).Encode(withSecret{"alice", s})
		checkNoPassword(t, b.String())
		if err == nil {
			checkRedacted(t, b.String())
		}
	})
	t.Run("Template", func(t *testing.T) {
		var b bytes.Buffer
		tmpl := template.Must(template.New("").Parse(`{{.}} {{.Password}} {{printf "%q" .Password}}`))
		if err := tmpl.Execute(&b, withSecret{"alice", s}); err != nil {
			t.Fatalf("template: %v", err)
		}
		checkRedacted(t, b.String())
	})
}

func TestSecretSlog(t *testing.T) {
	s := bot.NewSecret(password)
	handlers := []struct {
		name string
		new  func(*bytes.Buffer) slog.Handler
	}{
		{"Text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
		{"JSON", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
	}
	for _, h := range handlers {
		t.Run(h.name, func(t *testing.T) {
			var b bytes.Buffer
			l := slog.New(h.new(&b))
			l.Info("attr", "pw", s)
			l.Info("pointer", "pw", &s)
			l.Info("any", slog.Any("pw", s))
			l.Info("struct", "result", bot.UserResult{User: "alice", Password: s})
			l.Info("struct pointer", "v", &withSecret{"alice", s})
			l.Info("hidden", "v", withHiddenSecret{"alice", s})
			l.Info("slice", "results", []bot.UserResult{{User: "alice", Password: s}})
			l.Info("map", "m", map[string]bot.Secret{"alice": s})
			l.Info("group", slog.Group("g", "pw", s))
			l.With("pw", s).Error("with")
			l.WithGroup("g").Info("in group", "pw", s)
			l.Error("error", "err", fmt.Errorf("reset with %v: %w", s, errors.New("boom")))
			out := b.String()
			checkNoPassword(t, out)
			if got, want := strings.Count(out, redactedText), 11; got < want {
				t.Errorf("%d %q in the log, want at least %d:\n%s", got, redactedText, want, out)
			}
		})
	}
	t.Run("LogValue", func(t *testing.T) {
		if got := s.LogValue().String(); got != redactedText {
			t.Errorf("LogValue: got %q, want %q", got, redactedText)
		}
	})
	t.Run("StdLog", func(t *testing.T) {
		var b bytes.Buffer
		log.New(&b, "", 0).Printf("pw=%v %s %+v", s, s, withSecret{"a", s})
		checkRedacted(t, b.String())
	})
}

func TestSecretInErrors(t *testing.T) {
	s := bot.NewSecret(password)
	inner := fmt.Errorf("set %v: %w", s, errors.New("refused"))
	errs := []error{
		inner,
		fmt.Errorf("reset alice: %w", inner),
		errors.Join(inner, fmt.Errorf("%q", s)),
		bot.Errorf(bot.EPROVIDER, "password %v refused", s),
		fmt.Errorf("wrapped: %w", bot.Errorf(bot.EUNKNOWN, "%+v", withSecret{"a", s})),
	}
	for i, err := range errs {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			checkRedacted(t, err.Error())
			checkRedacted(t, fmt.Sprintf("%v %+v %#v", err, err, err))
			checkNoPassword(t, bot.ErrorMessage(err))
		})
	}
}

func TestSecretReveal(t *testing.T) {
	tests := []struct {
		name   string
		s      bot.Secret
		want   string
		isZero bool
	}{
		{"Password", bot.NewSecret(password), password, false},
		{"Empty", bot.NewSecret(""), "", true},
		{"Zero", bot.Secret{}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.Value(); got != tc.want {
				t.Errorf("Reveal: got %q, want %q", got, tc.want)
			}
			if got := tc.s.IsZero(); got != tc.isZero {
				t.Errorf("IsZero: got %v, want %v", got, tc.isZero)
			}
			if !tc.isZero {
				checkRedacted(t, fmt.Sprint(tc.s))
			}
		})
	}
}

// An empty secret prints empty, so that an unset credential (a missing
// token in a printed config) does not look set; it holds nothing to hide.
func TestSecretEmptyPrintsEmpty(t *testing.T) {
	for _, s := range []bot.Secret{{}, bot.NewSecret("")} {
		var logged bytes.Buffer
		slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{
			ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey {
					return slog.Attr{}
				}
				return a
			},
		})).Info("", "pw", s)
		text, _ := s.MarshalText()
		js, _ := json.Marshal(s)
		got := []string{fmt.Sprintf("%v|%s|%q|%#v|%+v", s, s, s, s, s), s.String(), s.GoString(), string(text), string(js), s.LogValue().String(), logged.String()}
		want := []string{"||||", "", "", "", `""`, "", "pw=\"\"\n"}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("printing an empty secret: got %q, want %q", got[i], want[i])
			}
		}
	}
}

func checkRedacted(t *testing.T, out string) {
	t.Helper()
	checkNoPassword(t, out)
	if !strings.Contains(out, redactedText) {
		t.Errorf("%q does not say %q", out, redactedText)
	}
}

func checkNoPassword(t *testing.T, out string) {
	t.Helper()
	// Parts of it too: a quoted or escaped print would still leak.
	for _, part := range []string{password, "Hunter2", "Pa55w0rd", fmt.Sprintf("%x", password)[:16]} {
		if strings.Contains(out, part) {
			t.Errorf("the password (%q) shows in %q", part, out)
		}
	}
}
