"""The `eros` command: one entry point for every component."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from eros.cli.moderation import add_moderation_commands
from eros.cli.simulate import add_simulate_command
from eros.cli.status import add_status_command
from eros.core import __version__

Handler = Callable[[argparse.Namespace], int]


def _run_api(args: argparse.Namespace) -> int:
    from eros.cli.components import run_api

    return run_api(host=args.host, port=args.port)


def _run_migrate(_: argparse.Namespace) -> int:
    from eros.cli.components import run_migrate

    return run_migrate()


def _run_dev(args: argparse.Namespace) -> int:
    from eros.cli.dev import run_dev

    return run_dev(port=args.port, data_dir=args.data_dir, resource=args.resource)


def _run_scheduler(args: argparse.Namespace) -> int:
    from eros.cli.components import load_settings
    from eros.pipeline.scheduler import run_scheduler

    return run_scheduler(load_settings(), metrics_port=args.metrics_port)


def _run_worker(args: argparse.Namespace) -> int:
    from eros.cli.components import load_settings
    from eros.core.phases import Phase
    from eros.worker.runner import run_worker

    return run_worker(
        load_settings(), Phase(args.phase), metrics_port=args.metrics_port, burst=args.burst
    )


def _run_operator(args: argparse.Namespace) -> int:
    from eros.operator.run import main_from_args

    return main_from_args(args)


def _run_promote(args: argparse.Namespace) -> int:
    from eros.cli.components import run_set_role

    return run_set_role(args.email, "admin")


def _run_demote(args: argparse.Namespace) -> int:
    from eros.cli.components import run_set_role

    return run_set_role(args.email, "user")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eros",
        description="EROS: idle-time processing for a dating app. Settings come from EROS_* "
        "environment variables (see the README).",
    )
    parser.add_argument("--version", action="version", version=f"eros {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    api = commands.add_parser("api", help="Serve the REST API with uvicorn.")
    api.add_argument("--host", help="Address to listen on (default: EROS_API_HOST).")
    api.add_argument("--port", type=int, help="Port to listen on (default: EROS_API_PORT).")
    api.set_defaults(handler=_run_api)

    migrate = commands.add_parser("migrate", help="Apply pending database migrations and exit.")
    migrate.set_defaults(handler=_run_migrate)

    dev = commands.add_parser(
        "dev",
        help="Run the whole system locally, starting embedded Valkey and PostgreSQL "
        "when EROS_REDIS_URL / EROS_DATABASE_URL are unset.",
    )
    dev.add_argument("--port", type=int, help="API port (default: EROS_API_PORT).")
    dev.add_argument("--data-dir", help="Embedded servers' data (default: EROS_DATA_DIR).")
    dev.add_argument(
        "--resource",
        metavar="FILE",
        help="The ErosProcessing YAML the local loop follows; edit it while it runs "
        "(default: examples/erosprocessing-dev.yaml).",
    )
    dev.set_defaults(handler=_run_dev)

    scheduler = commands.add_parser(
        "scheduler",
        help="Enqueue a job for every user who crosses an idle-phase threshold "
        "(one active scheduler; run two for a warm standby).",
    )
    scheduler.add_argument(
        "--metrics-port",
        type=int,
        help="Port of /metrics and /healthz; 0 disables them "
        "(default: EROS_SCHEDULER_METRICS_PORT).",
    )
    scheduler.set_defaults(handler=_run_scheduler)

    worker = commands.add_parser(
        "worker", help="Run one phase's jobs: an RQ worker that halts them when users return."
    )
    worker.add_argument(
        "--phase", type=int, required=True, choices=[1, 2, 3], help="The idle phase to work on."
    )
    worker.add_argument(
        "--metrics-port",
        type=int,
        help="Port of /metrics and /healthz; 0 disables them (default: EROS_WORKER_METRICS_PORT).",
    )
    worker.add_argument(
        "--burst", action="store_true", help="Exit once the queue is empty instead of waiting."
    )
    worker.set_defaults(handler=_run_worker)

    from eros.operator.options import build_parser as add_operator_options

    operator = commands.add_parser(
        "operator",
        help="Run the kopf operator that scales per-phase worker Deployments "
        "from ErosProcessing resources.",
    )
    add_operator_options(operator)
    operator.set_defaults(handler=_run_operator)

    users = commands.add_parser("users", help="Manage accounts.")
    user_commands = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    promote = user_commands.add_parser("promote", help="Make an existing user an admin.")
    promote.add_argument("email")
    promote.set_defaults(handler=_run_promote)
    demote = user_commands.add_parser("demote", help="Make an admin a regular user again.")
    demote.add_argument("email")
    demote.set_defaults(handler=_run_demote)
    add_moderation_commands(commands)
    add_simulate_command(commands)
    add_status_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
