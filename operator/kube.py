"""The few Kubernetes API calls the operator makes, over the official (blocking) client.

Kopf keeps its own connection for watching; these calls run in worker threads. Objects
are passed and returned as plain dicts (the JSON of the API), the same shape as the
manifests builders make.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import kubernetes
from kubernetes.client import ApiClient, ApiException, AppsV1Api, CoreV1Api, CustomObjectsApi

from eros.operator.manifests import (
    build_template_patch,
    controller_uid,
    needs_template_patch,
)
from eros.operator.spec import GROUP, PLURAL, VERSION

logger = logging.getLogger(__name__)

HTTP_FORBIDDEN = 403
HTTP_NOT_FOUND = 404
HTTP_CONFLICT = 409
HTTP_UNPROCESSABLE = 422
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
# A single slow call must not stall a tick for long; the next tick retries.
REQUEST_TIMEOUT_SECONDS = 10.0


class Ensured(StrEnum):
    CREATED = "created"
    PATCHED = "patched"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class EnsureResult:
    outcome: Ensured
    replicas: int  # of the Deployment as created or found


class SecretUnavailable(Exception):
    """The Redis Secret or its key does not exist (yet)."""

    reason = "SecretUnavailable"


class SecretForbidden(SecretUnavailable):
    """The operator's ServiceAccount may not read the Redis Secret (RBAC)."""

    reason = "SecretForbidden"


class OwnershipConflict(Exception):
    """A Deployment of the expected name exists but belongs to something else."""


def load_api_client() -> ApiClient:
    """A client authenticated like kopf: in-cluster service account, else kubeconfig."""
    configuration = kubernetes.client.Configuration()
    try:
        kubernetes.config.load_incluster_config(  # type: ignore[no-untyped-call]
            client_configuration=configuration
        )
    except kubernetes.config.ConfigException:
        # KUBECONFIG is read now, not at import, so that a later change is honoured.
        kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=os.environ.get("KUBECONFIG"), client_configuration=configuration
        )
    return ApiClient(configuration)


def _call(method: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """One API call, answered as the JSON the server sent.

    The client's models would validate every response with pydantic: slower, and a
    Deployment missing a field the models require would fail the whole tick.
    """
    response = method(
        *args, _preload_content=False, _request_timeout=REQUEST_TIMEOUT_SECONDS, **kwargs
    )
    try:
        body = response.data
    finally:
        response.release_conn()
    decoded = json.loads(body) if body else {}
    return dict(decoded) if isinstance(decoded, Mapping) else {}


class Kube:
    """The operator's calls, each one request, raising ApiException on failure."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api
        self.apps = AppsV1Api(api)
        self.core = CoreV1Api(api)
        self.custom = CustomObjectsApi(api)

    def close(self) -> None:
        self.api.close()  # type: ignore[no-untyped-call]

    def read_secret_value(self, namespace: str, name: str, key: str) -> str:
        try:
            secret = _call(self.core.read_namespaced_secret, name, namespace)
        except ApiException as error:
            if error.status == HTTP_NOT_FOUND:
                raise SecretUnavailable(f"Secret {namespace}/{name} does not exist.") from error
            if error.status == HTTP_FORBIDDEN:
                # Not a passing failure: retrying every few seconds would hide it from the
                # resource's status, so it is reported like a missing Secret, with the fix.
                raise SecretForbidden(
                    f"The operator's ServiceAccount may not get Secret {namespace}/{name}; "
                    "grant get on it (the chart grants it to the Secrets listed in "
                    "operator.redisSecretNames, besides its own Redis Secret)."
                ) from error
            raise
        data = secret.get("data") or {}
        if key not in data:
            raise SecretUnavailable(f"Secret {namespace}/{name} has no key {key!r}.")
        try:
            return base64.b64decode(data[key]).decode().strip()
        except (binascii.Error, UnicodeDecodeError) as error:
            raise SecretUnavailable(
                f"Key {key!r} of Secret {namespace}/{name} is not text."
            ) from error

    def read_deployment(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return _call(self.apps.read_namespaced_deployment, name, namespace)
        except ApiException as error:
            if error.status == HTTP_NOT_FOUND:
                return None
            raise

    def ensure_deployment(self, desired: Mapping[str, Any]) -> EnsureResult:
        """Create the Deployment if absent, else bring its template in line; never its replicas."""
        meta = desired["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        # Read first: the Deployment exists on every call but the first, and a create
        # answered 409 would cost a wasted request before the read.
        existing = self.read_deployment(namespace, name)
        if existing is None:
            try:
                _call(self.apps.create_namespaced_deployment, namespace, dict(desired))
                return EnsureResult(Ensured.CREATED, int(desired["spec"]["replicas"]))
            except ApiException as error:
                if error.status != HTTP_CONFLICT:
                    raise
            existing = self.read_deployment(namespace, name)  # created meanwhile by another
            if existing is None:  # and deleted again: the next call creates it
                return EnsureResult(Ensured.UNCHANGED, 0)
        replicas = int((existing.get("spec") or {}).get("replicas") or 0)
        owner_uid = meta["ownerReferences"][0]["uid"]
        controller = controller_uid(existing)
        if controller is not None and controller != owner_uid:
            raise OwnershipConflict(
                f"Deployment {namespace}/{name} is controlled by another object ({controller})."
            )
        selector = (existing.get("spec") or {}).get("selector")
        if selector and selector != desired["spec"]["selector"]:
            raise OwnershipConflict(
                f"Deployment {namespace}/{name} has another selector, which cannot be changed; "
                "delete it to let the operator recreate it."
            )
        if not needs_template_patch(desired, existing):
            return EnsureResult(Ensured.UNCHANGED, replicas)
        _call(
            self.apps.patch_namespaced_deployment,
            name,
            namespace,
            build_template_patch(desired, existing),
            _content_type=JSON_PATCH,
        )
        return EnsureResult(Ensured.PATCHED, replicas)

    def scale_deployment(self, namespace: str, name: str, replicas: int) -> None:
        _call(
            self.apps.patch_namespaced_deployment,
            name,
            namespace,
            {"spec": {"replicas": replicas}},
            _content_type=MERGE_PATCH,
        )

    def delete_deployment(self, namespace: str, name: str, owner_uid: str) -> bool:
        """Delete a Deployment the owner controls; False if it is gone or not the owner's."""
        existing = self.read_deployment(namespace, name)
        if existing is None:
            return False
        if controller_uid(existing) != owner_uid:
            logger.warning(
                "Deployment %s/%s is not controlled by this resource; leaving it.", namespace, name
            )
            return False
        try:
            _call(
                self.apps.delete_namespaced_deployment,
                name,
                namespace,
                propagation_policy="Background",
            )
        except ApiException as error:
            if error.status == HTTP_NOT_FOUND:
                return False
            raise
        return True

    def patch_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        _call(
            self.custom.patch_namespaced_custom_object_status,
            GROUP,
            VERSION,
            namespace,
            PLURAL,
            name,
            {"status": dict(status)},
            _content_type=MERGE_PATCH,
        )
