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

{{/* The Secret that holds the gRPC serving certificate: the one given, or the chart's own. */}}
{{- define "gitfleet-hub.grpcTlsSecret" -}}
{{- .Values.tls.secretName | default (printf "%s-grpc-tls" (include "gitfleet-hub.fullname" .)) }}
{{- end }}

{{/* DNS names of the gRPC certificate: the gRPC Service's names, then tls.dnsNames. */}}
{{- define "gitfleet-hub.grpcDnsNames" -}}
{{- $svc := printf "%s-grpc" (include "gitfleet-hub.fullname" .) }}
{{- $names := list $svc (printf "%s.%s" $svc .Release.Namespace) (printf "%s.%s.svc" $svc .Release.Namespace) (printf "%s.%s.svc.cluster.local" $svc .Release.Namespace) }}
{{- concat $names .Values.tls.dnsNames | uniq | toJson }}
{{- end }}

{{/* The pod's affinity: `affinity` as given, with the replicas' anti-affinity (podAntiAffinity.mode) unless it sets its own. */}}
{{- define "gitfleet-hub.affinity" -}}
{{- $affinity := deepCopy (.Values.affinity | default dict) }}
{{- $anti := .Values.podAntiAffinity }}
{{- if and (not (hasKey $affinity "podAntiAffinity")) (ne $anti.mode "none") }}
{{- $term := dict "labelSelector" (dict "matchLabels" (include "gitfleet-hub.selectorLabels" . | fromYaml)) "topologyKey" $anti.topologyKey }}
{{- if eq $anti.mode "hard" }}
{{- $_ := set $affinity "podAntiAffinity" (dict "requiredDuringSchedulingIgnoredDuringExecution" (list $term)) }}
{{- else if eq $anti.mode "soft" }}
{{- $_ := set $affinity "podAntiAffinity" (dict "preferredDuringSchedulingIgnoredDuringExecution" (list (dict "weight" (int $anti.weight) "podAffinityTerm" $term))) }}
{{- else }}
{{- fail (printf "podAntiAffinity.mode must be soft, hard or none (got %v)" $anti.mode) }}
{{- end }}
{{- end }}
{{- if $affinity }}{{ toYaml $affinity }}{{ end }}
{{- end }}

{{/* The pod's topology spread constraints: topologySpreadConstraints, and the zones' when zoneSpread.enabled. */}}
{{- define "gitfleet-hub.topologySpreadConstraints" -}}
{{- $constraints := .Values.topologySpreadConstraints | default list }}
{{- with .Values.zoneSpread }}
{{- if .enabled }}
{{- $constraints = append $constraints (dict "maxSkew" (int .maxSkew) "topologyKey" .topologyKey "whenUnsatisfiable" .whenUnsatisfiable "labelSelector" (dict "matchLabels" (include "gitfleet-hub.selectorLabels" $ | fromYaml))) }}
{{- end }}
{{- end }}
{{- if $constraints }}{{ toYaml $constraints }}{{ end }}
{{- end }}

{{/* An IntOrString value: a number as a number, a percentage as a string. */}}
{{- define "gitfleet-hub.intOrString" -}}
{{- if kindIs "string" . }}{{ . | quote }}{{ else }}{{ int64 . }}{{ end }}
{{- end }}
