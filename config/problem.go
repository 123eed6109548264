package config

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a config, located by key path
// ("accounts[2].approvals") and, when read from a file, line.
type Problem struct {
	Path    string // "" for the file as a whole
	Line    int    // 0 when unknown
	Message string
}

// String is the problem as check-config prints it:
// "line 12: accounts[2].approvals: must be at least 1".
func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error lists every problem of a config at once, in line order, and the
// warnings found along with them. Load returns it.
type Error struct {
	Problems []Problem
	Warnings []Problem
}

// Error lists the problems, one a line, after their count. The warnings are
// apart: print them after it.
func (e *Error) Error() string {
	var b strings.Builder
	if len(e.Problems) == 1 {
		b.WriteString("config: 1 problem:")
	} else {
		fmt.Fprintf(&b, "config: %d problems:", len(e.Problems))
	}
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}
