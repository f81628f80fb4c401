"""Local mode: the operator's reconcile loop over processes on one machine (`eros dev`).

The same `Reconciler.tick` that drives worker Deployments in a cluster drives
`LocalWorkers`, a `Workers` backend whose "Deployments" are sets of `eros worker --phase N`
child processes: one planner, two backends. `LocalLoop` is the local `kopf` daemon: every
tick it reads the ErosProcessing from a YAML file (editing the file is the local
`kubectl edit`), bumps a generation whenever the file's spec changes (like
`metadata.generation`), and ticks. The tick publishes the phase configuration to Redis, so
the scheduler, the API and the workers follow the file exactly as they follow the
resource in a cluster.

What a Deployment does, locally:

- `ensure_deployment` records a phase's manifest; a new pod template (the spec changed)
  restarts the phase's workers with the new arguments and environment;
- `scale_deployment` starts and stops workers to the count asked for; a worker is stopped
  with SIGTERM (it checkpoints its job and requeues it) and killed, with its work horse,
  only after CHILD_STOP_TIMEOUT_SECONDS; the tick never waits for it;
- like a ReplicaSet, a worker that exits by itself is started again at the next tick;
  a worker counts as ready while it answers its `/readyz` (or, without a metrics port,
  while it runs), so the status' readyReplicas lag its replicas while workers start;
- each phase's workers share one cgroup holding them to the phase's CPU budget
  (`eros.operator.cgroups`);
- a worker's environment is the dev environment overlaid with the manifest container's
  `env`: the Redis URL's `secretKeyRef` resolves to the local Redis, other `valueFrom` and
  `envFrom` entries (ConfigMaps and Secrets a machine does not have) are left to the dev
  environment.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import yaml
from kubernetes.client import ApiException

from eros.core.parent_death import die_with_parent
from eros.operator.cgroups import CpuLimiter, phase_budget_millicores
from eros.operator.kube import HTTP_NOT_FOUND, Ensured, EnsureResult
from eros.operator.manifests import (
    ANNOTATION_TEMPLATE_HASH,
    CONTAINER_NAME,
    LABEL_PHASE,
    METRICS_PORT_ENV,
    Owner,
    deployment_name,
    observe_deployment,
)
from eros.operator.reconciler import Reconciler, TickOutcome
from eros.operator.spec import (
    API_VERSION,
    DEFAULT_TICK_SECONDS,
    KIND,
    PHASE_COUNT,
    SpecError,
    parse_spec,
)
from eros.operator.status import INVALID_SPEC_REASON, DeploymentState, invalid_spec_status
from eros.pipeline.server import READY_PATH

logger = logging.getLogger(__name__)

LOCAL_NAMESPACE = "local"
LOCAL_UID = "local"
REDIS_URL_ENV = "EROS_REDIS_URL"
# Workers checkpoint and requeue on SIGTERM; give them as long as a Kubernetes pod gets.
CHILD_STOP_TIMEOUT_SECONDS = 30.0
STOP_POLL_SECONDS = 0.1
READY_PROBE_TIMEOUT_SECONDS = 0.5
HTTP_OK = 200


class ResourceError(ValueError):
    """A resource file that holds no usable ErosProcessing."""


@dataclass(frozen=True)
class Resource:
    """The parts of an ErosProcessing file the loop uses."""

    name: str
    spec: Mapping[str, Any]


def parse_resource(text: str, where: str = "the resource file") -> Resource:
    """The ErosProcessing in a YAML document; its spec is validated by the tick, not here."""
    try:
        body = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ResourceError(f"{where} is not valid YAML: {error}") from error
    if not isinstance(body, Mapping):
        raise ResourceError(f"{where} does not hold a YAML object")
    if body.get("kind") != KIND:
        raise ResourceError(f"{where} holds a {body.get('kind')!r}, not an {KIND}")
    if body.get("apiVersion", API_VERSION) != API_VERSION:
        raise ResourceError(f"{where} is {body.get('apiVersion')!r}; this EROS reads {API_VERSION}")
    metadata = body.get("metadata") or {}
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    if not isinstance(name, str) or not name:
        raise ResourceError(f"{where} has no metadata.name")
    spec = body.get("spec")
    if spec is None:
        spec = {}
    if not isinstance(spec, Mapping):
        raise ResourceError(f"{where}: spec must be an object")
    return Resource(name, spec)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on `host` now; whoever binds it next gets it, so bind it soon."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def read_resource(path: Path) -> Resource:
    try:
        text = path.read_text()
    except OSError as error:
        raise ResourceError(f"cannot read {path}: {error.strerror or error}") from error
    return parse_resource(text, str(path))


@dataclass
class WorkerProcess:
    """One `eros worker` child."""

    process: subprocess.Popen[bytes]
    phase: int
    template_hash: str
    metrics_port: int
    started_at: float
    stop_deadline: float | None = None  # set once asked to stop

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def ready(self, host: str) -> bool:
        """Alive and, when it serves probes, answering `/readyz` (the kubelet's question)."""
        if not self.alive():
            return False
        if not self.metrics_port:
            return True
        url = f"http://{host}:{self.metrics_port}{READY_PATH}"
        try:
            with urllib.request.urlopen(url, timeout=READY_PROBE_TIMEOUT_SECONDS) as response:
                return bool(response.status == HTTP_OK)
        except OSError:  # not serving yet, or draining (503)
            return False

    def terminate(self, timeout: float) -> None:
        if self.stop_deadline is None:
            self.stop_deadline = time.monotonic() + timeout
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        # The worker leads its process group, with RQ's work horse and scheduler in it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@dataclass
class LocalDeployment:
    """A phase's manifest, the count asked for, and the processes running it."""

    manifest: Mapping[str, Any]
    replicas: int
    running: list[WorkerProcess] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.manifest["metadata"]["name"])

    @property
    def phase(self) -> int:
        return int(self.manifest["metadata"]["labels"][LABEL_PHASE])

    @property
    def template_hash(self) -> str:
        return str(self.manifest["metadata"]["annotations"][ANNOTATION_TEMPLATE_HASH])

    def container(self) -> Mapping[str, Any]:
        for container in self.manifest["spec"]["template"]["spec"]["containers"]:
            if container.get("name") == CONTAINER_NAME:
                return dict(container)
        raise ValueError(f"{self.name} has no {CONTAINER_NAME!r} container")


def _status_line(status: Mapping[str, Any]) -> str:
    """One line of what every phase runs, for the log."""
    parts = []
    for phase in status.get("phases") or []:
        parts.append(
            f"{phase.get('name')} {phase.get('readyReplicas', 0)}/"
            f"{phase.get('desiredReplicas', 0)} workers, {phase.get('cpuAllocated', '0')} CPU "
            f"(budget {phase.get('budgetReplicas', 0)}; {phase.get('idleUsers', '-')} idle, "
            f"{phase.get('queuedJobs', '-')} queued, {phase.get('runningJobs', '-')} running; "
            f"{phase.get('reason', '-')})"
        )
    problems = [
        f"{c.get('type')}={c.get('status')} {c.get('reason')}"
        for c in status.get("conditions") or []
        if (c.get("type") == "Ready" and c.get("status") != "True")
        or (c.get("type") in ("Degraded", "Paused") and c.get("status") == "True")
    ]
    return " | ".join(parts + problems) or "no phases"


class LocalWorkers:
    """The `Workers` of the reconciler, as `eros worker` processes on this machine."""

    def __init__(
        self,
        redis_url: str,
        *,
        env: Mapping[str, str] | None = None,
        limiter: CpuLimiter | None = None,
        metrics_ports: bool = False,
        log_dir: Path | None = None,
        stop_timeout_seconds: float = CHILD_STOP_TIMEOUT_SECONDS,
        cwd: Path | None = None,
        probe_host: str = "127.0.0.1",
    ) -> None:
        self.redis_url = redis_url
        self.env = dict(os.environ if env is None else env)
        self.limiter = limiter or CpuLimiter.disabled("not asked for")
        # Each worker serves its probes on a port the kernel finds free on `probe_host`:
        # fixed ports collide with a second checkout or a node_exporter.
        self.metrics_ports = metrics_ports
        self.log_dir = log_dir
        self.stop_timeout_seconds = stop_timeout_seconds
        self.cwd = cwd
        self.probe_host = probe_host
        self.status: Mapping[str, Any] = {}
        self._deployments: dict[str, LocalDeployment] = {}
        self._stopping: list[WorkerProcess] = []
        self._warned: set[str] = set()
        self._summary = ""
        self._started = 0
        self._lock = threading.Lock()

    # The Workers protocol.

    def read_secret_value(self, namespace: str, name: str, key: str) -> str:
        # A machine has one Redis: whatever Secret the resource names holds its URL.
        return self.redis_url

    def ensure_deployment(self, desired: Mapping[str, Any]) -> EnsureResult:
        with self._lock:
            name = str(desired["metadata"]["name"])
            existing = self._deployments.get(name)
            if existing is None:
                deployment = LocalDeployment(desired, int(desired["spec"]["replicas"]))
                self._deployments[name] = deployment
                self._fill(deployment)
                return EnsureResult(Ensured.CREATED, deployment.replicas)
            want = desired["metadata"]["annotations"][ANNOTATION_TEMPLATE_HASH]
            if existing.template_hash == want:
                return EnsureResult(Ensured.UNCHANGED, existing.replicas)
            # A new template: its workers replace the old ones, which drain as on a scale-down.
            existing.manifest = desired
            for worker in existing.running:
                self._stop(worker)
            existing.running = []
            if existing.replicas:
                logger.info(
                    "%s's worker template changed; restarting its %d workers.",
                    name,
                    existing.replicas,
                )
            self._fill(existing)
            return EnsureResult(Ensured.PATCHED, existing.replicas)

    def scale_deployment(self, namespace: str, name: str, replicas: int) -> None:
        with self._lock:
            deployment = self._deployments.get(name)
            if deployment is None:
                raise ApiException(status=HTTP_NOT_FOUND, reason=f"no local deployment {name}")
            deployment.replicas = replicas
            self._fill(deployment)

    def patch_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        self.status = dict(status)
        summary = _status_line(status)
        if summary != self._summary:
            self._summary = summary
            logger.info("%s: %s", name, summary)

    # What the tick observes, and what the loop needs besides.

    def deployments(
        self, owner_name: str, phase_count: int = PHASE_COUNT
    ) -> list[DeploymentState | None]:
        """The phases' Deployments as a tick reads them, after reaping exited workers."""
        with self._lock:
            self._reap()
            states: list[DeploymentState | None] = []
            for number in range(1, phase_count + 1):
                deployment = self._deployments.get(deployment_name(owner_name, number))
                if deployment is None:
                    states.append(None)
                    continue
                observed = observe_deployment(deployment.manifest)
                ready = sum(1 for w in deployment.running if w.ready(self.probe_host))
                states.append(
                    DeploymentState(
                        name=deployment.name,
                        replicas=deployment.replicas,
                        ready_replicas=ready,
                        cpu_millicores=observed.cpu_millicores,
                        template_hash=deployment.template_hash,
                    )
                )
            return states

    def set_budgets(self, budgets: Mapping[int, int]) -> None:
        """Hold each phase (by number) to its millicores, from now on."""
        for number, millicores in budgets.items():
            self.limiter.limit(number, millicores)

    def pids(self, name: str) -> list[int]:
        """The pids of a Deployment's running (not stopping) workers."""
        with self._lock:
            deployment = self._deployments.get(name)
            return [w.pid for w in deployment.running] if deployment else []

    def stopping(self) -> list[int]:
        with self._lock:
            self._reap()
            return [w.pid for w in self._stopping]

    def close(self) -> None:
        """Stop every worker (SIGTERM, then SIGKILL after the timeout) and the cgroups."""
        with self._lock:
            for deployment in self._deployments.values():
                for worker in deployment.running:
                    self._stop(worker)
                deployment.running = []
                deployment.replicas = 0
            while self._stopping:
                self._reap()
                if self._stopping:
                    time.sleep(STOP_POLL_SECONDS)
            self._deployments.clear()
        self.limiter.close()

    # Processes.

    def _fill(self, deployment: LocalDeployment) -> None:
        """Start or stop workers until the deployment runs its replicas."""
        while len(deployment.running) < deployment.replicas:
            deployment.running.append(self._start(deployment))
        while len(deployment.running) > deployment.replicas:
            self._stop(deployment.running.pop())  # the newest first: it has the least work

    def _stop(self, worker: WorkerProcess) -> None:
        worker.terminate(self.stop_timeout_seconds)
        self._stopping.append(worker)

    def _reap(self) -> None:
        """Forget stopped workers, kill the overdue, restart the exited."""
        now = time.monotonic()
        still: list[WorkerProcess] = []
        for worker in self._stopping:
            if worker.alive() and worker.stop_deadline is not None and now > worker.stop_deadline:
                logger.warning(
                    "Phase-%d worker %d did not stop within %.0f s; killing it.",
                    worker.phase,
                    worker.pid,
                    self.stop_timeout_seconds,
                )
                worker.kill()
            if worker.alive():
                still.append(worker)
        self._stopping = still
        for deployment in self._deployments.values():
            exited = [w for w in deployment.running if not w.alive()]
            for worker in exited:
                logger.warning(
                    "Phase-%d worker %d exited with code %s; starting another.",
                    worker.phase,
                    worker.pid,
                    worker.process.returncode,
                )
                deployment.running.remove(worker)
            if exited:
                self._fill(deployment)

    def _ports_in_use(self) -> set[int]:
        workers = [w for d in self._deployments.values() for w in d.running] + self._stopping
        return {w.metrics_port for w in workers}

    def _free_port(self) -> int:
        if not self.metrics_ports:
            return 0
        used = self._ports_in_use()
        while (port := free_port(self.probe_host)) in used:
            # A worker that has not bound its port yet leaves it free to the kernel.
            pass
        return port

    def _environment(self, deployment: LocalDeployment, port: int) -> dict[str, str]:
        env = dict(self.env)
        container = deployment.container()
        for item in container.get("env") or []:
            name = str(item.get("name"))
            if "value" in item:
                env[name] = str(item["value"])
            elif name == REDIS_URL_ENV:
                env[name] = self.redis_url
            else:
                self._warn_once(
                    name,
                    f"Environment variable {name} of the workers comes from a Secret or "
                    "ConfigMap, which a local run does not have; the dev environment's "
                    "value is used.",
                )
        if container.get("envFrom"):
            self._warn_once(
                "envFrom",
                "The workers' envFrom (ConfigMaps and Secrets) is left to the dev environment.",
            )
        env[METRICS_PORT_ENV] = str(port)
        return env

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            logger.info(message)

    def _start(self, deployment: LocalDeployment) -> WorkerProcess:
        container = deployment.container()
        port = self._free_port()
        args = [*(container.get("args") or []), "--metrics-port", str(port)]
        command = [
            *self.limiter.launch_prefix(deployment.phase),
            # -P keeps the working directory off sys.path (see scripts/bootstrap.py).
            sys.executable,
            "-P",
            "-m",
            "eros.cli.main",
            *args,
        ]
        self._started += 1
        output: IO[bytes] | None = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = (self.log_dir / f"{deployment.name}-{self._started}.log").open("wb")
        try:
            process = subprocess.Popen(
                command,
                env=self._environment(deployment, port),
                cwd=self.cwd,
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
                # Its own session: Ctrl-C reaches only `eros dev`, which stops workers in order.
                start_new_session=True,
                # And it dies with `eros dev`, even one killed with SIGKILL.
                preexec_fn=die_with_parent,
            )
        finally:
            if output is not None:
                output.close()
        logger.info(
            "Started a phase-%d worker (pid %d%s).",
            deployment.phase,
            process.pid,
            f", metrics on port {port}" if port else "",
        )
        return WorkerProcess(
            process, deployment.phase, deployment.template_hash, port, time.monotonic()
        )


def _log_event(kind: str, reason: str, message: str) -> None:
    level = logging.WARNING if kind == "Warning" else logging.INFO
    logger.log(level, "Event %s: %s", reason, message)


class LocalLoop:
    """The local operator: every tick, the file's ErosProcessing reconciled over processes."""

    def __init__(
        self,
        path: Path,
        workers: LocalWorkers,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        emit: Callable[[str, str, str], None] = _log_event,
    ) -> None:
        self.path = path
        self.workers = workers
        self.clock = clock
        self.emit = emit
        self.generation = 0
        self.tick_seconds = DEFAULT_TICK_SECONDS
        self.status: Mapping[str, Any] = {}
        self._spec: Mapping[str, Any] | None = None
        self._owner: Owner | None = None
        self._reconciler: Reconciler | None = None
        self._file_error: str | None = None

    @property
    def owner(self) -> Owner | None:
        return self._owner

    def tick(self) -> TickOutcome | None:
        """One reconciliation of the file as it is now; None before the file was ever read."""
        try:
            resource = read_resource(self.path)
        except ResourceError as error:
            return self._unreadable(str(error))
        if self._file_error is not None:
            logger.info("%s is readable again.", self.path)
            self._file_error = None
        if self._owner is None:
            self._owner = Owner(resource.name, LOCAL_NAMESPACE, LOCAL_UID)
            self._reconciler = Reconciler(self.workers, self._owner, self.emit)
            logger.info("Following ErosProcessing %r from %s.", resource.name, self.path)
        elif resource.name != self._owner.name:
            self._warn_file(
                f"metadata.name changed to {resource.name!r} in {self.path}; the local loop "
                f"keeps {self._owner.name!r} until `eros dev` restarts."
            )
        if resource.spec != self._spec:
            self._spec = resource.spec
            self.generation += 1
            logger.info("%s: generation %d.", self.path, self.generation)
        with contextlib.suppress(SpecError):  # the tick reports it, through InvalidSpec
            self.workers.set_budgets(phase_budget_millicores(parse_spec(resource.spec)))
        assert self._reconciler is not None
        outcome = self._reconciler.tick(
            resource.spec,
            self.generation,
            self.status,
            self.workers.deployments(self._owner.name),
            self.clock(),
        )
        self.status = outcome.status
        invalid = outcome.problem is not None and outcome.problem.reason == INVALID_SPEC_REASON
        if not invalid:  # an invalid spec has no tickSeconds: keep the last good one
            self.tick_seconds = outcome.tick_seconds
        return outcome

    def _warn_file(self, message: str) -> None:
        if self._file_error != message:
            self._file_error = message
            logger.error("%s", message)

    def _unreadable(self, message: str) -> TickOutcome | None:
        """A file that holds no ErosProcessing: like an invalid spec, nothing is scaled."""
        self._warn_file(message + "; the workers are kept as they are until it is fixed.")
        if self._owner is None:
            return None
        status = invalid_spec_status(
            message,
            self.workers.deployments(self._owner.name),
            self.status,
            self.clock(),
            self.generation,
        )
        if status != self.status:
            self.workers.patch_status(self._owner.namespace, self._owner.name, status)
        self.status = status
        return TickOutcome(status, self.tick_seconds)

    def run(self, stopping: threading.Event) -> None:
        """Tick until `stopping` is set; a failing tick is logged and retried next tick."""
        while not stopping.is_set():
            try:
                self.tick()
            except Exception:
                logger.exception("The local reconcile tick failed; retrying next tick.")
            stopping.wait(self.tick_seconds)

    def close(self) -> None:
        """Withdraw the published configuration (the resource is gone) and stop the workers."""
        if self._reconciler is not None:
            self._reconciler.retire()
        self.workers.close()


def run_loop_in_thread(loop: LocalLoop, stopping: threading.Event) -> threading.Thread:
    """Tick `loop` on a thread until `stopping` is set, then close it on that same thread:
    its workers were forked there, and Linux sends them their parent-death signal when the
    thread ends, which must not come before (and on top of) the graceful stop."""

    def run_then_close() -> None:
        try:
            loop.run(stopping)
        finally:
            loop.close()

    thread = threading.Thread(target=run_then_close, name="eros-local", daemon=True)
    thread.start()
    return thread
