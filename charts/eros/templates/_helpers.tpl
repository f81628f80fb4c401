{{/*
Expand the name of the chart.
*/}}
{{- define "eros.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Create a default fully qualified app name.
Truncated at 63 characters because some Kubernetes name fields are limited to
that (DNS labels); component suffixes such as "-scheduler" are added to a
name already cut to 52, so they fit too.
If the release name contains the chart name, it is used as the full name.
*/}}
{{- define "eros.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Create chart name and version as used by the chart label.
*/}}
{{- define "eros.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "eros.labels" -}}
helm.sh/chart: {{ include "eros.chart" . }}
{{ include "eros.selectorLabels" . }}
{{- with .Chart.AppVersion }}
app.kubernetes.io/version: {{ . | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: eros
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Selector labels.
*/}}
{{- define "eros.selectorLabels" -}}
app.kubernetes.io/name: {{ include "eros.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels and selector labels of one component; call with
(dict "context" $ "component" "api").
*/}}
{{- define "eros.componentLabels" -}}
{{ include "eros.labels" .context }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "eros.componentSelectorLabels" -}}
{{ include "eros.selectorLabels" .context }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
Name of one component's resources; call with (dict "context" $ "component" "api").
*/}}
{{- define "eros.componentName" -}}
{{- printf "%s-%s" (include "eros.fullname" .context) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Create the name of the service account to use (API, scheduler, migration Job).
*/}}
{{- define "eros.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "eros.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The operator's service account.
*/}}
{{- define "eros.operator.serviceAccountName" -}}
{{- if .Values.operator.serviceAccount.create }}
{{- default (include "eros.componentName" (dict "context" . "component" "operator")) .Values.operator.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.operator.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The EROS image reference: repository@digest when a digest is set, else
repository:tag (the tag defaulting to the chart's appVersion).
*/}}
{{- define "eros.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The Secret the chart creates for the values given inline.
*/}}
{{- define "eros.secretName" -}}
{{- include "eros.fullname" . }}
{{- end }}

{{/*
Where each secret setting comes from: an existing Secret when one is named,
else the chart's Secret. Each returns "<secret name>/<key>".
*/}}
{{- define "eros.databaseUrlRef" -}}
{{- if and (not .Values.postgresql.enabled) .Values.externalDatabase.existingSecret }}
{{- printf "%s/%s" .Values.externalDatabase.existingSecret .Values.externalDatabase.existingSecretKey }}
{{- else }}
{{- printf "%s/database-url" (include "eros.secretName" .) }}
{{- end }}
{{- end }}

{{- define "eros.redisUrlRef" -}}
{{- if and (not .Values.redis.enabled) .Values.externalRedis.existingSecret }}
{{- printf "%s/%s" .Values.externalRedis.existingSecret .Values.externalRedis.existingSecretKey }}
{{- else }}
{{- printf "%s/redis-url" (include "eros.secretName" .) }}
{{- end }}
{{- end }}

{{- define "eros.jwtSecretRef" -}}
{{- if .Values.jwt.existingSecret }}
{{- printf "%s/%s" .Values.jwt.existingSecret .Values.jwt.existingSecretKey }}
{{- else }}
{{- printf "%s/jwt-secret" (include "eros.secretName" .) }}
{{- end }}
{{- end }}

{{/* Empty when no Anthropic key is configured: EROS then uses its fallback. */}}
{{- define "eros.anthropicKeyRef" -}}
{{- if .Values.anthropic.existingSecret }}
{{- printf "%s/%s" .Values.anthropic.existingSecret .Values.anthropic.existingSecretKey }}
{{- else if .Values.anthropic.apiKey }}
{{- printf "%s/anthropic-api-key" (include "eros.secretName" .) }}
{{- end }}
{{- end }}

{{/*
One env entry read from a "<secret name>/<key>" reference; call with
(list "EROS_DATABASE_URL" "<secret>/<key>").
*/}}
{{- define "eros.secretEnv" -}}
{{- $ref := splitn "/" 2 (index . 1) -}}
- name: {{ index . 0 }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref._0 }}
      key: {{ $ref._1 }}
{{- end }}

{{/*
The environment of every EROS container: the ConfigMap's settings, the four
secret settings, and the user's extraEnv.
*/}}
{{- define "eros.env" -}}
envFrom:
  - configMapRef:
      name: {{ include "eros.fullname" . }}
env:
  {{- include "eros.secretEnv" (list "EROS_DATABASE_URL" (include "eros.databaseUrlRef" .)) | nindent 2 }}
  {{- include "eros.secretEnv" (list "EROS_REDIS_URL" (include "eros.redisUrlRef" .)) | nindent 2 }}
  {{- include "eros.secretEnv" (list "EROS_JWT_SECRET" (include "eros.jwtSecretRef" .)) | nindent 2 }}
  {{- with include "eros.anthropicKeyRef" . }}
  {{- include "eros.secretEnv" (list "EROS_ANTHROPIC_API_KEY" .) | nindent 2 }}
  {{- end }}
  {{- with .Values.extraEnv }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}

{{/*
Pod annotations that roll the pods when a setting changes. The Secret is
summed from its values, not its rendering, because a generated JWT secret
or password would change the rendering, and roll every pod, on each upgrade.
*/}}
{{- define "eros.checksumAnnotations" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
checksum/secret: {{ list .Values.externalDatabase .Values.externalRedis .Values.jwt .Values.anthropic .Values.postgresql.auth | toJson | sha256sum }}
{{- end }}

{{/*
The pod-level settings shared by every EROS pod.
*/}}
{{- define "eros.podSpecCommon" -}}
{{- with .Values.imagePullSecrets -}}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{ end -}}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end }}

{{/*
The writable scratch space of every EROS container; the root filesystem is
read-only.
*/}}
{{- define "eros.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end }}

{{- define "eros.tmpVolumeMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}

{{/*
The namespaces the operator serves and needs namespaced RBAC in; empty when
it serves every namespace.
*/}}
{{- define "eros.operator.namespaces" -}}
{{- if not .Values.operator.watchAllNamespaces }}
{{- $namespaces := .Values.operator.watchNamespaces | default (list .Release.Namespace) }}
{{- toJson (uniq $namespaces) }}
{{- else }}
{{- toJson list }}
{{- end }}
{{- end }}

{{/*
Checks that values cannot express in values.schema.json; a failure stops
`helm install` with a message naming the value to set.
*/}}
{{- define "eros.validateValues" -}}
{{- if not (or .Values.postgresql.enabled .Values.externalDatabase.existingSecret .Values.externalDatabase.url) }}
{{- fail "\n\nEROS needs PostgreSQL: set externalDatabase.url, or externalDatabase.existingSecret (a Secret holding the URL), or postgresql.enabled=true for a trial database in the cluster." }}
{{- end }}
{{- if not (or .Values.redis.enabled .Values.externalRedis.existingSecret .Values.externalRedis.url) }}
{{- fail "\n\nEROS needs Redis: set externalRedis.url, or externalRedis.existingSecret (a Secret holding the URL), or redis.enabled=true for a trial Valkey in the cluster." }}
{{- end }}
{{- $previous := 0 }}
{{- range .Values.config.phaseIdleSeconds }}
{{- if le (int .) $previous }}
{{- fail "\n\nconfig.phaseIdleSeconds must be strictly increasing, for example [600, 1800, 3600]." }}
{{- end }}
{{- $previous = int . }}
{{- end }}
{{- if and .Values.api.autoscaling.enabled (not (or .Values.api.autoscaling.targetCPUUtilizationPercentage .Values.api.autoscaling.targetMemoryUtilizationPercentage)) }}
{{- fail "\n\napi.autoscaling needs a target: set targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage above 0." }}
{{- end }}
{{- with .Values.erosProcessing }}
{{- $names := list }}
{{- range .phases }}
{{- if gt (int .minReplicas) (int .maxReplicas) }}
{{- fail (printf "\n\nerosProcessing.phases: %s has minReplicas above maxReplicas." .name) }}
{{- end }}
{{- $names = append $names .name }}
{{- end }}
{{- if ne (len (uniq $names)) (len $names) }}
{{- fail "\n\nerosProcessing.phases: the phase names must differ." }}
{{- end }}
{{- if and .priority (or (ne (len .priority) (len $names)) (ne (len (uniq .priority)) (len $names)) (not (eq (sortAlpha .priority | toJson) (sortAlpha $names | toJson)))) }}
{{- fail "\n\nerosProcessing.priority must be empty or list every phase name exactly once." }}
{{- end }}
{{- if eq .offPeak.start .offPeak.end }}
{{- fail "\n\nerosProcessing.offPeak.start and end must differ." }}
{{- end }}
{{- end }}
{{- if and .Values.operator.watchAllNamespaces .Values.operator.watchNamespaces }}
{{- fail "\n\nSet either operator.watchAllNamespaces or operator.watchNamespaces, not both." }}
{{- end }}
{{- end }}
