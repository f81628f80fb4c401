"""A Kubernetes API mock (kmock) that behaves enough like an API server for kopf, and a
way to run the real operator against it; shared by the operator tests and bench/operator.py.

kmock stores and watches objects like Kubernetes, but nothing else happens: no defaulting,
no garbage collection, no Deployment controller. `Emulator` adds the bookkeeping kopf
relies on.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import threading
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp.test_utils
import kmock
import kopf
import yaml

from eros.operator import handlers  # noqa: F401 - registers the handlers with kopf
from eros.operator.run import kopf_arguments
from eros.operator.runtime import OperatorOptions
from tests.operator.helpers import NAME, NAMESPACE, eventually

EROSPROCESSINGS = "eros.dev/v1alpha1/erosprocessings"
DEPLOYMENTS = "apps/v1/deployments"
SECRETS = "v1/secrets"
EVENTS = "v1/events"
REDIS_SECRET = "eros-redis"
REDIS_SECRET_KEY = "redis-url"
OPERATOR_STOP_SECONDS = 20.0
# The mock's watch streams never end by themselves; do not wait for them on teardown.
SERVER_SHUTDOWN_SECONDS = 0.1


class Emulator(kmock.KubernetesEmulator):
    """kmock's emulator, plus the bookkeeping of a real API server that kopf relies on.

    Every write gets a new metadata.resourceVersion (and JSON patches that test an old one
    fail with 422, as optimistic concurrency does); spec changes bump metadata.generation;
    creations get their namespace from the URL, a uid, a creationTimestamp, and a name
    from metadata.generateName.
    """

    _last_version: int = 0

    def _next_version(self) -> str:
        self._last_version += 1
        return str(self._last_version)

    async def _handle(self, request: kmock.Request) -> Any:
        if request.resource is not None and request.action == kmock.action.CREATE:
            self._stamp_creation(request)
        elif request.resource is not None and request.action == kmock.action.UPDATE:
            self._stamp_update(request)
        return await super()._handle(request)

    def _stamp_creation(self, request: kmock.Request) -> None:
        if not isinstance(request.data, dict):
            return
        meta = request.data.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = f"{meta['generateName']}{uuid.uuid4().hex[:8]}"
        if request.namespace:
            meta.setdefault("namespace", request.namespace)
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
        meta.setdefault("generation", 1)
        meta["resourceVersion"] = self._next_version()

    def _stamp_update(self, request: kmock.Request) -> None:
        if request.resource is None or request.name is None:
            return
        try:
            stored = self.objects[request.resource, request.namespace, request.name]
        except KeyError:
            return  # the emulator answers 404
        if stored.deleted:
            return
        meta = dict(stored.raw.get("metadata") or {})
        version = self._next_version()
        generation = int(meta.get("generation") or 1)
        if isinstance(request.data, list):
            stale = [
                op
                for op in request.data
                if op.get("op") == "test"
                and op.get("path") == "/metadata/resourceVersion"
                and op.get("value") != meta.get("resourceVersion")
            ]
            if stale:
                raise kmock.KubernetesError(
                    status=422, reason="Invalid", message="resourceVersion test failed"
                )
            touches_spec = any(str(op.get("path", "")).startswith("/spec") for op in request.data)
            request.data.append(
                {"op": "add", "path": "/metadata/resourceVersion", "value": version}
            )
            if touches_spec and request.subresource is None:
                request.data.append(
                    {"op": "add", "path": "/metadata/generation", "value": generation + 1}
                )
        elif isinstance(request.data, dict):
            patch_meta = request.data.setdefault("metadata", {})
            patch_meta["resourceVersion"] = version
            if "spec" in request.data and request.subresource is None:
                patch_meta["generation"] = generation + 1


class QuickServer(aiohttp.test_utils.RawTestServer):
    """The mock's HTTP server, which does not wait for open watch streams when it stops."""

    async def start_server(
        self, loop: asyncio.AbstractEventLoop | None = None, **kwargs: Any
    ) -> None:
        await super().start_server(loop=loop, **kwargs)
        # aiohttp offers no public way to set a test server's shutdown timeout.
        assert self.runner is not None
        self.runner._shutdown_timeout = SERVER_SHUTDOWN_SECONDS


class Cluster:
    """The mock API as the tests use it: requests go over HTTP, so that watches see them."""

    def __init__(self, api: kmock.KubernetesEmulator) -> None:
        self.api = api

    @staticmethod
    def _path(resource: str, name: str | None = None) -> str:
        group_version, plural = resource.rsplit("/", 1)
        root = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
        path = f"{root}/namespaces/{NAMESPACE}/{plural}"
        return f"{path}/{name}" if name else path

    async def create(self, resource: str, body: Mapping[str, Any]) -> None:
        response = await self.api.post(self._path(resource), json=dict(body))
        assert response.status < 300, await response.text()

    async def patch(self, resource: str, name: str, patch: Mapping[str, Any]) -> None:
        response = await self.api.patch(self._path(resource, name), json=dict(patch))
        assert response.status < 300, await response.text()

    async def delete(self, resource: str, name: str) -> None:
        response = await self.api.delete(self._path(resource, name))
        assert response.status < 300, await response.text()

    def get(self, resource: str, name: str) -> dict[str, Any] | None:
        try:
            found = self.api.objects[resource, NAMESPACE, name]
        except KeyError:
            return None
        return None if found.deleted else dict(found.raw)

    def exists(self, resource: str, name: str) -> bool:
        return self.get(resource, name) is not None

    def replicas(self, deployment: str) -> int | None:
        found = self.get(DEPLOYMENTS, deployment)
        return None if found is None else int(found["spec"]["replicas"])

    def status(self, name: str = NAME) -> dict[str, Any]:
        found = self.get(EROSPROCESSINGS, name) or {}
        return dict(found.get("status") or {})

    def condition(self, kind: str, name: str = NAME) -> dict[str, Any]:
        for condition in self.status(name).get("conditions") or []:
            if condition["type"] == kind:
                return dict(condition)
        return {}

    async def add_redis_secret(self, url: str) -> None:
        """The Secret the default ErosProcessing reads its Redis URL from."""
        encoded = base64.b64encode(url.encode()).decode()
        await self.create(
            SECRETS, {"metadata": {"name": REDIS_SECRET}, "data": {REDIS_SECRET_KEY: encoded}}
        )

    def events(self) -> list[dict[str, Any]]:
        return [
            dict(obj.raw)
            for (resource, _, _), obj in list(self.api.objects.items())
            if resource == EVENTS and not obj.deleted
        ]


@contextlib.asynccontextmanager
async def mock_api(emulator: type[Emulator] = Emulator) -> AsyncIterator[Emulator]:
    """The mock API server, serving the resources the operator uses."""
    async with emulator() as api, kmock.Server(api, server_cls=QuickServer):
        api.resources[EROSPROCESSINGS] = kmock.ResourceInfo(
            kind="ErosProcessing",
            namespaced=True,
            subresources={"status"},
            verbs={"get", "list", "watch", "patch", "create", "delete"},
        )
        api.resources[DEPLOYMENTS] = kmock.ResourceInfo(
            kind="Deployment",
            namespaced=True,
            subresources={"status", "scale"},
            verbs={"get", "list", "watch", "patch", "create", "delete"},
        )
        api.resources[SECRETS] = kmock.ResourceInfo(
            kind="Secret", namespaced=True, verbs={"get", "list", "create"}
        )
        api.resources[EVENTS] = kmock.ResourceInfo(
            kind="Event", namespaced=True, verbs={"create", "patch", "list"}
        )
        # Kopf's discovery waits for these cluster-level resources to exist, even when it
        # does not scan them (scanning is off for a namespaced operator).
        api.resources["v1/namespaces"] = kmock.ResourceInfo(
            kind="Namespace", namespaced=False, verbs={"get", "list", "watch"}
        )
        api.resources["apiextensions.k8s.io/v1/customresourcedefinitions"] = kmock.ResourceInfo(
            kind="CustomResourceDefinition", namespaced=False, verbs={"get", "list", "watch"}
        )
        yield api


def write_kubeconfig(api: kmock.KubernetesEmulator, path: Path) -> Path:
    """A kubeconfig pointing at the mock, for both kopf and the operator's client."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "mock", "cluster": {"server": str(api.url).rstrip("/")}}],
        "users": [{"name": "tester", "user": {"token": "test-token"}}],
        "contexts": [
            {
                "name": "mock",
                "context": {"cluster": "mock", "user": "tester", "namespace": NAMESPACE},
            }
        ],
        "current-context": "mock",
    }
    path.write_text(yaml.safe_dump(config))
    return path


@contextlib.asynccontextmanager
async def running_operator(options: OperatorOptions) -> AsyncIterator[None]:
    """The real kopf operator with the EROS handlers, until the block ends.

    It runs in a thread with its own event loop, as in production it has its own process:
    kopf then neither sees the mock server's tasks nor takes the test's signal handlers.
    """
    stop = threading.Event()
    ready = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(kopf.operator(**kopf_arguments(options), stop_flag=stop, ready_flag=ready))
        except BaseException as error:
            failure.append(error)

    thread = threading.Thread(target=run, name=f"kopf-{options.priority}", daemon=True)
    thread.start()
    await eventually(lambda: ready.is_set() or not thread.is_alive())
    try:
        yield
    finally:
        stop.set()
        await asyncio.to_thread(thread.join, OPERATOR_STOP_SECONDS)
    assert not thread.is_alive(), "the operator did not stop"
    if failure:
        raise failure[0]
