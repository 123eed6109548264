{{/*
The name of every object: the release's name, with "-resetbot" unless it
already says resetbot. At most 63 characters, as DNS labels are.
*/}}
{{- define "resetbot.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The labels that select this release's pods; they never change. */}}
{{- define "resetbot.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "resetbot.labels" -}}
{{ include "resetbot.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/*
Where the image reads its config: deploy/Dockerfile's CMD and
deploy/compose.yaml use the same path.
*/}}
{{- define "resetbot.configDir" -}}/etc/resetbot{{- end -}}
{{- define "resetbot.configFile" -}}config.yaml{{- end -}}

{{/*
The config, parsed: a mapping, or the render fails.
*/}}
{{- define "resetbot.config" -}}
{{- $cfg := fromYaml .Values.config -}}
{{- if or (hasKey $cfg "Error") (not $cfg) -}}
{{- fail (printf "config is not a YAML mapping of resetbot's keys: %v" ($cfg.Error | default "empty")) -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/*
The port the bot listens on: the port of config.listen (":8080" when
absent, as resetbot's own default). listen must take every interface, or
the kubelet's probes and the Service could not reach it.
*/}}
{{- define "resetbot.port" -}}
{{- $cfg := include "resetbot.config" . | fromYaml -}}
{{- $listen := toString ($cfg.listen | default ":8080") -}}
{{- if not (regexMatch "^(0\\.0\\.0\\.0|\\[::\\])?:[0-9]{1,5}$" $listen) -}}
{{- fail (printf "config.listen %q: want :PORT (every interface), so that probes and the Service reach the bot" $listen) -}}
{{- end -}}
{{- regexFind "[0-9]+$" $listen -}}
{{- end -}}

{{- define "resetbot.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
