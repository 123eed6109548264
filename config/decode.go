package config

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"resetbot/bot"
)

// decoder fills a Config from a yaml.Node. yaml.v3 has no strict mode for
// Node.Decode and stops at the first unknown key, so the walk is ours: it
// reports every unknown or repeated key, every bad value and every missing
// variable, each with its key path and line.
//
// An account's keys that are not Account fields belong to its provider: the
// decoder keeps them, by account path, for parseAccounts to hand to the
// provider's kind once the provider is known.
type decoder struct {
	getenv   func(string) string
	src      *source
	problems []Problem
	own      map[string]map[string]*yaml.Node // account path -> key -> value
	nameHint string                           // added when an account repeats name:
}

// source is what Load learned about the file.
type source struct {
	lines   map[string]int    // key path -> line
	fromEnv map[string]string // key path -> its text as written, for values with ${VAR}
}

func (s *source) isFromEnv(path string) bool {
	if s == nil {
		return false
	}
	_, ok := s.fromEnv[path]
	return ok
}

// show gives v, already formatted, for a message about the value at path;
// but a value from the environment may be a secret in the wrong key
// (application_id: "${DISCORD_BOT_TOKEN}"), so for one of those it gives
// what the file says instead.
func (s *source) show(path, v string) string {
	if !s.isFromEnv(path) {
		return v
	}
	written := s.fromEnv[path]
	if !(strings.HasPrefix(written, "${") && strings.HasSuffix(written, "}") && envName(written[2:len(written)-1])) {
		written = strconv.Quote(written)
	}
	return written + " (from the environment, not shown)"
}

func (d *decoder) problemf(path string, line int, format string, args ...any) {
	d.problems = append(d.problems, Problem{Path: path, Line: line, Message: fmt.Sprintf(format, args...)})
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// yamlFields are the keys of a struct's yaml tags, in field order, and the
// index of each key's field.
func yamlFields(t reflect.Type) (keys []string, field map[string]int) {
	field = map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if tag := strings.Split(f.Tag.Get("yaml"), ",")[0]; tag != "" && tag != "-" && f.IsExported() {
			keys = append(keys, tag)
			field[tag] = i
		}
	}
	return keys, field
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch {
	case v.Type() == reflect.TypeFor[bot.Secret]():
		d.scalar(n, v, path)
	case v.Kind() == reflect.Pointer:
		if isNull(n) {
			return
		}
		p := reflect.New(v.Type().Elem())
		d.decode(n, p.Elem(), path)
		v.Set(p)
	case v.Kind() == reflect.Struct:
		d.mapping(n, v, path)
	case v.Kind() == reflect.Slice:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.problemf(path, n.Line, "want a list, like [a, b]")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, e := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			d.src.lines[p] = e.Line
			d.decode(e, s.Index(i), p)
		}
		v.Set(s)
	default:
		d.scalar(n, v, path)
	}
}

// mapping fills a struct, with YAML merge keys (<<) applied first so that
// the mapping's own keys override them.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.problemf(path, n.Line, "want a mapping of keys")
		return
	}
	names, fields := yamlFields(v.Type())
	isAccount := v.Type() == reflect.TypeFor[Account]()
	seen := map[string]int{}
	var pairs func(m *yaml.Node, merged bool)
	isMerge := func(key *yaml.Node) bool {
		return key.Kind == yaml.ScalarNode && key.Value == "<<" && key.ShortTag() == "!!merge"
	}
	pairs = func(m *yaml.Node, merged bool) {
		// Merged keys first, wherever << stands, so that the mapping's own
		// keys win.
		for i := 0; i+1 < len(m.Content); i += 2 {
			if isMerge(m.Content[i]) {
				d.merge(m.Content[i+1], pairs, path)
			}
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			key, val := m.Content[i], m.Content[i+1]
			if isMerge(key) {
				continue
			}
			at := key.Value
			if path != "" {
				at = path + "." + key.Value
			}
			if !merged {
				if first, dup := seen[key.Value]; dup {
					msg := fmt.Sprintf("key %q repeated (first at line %d)", key.Value, first)
					if key.Value == "name" && isAccount {
						msg += d.nameHint
					}
					d.problemf(at, key.Line, "%s", msg)
					continue
				}
				seen[key.Value] = key.Line
			}
			fi, ok := fields[key.Value]
			if !ok && isAccount {
				// The provider's key, or unknown: parseAccounts knows which.
				if d.own[path] == nil {
					d.own[path] = map[string]*yaml.Node{}
				}
				d.own[path][key.Value] = val
				d.src.lines[at] = key.Line
				continue
			}
			if !ok {
				msg := fmt.Sprintf("unknown key %q", key.Value)
				if s := closest(key.Value, names); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				d.problemf(at, key.Line, "%s", msg)
				continue
			}
			d.src.lines[at] = key.Line
			d.decode(val, v.Field(fi), at)
		}
	}
	pairs(n, false)
}

func (d *decoder) merge(val *yaml.Node, pairs func(*yaml.Node, bool), path string) {
	if val.Kind == yaml.AliasNode && val.Alias != nil {
		val = val.Alias
	}
	switch val.Kind {
	case yaml.MappingNode:
		pairs(val, true)
	case yaml.SequenceNode:
		// Earlier mappings win over later ones.
		for i := len(val.Content) - 1; i >= 0; i-- {
			d.merge(val.Content[i], pairs, path)
		}
	default:
		d.problemf(path, val.Line, "<< must merge a mapping or a list of mappings")
	}
}

// parseBool reads true or false in any case.
func parseBool(s string) (v, ok bool) {
	switch strings.ToLower(s) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// scalar fills a string, bool, int, number, duration or secret. Values
// never go through the YAML parser again, so an expanded variable is always
// one plain value.
func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.ScalarNode {
		d.problemf(path, n.Line, "want a single value, not a list or mapping")
		return
	}
	s := d.expand(n, path)
	// A value from the environment may be a secret: never echo it.
	shown := ", not " + d.src.show(path, strconv.Quote(s))
	switch {
	case v.Type() == reflect.TypeFor[bot.Secret]():
		if s != "" {
			v.Set(reflect.ValueOf(bot.NewSecret(s)))
		}
	case v.Kind() == reflect.String:
		v.SetString(s)
	case v.Kind() == reflect.Bool:
		b, ok := parseBool(s)
		if !ok {
			d.problemf(path, n.Line, "want true or false%s", shown)
			return
		}
		v.SetBool(b)
	case v.Type() == reflect.TypeFor[time.Duration]():
		dur, err := time.ParseDuration(s)
		if err != nil {
			d.problemf(path, n.Line, "want a duration like 30m or 1h%s", shown)
			return
		}
		v.SetInt(int64(dur))
	case v.Kind() == reflect.Int:
		i, err := strconv.Atoi(s)
		if err != nil {
			d.problemf(path, n.Line, "want a whole number%s", shown)
			return
		}
		v.SetInt(int64(i))
	case v.Kind() == reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.problemf(path, n.Line, "want a number like 2 or 1.5%s", shown)
			return
		}
		v.SetFloat(f)
	default:
		// Only reachable if a field of an unsupported type is added.
		d.problemf(path, n.Line, "cannot read a %s", v.Type())
	}
}

// expand replaces ${VAR} in a scalar's text, and notes in src.fromEnv
// whether anything came from the environment.
func (d *decoder) expand(n *yaml.Node, path string) string {
	// A merged (<<) value may have been noted at this path before.
	delete(d.src.fromEnv, path)
	s := n.Value
	if !strings.Contains(s, "${") {
		return s
	}
	var b strings.Builder
	expanded := false
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		if i > 0 && s[i-1] == '$' {
			// $${ is a literal ${.
			b.WriteString(s[:i-1] + "${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			d.problemf(path, n.Line, "unterminated ${: write ${NAME}, or $${ for a literal ${")
			return ""
		}
		name := s[i+2 : i+end]
		s = s[i+end+1:]
		if !envName(name) {
			d.problemf(path, n.Line, "${%s}: a variable name is letters, digits and _", name)
			continue
		}
		expanded = true
		val := d.getenv(name)
		if val == "" {
			d.problemf(path, n.Line, "environment variable %s is not set (or empty)", name)
		}
		b.WriteString(val)
	}
	if expanded {
		d.src.fromEnv[path] = n.Value
	}
	return b.String()
}

// closest returns the candidate within two edits of s, if any.
func closest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
