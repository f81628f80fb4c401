{{/*
The rules the operator needs wherever it serves ErosProcessing resources,
shared by the namespaced Roles and the cluster-wide ClusterRole.
*/}}
{{- define "eros.operator.namespacedRules" -}}
# Only the verbs the operator sends (an audit of a full run lists no others):
# kopf lists and watches, merge- and JSON-patches, and posts Events; it never
# gets a single object or replaces one with update.
# Its custom resources: kopf watches them and patches finalizers and its
# progress annotations onto them.
- apiGroups: ["eros.dev"]
  resources: ["erosprocessings"]
  verbs: ["list", "watch", "patch"]
# Their status: idle users, replicas and conditions per phase, merge-patched.
- apiGroups: ["eros.dev"]
  resources: ["erosprocessings/status"]
  verbs: ["patch"]
# The per-phase worker Deployments: kopf's index lists and watches them, the
# operator reads one before it patches, scales or deletes it.
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# Events about scaling and handler errors, shown by `kubectl describe`; kopf
# posts a new one each time and never patches an old one.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
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
