#!/usr/bin/env python3
"""Peering takeover time: SIGTERM to the active operator until the standby acts.

    .venv/bin/python -P bench/peering_takeover.py [--runs 5]

Starts the real control plane of ../shared/kube (as the `kube` test tier does), applies
the CRDs and a KopfPeering, and per run starts two real `eros operator` processes with the
same --priority and different pod names, with one ErosProcessing to serve. Once one acts
and the other stands by, it sends SIGTERM to the active one and reads, from the standby's
log, when it said that it resumes (kopf resumes when the stopping replica removes itself
from the peering object, and the standby's watch sees the same event). Prints the median,
min and max over the runs, and how long the standby's /healthz took to say "active" (it
is answered fresh on each request, polled every 0.1 s here).

A replica killed without SIGTERM (SIGKILL, a lost node) leaves its entry until its lease
runs out: kopf's default 60 s lifetime; that case is not measured here.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The control plane and the operator harness are the kube tests' own.
sys.path.insert(0, str(ROOT))

from tests.control_plane import ControlPlane, control_plane_script
from tests.operator.test_peering_on_server import (
    Replica,
    peering_object,
    processing,
    replicas,
    settled,
)
from tests.operator_process import eventually

START_SECONDS = 60.0
TAKEOVER_SECONDS = 30.0
HEALTHZ_SECONDS = 30.0
LOG_TIME_FORMAT = "%Y-%m-%d %H:%M:%S,%f"


def resumed_at(replica: Replica) -> float | None:
    """The wall-clock time of the standby's "resumes" log line, once it is written."""
    line = replica.standing()
    if " resumes" not in line:
        return None
    stamp = " ".join(line.split(" ")[:2])
    return datetime.strptime(stamp, LOG_TIME_FORMAT).astimezone().timestamp()


def one_run(plane: ControlPlane, logs: Path, run: int) -> tuple[float, float]:
    namespace = plane.create_namespace("eros-takeover")
    plane.apply(peering_object(namespace), processing(namespace, "eros"))
    names = [f"eros-operator-{run}-a", f"eros-operator-{run}-b"]
    (logs / str(run)).mkdir(parents=True)
    with replicas(plane, namespace, logs / str(run), names) as pair:
        active, standby = eventually(lambda: settled(pair), START_SECONDS, "one active replica")
        sent = time.time()
        active.process.process.send_signal(signal.SIGTERM)
        resumed = eventually(lambda: resumed_at(standby), TAKEOVER_SECONDS, "the takeover")
        eventually(
            lambda: (standby.peering() or {}).get("state") == "active",
            HEALTHZ_SECONDS,
            "/healthz to say active",
        )
        healthz = time.time() - sent
        active.process.stop()
    plane.kubectl("delete", "namespace", namespace, "--wait=false")
    return resumed - sent, healthz


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    script = control_plane_script()
    if script is None:
        sys.exit("No control plane binaries (set EROS_KUBE_CONTROL_PLANE).")
    with tempfile.TemporaryDirectory(prefix="eros-takeover-") as folder:
        directory = Path(folder)
        plane = ControlPlane.start(script, directory / "kube")
        try:
            plane.kubectl("apply", "-f", str(ROOT / "crds"))
            plane.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd", "--all")
            (directory / "logs").mkdir()
            figures = [one_run(plane, directory / "logs", run) for run in range(args.runs)]
        finally:
            plane.stop()
    takeovers = [takeover * 1000 for takeover, _ in figures]
    healthz = [seconds for _, seconds in figures]
    print(f"runs: {args.runs}")
    print(
        "SIGTERM to the standby's 'resumes' log line: "
        f"median {statistics.median(takeovers):.0f} ms, "
        f"min {min(takeovers):.0f} ms, max {max(takeovers):.0f} ms"
    )
    print(
        "SIGTERM to /healthz saying active: "
        f"median {statistics.median(healthz):.1f} s, max {max(healthz):.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
