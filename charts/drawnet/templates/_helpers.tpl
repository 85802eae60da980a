{{/* Names, labels, images and the URLs the components give each other. */}}

{{- define "drawnet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* `<release>-drawnet`, or just the release name when it already contains the chart's name. */}}
{{- define "drawnet.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "drawnet.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of everything the chart makes; call with (dict "ctx" $ "component" "operator"). */}}
{{- define "drawnet.labels" -}}
helm.sh/chart: {{ include "drawnet.chart" .ctx }}
{{ include "drawnet.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: drawnet
{{- end }}

{{- define "drawnet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "drawnet.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The room pods the operator makes (operator/drawnet/operator/resource.py: child_labels). */}}
{{- define "drawnet.roomSelectorLabels" -}}
app.kubernetes.io/managed-by: drawnet-operator
app.kubernetes.io/component: room
{{- end }}

{{/* An image reference; call with (dict "ctx" $ "image" .Values.images.operator). */}}
{{- define "drawnet.image" -}}
{{- $tag := default .ctx.Chart.AppVersion .image.tag }}
{{- printf "%s:%s" .image.repository $tag }}
{{- end }}

{{- define "drawnet.operatorName" -}}{{ include "drawnet.fullname" . }}-operator{{- end }}
{{- define "drawnet.drawingName" -}}{{ include "drawnet.fullname" . }}-drawing{{- end }}
{{- define "drawnet.natsName" -}}{{ include "drawnet.fullname" . }}-nats{{- end }}
{{- define "drawnet.postgresqlName" -}}{{ include "drawnet.fullname" . }}-postgresql{{- end }}
{{- define "drawnet.signingKeysSecret" -}}
{{- default (printf "%s-signing-keys" (include "drawnet.fullname" .)) .Values.secrets.existingSigningKeys }}
{{- end }}
{{- define "drawnet.serviceTokenSecret" -}}
{{- default (printf "%s-service-token" (include "drawnet.fullname" .)) .Values.secrets.existingServiceToken }}
{{- end }}

{{/* Whether the in-chart evaluation PostgreSQL runs: no URL and no Secret of the user's. */}}
{{- define "drawnet.evaluationDatabase" -}}
{{- if and (not .Values.postgresql.url) (not .Values.postgresql.existingSecret.name) }}true{{ end }}
{{- end }}

{{- define "drawnet.databaseSecret" -}}
{{- default (printf "%s-database" (include "drawnet.fullname" .)) .Values.postgresql.existingSecret.name }}
{{- end }}

{{/* NATS as every component reaches it, by a fully qualified name (rooms run in other namespaces): the
Service of the one server, or every server of a cluster, comma-separated, so that a component starts and
goes on while any one of them is down. */}}
{{- define "drawnet.natsUrl" -}}
{{- if and .Values.nats.enabled (gt (int .Values.nats.replicas) 1) }}
{{- $name := include "drawnet.natsName" . }}
{{- $urls := list }}
{{- range $i := until (int .Values.nats.replicas) }}
{{- $urls = append $urls (printf "nats://%s-%d.%s-headless.%s.svc.%s:4222" $name $i $name $.Release.Namespace $.Values.clusterDomain) }}
{{- end }}
{{- join "," $urls }}
{{- else if .Values.nats.enabled }}
{{- printf "nats://%s.%s.svc.%s:4222" (include "drawnet.natsName" .) .Release.Namespace .Values.clusterDomain }}
{{- else }}
{{- required "nats.externalUrl is required when nats.enabled is false" .Values.nats.externalUrl }}
{{- end }}
{{- end }}

{{- define "drawnet.drawingUrl" -}}
{{- printf "http://%s.%s.svc.%s:%d" (include "drawnet.drawingName" .) .Release.Namespace .Values.clusterDomain (int .Values.drawing.port) }}
{{- end }}

{{/* How rooms are exposed, in the operator's words (settings.Exposure). */}}
{{- define "drawnet.exposure" -}}
{{- if .Values.ingress.enabled }}ingress{{ else if .Values.gateway.enabled }}httproute{{ else }}none{{ end }}
{{- end }}

{{/* Where browsers reach the web app and the rooms (validate.yaml makes sure one route is configured). */}}
{{- define "drawnet.publicUrl" -}}
{{- printf "%s://%s" (ternary "https" "http" .Values.public.tls) .Values.public.host }}
{{- end }}

{{/* The rooms' base URL on the public host (each session's own URL is its status.url). */}}
{{- define "drawnet.roomPublicUrl" -}}
{{- printf "%s://%s" (ternary "wss" "ws" .Values.public.tls) .Values.public.host }}
{{- end }}

{{/* The namespaces the operator serves: a list, or ["*"] for all of them. */}}
{{- define "drawnet.operatorNamespaces" -}}
{{- if .Values.operator.namespaces }}
{{- toJson .Values.operator.namespaces }}
{{- else }}
{{- toJson (list .Release.Namespace) }}
{{- end }}
{{- end }}

{{/* The namespaces besides the release's whose sessions the web app lists and joins: the operator's others. */}}
{{- define "drawnet.drawingSessionNamespaces" -}}
{{- $all := include "drawnet.operatorNamespaces" . | fromJsonArray }}
{{- if has "*" $all }}
{{- toJson (list "*") }}
{{- else }}
{{- toJson (without $all .Release.Namespace) }}
{{- end }}
{{- end }}

{{- define "drawnet.clusterWide" -}}
{{- if has "*" (include "drawnet.operatorNamespaces" . | fromJsonArray) }}true{{ end }}
{{- end }}

{{/* A component's settings map as env vars: (dict "prefix" "DRAWNET_OPERATOR_" "settings" $map). */}}
{{- define "drawnet.settingsEnv" -}}
{{- range $key, $value := .settings }}
- name: {{ printf "%s%s" $.prefix (upper $key) }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/* The pod-level security context every Drawnet pod shares (the restricted Pod Security Standard). */}}
{{- define "drawnet.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurityContext.runAsUser }}
runAsGroup: {{ .Values.podSecurityContext.runAsGroup }}
fsGroup: {{ .Values.podSecurityContext.runAsGroup }}
# A volume's ownership is changed only when its root is not the group's yet (the first mount): not a walk
# of every JetStream file at each start.
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "drawnet.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end }}

{{- define "drawnet.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end }}

{{/* Pod scheduling: (dict "values" .Values.operator) */}}
{{- define "drawnet.scheduling" -}}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* A Secret value generated once and kept: the value in the live Secret, or a new random one. */}}
{{- define "drawnet.keptSecretValue" -}}
{{- $secret := lookup "v1" "Secret" .ctx.Release.Namespace .name }}
{{- if and $secret $secret.data (hasKey $secret.data .key) }}
{{- index $secret.data .key | b64dec }}
{{- else }}
{{- .generate }}
{{- end }}
{{- end }}

{{/* Whether to render the Prometheus Operator's kinds: the cluster serves them, or monitoring.force. */}}
{{- define "drawnet.prometheusOperator" -}}
{{- if or .Values.monitoring.force (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1") }}true{{ end }}
{{- end }}
