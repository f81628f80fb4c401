"""The kopf handlers: thin glue between kopf's events and the pure builders and planner.

- startup: every kopf setting, the Kubernetes client, the metrics server;
- create/resume/update: create-if-absent and patch one worker Deployment per phase;
- a daemon per ErosProcessing: every tick, `Reconciler.tick` (metrics, plan, scale, status);
- an index of the worker Deployments, so that ticks read replicas from memory, not the API;
- delete: remove the worker Deployments (owner references would too, but later);
- probes: the liveness endpoint fails when a daemon stopped ticking, and lists what a
  person must fix (a Secret the operator may not read, an invalid spec) without failing.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import kopf
import kubernetes
from kubernetes.client import ApiException

from eros.operator import prometheus, standby
from eros.operator.health import HealthServer
from eros.operator.kube import Ensured, Kube, OwnershipConflict, load_api_client
from eros.operator.manifests import (
    LABEL_COMPONENT,
    LABEL_INSTANCE,
    LABEL_MANAGED_BY,
    LABEL_PHASE,
    OPERATOR_NAME,
    WORKER_COMPONENT,
    Owner,
    build_worker_deployment,
    deployment_name,
    observe_deployment,
)
from eros.operator.prometheus import MetricsServer
from eros.operator.reconciler import Reconciler
from eros.operator.runtime import Heartbeats, OperatorOptions
from eros.operator.spec import (
    GROUP,
    PHASE_COUNT,
    PLURAL,
    VERSION,
    SpecError,
    parse_spec,
)
from eros.operator.status import DeploymentState

logger = logging.getLogger(__name__)

ANNOTATION_PREFIX = "eros.dev"
FINALIZER = "eros.dev/operator"
# Watch streams are reopened this often, so that a silently dead connection is noticed.
WATCH_SERVER_TIMEOUT_SECONDS = 300
WATCH_CLIENT_TIMEOUT_SECONDS = 330
API_CONNECT_TIMEOUT_SECONDS = 10
API_REQUEST_TIMEOUT_SECONDS = 60
# A stopping daemon finishes its tick (it checks `stopped` between ticks) within this
# grace; only then does kopf cancel it, and waits this much more for the cancellation.
DAEMON_STOP_GRACE_SECONDS = 10.0
DAEMON_CANCELLATION_TIMEOUT_SECONDS = 5.0
HANDLER_BACKOFF_SECONDS = 5.0
SYNC_HANDLER_THREADS = 8

DeploymentIndex = kopf.Index[tuple[str, str, int], DeploymentState]


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    """Every kopf setting of the operator, and the clients all handlers share."""
    options = memo.get("options") or OperatorOptions()
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix=ANNOTATION_PREFIX
    )
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=ANNOTATION_PREFIX, key="last-handled-configuration"
    )
    # Our own Events say what happened; kopf's per-handler chatter would drown them.
    settings.posting.level = logging.WARNING
    settings.posting.reporting_component = OPERATOR_NAME
    settings.peering.name = options.peering_name
    settings.peering.standalone = options.standalone
    settings.peering.mandatory = not options.standalone
    settings.peering.clusterwide = options.clusterwide
    settings.peering.priority = options.priority
    # A namespaced operator needs no cluster-wide RBAC to list namespaces and CRDs.
    settings.scanning.disabled = not options.clusterwide
    settings.watching.server_timeout = WATCH_SERVER_TIMEOUT_SECONDS
    settings.watching.client_timeout = WATCH_CLIENT_TIMEOUT_SECONDS
    settings.watching.connect_timeout = API_CONNECT_TIMEOUT_SECONDS
    settings.networking.request_timeout = API_REQUEST_TIMEOUT_SECONDS
    settings.networking.connect_timeout = API_CONNECT_TIMEOUT_SECONDS
    settings.execution.max_workers = SYNC_HANDLER_THREADS

    try:
        memo.kube = Kube(load_api_client())
    except kubernetes.config.ConfigException as error:
        # Credentials do not appear by waiting: exit, and let the pod restart with backoff.
        raise kopf.PermanentError(f"No Kubernetes credentials: {error}") from error
    memo.heartbeats = heartbeats = Heartbeats()
    memo.health_server = None
    if options.liveness_port:
        # ticks: seconds since each resource's last tick, failing when one is stuck;
        # problems: what a person must fix, by resource, reported without failing.
        health = HealthServer(
            options.liveness_port,
            {
                "ticks": heartbeats.check,
                "problems": heartbeats.problems,
                "peering": lambda: standby.peering(memo),
            },
        )
        health.start()
        memo.health_server = health
    memo.metrics_server = None
    if options.metrics_port:
        server = MetricsServer(options.metrics_port)
        server.start()
        memo.metrics_server = server
    logger.info(
        "Operator configured: %s, peering %s.",
        "all namespaces" if options.clusterwide else f"namespaces {', '.join(options.namespaces)}",
        "off" if options.standalone else f"{options.peering_name!r} at priority {options.priority}",
    )


@kopf.on.cleanup()
def shutdown(memo: kopf.Memo, **_: Any) -> None:
    if memo.get("metrics_server") is not None:
        memo.metrics_server.stop()
    if memo.get("health_server") is not None:
        memo.health_server.stop()
    if memo.get("kube") is not None:
        memo.kube.close()


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """In-cluster service account, else the kubeconfig (honouring KUBECONFIG)."""
    return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)


@kopf.index(
    "apps",
    "v1",
    "deployments",
    labels={LABEL_MANAGED_BY: OPERATOR_NAME, LABEL_COMPONENT: WORKER_COMPONENT},
)
def worker_deployments(
    namespace: str | None, name: str, labels: Mapping[str, str], body: kopf.Body, **_: Any
) -> dict[tuple[str, str, int], DeploymentState]:
    """Every worker Deployment's replicas, by (namespace, ErosProcessing, phase)."""
    try:
        phase = int(labels.get(LABEL_PHASE, ""))
    except ValueError:
        return {}
    return {(namespace or "", labels.get(LABEL_INSTANCE, ""), phase): observe_deployment(body)}


def _owner(name: str, namespace: str | None, uid: str) -> Owner:
    # ErosProcessing is namespaced, so kopf always passes its namespace.
    return Owner(name=name, namespace=namespace or "", uid=uid)


@kopf.on.resume(GROUP, VERSION, PLURAL, backoff=HANDLER_BACKOFF_SECONDS)
@kopf.on.create(GROUP, VERSION, PLURAL, backoff=HANDLER_BACKOFF_SECONDS)
@kopf.on.update(GROUP, VERSION, PLURAL, field="spec", backoff=HANDLER_BACKOFF_SECONDS)
def ensure_workers(
    spec: kopf.Spec,
    body: kopf.Body,
    name: str,
    namespace: str | None,
    uid: str,
    memo: kopf.Memo,
    **_: Any,
) -> None:
    """Create the missing worker Deployments and bring the others' templates in line."""
    try:
        parsed = parse_spec(copy.deepcopy(dict(spec)))
    except SpecError as error:
        raise kopf.PermanentError(f"The spec is invalid: {error}") from error
    if parsed.paused:
        logger.info("%s/%s is paused; its Deployments are left as they are.", namespace, name)
        return
    kube: Kube = memo.kube
    owner = _owner(name, namespace, uid)
    for phase in parsed.phases:
        # Replicas only matter when the Deployment is new: the daemon scales it next tick.
        manifest = build_worker_deployment(owner, parsed, phase, replicas=0)
        try:
            result = kube.ensure_deployment(manifest)
        except OwnershipConflict as error:
            raise kopf.PermanentError(str(error)) from error
        except ApiException as error:
            raise kopf.TemporaryError(
                f"Could not apply Deployment {manifest['metadata']['name']}: {error.reason}",
                delay=HANDLER_BACKOFF_SECONDS,
            ) from error
        deployment = manifest["metadata"]["name"]
        logger.info("Worker Deployment %s/%s is %s.", namespace, deployment, result.outcome)
        if result.outcome is Ensured.CREATED:
            kopf.event(
                body,
                type="Normal",
                reason="Created",
                message=f"Created worker Deployment {deployment}.",
            )


def _deployments(index: DeploymentIndex, namespace: str, name: str) -> list[DeploymentState | None]:
    found: list[DeploymentState | None] = []
    for number in range(1, PHASE_COUNT + 1):
        states = list(index.get((namespace, name, number), ()))
        found.append(states[0] if states else None)
    return found


@kopf.daemon(
    GROUP,
    VERSION,
    PLURAL,
    cancellation_backoff=DAEMON_STOP_GRACE_SECONDS,
    cancellation_timeout=DAEMON_CANCELLATION_TIMEOUT_SECONDS,
    backoff=HANDLER_BACKOFF_SECONDS,
)
async def scale_workers(
    stopped: kopf.DaemonStopped,
    body: kopf.Body,
    name: str,
    namespace: str | None,
    uid: str,
    memo: kopf.Memo,
    **kwargs: Any,
) -> None:
    """Tick until the resource is deleted or the operator stops: read, plan, scale, report."""
    # Kopf passes every index by its handler's name.
    worker_deployments: DeploymentIndex = kwargs["worker_deployments"]
    heartbeats: Heartbeats = memo.heartbeats
    owner = _owner(name, namespace, uid)

    def emit(kind: str, reason: str, message: str) -> None:
        kopf.event(body, type=kind, reason=reason, message=message)

    # Kept in the per-resource memo, so that a restarted daemon keeps the planner's history.
    if memo.get("reconciler") is None:
        memo.reconciler = Reconciler(memo.kube, owner, emit)
    reconciler: Reconciler = memo.reconciler
    try:
        await _tick_until_stopped(stopped, body, reconciler, heartbeats, worker_deployments)
    finally:
        # A stopped daemon (deleted resource, or this replica standing by for a peer)
        # must not look stuck to the liveness probe.
        heartbeats.forget(owner.namespace, owner.name)


async def _tick_until_stopped(
    stopped: kopf.DaemonStopped,
    body: kopf.Body,
    reconciler: Reconciler,
    heartbeats: Heartbeats,
    worker_deployments: DeploymentIndex,
) -> None:
    owner = reconciler.owner
    loop = asyncio.get_running_loop()
    while not stopped:
        started = loop.time()
        # The body is live (kopf updates it as events arrive): copy what the thread reads.
        raw = copy.deepcopy(dict(body))
        try:
            outcome = await asyncio.to_thread(
                reconciler.tick,
                raw.get("spec") or {},
                (raw.get("metadata") or {}).get("generation"),
                raw.get("status") or {},
                _deployments(worker_deployments, owner.namespace, owner.name),
                datetime.now(UTC),
            )
        except ApiException as error:
            prometheus.ERRORS.labels(owner.namespace, owner.name, "ApiError").inc()
            raise kopf.TemporaryError(
                f"Kubernetes API call failed: {error.status} {error.reason}",
                delay=HANDLER_BACKOFF_SECONDS,
            ) from error
        problem = outcome.problem
        heartbeats.beat(
            owner.namespace,
            owner.name,
            outcome.tick_seconds,
            f"{problem.reason}: {problem.message}" if problem else None,
        )
        await _sleep_unless_stopped(stopped, outcome.tick_seconds - (loop.time() - started))


async def _sleep_unless_stopped(stopped: kopf.DaemonStopped, seconds: float) -> None:
    """Sleep, waking up early when kopf stops the daemon.

    Not `await stopped.wait(seconds)`: on Python 3.11 its inner `asyncio.wait_for` can turn
    a cancellation that coincides with the timeout into a TimeoutError that kopf escalates.
    """
    if seconds <= 0 or stopped:
        return

    async def until_stopped() -> None:
        await stopped.wait()

    waiter = asyncio.create_task(until_stopped())
    try:
        await asyncio.wait({waiter}, timeout=seconds)
    finally:
        waiter.cancel()


@kopf.on.delete(GROUP, VERSION, PLURAL, backoff=HANDLER_BACKOFF_SECONDS)
def remove_workers(
    spec: kopf.Spec, name: str, namespace: str | None, uid: str, memo: kopf.Memo, **_: Any
) -> None:
    """Delete the worker Deployments now, rather than wait for the garbage collector."""
    kube: Kube = memo.kube
    owner = _owner(name, namespace, uid)
    for number in range(1, PHASE_COUNT + 1):
        deployment = deployment_name(name, number)
        try:
            if kube.delete_deployment(owner.namespace, deployment, uid):
                logger.info("Deleted worker Deployment %s/%s.", owner.namespace, deployment)
        except ApiException as error:
            raise kopf.TemporaryError(
                f"Could not delete Deployment {deployment}: {error.reason}",
                delay=HANDLER_BACKOFF_SECONDS,
            ) from error
    reconciler: Reconciler | None = memo.get("reconciler")
    if reconciler is not None:
        reconciler.retire()
    try:
        phases = [phase.name for phase in parse_spec(copy.deepcopy(dict(spec))).phases]
    except SpecError:
        phases = [str(phase.get("name")) for phase in spec.get("phases") or []]
    prometheus.forget(owner.namespace, name, phases)
