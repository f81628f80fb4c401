"""`eros operator`: run the kopf operator with the handlers of `eros.operator.handlers`."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

import kopf
import kubernetes

from eros.core.logs import configure_logging
from eros.operator.kube import load_api_client
from eros.operator.options import build_parser, options_from_args
from eros.operator.peering import kopf_identity
from eros.operator.runtime import OperatorOptions

logger = logging.getLogger(__name__)

__all__ = ["build_parser", "kopf_arguments", "main", "main_from_args", "options_from_args", "run"]


def kopf_arguments(options: OperatorOptions) -> dict[str, Any]:
    """The arguments of `kopf.run` / `kopf.operator`; all other settings are in `configure`."""
    # Chosen here rather than by kopf, so that `eros.operator.standby` knows which entry
    # of the peering object is this replica's.
    identity = kopf_identity()
    return {
        "clusterwide": options.clusterwide,
        "namespaces": list(options.namespaces),
        # Not kopf's liveness endpoint, which caches for 10 s: `eros.operator.health`.
        "liveness_endpoint": None,
        "identity": identity,
        "memo": kopf.Memo(options=options, identity=identity),
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
    try:
        # Fail here with one clear line, rather than inside kopf's start-up handlers.
        load_api_client().close()  # type: ignore[no-untyped-call]
    except kubernetes.config.ConfigException as error:
        sys.stderr.write(f"eros operator: no Kubernetes credentials: {error}\n")
        return 1
    logger.info("Starting the EROS operator.")
    run(options)
    return 0
