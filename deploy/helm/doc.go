// Package helm holds no code. Its tests lint and render the Helm chart in
// resetbot/ with Helm's own packages, decode every object it renders
// strictly into the Kubernetes API types, run resetbot's config check on the
// config it renders, and check that deploy/Dockerfile and deploy/compose.yaml
// agree with it on the config's path, the user and the port.
package helm
