"""The ErosProcessing resources' status for `eros status`: what the operator last wrote."""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

from kubernetes import client, config
from kubernetes.client import ApiException

from eros.operator.spec import GROUP, PLURAL, VERSION

# A status line must not wait on a far cluster for long.
REQUEST_TIMEOUT_SECONDS = 5.0
DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True, slots=True)
class ResourceListing:
    items: list[dict[str, Any]]
    # None: every namespace; else the one namespace the user may list them in.
    namespace: str | None = None


def read_resources(kubeconfig: Path) -> ResourceListing:
    """Every ErosProcessing the kubeconfig's user may list: in every namespace or, when the
    cluster-wide list is forbidden (a namespaced Role), in the current context's namespace,
    as kubectl would. Raises the API server's refusal when that is forbidden too."""
    api = config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
    custom = client.CustomObjectsApi(api)
    namespace = None
    try:
        try:
            listing: Any = custom.list_cluster_custom_object(
                GROUP, VERSION, PLURAL, _request_timeout=REQUEST_TIMEOUT_SECONDS
            )
        except ApiException as exc:
            if exc.status != HTTPStatus.FORBIDDEN:
                raise
            namespace = context_namespace(kubeconfig)
            listing = custom.list_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, _request_timeout=REQUEST_TIMEOUT_SECONDS
            )
    finally:
        api.close()
    return ResourceListing([summarise(item) for item in listing.get("items", [])], namespace)


def context_namespace(kubeconfig: Path) -> str:
    """The current context's namespace, `default` when it names none (kubectl's rule)."""
    _, current = config.list_kube_config_contexts(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
    namespace = (current or {}).get("context", {}).get("namespace")
    return str(namespace) if namespace else DEFAULT_NAMESPACE


def summarise(item: dict[str, Any]) -> dict[str, Any]:
    meta, status = item.get("metadata", {}), item.get("status") or {}
    return {
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "generation": meta.get("generation"),
        "observedGeneration": status.get("observedGeneration"),
        "idleUsers": status.get("idleUsers"),
        "desiredReplicas": status.get("desiredReplicas", 0),
        "readyReplicas": status.get("readyReplicas", 0),
        "cpuAllocated": status.get("cpuAllocated"),
        "lastScaleTime": status.get("lastScaleTime"),
        "phases": status.get("phases") or [],
        "conditions": [
            {k: c.get(k) for k in ("type", "status", "reason", "message")}
            for c in status.get("conditions") or []
        ],
    }
