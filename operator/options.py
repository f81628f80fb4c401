"""The options of `eros operator`, apart from `run.py` so that the `eros` CLI can build
its parser without importing kopf and the Kubernetes client."""

from __future__ import annotations

import argparse
import os

from eros.operator.peering import effective_priority, replica_identity
from eros.operator.runtime import (
    DEFAULT_LIVENESS_PORT,
    DEFAULT_METRICS_PORT,
    DEFAULT_PEERING_NAME,
    OperatorOptions,
)

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
        default=0,
        help="Peering priority; the highest acts. Replicas of equal priority are ordered by "
        "their pod name ($POD_NAME, else host name and pid): the kopf priority is "
        "PRIORITY * 2**20 + a number below 2**20 derived from it (default: 0).",
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
    try:
        priority = effective_priority(args.priority, replica_identity())
    except ValueError as error:
        raise SystemExit(f"eros operator: {error}") from None
    return OperatorOptions(
        namespaces=namespaces,
        clusterwide=bool(args.all_namespaces),
        liveness_port=args.liveness_port,
        metrics_port=args.metrics_port,
        peering_name=args.peering,
        standalone=bool(args.standalone),
        priority=priority,
    )
