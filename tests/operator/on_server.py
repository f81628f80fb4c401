"""The operator end to end on a real API server: what tests/operator/test_operator_on_server.py
sets up and reads.

- `install_operator_rbac`: the chart's operator ServiceAccount, Role, RoleBinding and
  KopfPeering, rendered for a fresh namespace and applied as the admin; nothing else of
  the chart, so that every permission the operator has comes from that Role.
- `Activity`: idle users and queued jobs, written by the project's own writers (the
  heartbeat's `record_heartbeat`, the scheduler's `Enqueuer`, the halting of a returning
  user), never as hand-made Redis keys.
- `Server`: the objects the test reads and edits, as the admin, through the official
  client; and the operator process, started under the ServiceAccount's token.
- `audit_requests` and `Grants`: the requests the apiserver's audit log holds for the
  ServiceAccount, and what the rendered Role grants, to compare the two.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aredis
from kubernetes.client import ApiClient, ApiException, AppsV1Api, CoreV1Api, CustomObjectsApi

from eros.core.activity import record_heartbeat
from eros.core.phases import Phase
from eros.core.redis_client import sync_redis
from eros.core.settings import Settings
from eros.operator.quantity import cpu_millicores
from eros.pipeline.queue import Enqueuer
from tests.charts.chart import Rendering
from tests.control_plane import ControlPlane, service_account_user
from tests.operator_process import OperatorProcess, eventually
from tests.pipeline.fixtures import halt_jobs

GROUP = "eros.dev"
VERSION = "v1alpha1"
PLURAL = "erosprocessings"
MERGE_PATCH = "application/merge-patch+json"
OPERATOR_ACCOUNT = "eros-operator"
OPERATOR_KINDS = ("ServiceAccount", "Role", "RoleBinding", "KopfPeering")
logger = logging.getLogger(__name__)

# Long enough for a slow machine, for the operator's start and for kopf's /healthz,
# which re-runs its probes at most every 10 s; none of these is a speed requirement.
WAIT_SECONDS = 40.0
# The thresholds the resource and the writers share (the defaults: 10 min, 30 min, 1 h),
# and how long ago a user of each phase was last active: well inside the phase.
PHASE_IDLE_SECONDS = (600, 1800, 3600)
IDLE_FOR_MS = {Phase.LIGHT: 15 * 60_000, Phase.MEDIUM: 45 * 60_000, Phase.DEEP: 2 * 3_600_000}
TEST_JWT_SECRET = "on-server-test-secret-that-is-long-enough-0123456789"
# The embedded Valkey is shared by the session; these figures live in their own database.
REDIS_DATABASE = 7


def dedicated_database(url: str, number: int = REDIS_DATABASE) -> str:
    """The same Redis, another logical database."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{number}"))


def now_ms() -> int:
    return int(time.time() * 1000)


class Activity:
    """Idle users and their jobs, written exactly as the API and the scheduler write them."""

    def __init__(self, url: str, queues: Sequence[str]) -> None:
        self.url = url
        self.settings = Settings(
            environment="test",
            redis_url=url,
            jwt_secret=TEST_JWT_SECRET,
            phase_idle_seconds=list(PHASE_IDLE_SECONDS),
            phase_queues=list(queues),
            _env_file=None,
        )

    def flush(self) -> None:
        with sync_redis(self.url) as client:
            client.flushdb()

    def idle_users(self, phase: Phase, count: int, *, with_jobs: bool) -> list[uuid.UUID]:
        """`count` users whose last heartbeat lies well inside `phase`; with their phase's
        jobs if `with_jobs`, enqueued as the scheduler does when they cross its threshold."""
        users = [uuid.uuid4() for _ in range(count)]
        since = now_ms() - IDLE_FOR_MS[phase]
        asyncio.run(self._heartbeats(users, since))
        if with_jobs:
            with sync_redis(self.url) as client:
                counts = Enqueuer(client, self.settings).enqueue(
                    phase, [(user.bytes, since) for user in users]
                )
            assert counts.enqueued == count, counts
        return users

    def users_return(self, users: Sequence[uuid.UUID]) -> None:
        """The users are active again: a heartbeat now, and their jobs halted, as the
        heartbeat route does."""
        at = now_ms()
        outcomes = asyncio.run(self._heartbeats(users, at))
        for user, outcome in zip(users, outcomes, strict=True):
            if outcome.has_jobs:
                halt_jobs(self.url, self.settings, user, at)

    async def _heartbeats(self, users: Sequence[uuid.UUID], at_ms: int) -> list[Any]:
        client = aredis.Redis.from_url(self.url)
        try:
            return [
                await record_heartbeat(client, user, at_ms, self.settings.phase_idle_seconds)
                for user in users
            ]
        finally:
            await client.aclose()


def operator_objects(rendering: Rendering) -> list[dict[str, Any]]:
    """The operator's ServiceAccount, Role, RoleBinding and KopfPeering of a rendering."""
    found = [
        r.manifest
        for r in rendering.manifests
        if r.kind in OPERATOR_KINDS
        and (r.kind != "ServiceAccount" or r.name == OPERATOR_ACCOUNT)
        and (r.kind != "Role" or r.name == OPERATOR_ACCOUNT)
    ]
    assert sorted(m["kind"] for m in found) == sorted(OPERATOR_KINDS), found
    return found


def install_operator_rbac(plane: ControlPlane, rendering: Rendering) -> None:
    plane.apply(*operator_objects(rendering))


def secret(name: str, values: Mapping[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()},
    }


def _json(call: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """An API call answered as the server's JSON (camelCase), not as client models."""
    response = call(*args, _preload_content=False, **kwargs)
    try:
        decoded: dict[str, Any] = json.loads(response.data or b"{}")
    finally:
        response.release_conn()
    return decoded


@dataclass
class Server:
    """One namespace on the control plane, its ErosProcessing and the operator serving it."""

    plane: ControlPlane
    namespace: str
    kubeconfig: Path  # the operator ServiceAccount's token
    log_dir: Path
    peering: str
    api: ApiClient = field(init=False)
    operator: OperatorProcess | None = field(default=None, init=False)
    started: int = field(default=0, init=False)
    created: float = field(default=0.0, init=False)  # when the test created its resource

    def __post_init__(self) -> None:
        self.api = self.plane.api_client()
        self.apps = AppsV1Api(self.api)
        self.core = CoreV1Api(self.api)
        self.custom = CustomObjectsApi(self.api)

    # The operator process

    def start_operator(self) -> OperatorProcess:
        """`eros operator` as the chart runs it: this namespace, through the KopfPeering."""
        self.started += 1
        log = self.log_dir / f"operator-{self.started}.log"
        self.operator = OperatorProcess.start(
            self.kubeconfig, self.namespace, log, f"--peering={self.peering}"
        )
        return self.operator

    def stop_operator(self) -> None:
        if self.operator is not None and self.operator.running():
            started = time.monotonic()
            code = self.operator.stop()
            logger.info(
                "The operator stopped with %d after %.1f s.", code, time.monotonic() - started
            )

    def logs(self) -> str:
        return "\n".join(
            path.read_text(errors="replace") for path in sorted(self.log_dir.glob("*.log"))
        )

    def healthz(self) -> dict[str, Any] | None:
        """The body of a 200 answer of /healthz (None while it does not answer 200)."""
        assert self.operator is not None
        answer = self.operator.healthz()
        return answer.body if answer is not None and answer.code == 200 else None

    def problem(self, name: str) -> str | None:
        """What /healthz's `problems` probe reports about one resource."""
        body = self.healthz() or {}
        problems: Mapping[str, str] = body.get("problems") or {}
        return problems.get(f"{self.namespace}/{name}")

    # The objects, as the admin

    def apply(self, *objects: Mapping[str, Any]) -> None:
        self.plane.apply(*objects, namespace=self.namespace)

    def create_processing(self, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "ErosProcessing",
            "metadata": {"name": name},
            "spec": dict(spec),
        }
        return _json(
            self.custom.create_namespaced_custom_object,
            GROUP,
            VERSION,
            self.namespace,
            PLURAL,
            body,
        )

    def processing(self, name: str) -> dict[str, Any] | None:
        try:
            return _json(
                self.custom.get_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                name,
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    def status(self, name: str) -> dict[str, Any]:
        resource = self.processing(name) or {}
        status: dict[str, Any] = resource.get("status") or {}
        return status

    def condition(self, name: str, kind: str) -> dict[str, Any]:
        for condition in self.status(name).get("conditions") or []:
            if condition.get("type") == kind:
                return dict(condition)
        return {}

    def patch_processing(self, name: str, patch: Mapping[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            self.namespace,
            PLURAL,
            name,
            dict(patch),
            _content_type=MERGE_PATCH,
        )

    def patch_spec(self, name: str, spec: Mapping[str, Any]) -> None:
        self.patch_processing(name, {"spec": dict(spec)})

    def edit_phase(self, name: str, number: int, **fields: Any) -> None:
        """Change fields of one phase (a merge patch replaces the whole list, so all go)."""
        resource = self.processing(name)
        assert resource is not None
        phases = [dict(phase) for phase in resource["spec"]["phases"]]
        phases[number - 1].update(fields)
        self.patch_spec(name, {"phases": phases})

    def delete_processing(self, name: str) -> None:
        self.custom.delete_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name)

    def deployments(self, name: str) -> dict[int, dict[str, Any]]:
        """The worker Deployments of one ErosProcessing, by phase number."""
        listed = _json(
            self.apps.list_namespaced_deployment,
            self.namespace,
            label_selector=f"app.kubernetes.io/instance={name},app.kubernetes.io/component=worker",
        )
        return {
            int(item["metadata"]["labels"]["eros.dev/phase"]): item
            for item in listed.get("items") or []
        }

    def replicas(self, name: str) -> tuple[int, ...]:
        found = self.deployments(name)
        return tuple(
            int(found[n]["spec"].get("replicas") or 0) if n in found else -1 for n in (1, 2, 3)
        )

    def events(self, name: str) -> list[dict[str, Any]]:
        """The Events about one ErosProcessing, oldest first."""
        listed = _json(
            self.core.list_namespaced_event,
            self.namespace,
            field_selector=f"involvedObject.kind=ErosProcessing,involvedObject.name={name}",
        )
        items: list[dict[str, Any]] = listed.get("items") or []
        return sorted(items, key=lambda e: (e.get("lastTimestamp") or "", e["metadata"]["name"]))

    def event_reasons(self, name: str) -> list[tuple[str, str]]:
        return [(str(e.get("type")), str(e.get("reason"))) for e in self.events(name)]

    def wait(self, probe: Callable[[], Any], what: str, timeout: float = WAIT_SECONDS) -> Any:
        """Poll until `probe` holds; on failure the operator's logs say why."""
        try:
            return eventually(probe, timeout, what)
        except AssertionError as error:
            tail = "\n".join(self.logs().splitlines()[-40:])
            raise AssertionError(f"{error}\n--- operator logs (tail) ---\n{tail}") from None


def container(deployment: Mapping[str, Any]) -> dict[str, Any]:
    (worker,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(worker)


def held_millicores(deployments: Mapping[int, Mapping[str, Any]]) -> dict[int, int]:
    """What each phase's Deployment holds: its replicas times each one's CPU request."""
    return {
        number: int(d["spec"].get("replicas") or 0)
        * cpu_millicores(container(d)["resources"]["requests"]["cpu"])
        for number, d in deployments.items()
    }


# The audit log


@dataclass(frozen=True)
class Request:
    verb: str
    group: str
    resource: str  # "deployments", "erosprocessings/status", ...
    name: str
    code: int


def audit_requests(plane: ControlPlane, namespace: str, account: str) -> list[Request]:
    """Every request of one ServiceAccount the apiserver answered, with the object's name
    (which `ControlPlane.audit_events` leaves out)."""
    user = service_account_user(namespace, account)
    found = []
    for line in plane.audit_log.read_text().splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:  # the line being written
            continue
        ref = event.get("objectRef") or {}
        if (event.get("user") or {}).get("username") != user or not ref.get("resource"):
            continue
        resource = ref["resource"] + (f"/{ref['subresource']}" if ref.get("subresource") else "")
        found.append(
            Request(
                verb=str(event.get("verb", "")),
                group=str(ref.get("apiGroup", "")),
                resource=resource,
                name=str(ref.get("name", "")),
                code=int((event.get("responseStatus") or {}).get("code", 0)),
            )
        )
    return found


@dataclass(frozen=True)
class Grant:
    """One (verb, resource) a Role rule grants; `names` empty means every object."""

    verb: str
    group: str
    resource: str
    names: frozenset[str] = frozenset()

    def allows(self, request: Request) -> bool:
        return (self.verb, self.group, self.resource) == (
            request.verb,
            request.group,
            request.resource,
        ) and (not self.names or request.name in self.names)


def grants(role: Mapping[str, Any]) -> list[Grant]:
    """Every (verb, resource) of a Role's rules, one per verb and resource."""
    return [
        Grant(verb, group, resource, frozenset(rule.get("resourceNames") or ()))
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    ]


def ungranted(requests: Sequence[Request], granted: Sequence[Grant]) -> list[Request]:
    return [r for r in requests if not any(g.allows(r) for g in granted)]


def unused(requests: Sequence[Request], granted: Sequence[Grant]) -> Iterator[str]:
    """The grants (and, for named grants, the names) no successful request used."""
    succeeded = [r for r in requests if r.code < 400 or r.code == 404]
    for grant in granted:
        used = [r for r in succeeded if grant.allows(r)]
        if not used:
            yield f"{grant.verb} {grant.resource}"
        for name in sorted(grant.names - {r.name for r in used}):
            yield f"{grant.verb} {grant.resource}/{name}"
