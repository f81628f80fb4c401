{{/*
The rules the operator needs wherever it serves ErosProcessing resources,
shared by the namespaced Roles and the cluster-wide ClusterRole.
*/}}
{{- define "eros.operator.namespacedRules" -}}
# Its custom resources: kopf watches them and patches finalizers and its
# progress annotations onto them.
- apiGroups: ["eros.dev"]
  resources: ["erosprocessings"]
  verbs: ["get", "list", "watch", "patch", "update"]
# Their status: idle users, replicas and conditions per phase.
- apiGroups: ["eros.dev"]
  resources: ["erosprocessings/status"]
  verbs: ["get", "patch", "update"]
# The per-phase worker Deployments it creates, scales and deletes.
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["create", "get", "list", "watch", "patch", "update", "delete"]
# Events about scaling and handler errors, shown by `kubectl describe`.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
# The Redis URL each ErosProcessing names in spec.redis.secretRef, where the
# operator reads the metrics from: only these Secrets, only by name.
- apiGroups: [""]
  resources: ["secrets"]
  resourceNames: {{ include "eros.operator.secretNames" . }}
  verbs: ["get"]
{{- end }}

{{/*
The Secrets the operator may read: the chart's Redis Secret (the default
ErosProcessing's secretRef) and operator.redisSecretNames, as a JSON list.
*/}}
{{- define "eros.operator.secretNames" -}}
{{- $default := index (splitList "/" (include "eros.redisUrlRef" .)) 0 }}
{{- prepend .Values.operator.redisSecretNames $default | uniq | toJson }}
{{- end }}
