package main

import (
	"os"
	"regexp"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestComposePassesEveryVariableOfTheExample: deploy/compose.yaml runs the
// bot on deploy/config.example.yaml, so it must pass through every
// ${VAR} the example reads (in values, not in comments).
func TestComposePassesEveryVariableOfTheExample(t *testing.T) {
	var example yaml.Node
	mustReadYAML(t, "../../deploy/config.example.yaml", &example)
	ref := regexp.MustCompile(`(?:^|[^$])\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)
	var read []string
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode {
			for _, m := range ref.FindAllStringSubmatch(n.Value, -1) {
				read = append(read, m[1])
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&example)
	if !slices.Contains(read, "PAGERDUTY_TOKEN") {
		t.Fatalf("the example reads %v: no PAGERDUTY_TOKEN, so this test would not see it", read)
	}

	var compose struct {
		Services map[string]struct {
			Environment []string `yaml:"environment"`
		} `yaml:"services"`
	}
	mustReadYAML(t, "../../deploy/compose.yaml", &compose)
	passed := compose.Services["resetbot"].Environment
	for _, v := range read {
		if !slices.Contains(passed, v) {
			t.Errorf("deploy/compose.yaml does not pass %s, which deploy/config.example.yaml reads", v)
		}
	}
}

func mustReadYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
