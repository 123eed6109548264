package helm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"resetbot/config"
	"resetbot/providers"
)

const (
	chartDir  = "resetbot"
	release   = "resetbot"
	namespace = "ops"
	// configPath is where the image reads its config (deploy/Dockerfile).
	configPath = "/etc/resetbot/config.yaml"
)

// rendered is what the chart renders for one set of values, each object
// decoded strictly into its Kubernetes type; the optional ones are nil when
// not rendered.
type rendered struct {
	Deployment     *appsv1.Deployment
	Service        *corev1.Service
	ConfigMap      *corev1.ConfigMap
	PDB            *policyv1.PodDisruptionBudget
	NetworkPolicy  *networkingv1.NetworkPolicy
	Ingress        *networkingv1.Ingress
	ServiceMonitor *unstructured.Unstructured
	Notes          string
}

func TestDefaults(t *testing.T) {
	r := mustLintAndRender(t, nil)

	d := r.Deployment
	if d == nil || r.Service == nil || r.ConfigMap == nil || r.PDB == nil {
		t.Fatalf("defaults render deployment %v, service %v, configmap %v, pdb %v: want all four",
			d != nil, r.Service != nil, r.ConfigMap != nil, r.PDB != nil)
	}
	if r.NetworkPolicy != nil || r.Ingress != nil || r.ServiceMonitor != nil {
		t.Error("defaults render a NetworkPolicy, Ingress or ServiceMonitor: each is off by default")
	}
	if got := *d.Spec.Replicas; got != 2 {
		t.Errorf("replicas = %d, want 2", got)
	}
	c := mustContainer(t, d)
	if got, want := c.Image, "resetbot:0.1.0"; got != want {
		t.Errorf("image = %q, want %q (repository and the chart's appVersion)", got, want)
	}
	checkSecurity(t, d)
	checkProbesAndPort(t, r, 8080)
	checkConfigMount(t, r)
	checkSelectors(t, r)

	want := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
	}
	if !equalResources(c.Resources, want) {
		t.Errorf("resources = %v, want %v", c.Resources, want)
	}
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef == nil || c.EnvFrom[0].SecretRef.Name != "resetbot" {
		t.Errorf("envFrom = %+v, want the Secret named by existingSecret (resetbot)", c.EnvFrom)
	}
	if got := r.PDB.Spec.MinAvailable; got == nil || got.IntValue() != 1 {
		t.Errorf("PodDisruptionBudget minAvailable = %v, want 1", got)
	}
	if !strings.Contains(r.Notes, `"resetbot"`) {
		t.Errorf("NOTES.txt does not name the Secret:\n%s", r.Notes)
	}
	mustPassConfigCheck(t, r)
}

// TestEverythingOn renders the chart with every optional object, three
// replicas, its own resources, a port of its own and the repository's
// example config (every feature of resetbot's config).
func TestEverythingOn(t *testing.T) {
	example := mustReadFile(t, "../config.example.yaml")
	if !strings.Contains(example, `listen: ":8080"`) {
		t.Fatal(`deploy/config.example.yaml has no listen: ":8080" for this test to change`)
	}
	example = strings.Replace(example, `listen: ":8080"`, `listen: "0.0.0.0:9090"`, 1)
	vals := mustValues(t, `
replicaCount: 3
image: {repository: registry.example/resetbot, tag: "1.2.3"}
existingSecret: resetbot-secrets
resources:
  requests: {cpu: 100m, memory: 128Mi}
  limits: {cpu: "1", memory: 512Mi}
serviceMonitor: {enabled: true, interval: 15s, labels: {release: prometheus}}
networkPolicy:
  enabled: true
  ingressFrom:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}
  metricsFrom:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}
  redisPorts: [6380]
ingress:
  enabled: true
  className: nginx
  host: bot.example.com
  annotations: {cert-manager.io/cluster-issuer: letsencrypt}
  tls: [{secretName: bot-tls, hosts: [bot.example.com]}]
extraVolumes: [{name: redis-tls, secret: {secretName: redis-tls}}]
extraVolumeMounts: [{name: redis-tls, mountPath: /etc/resetbot-tls, readOnly: true}]
`)
	vals["config"] = example
	r := mustLintAndRender(t, vals)

	if r.Deployment == nil || r.Service == nil || r.ConfigMap == nil || r.PDB == nil ||
		r.NetworkPolicy == nil || r.Ingress == nil || r.ServiceMonitor == nil {
		t.Fatalf("not every object rendered: %+v", r)
	}
	d := r.Deployment
	if got := *d.Spec.Replicas; got != 3 {
		t.Errorf("replicas = %d, want 3", got)
	}
	c := mustContainer(t, d)
	if got, want := c.Image, "registry.example/resetbot:1.2.3"; got != want {
		t.Errorf("image = %q, want %q", got, want)
	}
	want := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("512Mi")},
	}
	if !equalResources(c.Resources, want) {
		t.Errorf("resources = %v, want %v", c.Resources, want)
	}
	if c.EnvFrom[0].SecretRef.Name != "resetbot-secrets" {
		t.Errorf("envFrom secretRef = %q, want resetbot-secrets", c.EnvFrom[0].SecretRef.Name)
	}
	if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "redis-tls" && m.ReadOnly }) {
		t.Errorf("volume mounts %+v: want the extra redis-tls mount", c.VolumeMounts)
	}
	checkSecurity(t, d)
	checkProbesAndPort(t, r, 9090)
	checkConfigMount(t, r)
	checkSelectors(t, r)

	// NetworkPolicy: in on the bot's port from the ingress controller and
	// from Prometheus (the ServiceMonitor's scrapes); out to DNS, HTTPS and
	// the Redis port.
	np := r.NetworkPolicy.Spec
	if got, want := np.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}; !slices.Equal(got, want) {
		t.Errorf("policyTypes = %v, want %v", got, want)
	}
	var from []string
	for _, rule := range np.Ingress {
		if len(rule.Ports) != 1 || rule.Ports[0].Port.IntValue() != 9090 {
			t.Errorf("ingress rule %+v: want port 9090 only", rule)
		}
		for _, peer := range rule.From {
			if peer.NamespaceSelector != nil {
				from = append(from, peer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"])
			}
		}
	}
	if want := []string{"ingress-nginx", "monitoring"}; !slices.Equal(from, want) {
		t.Errorf("ingress from the namespaces %v, want %v (the ingress controller, Prometheus)", from, want)
	}
	var egress []string
	for _, rule := range np.Egress {
		for _, p := range rule.Ports {
			egress = append(egress, fmt.Sprintf("%s/%d", *p.Protocol, p.Port.IntValue()))
		}
	}
	if want := []string{"UDP/53", "TCP/53", "TCP/443", "TCP/6380"}; !slices.Equal(egress, want) {
		t.Errorf("egress ports %v, want %v", egress, want)
	}
	if !selects(np.PodSelector.MatchLabels, d.Spec.Template.Labels) {
		t.Errorf("the NetworkPolicy selects %v, not the pods (%v)", np.PodSelector.MatchLabels, d.Spec.Template.Labels)
	}

	// Ingress: the chat platforms' callbacks only, to the Service's port.
	in := r.Ingress.Spec
	if in.IngressClassName == nil || *in.IngressClassName != "nginx" {
		t.Errorf("ingressClassName = %v, want nginx", in.IngressClassName)
	}
	if len(in.TLS) != 1 || in.TLS[0].SecretName != "bot-tls" {
		t.Errorf("tls = %+v, want bot-tls", in.TLS)
	}
	if len(in.Rules) != 1 || in.Rules[0].Host != "bot.example.com" || in.Rules[0].HTTP == nil {
		t.Fatalf("rules = %+v, want one for bot.example.com", in.Rules)
	}
	var paths []string
	for _, p := range in.Rules[0].HTTP.Paths {
		paths = append(paths, p.Path)
		if b := p.Backend.Service; b == nil || b.Name != r.Service.Name || b.Port.Name != r.Service.Spec.Ports[0].Name {
			t.Errorf("path %s goes to %+v, want service %s port %s", p.Path, p.Backend, r.Service.Name, r.Service.Spec.Ports[0].Name)
		}
		if p.PathType == nil || *p.PathType != networkingv1.PathTypePrefix {
			t.Errorf("path %s: pathType %v, want Prefix", p.Path, p.PathType)
		}
	}
	if want := []string{"/slack", "/discord"}; !slices.Equal(paths, want) {
		t.Errorf("ingress paths %v, want %v", paths, want)
	}

	// ServiceMonitor: scrapes /metrics on the Service's named port.
	sm := r.ServiceMonitor
	if sm.GetAPIVersion() != "monitoring.coreos.com/v1" || sm.GetKind() != "ServiceMonitor" {
		t.Errorf("ServiceMonitor is %s %s", sm.GetAPIVersion(), sm.GetKind())
	}
	if sm.GetLabels()["release"] != "prometheus" {
		t.Errorf("ServiceMonitor labels %v: want release=prometheus from values", sm.GetLabels())
	}
	endpoints, _, err := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if err != nil || len(endpoints) != 1 {
		t.Fatalf("spec.endpoints = %v (%v), want one", endpoints, err)
	}
	ep := endpoints[0].(map[string]any)
	if ep["port"] != r.Service.Spec.Ports[0].Name || ep["path"] != "/metrics" || ep["interval"] != "15s" {
		t.Errorf("endpoint %v: want port %s, path /metrics, interval 15s", ep, r.Service.Spec.Ports[0].Name)
	}
	sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	if !selects(sel, r.Service.Labels) {
		t.Errorf("ServiceMonitor selects %v, not the Service (%v)", sel, r.Service.Labels)
	}

	if got := r.ConfigMap.Data["config.yaml"]; strings.TrimRight(got, "\n") != strings.TrimRight(example, "\n") {
		t.Errorf("the ConfigMap's config.yaml is not values.config as written:\n got %s\nwant %s", got, example)
	}
	if !strings.Contains(r.Notes, "https://bot.example.com/slack/commands") {
		t.Errorf("NOTES.txt does not give Slack's request URL:\n%s", r.Notes)
	}
	mustPassConfigCheck(t, r)
}

// TestOneReplicaHasNoDisruptionBudget: with one replica, minAvailable 1
// would block every node drain.
func TestOneReplicaHasNoDisruptionBudget(t *testing.T) {
	r := mustLintAndRender(t, mustValues(t, "replicaCount: 1"))
	if got := *r.Deployment.Spec.Replicas; got != 1 {
		t.Errorf("replicas = %d, want 1", got)
	}
	if r.PDB != nil {
		t.Error("a PodDisruptionBudget with one replica")
	}
}

// TestConfigChangeRollsThePods: the pod template carries the config's
// checksum, so a new config makes a new ReplicaSet; the same config, the
// same checksum.
func TestConfigChangeRollsThePods(t *testing.T) {
	checksum := func(vals map[string]any) string {
		t.Helper()
		got := mustLintAndRender(t, vals).Deployment.Spec.Template.Annotations["checksum/config"]
		if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(got) {
			t.Fatalf("checksum/config = %q, want a sha256", got)
		}
		return got
	}
	base := checksum(nil)
	if again := checksum(nil); again != base {
		t.Errorf("the same values give checksums %s and %s", base, again)
	}
	text := mustLoadChart(t).Values["config"].(string)
	if !strings.Contains(text, "log_level: info") {
		t.Fatalf("the default config has no log_level: info for this test to change:\n%s", text)
	}
	debug := map[string]any{"config": strings.Replace(text, "log_level: info", "log_level: debug", 1)}
	if changed := checksum(debug); changed == base {
		t.Error("a new log_level left the checksum unchanged: the pods would keep the old config")
	}
	if scaled := checksum(mustValues(t, "replicaCount: 4")); scaled != base {
		t.Error("the checksum changed with replicaCount, which is not config")
	}
}

// TestBadValuesRefused: the chart refuses each of these, naming the key,
// when Helm installs it (values.schema.json, or the templates' own checks
// of config), and helm lint refuses the schema's (lint skips a template's
// fail by design, so the checks of config's text show at install only).
func TestBadValuesRefused(t *testing.T) {
	ch := mustLoadChart(t)
	for _, tc := range []struct {
		name, values, key string
		atInstallOnly     bool
	}{
		{"NoReplicas", "replicaCount: 0", "replicaCount", false},
		{"ReplicasNotANumber", `replicaCount: "two"`, "replicaCount", false},
		{"NoImage", `image: {repository: ""}`, "repository", false},
		{"NoSecret", `existingSecret: ""`, "existingSecret", false},
		{"UnknownKey", "replicas: 2", "replicas", false},
		{"ConfigAsAMap", "config: {listen: \":8080\"}", "config", false},
		{"EmptyConfig", `config: ""`, "config", false},
		{"ConfigNotYAML", `config: "listen: [:8080"`, "config", true},
		{"ListenOnLoopback", `config: "listen: 127.0.0.1:8080"`, "config.listen", true},
		{"ListenWithoutPort", `config: "listen: localhost"`, "config.listen", true},
		{"WritableRoot", "securityContext: {readOnlyRootFilesystem: false}", "readOnlyRootFilesystem", false},
		{"RunsAsRoot", "podSecurityContext: {runAsNonRoot: false}", "runAsNonRoot", false},
		{"IngressWithoutHost", `ingress: {enabled: true, host: ""}`, "host", false},
		{"ScrapesBlocked", `{serviceMonitor: {enabled: true}, networkPolicy: {enabled: true, ingressFrom: [{podSelector: {}}]}}`, "networkPolicy.metricsFrom", true},
		{"BadResources", "resources: {requests: {cpus: 1}}", "cpus", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vals := mustValues(t, tc.values)
			top, err := chartutil.ToRenderValues(ch, vals, releaseOptions(), nil)
			if err == nil {
				_, err = engine.Engine{}.RenderWithContext(context.Background(), ch, top)
			}
			if err == nil {
				t.Fatalf("values %q rendered", tc.values)
			}
			if !strings.Contains(err.Error(), tc.key) {
				t.Errorf("error %q: want one naming %s", err, tc.key)
			}
			if tc.atInstallOnly {
				return
			}

			var lintErrs []string
			for _, m := range lint.RunAll(chartDir, vals, namespace).Messages {
				if m.Severity == support.ErrorSev {
					lintErrs = append(lintErrs, m.Error())
				}
			}
			if !slices.ContainsFunc(lintErrs, func(e string) bool { return strings.Contains(e, tc.key) }) {
				t.Errorf("helm lint with %q: errors %q, want one naming %s", tc.values, lintErrs, tc.key)
			}
		})
	}
}

// TestOwnConfigReplacesTheDefault: a config in the values replaces the
// chart's example whole; nothing of the example (its Tencent Cloud section,
// its people) stays behind to ask for variables the Secret lacks.
func TestOwnConfigReplacesTheDefault(t *testing.T) {
	own := `listen: ":8080"
redis: {url: "redis://redis:6379/0"}
discord:
  bot_token: "${DISCORD_BOT_TOKEN}"
  application_id: "123456789012345678"
  public_key: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
  guild_id: "234567890123456789"
  approvals_channel: "345678901234567890"
alibabacloud:
  access_key_id: "${ALIBABA_CLOUD_ACCESS_KEY_ID}"
  access_key_secret: "${ALIBABA_CLOUD_ACCESS_KEY_SECRET}"
people:
  - {name: carol, discord: 100000000000000003, groups: [hpc]}
  - {name: dave, discord: 100000000000000004, groups: [hpc-admins]}
accounts:
  - {name: hpc, provider: alibaba.ehpc, region: cn-hangzhou, cluster_id: ehpc-hz-fyur32ab, users: [hpcuser1], requesters: [hpc], approvers: [hpc-admins]}
`
	r := mustLintAndRender(t, map[string]any{"config": own})
	got := r.ConfigMap.Data["config.yaml"]
	if strings.TrimRight(got, "\n") != strings.TrimRight(own, "\n") {
		t.Errorf("config.yaml is not the values' config as written:\n got %s\nwant %s", got, own)
	}
	// Unquoted Discord IDs stay digits: a map would have made them floats.
	if !strings.Contains(got, "discord: 100000000000000003,") {
		t.Errorf("a Discord ID changed on the way:\n%s", got)
	}
	mustPassConfigCheck(t, r)
}

// checkSecurity: non-root as the image's user, read-only root, no
// privilege escalation, no capabilities, the runtime's seccomp profile, no
// Kubernetes API token.
func checkSecurity(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	pod := d.Spec.Template.Spec
	ps := pod.SecurityContext
	if ps == nil || !isTrue(ps.RunAsNonRoot) || ps.RunAsUser == nil || *ps.RunAsUser != 65532 ||
		ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext = %s: want runAsNonRoot, runAsUser 65532, seccomp RuntimeDefault", toJSON(ps))
	}
	c := mustContainer(t, d)
	cs := c.SecurityContext
	if cs == nil || !isTrue(cs.RunAsNonRoot) || cs.RunAsUser == nil || *cs.RunAsUser != 65532 ||
		!isTrue(cs.ReadOnlyRootFilesystem) || cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation ||
		cs.Capabilities == nil || !slices.Equal(cs.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(cs.Capabilities.Add) != 0 ||
		cs.SeccompProfile == nil || cs.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container securityContext = %s: want non-root 65532, read-only root, no privilege escalation, drop ALL, seccomp RuntimeDefault", toJSON(cs))
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the pod mounts a service account token; the bot never calls the Kubernetes API")
	}
}

// checkProbesAndPort: the container listens on port (config.listen's),
// named http; liveness asks /healthz and readiness /readyz on it; the
// Service sends its port there.
func checkProbesAndPort(t *testing.T, r rendered, port int32) {
	t.Helper()
	c := mustContainer(t, r.Deployment)
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != port || c.Ports[0].Name != "http" {
		t.Fatalf("container ports %+v, want http on %d", c.Ports, port)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("no %s HTTP probe", p.name)
			continue
		}
		if got := p.probe.HTTPGet; got.Path != p.path || got.Port.String() != "http" {
			t.Errorf("%s probe asks %s on port %s, want %s on http", p.name, got.Path, got.Port.String(), p.path)
		}
	}
	sp := r.Service.Spec.Ports
	if len(sp) != 1 || sp[0].TargetPort.String() != "http" {
		t.Errorf("service ports %+v, want one to the container's http port", sp)
	}
}

// checkConfigMount: the ConfigMap's config.yaml is mounted where the image
// reads it, and the container is told so.
func checkConfigMount(t *testing.T, r rendered) {
	t.Helper()
	d := r.Deployment
	c := mustContainer(t, d)
	if got, want := c.Args, []string{"serve", "--config", configPath}; !slices.Equal(got, want) {
		t.Errorf("args = %q, want %q", got, want)
	}
	dir, file := configPath[:strings.LastIndex(configPath, "/")], configPath[strings.LastIndex(configPath, "/")+1:]
	i := slices.IndexFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == dir })
	if i < 0 {
		t.Fatalf("nothing mounted at %s: %+v", dir, c.VolumeMounts)
	}
	if !c.VolumeMounts[i].ReadOnly {
		t.Errorf("the config at %s is mounted writable", dir)
	}
	v := slices.IndexFunc(d.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == c.VolumeMounts[i].Name })
	if v < 0 || d.Spec.Template.Spec.Volumes[v].ConfigMap == nil || d.Spec.Template.Spec.Volumes[v].ConfigMap.Name != r.ConfigMap.Name {
		t.Fatalf("the volume at %s is not the ConfigMap %s", dir, r.ConfigMap.Name)
	}
	if _, ok := r.ConfigMap.Data[file]; !ok {
		t.Errorf("ConfigMap keys %v: no %s", maps(r.ConfigMap.Data), file)
	}
	// Everything else is read-only: /tmp is the one writable place.
	for _, m := range c.VolumeMounts {
		vol := d.Spec.Template.Spec.Volumes[slices.IndexFunc(d.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })]
		if !m.ReadOnly && (m.MountPath != "/tmp" || vol.EmptyDir == nil) {
			t.Errorf("%s is mounted writable", m.MountPath)
		}
	}
}

// checkSelectors: the Deployment, Service and PodDisruptionBudget select
// the Deployment's pods, and every name and label is valid.
func checkSelectors(t *testing.T, r rendered) {
	t.Helper()
	pods := r.Deployment.Spec.Template.Labels
	if !selects(r.Deployment.Spec.Selector.MatchLabels, pods) {
		t.Errorf("the Deployment's selector %v does not select its pods %v", r.Deployment.Spec.Selector.MatchLabels, pods)
	}
	if !selects(r.Service.Spec.Selector, pods) {
		t.Errorf("the Service's selector %v does not select the pods %v", r.Service.Spec.Selector, pods)
	}
	if r.PDB != nil && !selects(r.PDB.Spec.Selector.MatchLabels, pods) {
		t.Errorf("the PodDisruptionBudget's selector %v does not select the pods %v", r.PDB.Spec.Selector.MatchLabels, pods)
	}
}

// mustPassConfigCheck runs resetbot's own config check (what
// `resetbot check-config` runs) on the config.yaml the chart renders, with
// every ${VAR} it reads set as the Secret would set it.
func mustPassConfigCheck(t *testing.T, r rendered) {
	t.Helper()
	data := r.ConfigMap.Data["config.yaml"]
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`).FindAllStringSubmatch(data, -1) {
		vars[m[1]] = dummySecret(m[1])
	}
	if len(vars) == 0 {
		t.Fatalf("the rendered config reads no ${VAR}: its secrets would be in the ConfigMap\n%s", data)
	}
	cfg, err := config.Load([]byte(data), func(k string) string { return vars[k] }, providers.Kinds())
	if err != nil {
		t.Fatalf("resetbot's config check refuses the rendered config: %v\n%s", err, data)
	}
	for _, w := range cfg.Warnings() {
		t.Logf("config warning: %s", w)
	}
	if want := r.Deployment.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort; !strings.HasSuffix(cfg.Listen, fmt.Sprintf(":%d", want)) {
		t.Errorf("the config listens on %q, the container's port is %d", cfg.Listen, want)
	}
}

// dummySecret is a value of the shape the config check expects.
func dummySecret(name string) string {
	switch name {
	case "SLACK_BOT_TOKEN":
		return "xoxb-0000-chart-test"
	case "SLACK_APP_TOKEN":
		return "xapp-0000-chart-test"
	}
	return "chart-test-value-of-" + strings.ToLower(name)
}

func mustLoadChart(t *testing.T) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load the chart: %v", err)
	}
	return ch
}

func releaseOptions() common.ReleaseOptions {
	return common.ReleaseOptions{Name: release, Namespace: namespace, Revision: 1, IsInstall: true}
}

// mustLintAndRender lints the chart with vals (helm lint: a warning or an
// error fails), renders it as `helm install` does and decodes every object.
func mustLintAndRender(t *testing.T, vals map[string]any) rendered {
	t.Helper()
	for _, m := range lint.RunAll(chartDir, vals, namespace).Messages {
		if m.Severity >= support.WarningSev {
			t.Errorf("helm lint: %s", m.Error())
		} else {
			t.Logf("helm lint: %s", m.Error())
		}
	}
	ch := mustLoadChart(t)
	top, err := chartutil.ToRenderValues(ch, vals, releaseOptions(), nil)
	if err != nil {
		t.Fatalf("values: %v", err)
	}
	files, err := engine.Engine{}.RenderWithContext(context.Background(), ch, top)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	var r rendered
	for name, text := range files {
		if strings.HasSuffix(name, "NOTES.txt") {
			r.Notes = text
			continue
		}
		for doc := range strings.SplitSeq(text, "\n---") {
			if strings.TrimSpace(doc) != "" {
				decodeObject(t, name, []byte(doc), &r)
			}
		}
	}
	return r
}

// decodeObject decodes one rendered object into its Kubernetes type,
// strictly: a duplicate key or a field the type does not have fails.
func decodeObject(t *testing.T, file string, doc []byte, r *rendered) {
	t.Helper()
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		t.Fatalf("%s: %v\n%s", file, err, doc)
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(js, &tm); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var into any
	var meta *metav1.ObjectMeta
	switch gvk := tm.APIVersion + " " + tm.Kind; gvk {
	case "apps/v1 Deployment":
		r.Deployment = new(appsv1.Deployment)
		into, meta = r.Deployment, &r.Deployment.ObjectMeta
	case "v1 Service":
		r.Service = new(corev1.Service)
		into, meta = r.Service, &r.Service.ObjectMeta
	case "v1 ConfigMap":
		r.ConfigMap = new(corev1.ConfigMap)
		into, meta = r.ConfigMap, &r.ConfigMap.ObjectMeta
	case "policy/v1 PodDisruptionBudget":
		r.PDB = new(policyv1.PodDisruptionBudget)
		into, meta = r.PDB, &r.PDB.ObjectMeta
	case "networking.k8s.io/v1 NetworkPolicy":
		r.NetworkPolicy = new(networkingv1.NetworkPolicy)
		into, meta = r.NetworkPolicy, &r.NetworkPolicy.ObjectMeta
	case "networking.k8s.io/v1 Ingress":
		r.Ingress = new(networkingv1.Ingress)
		into, meta = r.Ingress, &r.Ingress.ObjectMeta
	case "monitoring.coreos.com/v1 ServiceMonitor":
		// No Go type here: the fields this chart sets are checked by name.
		r.ServiceMonitor = new(unstructured.Unstructured)
		if err := r.ServiceMonitor.UnmarshalJSON(js); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var om metav1.ObjectMeta
		m, _ := r.ServiceMonitor.Object["metadata"].(map[string]any)
		mustDecodeStrict(t, file, toJSONBytes(m), &om)
		checkMeta(t, file, &om)
		return
	default:
		t.Fatalf("%s renders %q, which this test does not know", file, gvk)
	}
	mustDecodeStrict(t, file, js, into)
	checkMeta(t, file, meta)
}

func mustDecodeStrict(t *testing.T, file string, js []byte, into any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		t.Fatalf("%s does not decode strictly into %T: %v\n%s", file, into, err, js)
	}
}

// checkMeta: a valid name in the release's namespace, valid labels, and the
// labels every object of the release carries.
func checkMeta(t *testing.T, file string, m *metav1.ObjectMeta) {
	t.Helper()
	for _, e := range validation.IsDNS1123Label(m.Name) {
		t.Errorf("%s: name %q: %s", file, m.Name, e)
	}
	if m.Namespace != namespace {
		t.Errorf("%s: namespace %q, want %q", file, m.Namespace, namespace)
	}
	for k, v := range m.Labels {
		for _, e := range append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...) {
			t.Errorf("%s: label %s=%s: %s", file, k, v, e)
		}
	}
	if m.Labels["app.kubernetes.io/instance"] != release || m.Labels["app.kubernetes.io/name"] != "resetbot" {
		t.Errorf("%s: labels %v: want app.kubernetes.io/name and instance", file, m.Labels)
	}
}

func mustContainer(t *testing.T, d *appsv1.Deployment) corev1.Container {
	t.Helper()
	cs := d.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("%d containers, want 1", len(cs))
	}
	return cs[0]
}

// mustValues parses values as `helm install -f` does.
func mustValues(t *testing.T, text string) map[string]any {
	t.Helper()
	v, err := common.ReadValues([]byte(text))
	if err != nil {
		t.Fatalf("values %q: %v", text, err)
	}
	return v
}

func mustReadFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func equalResources(a, b corev1.ResourceRequirements) bool {
	eq := func(x, y corev1.ResourceList) bool {
		if len(x) != len(y) {
			return false
		}
		for k, q := range x {
			if p, ok := y[k]; !ok || q.Cmp(p) != 0 {
				return false
			}
		}
		return true
	}
	return eq(a.Requests, b.Requests) && eq(a.Limits, b.Limits)
}

func isTrue(b *bool) bool { return b != nil && *b }

func maps(m map[string]string) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

func toJSON(v any) string { return string(toJSONBytes(v)) }

func toJSONBytes(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(err.Error())
	}
	return b
}
