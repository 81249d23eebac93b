{{/* The chart's name. */}}
{{- define "gitfleet-hub.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's full name: the release name, with the chart name unless it holds it already. */}}
{{- define "gitfleet-hub.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "gitfleet-hub.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "gitfleet-hub.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels that select the hub's pods. */}}
{{- define "gitfleet-hub.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gitfleet-hub.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The ServiceAccount the hub runs as (it needs no Kubernetes API access). */}}
{{- define "gitfleet-hub.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "gitfleet-hub.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* An env entry read from a Secret key. Arguments: list NAME SECRET KEY. */}}
{{- define "gitfleet-hub.secretEnv" -}}
- name: {{ index . 0 }}
  valueFrom:
    secretKeyRef:
      name: {{ index . 1 }}
      key: {{ index . 2 }}
{{- end -}}

{{/* The port /metrics is served on: its own, or the admin API's when metrics.port is 0. */}}
{{- define "gitfleet-hub.metricsPort" -}}
{{- if .Values.metrics.port }}{{ .Values.metrics.port }}{{ else }}{{ .Values.ports.http }}{{ end -}}
{{- end }}

{{/* The container port name /metrics is served on. */}}
{{- define "gitfleet-hub.metricsPortName" -}}
{{- if .Values.metrics.port }}metrics{{ else }}http{{ end -}}
{{- end }}
