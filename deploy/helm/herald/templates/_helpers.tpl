{{/*
Object names are fixed (herald-agent, herald-operator, ...): the ClusterRoles
are cluster-wide and the agents' Leases carry Cilium's names, so a cluster has
one herald.
*/}}

{{/* Labels on every object. */}}
{{- define "herald.labels" -}}
app.kubernetes.io/name: herald
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Labels of one component's objects: (dict "root" $ "component" "agent"). */}}
{{- define "herald.componentLabels" -}}
{{ include "herald.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The selector of one component's pods (immutable: keep it as it is). */}}
{{- define "herald.selectorLabels" -}}
app.kubernetes.io/name: herald
app.kubernetes.io/component: {{ . }}
{{- end -}}

{{- define "herald.image" -}}
{{- $image := .Values.image -}}
{{- if $image.digest -}}
{{ $image.repository }}@{{ $image.digest }}
{{- else -}}
{{ $image.repository }}:{{ $image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* Where each component's Leases live; RBAC grants Lease rights there. */}}
{{- define "herald.agentNamespace" -}}
{{ .Values.agent.config.namespace | default .Release.Namespace }}
{{- end -}}
{{- define "herald.operatorNamespace" -}}
{{ .Values.operator.config.namespace | default .Release.Namespace }}
{{- end -}}

{{/* The health, metrics and status port of each component. */}}
{{- define "herald.agentPort" -}}
{{ index .Values.agent.config "health-port" | default 9964 | int }}
{{- end -}}
{{- define "herald.operatorPort" -}}
{{ index .Values.operator.config "health-port" | default 9963 | int }}
{{- end -}}

{{/* One flag value as herald reads it: lists joined with commas, whole numbers without an exponent. */}}
{{- define "herald.flagValue" -}}
{{- if kindIs "slice" . -}}
{{ join "," . }}
{{- else if kindIs "float64" . -}}
{{ int64 . }}
{{- else -}}
{{ . }}
{{- end -}}
{{- end -}}

{{/*
The container's args: the subcommand, --namespace, each config entry as
--name=value (in name order), then extraArgs.
(dict "command" "agent" "namespace" "..." "config" .Values.agent.config "extraArgs" .Values.agent.extraArgs)
*/}}
{{- define "herald.args" -}}
- {{ .command }}
- {{ printf "--namespace=%s" .namespace | quote }}
{{- range $flag, $value := .config }}
{{- if and (ne $flag "namespace") (not (kindIs "invalid" $value)) }}
- {{ printf "--%s=%s" $flag (include "herald.flagValue" $value) | quote }}
{{- end }}
{{- end }}
{{- range .extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end -}}

{{/* A duration flag's value in milliseconds ("250ms", "2s", "1.5s", "1m" or a number of ms), as herald parses it. */}}
{{- define "herald.durationMs" -}}
{{- $v := toString . -}}
{{- if regexMatch "^[0-9]+(\\.[0-9]+)?ms$" $v -}}
{{ trimSuffix "ms" $v }}
{{- else if regexMatch "^[0-9]+(\\.[0-9]+)?s$" $v -}}
{{ mulf (trimSuffix "s" $v | float64) 1000 }}
{{- else if regexMatch "^[0-9]+(\\.[0-9]+)?m$" $v -}}
{{ mulf (trimSuffix "m" $v | float64) 60000 }}
{{- else -}}
{{ $v }}
{{- end -}}
{{- end -}}

{{/* The settings the chart checks before rendering: mistakes that herald itself could only notice too late. */}}
{{- define "herald.validate" -}}
{{- $agent := .Values.agent -}}
{{- if $agent.enabled -}}
{{- /* The agent's default --handover-timeout is 3000 ms (a unit test keeps this in step with the CLI). */ -}}
{{- $handover := index $agent.config "handover-timeout" | default 3000 -}}
{{- $handoverMs := include "herald.durationMs" $handover | float64 -}}
{{- $graceMs := mulf ($agent.terminationGracePeriodSeconds | float64) 1000 -}}
{{- if lt $graceMs (addf $handoverMs 2000) -}}
{{- fail (printf "agent.terminationGracePeriodSeconds (%v s) must exceed --handover-timeout (%v ms) by at least 2 s: the kubelet would kill the agent before it has handed its Services to other nodes" $agent.terminationGracePeriodSeconds $handoverMs) -}}
{{- end -}}
{{- $rolling := $agent.updateStrategy.rollingUpdate | default dict -}}
{{- if and $rolling.maxSurge (ne (toString $rolling.maxSurge) "0") (ne (toString $rolling.maxSurge) "0%") -}}
{{- fail "agent.updateStrategy.rollingUpdate.maxSurge must be 0: two agents on one node would share its host port and answer for the same addresses" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.monitoring.serviceMonitor.enabled .Values.monitoring.podMonitor.enabled -}}
{{- fail "monitoring: enable serviceMonitor or podMonitor, not both (each would scrape every target once more)" -}}
{{- end -}}
{{- if .Values.monitoring.serviceMonitor.enabled -}}
{{- if or (and $agent.enabled (not $agent.metricsService.enabled)) (and .Values.operator.enabled (not .Values.operator.metricsService.enabled)) -}}
{{- fail "monitoring.serviceMonitor needs the metrics Services (agent.metricsService.enabled and operator.metricsService.enabled); use monitoring.podMonitor without them" -}}
{{- end -}}
{{- end -}}
{{- end -}}
