{{/* The chart's name. */}}
{{- define "gitfleet-agent.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's full name: the release name, with the chart name unless it holds it already. */}}
{{- define "gitfleet-agent.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "gitfleet-agent.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "gitfleet-agent.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels that select the agent's pods. */}}
{{- define "gitfleet-agent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gitfleet-agent.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The ServiceAccount the agent runs as. */}}
{{- define "gitfleet-agent.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "gitfleet-agent.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret with the hub address and the registration token. */}}
{{- define "gitfleet-agent.registrationSecret" -}}
{{- default (printf "%s-registration" (include "gitfleet-agent.fullname" .)) .Values.registration.existingSecret -}}
{{- end -}}

{{/* Whether the replicas elect a leader. */}}
{{- define "gitfleet-agent.leaderElect" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicaCount) 1) -}}true{{- else -}}false{{- end -}}
{{- end -}}

{{/*
What the agent may do wherever it applies bundles: read, create, change and delete any kind
(server-side apply is a patch; the agent never watches). With allowRbacEscalation, bundles may
also carry Roles that grant more than the agent holds.
*/}}
{{- define "gitfleet-agent.applyRules" -}}
- apiGroups: ["*"]
  resources: ["*"]
  verbs: [get, list, watch, create, patch, delete]
{{- if .Values.rbac.allowRbacEscalation }}
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles, clusterroles]
  verbs: [bind, escalate]
{{- end }}
{{- end -}}

{{/* Cluster labels as the agent's --labels list: k=v,k2=v2, sorted by key. */}}
{{- define "gitfleet-agent.labelList" -}}
{{- $items := list -}}
{{- range $key := keys . | sortAlpha -}}
{{- $items = append $items (printf "%s=%v" $key (get $ $key)) -}}
{{- end -}}
{{- join "," $items -}}
{{- end -}}
