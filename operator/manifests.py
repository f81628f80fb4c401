"""Pure builders of the objects the operator owns: one worker Deployment per phase."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eros.core.settings import DEFAULT_METRICS_PORT
from eros.operator.quantity import QuantityError, cpu_millicores
from eros.operator.spec import API_VERSION, KIND, PhaseSpec, ProcessingSpec
from eros.operator.status import DeploymentState

APP_NAME = "eros"
OPERATOR_NAME = "eros-operator"
WORKER_COMPONENT = "worker"
CONTAINER_NAME = "worker"

LABEL_NAME = "app.kubernetes.io/name"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_PHASE = "eros.dev/phase"
ANNOTATION_TEMPLATE_HASH = "eros.dev/template-hash"

# At most one worker too many or too few while a template rolls out: a surge would
# briefly run a phase over its CPU budget.
ROLLING_UPDATE = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
REVISION_HISTORY_LIMIT = 3
TMP_VOLUME = "tmp"

# A worker serves /metrics, /healthz and /readyz on this port (`eros.pipeline.server`); the
# operator pins it, so that the container port, the probes and the PodMonitor agree.
METRICS_PORT = DEFAULT_METRICS_PORT
METRICS_PORT_NAME = "metrics"
METRICS_PORT_ENV = "EROS_WORKER_METRICS_PORT"
LIVENESS_PATH = "/healthz"
READINESS_PATH = "/readyz"
# Liveness: the worker's loop renews its heartbeat at least every few minutes, and
# `/healthz` already allows for that, so a few failed probes in a row mean it is stuck.
LIVENESS_INITIAL_DELAY_SECONDS = 10
LIVENESS_PERIOD_SECONDS = 10
LIVENESS_TIMEOUT_SECONDS = 3
LIVENESS_FAILURE_THRESHOLD = 6
# Readiness: a worker asked to stop turns unready within one period, so that a rollout
# and the operator's ready-replica count no longer count it while it drains.
READINESS_INITIAL_DELAY_SECONDS = 2
READINESS_PERIOD_SECONDS = 5
READINESS_TIMEOUT_SECONDS = 3
READINESS_FAILURE_THRESHOLD = 1


@dataclass(frozen=True)
class Owner:
    """The ErosProcessing that owns the Deployments."""

    name: str
    namespace: str
    uid: str

    def reference(self) -> dict[str, Any]:
        return {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


def deployment_name(owner_name: str, phase_number: int) -> str:
    return f"{owner_name}-phase-{phase_number}"


def selector_labels(owner_name: str, phase_number: int) -> dict[str, str]:
    """The immutable selector of a phase's Deployment."""
    return {
        LABEL_NAME: APP_NAME,
        LABEL_INSTANCE: owner_name,
        LABEL_COMPONENT: WORKER_COMPONENT,
        LABEL_PHASE: str(phase_number),
    }


def worker_labels(owner_name: str, phase_number: int) -> dict[str, str]:
    return {
        **selector_labels(owner_name, phase_number),
        LABEL_PART_OF: APP_NAME,
        LABEL_MANAGED_BY: OPERATOR_NAME,
    }


def _env(spec: ProcessingSpec) -> list[dict[str, Any]]:
    # The workers read the same EROS_* settings as every process; these keep their
    # queues and thresholds in line with the resource, and the user's own entries win.
    ours: list[dict[str, Any]] = [
        {
            "name": "EROS_REDIS_URL",
            "valueFrom": {"secretKeyRef": {"name": spec.redis.name, "key": spec.redis.key}},
        },
        {"name": "EROS_PHASE_QUEUES", "value": json.dumps([p.queue for p in spec.phases])},
        {"name": "EROS_PHASE_IDLE_SECONDS", "value": json.dumps(spec.idle_thresholds_seconds)},
    ]
    theirs = [dict(item) for item in spec.worker.env if item.get("name") != METRICS_PORT_ENV]
    overridden = {item.get("name") for item in theirs}
    pinned = {"name": METRICS_PORT_ENV, "value": str(METRICS_PORT)}
    return [item for item in ours if item["name"] not in overridden] + theirs + [pinned]


def _probe(path: str, initial: int, period: int, timeout: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": METRICS_PORT_NAME},
        "initialDelaySeconds": initial,
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failures,
    }


def build_pod_template(owner: Owner, spec: ProcessingSpec, phase: PhaseSpec) -> dict[str, Any]:
    worker = spec.worker
    resources = {"cpu": phase.cpu_per_worker, "memory": phase.memory_per_worker}
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": worker.image,
        "imagePullPolicy": worker.image_pull_policy,
        "command": ["eros"],
        "args": ["worker", "--phase", str(phase.number)],
        "env": _env(spec),
        "ports": [{"name": METRICS_PORT_NAME, "containerPort": METRICS_PORT, "protocol": "TCP"}],
        "livenessProbe": _probe(
            LIVENESS_PATH,
            LIVENESS_INITIAL_DELAY_SECONDS,
            LIVENESS_PERIOD_SECONDS,
            LIVENESS_TIMEOUT_SECONDS,
            LIVENESS_FAILURE_THRESHOLD,
        ),
        "readinessProbe": _probe(
            READINESS_PATH,
            READINESS_INITIAL_DELAY_SECONDS,
            READINESS_PERIOD_SECONDS,
            READINESS_TIMEOUT_SECONDS,
            READINESS_FAILURE_THRESHOLD,
        ),
        "resources": {"requests": dict(resources), "limits": dict(resources)},
        "securityContext": dict(worker.security_context),
        "volumeMounts": [{"name": TMP_VOLUME, "mountPath": "/tmp"}],
    }
    if worker.env_from:
        container["envFrom"] = [dict(item) for item in worker.env_from]
    pod_spec: dict[str, Any] = {
        "containers": [container],
        "terminationGracePeriodSeconds": worker.termination_grace_period_seconds,
        "securityContext": dict(worker.pod_security_context),
        "volumes": [{"name": TMP_VOLUME, "emptyDir": {}}],
    }
    optional: Mapping[str, Any] = {
        "serviceAccountName": worker.service_account_name,
        "priorityClassName": worker.priority_class_name,
        "nodeSelector": dict(worker.node_selector),
        "tolerations": [dict(t) for t in worker.tolerations],
        "affinity": dict(worker.affinity),
        "imagePullSecrets": [{"name": name} for name in worker.image_pull_secrets],
    }
    pod_spec.update({key: value for key, value in optional.items() if value})
    metadata: dict[str, Any] = {
        "labels": {**worker.pod_labels, **worker_labels(owner.name, phase.number)}
    }
    if worker.pod_annotations:
        metadata["annotations"] = dict(worker.pod_annotations)
    return {"metadata": metadata, "spec": pod_spec}


def template_hash(template: Mapping[str, Any]) -> str:
    """A digest of what the operator manages in a Deployment, to skip no-op patches."""
    canonical = json.dumps(
        {"template": template, "strategy": ROLLING_UPDATE}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def desired_template_hash(owner: Owner, spec: ProcessingSpec, phase: PhaseSpec) -> str:
    """The template hash a phase's Deployment carries once it matches the spec."""
    return template_hash(build_pod_template(owner, spec, phase))


def observe_deployment(body: Mapping[str, Any]) -> DeploymentState:
    """What a tick needs of a worker Deployment as the API serves it."""
    metadata = body.get("metadata") or {}
    spec = body.get("spec") or {}
    pod_spec = (spec.get("template") or {}).get("spec") or {}
    cpu = 0
    for container in pod_spec.get("containers") or []:
        if container.get("name") == CONTAINER_NAME:
            requests = (container.get("resources") or {}).get("requests") or {}
            try:
                cpu = cpu_millicores(requests.get("cpu", 0))
            except QuantityError:  # edited by hand into nonsense: it holds no known CPU
                cpu = 0
    return DeploymentState(
        name=str(metadata.get("name") or ""),
        replicas=int(spec.get("replicas") or 0),
        ready_replicas=int((body.get("status") or {}).get("readyReplicas") or 0),
        cpu_millicores=cpu,
        template_hash=str((metadata.get("annotations") or {}).get(ANNOTATION_TEMPLATE_HASH, "")),
    )


def build_worker_deployment(
    owner: Owner, spec: ProcessingSpec, phase: PhaseSpec, replicas: int
) -> dict[str, Any]:
    """The Deployment of one phase's workers, owned by the ErosProcessing."""
    template = build_pod_template(owner, spec, phase)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": deployment_name(owner.name, phase.number),
            "namespace": owner.namespace,
            "labels": worker_labels(owner.name, phase.number),
            "annotations": {ANNOTATION_TEMPLATE_HASH: template_hash(template)},
            "ownerReferences": [owner.reference()],
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector_labels(owner.name, phase.number)},
            "strategy": ROLLING_UPDATE,
            "revisionHistoryLimit": REVISION_HISTORY_LIMIT,
            "template": template,
        },
    }


def build_template_patch(
    desired: Mapping[str, Any], existing: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """A JSON patch that brings an existing Deployment's managed parts to `desired`.

    The pod template is replaced whole, so that fields dropped from the resource are
    dropped from the pods too; labels, annotations and owner references are merged, so
    that what others put there stays. Replicas are left alone: the scaler owns them.
    """
    meta = existing.get("metadata") or {}
    want_meta = desired["metadata"]
    owners = [dict(ref) for ref in meta.get("ownerReferences") or []]
    mine = want_meta["ownerReferences"][0]
    if not any(ref.get("uid") == mine["uid"] for ref in owners):
        owners.append(mine)
    ops: list[dict[str, Any]] = []
    version = meta.get("resourceVersion")
    if version:
        # Optimistic concurrency: the merged lists above are only right for this version.
        ops.append({"op": "test", "path": "/metadata/resourceVersion", "value": version})
    ops += [
        {
            "op": "add",
            "path": "/metadata/labels",
            "value": {**(meta.get("labels") or {}), **want_meta["labels"]},
        },
        {
            "op": "add",
            "path": "/metadata/annotations",
            "value": {**(meta.get("annotations") or {}), **want_meta["annotations"]},
        },
        {"op": "add", "path": "/metadata/ownerReferences", "value": owners},
        {"op": "add", "path": "/spec/strategy", "value": desired["spec"]["strategy"]},
        {
            "op": "add",
            "path": "/spec/revisionHistoryLimit",
            "value": desired["spec"]["revisionHistoryLimit"],
        },
        {"op": "add", "path": "/spec/template", "value": desired["spec"]["template"]},
    ]
    return ops


def needs_template_patch(desired: Mapping[str, Any], existing: Mapping[str, Any]) -> bool:
    meta = existing.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    want_hash = desired["metadata"]["annotations"][ANNOTATION_TEMPLATE_HASH]
    owned = any(
        ref.get("uid") == desired["metadata"]["ownerReferences"][0]["uid"]
        for ref in meta.get("ownerReferences") or []
    )
    labelled = all(
        (meta.get("labels") or {}).get(key) == value
        for key, value in desired["metadata"]["labels"].items()
    )
    return not (owned and labelled and annotations.get(ANNOTATION_TEMPLATE_HASH) == want_hash)


def controller_uid(existing: Mapping[str, Any]) -> str | None:
    """The uid of the object that controls `existing`, if any."""
    for ref in (existing.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref.get("uid"))
    return None
