package helm_test

import (
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// dockerfile is what the final stage of deploy/Dockerfile sets.
type dockerfile struct {
	User       string
	Expose     []string
	Entrypoint []string
	Cmd        []string
}

func mustReadDockerfile(t *testing.T, path string) dockerfile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d dockerfile
	exec := func(arg string) []string {
		var v []string
		if err := json.Unmarshal([]byte(arg), &v); err != nil {
			t.Fatalf("%s: %q is not the exec form (a JSON array): %v", path, arg, err)
		}
		return v
	}
	for line := range strings.Lines(string(data)) {
		instr, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch strings.ToUpper(instr) {
		case "FROM":
			d = dockerfile{} // only the final stage counts
		case "USER":
			d.User = arg
		case "EXPOSE":
			d.Expose = strings.Fields(arg)
		case "ENTRYPOINT":
			d.Entrypoint = exec(arg)
		case "CMD":
			d.Cmd = exec(arg)
		}
	}
	return d
}

// TestDockerfileComposeAndChartAgree: the image, deploy/compose.yaml and
// the chart run the bot the same way: the config at the same path, the same
// non-root user, the same port.
func TestDockerfileComposeAndChartAgree(t *testing.T) {
	img := mustReadDockerfile(t, "../Dockerfile")

	var compose struct {
		Services map[string]struct {
			Command     []string `json:"command"`
			Expose      []string `json:"expose"`
			Volumes     []string `json:"volumes"`
			ReadOnly    bool     `json:"read_only"`
			CapDrop     []string `json:"cap_drop"`
			SecurityOpt []string `json:"security_opt"`
			User        string   `json:"user"`
		} `json:"services"`
	}
	data, err := os.ReadFile("../compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatalf("deploy/compose.yaml: %v", err)
	}
	bot, ok := compose.Services["resetbot"]
	if !ok {
		t.Fatal("deploy/compose.yaml has no resetbot service")
	}

	chart := mustLintAndRender(t, nil)
	c := mustContainer(t, chart.Deployment)

	// The config's path: the image's CMD, compose's command and its mount,
	// the chart's args and mount.
	if want := []string{"/resetbot"}; !slices.Equal(img.Entrypoint, want) {
		t.Errorf("Dockerfile ENTRYPOINT %q, want %q: commands (serve, check-config) are arguments", img.Entrypoint, want)
	}
	wantArgs := []string{"serve", "--config", configPath}
	if !slices.Equal(img.Cmd, wantArgs) {
		t.Errorf("Dockerfile CMD %q, want %q", img.Cmd, wantArgs)
	}
	if !slices.Equal(bot.Command, wantArgs) {
		t.Errorf("compose command %q, want %q", bot.Command, wantArgs)
	}
	if len(c.Command) != 0 || !slices.Equal(c.Args, wantArgs) {
		t.Errorf("chart command %q args %q, want the image's entrypoint with %q", c.Command, c.Args, wantArgs)
	}
	mounted := ""
	for _, v := range bot.Volumes {
		if parts := strings.Split(v, ":"); len(parts) == 3 && parts[1] == configPath && parts[2] == "ro" {
			mounted = parts[0]
		}
	}
	if mounted == "" {
		t.Fatalf("compose mounts nothing read-only at %s: %q", configPath, bot.Volumes)
	}
	checkConfigMount(t, chart)

	// The user: distroless's nonroot by number, the chart's runAsUser.
	uid, _, _ := strings.Cut(img.User, ":")
	n, err := strconv.ParseInt(uid, 10, 64)
	if err != nil || n == 0 {
		t.Fatalf("Dockerfile USER %q: want a non-root user by number", img.User)
	}
	if got := chart.Deployment.Spec.Template.Spec.SecurityContext.RunAsUser; got == nil || *got != n {
		t.Errorf("chart pod runAsUser %v, Dockerfile USER %d", got, n)
	}
	if got := c.SecurityContext.RunAsUser; got == nil || *got != n {
		t.Errorf("chart container runAsUser %v, Dockerfile USER %d", got, n)
	}
	if bot.User != "" && bot.User != img.User {
		t.Errorf("compose user %q, Dockerfile USER %q", bot.User, img.User)
	}
	// compose drops what the chart drops.
	if !bot.ReadOnly || !slices.Equal(bot.CapDrop, []string{"ALL"}) || !slices.Contains(bot.SecurityOpt, "no-new-privileges:true") {
		t.Errorf("compose runs the bot with read_only %v, cap_drop %q, security_opt %q: want a read-only root, ALL dropped, no-new-privileges",
			bot.ReadOnly, bot.CapDrop, bot.SecurityOpt)
	}

	// The port: EXPOSE, compose's expose and its config's listen, the
	// chart's container port.
	var composeConfig struct {
		Listen string `json:"listen"`
	}
	data, err = os.ReadFile("../" + strings.TrimPrefix(mounted, "./"))
	if err != nil {
		t.Fatalf("compose's config: %v", err)
	}
	if err := yaml.Unmarshal(data, &composeConfig); err != nil {
		t.Fatalf("compose's config: %v", err)
	}
	port := strconv.Itoa(int(c.Ports[0].ContainerPort))
	if !slices.Equal(img.Expose, []string{port}) {
		t.Errorf("Dockerfile EXPOSE %q, the chart's port %s", img.Expose, port)
	}
	if !slices.Equal(bot.Expose, []string{port}) {
		t.Errorf("compose expose %q, the chart's port %s", bot.Expose, port)
	}
	if !strings.HasSuffix(composeConfig.Listen, ":"+port) {
		t.Errorf("compose's config listens on %q, the chart's port is %s", composeConfig.Listen, port)
	}
}
