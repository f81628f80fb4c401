"""`eros operator`: run the kopf operator with the handlers of `eros.operator.handlers`."""

from __future__ import annotations

import argparse
import logging
import os
import random
from collections.abc import Sequence
from typing import Any

import kopf

from eros.core.logs import configure_logging
from eros.operator.runtime import (
    DEFAULT_LIVENESS_PORT,
    DEFAULT_METRICS_PORT,
    DEFAULT_PEERING_NAME,
    OperatorOptions,
)

logger = logging.getLogger(__name__)

# Kopf pauses every operator that sees a peer of equal priority, so replicas draw
# distinct random priorities (as kopf's docs suggest with $RANDOM): one acts, the rest wait.
MAX_RANDOM_PRIORITY = 32767
NAMESPACE_ENV = "POD_NAMESPACE"


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The options of `eros operator`; pass a subparser to add them to it."""
    parser = parser or argparse.ArgumentParser(
        prog="eros operator",
        description="Scale the EROS worker Deployments of ErosProcessing resources.",
    )
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument(
        "-n",
        "--namespace",
        action="append",
        dest="namespaces",
        metavar="NAMESPACE",
        help=f"Serve this namespace (repeatable; default: ${NAMESPACE_ENV}).",
    )
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="Serve every namespace.")
    parser.add_argument(
        "--liveness-port",
        type=int,
        default=DEFAULT_LIVENESS_PORT,
        help=f"Port of the /healthz liveness endpoint; 0 disables it (default: "
        f"{DEFAULT_LIVENESS_PORT}).",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=DEFAULT_METRICS_PORT,
        help=f"Port of the Prometheus /metrics endpoint; 0 disables it (default: "
        f"{DEFAULT_METRICS_PORT}).",
    )
    parser.add_argument(
        "--peering",
        default=DEFAULT_PEERING_NAME,
        metavar="NAME",
        help="The KopfPeering (ClusterKopfPeering with --all-namespaces) through which "
        f"replicas agree that only one acts (default: {DEFAULT_PEERING_NAME}).",
    )
    parser.add_argument(
        "--standalone",
        action="store_true",
        help="Run without peering, e.g. on a developer's machine; never with 2 replicas.",
    )
    parser.add_argument(
        "--priority",
        type=int,
        help="Peering priority; the highest acts (default: random).",
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("EROS_LOG_LEVEL", "INFO"),
        help="Log level (default: $EROS_LOG_LEVEL or INFO).",
    )
    parser.add_argument(
        "--log-format",
        choices=("json", "text"),
        default=os.environ.get("EROS_LOG_FORMAT", "json"),
        help="Log format (default: $EROS_LOG_FORMAT or json).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="Log at DEBUG level.")
    return parser


def options_from_args(args: argparse.Namespace) -> OperatorOptions:
    namespaces = tuple(args.namespaces or ())
    if not args.all_namespaces and not namespaces:
        default = os.environ.get(NAMESPACE_ENV, "")
        if not default:
            raise SystemExit(
                f"eros operator: give --namespace or --all-namespaces (or set ${NAMESPACE_ENV})."
            )
        namespaces = (default,)
    priority = args.priority
    if priority is None:
        priority = random.randint(0, MAX_RANDOM_PRIORITY)
    return OperatorOptions(
        namespaces=namespaces,
        clusterwide=bool(args.all_namespaces),
        liveness_port=args.liveness_port,
        metrics_port=args.metrics_port,
        peering_name=args.peering,
        standalone=bool(args.standalone),
        priority=priority,
    )


def kopf_arguments(options: OperatorOptions) -> dict[str, Any]:
    """The arguments of `kopf.run` / `kopf.operator`; all other settings are in `configure`."""
    liveness = f"http://0.0.0.0:{options.liveness_port}/healthz" if options.liveness_port else None
    return {
        "clusterwide": options.clusterwide,
        "namespaces": list(options.namespaces),
        "liveness_endpoint": liveness,
        "memo": kopf.Memo(options=options),
    }


def run(options: OperatorOptions) -> None:
    """Run the operator until SIGINT or SIGTERM."""
    from eros.operator import handlers  # noqa: F401 - registers the handlers with kopf

    kopf.run(**kopf_arguments(options))


def main(argv: Sequence[str] | None = None) -> int:
    """`eros operator [options]`; returns the exit status."""
    args = build_parser().parse_args(argv)
    return main_from_args(args)


def main_from_args(args: argparse.Namespace) -> int:
    """For a CLI that parsed the options with `build_parser(subparser)` itself."""
    configure_logging("DEBUG" if args.verbose else args.log_level, args.log_format)
    options = options_from_args(args)
    logger.info("Starting the EROS operator.")
    run(options)
    return 0
