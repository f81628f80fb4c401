"""The ErosProcessing resources' status for `eros status`: what the operator last wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubernetes import client, config

from eros.operator.spec import GROUP, PLURAL, VERSION

# A status line must not wait on a far cluster for long.
REQUEST_TIMEOUT_SECONDS = 5.0


def read_resources(kubeconfig: Path) -> list[dict[str, Any]]:
    """Every ErosProcessing the kubeconfig's user may list, in every namespace."""
    api = config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
    try:
        listing: Any = client.CustomObjectsApi(api).list_cluster_custom_object(
            GROUP, VERSION, PLURAL, _request_timeout=REQUEST_TIMEOUT_SECONDS
        )
    finally:
        api.close()
    return [summarise(item) for item in listing.get("items", [])]


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
