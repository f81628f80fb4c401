"""`eros simulate`: a day of a synthetic population through the production decisions."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eros.simulate import population as pop
from eros.simulate.engine import DEFAULT_POD_START_SECONDS
from eros.simulate.policies import POLICY_NAMES
from eros.simulate.workers import DEFAULT_JOB_CPU_SECONDS

DEFAULT_RESOURCE = Path("examples/erosprocessing-large.yaml")
DEFAULT_USERS = 100_000
DEFAULT_HOURS = 24.0
# Noon UTC: the span holds whole European nights, where the large example's window is.
DEFAULT_START = "2026-12-07T12:00:00+00:00"


def _run(args: argparse.Namespace) -> int:
    from eros.simulate.run import RunOptions, run
    from eros.simulate.workers import JobCosts, parse_job_cpu

    options = RunOptions(
        resource=args.resource,
        users=args.users,
        hours=args.hours,
        seed=args.seed,
        tick_seconds=args.tick,
        start=datetime.fromisoformat(args.start).astimezone(UTC),
        population=pop.PopulationParams(
            time_zones=pop.parse_time_zones(args.time_zones),
            bedtime_hour=args.bedtime,
            bedtime_spread_hours=args.bedtime_spread,
            sleep_hours=args.sleep_hours,
            sessions_per_day=args.sessions_per_day,
            session_median_seconds=args.session_seconds,
            session_sigma=args.session_sigma,
        ),
        costs=JobCosts(median_cpu_seconds=parse_job_cpu(args.job_cpu)),
        pod_start_seconds=args.pod_start,
        policies=tuple(p.strip() for p in args.policies.split(",") if p.strip()),
        out=args.out,
    )
    run(options)
    return 0


def add_simulate_command(commands: Any) -> None:
    """Register `simulate` on the top-level subparsers."""
    parser = commands.add_parser(
        "simulate",
        help="Replay a synthetic population through the scheduler and planner; compare policies.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--resource", type=Path, default=DEFAULT_RESOURCE, help="ErosProcessing YAML"
    )
    parser.add_argument("--users", type=int, default=DEFAULT_USERS)
    parser.add_argument("--hours", type=float, default=DEFAULT_HOURS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--tick", type=float, default=None, help="seconds; default the resource's tickSeconds"
    )
    parser.add_argument("--start", default=DEFAULT_START, help="ISO time the day starts at")
    parser.add_argument("--time-zones", default=pop.DEFAULT_TIME_ZONES, help="UTC offset:share,...")
    parser.add_argument(
        "--bedtime", type=float, default=pop.DEFAULT_BEDTIME_HOUR, help="local hour"
    )
    parser.add_argument(
        "--bedtime-spread", type=float, default=pop.DEFAULT_BEDTIME_SPREAD_HOURS, help="hours (std)"
    )
    parser.add_argument("--sleep-hours", type=float, default=pop.DEFAULT_SLEEP_HOURS)
    parser.add_argument("--sessions-per-day", type=float, default=pop.DEFAULT_SESSIONS_PER_DAY)
    parser.add_argument(
        "--session-seconds", type=float, default=pop.DEFAULT_SESSION_MEDIAN_SECONDS, help="median"
    )
    parser.add_argument(
        "--session-sigma", type=float, default=pop.DEFAULT_SESSION_SIGMA, help="lognormal sigma"
    )
    parser.add_argument(
        "--job-cpu",
        default=",".join(str(v) for v in DEFAULT_JOB_CPU_SECONDS),
        help="median CPU-seconds per job, phases 1,2,3",
    )
    parser.add_argument(
        "--pod-start", type=float, default=DEFAULT_POD_START_SECONDS, help="seconds"
    )
    parser.add_argument("--policies", default=",".join(POLICY_NAMES))
    parser.add_argument(
        "--out", type=Path, default=None, help="directory for the CSV, PNGs and HTML"
    )
    parser.set_defaults(handler=_run)
