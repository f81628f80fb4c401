"""`eros dev`: the whole system on one machine, supervised by one process.

Starts embedded Valkey and PostgreSQL for whichever URL is unset, applies migrations,
runs the API and the scheduler as child processes (as in a cluster, one process per
component), and runs the operator's loop locally (`eros.operator.local`): every tick it
reads the ErosProcessing of `--resource` (default: examples/erosprocessing-dev.yaml),
plans with the operator's planner and starts and stops `eros worker --phase N` processes
to the planned counts, each phase held to its CPU budget by a cgroup where the machine
allows. A component or embedded server that stops by itself is restarted after a
back-off (`eros.cli.supervision`). On Ctrl-C or SIGTERM it stops the loop, the workers
and the children gracefully, and then the servers; killed with SIGKILL, it takes them all
along (`eros.core.parent_death`).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Protocol

from eros.cli.components import load_settings
from eros.cli.supervision import crashes_after, restart_delay
from eros.core.embedded import EmbeddedPostgres, EmbeddedStack, EmbeddedValkey
from eros.core.migrate import apply_migrations
from eros.core.parent_death import die_with_parent
from eros.operator.cgroups import CpuLimiter
from eros.operator.local import (
    CHILD_STOP_TIMEOUT_SECONDS,
    LocalLoop,
    LocalWorkers,
    ResourceError,
    free_port,
    read_resource,
    run_loop_in_thread,
)

logger = logging.getLogger(__name__)

READY_TIMEOUT_SECONDS = 60.0
READY_POLL_SECONDS = 0.2
# How often `eros dev` looks for a child that stopped by itself.
SUPERVISE_POLL_SECONDS = 0.5
# The probe servers (/metrics, /healthz, /readyz) of the scheduler and the workers listen
# here unless EROS_METRICS_HOST says otherwise, each on a port the kernel finds free.
DEV_METRICS_HOST = "127.0.0.1"
# The resource `eros dev` follows without --resource, next to the package in a checkout.
DEFAULT_RESOURCE = Path(__file__).resolve().parent.parent / "examples" / "erosprocessing-dev.yaml"


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    args: list[str]


def components(port: int, scheduler_metrics_port: int) -> list[Component]:
    """The processes `eros dev` supervises, each an `eros` subcommand; the workers are the
    local loop's (`LocalWorkers`), which starts as many as the planner asks for."""
    return [
        Component("api", ["api", "--port", str(port)]),
        Component("scheduler", ["scheduler", "--metrics-port", str(scheduler_metrics_port)]),
    ]


def port_taken(host: str, port: int) -> bool:
    """Whether another process listens on (or holds) `host:port`."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As uvicorn binds: a port left in TIME_WAIT by a previous run is not taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def resolve_resource(resource: str | None) -> Path:
    """The resource file to follow: `--resource`, else the checkout's dev example."""
    return Path(resource) if resource else DEFAULT_RESOURCE


class Supervised(Protocol):
    """Something `eros dev` keeps running: a component process or an embedded server."""

    name: str

    def alive(self) -> bool: ...

    def restart(self) -> None: ...

    def how_it_ended(self) -> str: ...


class ComponentProcess:
    """One `eros` subcommand as a child process of `eros dev`."""

    def __init__(self, component: Component, env: Mapping[str, str]) -> None:
        self.name = component.name
        self.component = component
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # Forked from the main thread, which lives as long as `eros dev`: Linux sends the
        # parent-death signal when the forking *thread* ends (see eros.core.parent_death).
        self.process = subprocess.Popen(
            # -P keeps the working directory off sys.path (see scripts/bootstrap.py).
            [sys.executable, "-P", "-m", "eros.cli.main", *self.component.args],
            env=self.env,
            # A new session: Ctrl-C reaches only the supervisor, which stops children in order.
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        logger.info("Started %s (pid %d).", self.name, self.process.pid)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def restart(self) -> None:
        self.start()

    def how_it_ended(self) -> str:
        code = None if self.process is None else self.process.returncode
        return f"exited with code {code}"


class EmbeddedServer:
    """An embedded Valkey or PostgreSQL of `eros dev`, restarted on its port and data."""

    def __init__(self, name: str, server: EmbeddedValkey | EmbeddedPostgres) -> None:
        self.name = name
        self.server = server

    def alive(self) -> bool:
        return bool(self.server.alive)

    def restart(self) -> None:
        self.server.restart()

    def how_it_ended(self) -> str:
        return "stopped"


def embedded_servers(stack: EmbeddedStack) -> list[EmbeddedServer]:
    servers = [EmbeddedServer("Valkey", stack.valkey)] if stack.valkey is not None else []
    if stack.postgres is not None:
        servers.append(EmbeddedServer("PostgreSQL", stack.postgres))
    return servers


class Supervisor:
    """Restarts what stopped by itself, each after a back-off that grows while it keeps
    crashing (`eros.cli.supervision`); the workers are the local loop's (`LocalWorkers`)."""

    def __init__(self) -> None:
        self.env: dict[str, str] = {}
        self._watched: list[Supervised] = []
        self._components: list[ComponentProcess] = []
        self._started_at: dict[str, float] = {}
        self._restart_at: dict[str, float] = {}
        self._crashes: dict[str, int] = {}
        self.stopping = threading.Event()

    def start(self, component: Component) -> None:
        child = ComponentProcess(component, self.env)
        child.start()
        self._components.append(child)
        self.watch(child)

    def watch(self, child: Supervised) -> None:
        """Keep `child`, already started, running from now on."""
        self._watched.append(child)
        self._started_at[child.name] = time.monotonic()

    def check(self) -> None:
        """Restart each child that stopped, once its back-off delay has passed."""
        for child in self._watched:
            if self.stopping.is_set():
                return
            if child.name in self._restart_at:
                if time.monotonic() >= self._restart_at[child.name]:
                    self._restart(child)
            elif not child.alive():
                self._schedule_restart(child, child.how_it_ended())

    def _schedule_restart(self, child: Supervised, what: str) -> None:
        now = time.monotonic()
        crashes = crashes_after(
            self._crashes.get(child.name, 0), now - self._started_at[child.name]
        )
        self._crashes[child.name] = crashes
        delay = restart_delay(crashes)
        self._restart_at[child.name] = now + delay
        logger.error("%s %s; restarting it in %.1f seconds.", child.name, what, delay)

    def _restart(self, child: Supervised) -> None:
        del self._restart_at[child.name]
        self._started_at[child.name] = time.monotonic()
        try:
            child.restart()
        except Exception as error:
            # The port still held, a data directory still locked: try again, later.
            self._schedule_restart(child, f"could not be restarted ({error})")
            return
        logger.warning(
            "Restarted %s after crash %d in a row.", child.name, self._crashes[child.name]
        )

    def stop_all(self) -> None:
        """Stop the component processes running now (restarted ones included)."""
        running = [c.process for c in self._components if c.process is not None]
        for process in running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + CHILD_STOP_TIMEOUT_SECONDS
        for child in self._components:
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop in time; killing it.", child.name)
                child.process.kill()
                child.process.wait()


def _wait_until_ready(url: str, supervisor: Supervisor) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline and not supervisor.stopping.is_set():
        supervisor.check()
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(READY_POLL_SECONDS)
    return False


def run_dev(
    *, port: int | None = None, data_dir: str | None = None, resource: str | None = None
) -> int:
    settings = load_settings()
    resource_path = resolve_resource(resource)
    try:
        read_resource(resource_path)
    except ResourceError as error:
        # Later, a broken file keeps the workers as they are; at start there are none yet.
        sys.stderr.write(f"eros dev: {error}\n")
        return 2
    port = port or settings.api_port
    if port_taken(settings.api_host, port):
        sys.stderr.write(
            f"eros dev: port {port} on {settings.api_host} is taken by another program "
            "(perhaps another `eros dev`); stop it or pass --port.\n"
        )
        return 2
    metrics_host = os.environ.get("EROS_METRICS_HOST", DEV_METRICS_HOST)
    scheduler_metrics_port = free_port(metrics_host)
    stack = EmbeddedStack(
        Path(data_dir) if data_dir else settings.data_dir,
        redis_url=settings.redis_url,
        database_url=settings.database_url,
    )
    supervisor = Supervisor()

    def request_stop(signum: int, _: FrameType | None) -> None:
        logger.info("Received %s; stopping.", signal.Signals(signum).name)
        supervisor.stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    stack.start()
    for server in embedded_servers(stack):
        supervisor.watch(server)
    exit_code = 0
    loop: LocalLoop | None = None
    loop_thread: threading.Thread | None = None
    try:
        applied = apply_migrations(stack.database_url)
        logger.info("Applied %d migrations.", len(applied))
        supervisor.env = {
            **os.environ,
            "EROS_REDIS_URL": stack.redis_url,
            "EROS_DATABASE_URL": stack.database_url,
            "EROS_METRICS_HOST": metrics_host,
        }
        for component in components(port, scheduler_metrics_port):
            if not supervisor.stopping.is_set():
                supervisor.start(component)
        workers = LocalWorkers(
            stack.redis_url,
            env=supervisor.env,
            limiter=CpuLimiter.detect(),
            metrics_ports=True,
            stop_timeout_seconds=CHILD_STOP_TIMEOUT_SECONDS,
        )
        loop = LocalLoop(resource_path, workers)
        loop_thread = run_loop_in_thread(loop, supervisor.stopping)
        base = f"http://{settings.api_host}:{port}"
        if _wait_until_ready(f"{base}/api/v1/health", supervisor):
            sys.stdout.write(
                f"\nEROS is running.\n  Console:  {base}/console (log in as an admin: "
                "`eros users promote EMAIL`)\n"
                f"  API:      {base}/api/v1\n  API docs: {base}/docs\n"
                f"  Metrics:  {base}/metrics\n"
                f"  Scheduler probes: http://{metrics_host}:{scheduler_metrics_port}/metrics "
                "(and /healthz, /readyz)\n"
                "  Worker probes:    a free port each, logged as each worker starts\n"
                f"  Redis:    {stack.redis_url}\n"
                f"  Postgres: {stack.database_url}\n  Resource: {resource_path} "
                "(edit it to retune the phases)\nPress Ctrl-C to stop.\n\n"
            )
            sys.stdout.flush()
        while not supervisor.stopping.is_set():
            supervisor.check()
            supervisor.stopping.wait(SUPERVISE_POLL_SECONDS)
    finally:
        supervisor.stopping.set()
        if loop_thread is not None:
            loop_thread.join()  # which stops the workers
        elif loop is not None:
            loop.close()
        supervisor.stop_all()
        stack.stop()
    logger.info("EROS dev stopped.")
    return exit_code
