"""`eros status`: the pipeline at a glance in a terminal, like `rq info`.

The same facts as `GET /api/v1/eros/status` and the console, read straight from Redis:
idle users, queues, running jobs, workers and lag per phase; the scheduler's leader; the
latest halts; the phase configuration's generation and who follows it; the operator's
last plan; the population model. With a kubeconfig (`--kubeconfig`, `$KUBECONFIG` or
`~/.kube/config`) it adds the ErosProcessing resources' status: the conditions and
replicas the operator wrote. It only reads: it registers as no follower and takes no lease.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import redis
import redis.asyncio as aredis

from eros.core.activity import acount_users_per_phase
from eros.core.clock import MS_PER_SECOND
from eros.core.keys import PHASE_CONFIG_KEY, POPULATION_MODEL_KEY
from eros.core.phase_config import PhaseConfig, PhaseConfigError, decode, from_settings
from eros.core.population_model import decode_record
from eros.core.redis_client import async_redis
from eros.core.settings import Settings
from eros.pipeline.operator_plan import OperatorPlanRecord, read_plan
from eros.pipeline.status import PipelineStatus, read_status

# `rq info`'s habit: a refresh every couple of seconds is live without loading Redis.
DEFAULT_WATCH_SECONDS = 2.0
REDIS_UNREACHABLE_EXIT = 2
HALTS_SHOWN = 5
# ANSI: clear the screen and go home, only when a person watches a terminal.
CLEAR_SCREEN = "\x1b[2J\x1b[H"
DEFAULT_KUBECONFIG = Path.home() / ".kube" / "config"


class RedisUnreachable(Exception):
    """Redis did not answer; the message names where it was looked for."""


@dataclass(frozen=True, slots=True)
class StatusReport:
    at_ms: int
    redis: str  # host:port, never the password
    users_per_phase: list[int]  # index 0 = active
    pipeline: PipelineStatus
    plan: OperatorPlanRecord | None
    model: dict[str, Any] | None
    resources: list[dict[str, Any]] | None  # None without a kubeconfig
    resources_error: str | None = None
    # Set when the user may list the resources in this namespace only.
    resources_namespace: str | None = None


def redis_location(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}"


async def _phase_config(client: aredis.Redis, settings: Settings) -> PhaseConfig:
    raw = await client.get(PHASE_CONFIG_KEY)
    if raw is not None:
        try:
            return decode(raw)
        except PhaseConfigError:
            pass  # the components fall back to their settings too
    return from_settings(settings)


async def _model(client: aredis.Redis) -> dict[str, Any] | None:
    raw = await client.get(POPULATION_MODEL_KEY)
    stored = None if raw is None else decode_record(raw)
    if stored is None:
        return None
    info = stored.info
    return {
        "version": info.version,
        "examples": info.examples,
        "users": info.users,
        "fittedAt": info.fitted_at.isoformat(),
        "inUse": stored.model is not None,
    }


async def _gather(url: str, settings: Settings, now_ms: int) -> StatusReport:
    client = async_redis(url)
    try:
        config = await _phase_config(client, settings)
        pipeline = await read_status(client, config, now_ms)
        users = await acount_users_per_phase(client, config.idle_seconds, now_ms)
        plan = await read_plan(client)
        model = await _model(client)
    except redis.RedisError as exc:
        raise RedisUnreachable(
            f"eros status: cannot reach Redis at {redis_location(url)} ({str(exc).rstrip('.')})."
        ) from exc
    finally:
        await client.aclose()
    return StatusReport(now_ms, redis_location(url), users, pipeline, plan, model, None)


def gather(settings: Settings, now_ms: int, kubeconfig: Path | None) -> StatusReport:
    """Everything shown, read once. Raises `RedisUnreachable`."""
    if not settings.redis_url:
        raise RedisUnreachable("eros status: EROS_REDIS_URL is not set.")
    report = asyncio.run(_gather(settings.redis_url, settings, now_ms))
    if kubeconfig is None:
        return report
    from eros.cli.status_resource import read_resources

    try:
        listing = read_resources(kubeconfig)
    except Exception as exc:  # a cluster out of reach must not hide what Redis says
        return replace(report, resources=[], resources_error=cluster_error(exc))
    return replace(report, resources=listing.items, resources_namespace=listing.namespace)


def cluster_error(exc: Exception) -> str:
    """One line for the failure to read the resources: the API server's own message for an
    HTTP answer (a 403 names the missing permission), never its headers and body dump."""
    from kubernetes.client import ApiException  # loaded already: the read went through it

    if isinstance(exc, ApiException):
        try:
            decoded = json.loads(exc.body) if exc.body else None
        except ValueError:
            decoded = None
        message = decoded.get("message") if isinstance(decoded, dict) else None
        text = f"{exc.status} {exc.reason}" + (f": {message}" if message else "")
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())


def kubeconfig_path(given: str | None) -> Path | None:
    """`--kubeconfig`, else $KUBECONFIG's first file, else ~/.kube/config if it exists."""
    if given:
        return Path(given)
    env = os.environ.get("KUBECONFIG")
    if env:
        first = Path(env.split(os.pathsep)[0])
        return first if first.is_file() else None
    return DEFAULT_KUBECONFIG if DEFAULT_KUBECONFIG.is_file() else None


# --- The two renderings (pure) ----------------------------------------------------------


def to_document(report: StatusReport) -> dict[str, Any]:
    """The JSON document of `--json`: camelCase keys, stable across versions."""
    status = report.pipeline
    config = status.config
    return {
        "at": report.at_ms,
        "redis": report.redis,
        "activeUsers": report.users_per_phase[0],
        "phases": [
            {
                "phase": view.phase,
                "idleUsers": report.users_per_phase[view.phase],
                "queue": view.queue,
                "queued": view.queued,
                "running": view.running,
                "workers": view.workers,
                "lagMs": view.lag_ms,
                "offPeak": view.off_peak,
                "inWindow": view.in_window,
            }
            for view in status.phases
        ],
        "scheduler": {
            "leader": status.scheduler.leader,
            "leaseExpiresInMs": status.scheduler.lease_expires_in_ms,
            "lastTickAt": status.scheduler.last_tick_at_ms,
            "lastTickSeconds": status.scheduler.last_tick_seconds,
        },
        "recentHalts": [
            {
                "jobId": halt.job_id,
                "phase": halt.phase,
                "state": halt.state,
                "receivedAt": halt.received_at_ms,
            }
            for halt in status.recent_halts
        ],
        "config": {"source": config.source, "generation": config.generation},
        "followers": [
            {
                "component": f.component,
                "source": f.source,
                "generation": f.generation,
                "seenAt": f.seen_at_ms,
            }
            for f in status.followers
        ],
        "plan": None if report.plan is None else asdict(report.plan),
        "model": report.model,
        "resources": report.resources,
        "resourcesError": report.resources_error,
        "resourcesNamespace": report.resources_namespace,
    }


def _table(rows: Sequence[Sequence[object]]) -> list[str]:
    cells = [["-" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return [
        "  ".join(
            c.rjust(w) if i else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in cells
    ]


def _ago(at_ms: int | None, now_ms: int) -> str:
    return "-" if at_ms is None else f"{max(0, now_ms - at_ms) / MS_PER_SECOND:.1f}s ago"


def render_text(report: StatusReport) -> str:
    """Plain aligned text, one section per fact, as `rq info` prints."""
    status, now = report.pipeline, report.at_ms
    planned_phases = report.plan.phases if report.plan else ()
    lines = [
        f"EROS status at {time.strftime('%H:%M:%S', time.gmtime(now / 1000))} UTC"
        f" (Redis {report.redis}); {report.users_per_phase[0]} active users",
        "",
    ]
    rows: list[list[object]] = [
        [
            "phase",
            "idle",
            "queued",
            "running",
            "workers",
            "lag",
            "desired",
            "ready",
            "budget",
            "reason",
        ]
    ]
    for i, view in enumerate(status.phases):
        # The plan's phases are the resource's, in the same order.
        planned = planned_phases[i] if i < len(planned_phases) else None
        lag = "-" if view.lag_ms is None else f"{view.lag_ms / MS_PER_SECOND:.1f}s"
        rows.append(
            [
                view.phase,
                report.users_per_phase[view.phase],
                view.queued,
                view.running,
                view.workers,
                lag if view.in_window else f"{lag} (closed)",
                planned.desired if planned else None,
                planned.ready if planned else None,
                planned.budget if planned else None,
                planned.reason if planned else None,
            ]
        )
    lines += _table(rows)
    sched = status.scheduler
    lines += [
        "",
        f"scheduler: leader {sched.leader or 'NONE'}, last tick {_ago(sched.last_tick_at_ms, now)}"
        + (f" ({sched.last_tick_seconds:.3f}s)" if sched.last_tick_seconds is not None else ""),
        f"config: {status.config.source} generation {status.config.generation or '-'}; "
        + (
            ", ".join(f"{f.component}@{f.generation or '-'}" for f in status.followers)
            or "no followers"
        ),
    ]
    if report.plan is None:
        lines.append("operator: no plan published")
    else:
        p = report.plan
        lines.append(
            f"operator: {p.source} generation {p.generation or '-'}, plan {_ago(p.at_ms, now)}, "
            f"pool {p.cpu_pool}" + (f", DEGRADED {p.degraded}" if p.degraded else "")
        )
    model = report.model
    lines.append(
        "model: none cached"
        if model is None
        else f"model: version {model['version']} ({model['examples']} decisions, "
        f"{model['users']} users){'' if model['inUse'] else ', not in use'}"
    )
    halts = status.recent_halts[:HALTS_SHOWN]
    lines.append(f"halts: {len(status.recent_halts)} recent" + (":" if halts else ""))
    lines += [
        f"  {_ago(h.received_at_ms, now):>10}  phase {h.phase or '-'}  {h.state:<7}  {h.job_id}"
        for h in halts
    ]
    if report.resources is not None:
        lines += ["", *_resource_lines(report)]
    return "\n".join(lines) + "\n"


def _resource_lines(report: StatusReport) -> list[str]:
    if report.resources_error:
        return [f"resources: cannot read ErosProcessing ({report.resources_error})"]
    lines = []
    if report.resources_namespace is not None:
        lines.append(
            f"resources: namespace {report.resources_namespace} only (this user may not "
            "list ErosProcessing in every namespace)"
        )
    if not report.resources:
        return [*lines, "resources: no ErosProcessing found"]
    for resource in report.resources:
        conditions = ", ".join(
            f"{c.get('type')}={c.get('status')}" + (f" ({c['reason']})" if c.get("reason") else "")
            for c in resource.get("conditions") or []
        )
        lines.append(
            f"resource {resource['namespace']}/{resource['name']} generation "
            f"{resource.get('generation')} (observed {resource.get('observedGeneration')}): "
            f"replicas {resource.get('readyReplicas', 0)}/{resource.get('desiredReplicas', 0)} "
            f"ready, cpu {resource.get('cpuAllocated', '-')}; {conditions or 'no conditions'}"
        )
    return lines


# --- The command ------------------------------------------------------------------------


def run_status(
    settings: Settings,
    *,
    as_json: bool,
    watch: float | None,
    count: int | None,
    kubeconfig: Path | None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    sleep: Callable[[float], None] = time.sleep,
    now_ms: Callable[[], int] = lambda: int(time.time() * MS_PER_SECOND),
) -> int:
    """Print once, or every `watch` seconds until Ctrl-C (or `count` refreshes)."""
    clear = watch is not None and not as_json and out.isatty()
    shown = 0
    try:
        while True:
            try:
                report = gather(settings, now_ms(), kubeconfig)
            except RedisUnreachable as exc:
                err.write(f"{exc}\n")
                return REDIS_UNREACHABLE_EXIT
            text = (
                json.dumps(to_document(report), sort_keys=True) + "\n"
                if as_json
                else render_text(report)
            )
            out.write((CLEAR_SCREEN if clear else "") + text)
            out.flush()
            shown += 1
            if watch is None or (count is not None and shown >= count):
                return 0
            if not clear and not as_json:
                out.write("\n")
            sleep(watch)
    except KeyboardInterrupt:
        return 0


def add_status_command(commands: Any) -> None:
    status = commands.add_parser(
        "status",
        help="Print the pipeline at a glance (phases, workers, queues, halts, leader, plan), "
        "read from Redis (EROS_REDIS_URL) and, with a kubeconfig, the ErosProcessing status.",
    )
    status.add_argument("--json", action="store_true", help="One JSON document, for scripts.")
    status.add_argument(
        "--watch",
        type=float,
        nargs="?",
        const=DEFAULT_WATCH_SECONDS,
        metavar="SECONDS",
        help=f"Refresh every SECONDS (default {DEFAULT_WATCH_SECONDS:g}) until Ctrl-C.",
    )
    status.add_argument(
        "--count", type=int, metavar="N", help="With --watch: stop after N refreshes."
    )
    status.add_argument(
        "--kubeconfig",
        metavar="FILE",
        help="Read the ErosProcessing resources with this kubeconfig (default: $KUBECONFIG, "
        "else ~/.kube/config when it exists).",
    )
    status.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from eros.cli.components import load_settings

    return run_status(
        load_settings(),
        as_json=args.json,
        watch=args.watch,
        count=args.count,
        kubeconfig=kubeconfig_path(args.kubeconfig),
    )
