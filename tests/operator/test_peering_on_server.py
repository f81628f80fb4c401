"""Two real operator processes on a real API server, given the same --priority: exactly
one acts and the other stands by (and says so in /healthz and its logs), the standby takes
over when the active one stops, and even two pod names whose tiebreaks collide never
leave both paused."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest
from kubernetes.client import ApiException, AppsV1Api

from eros.operator.manifests import LABEL_INSTANCE
from eros.operator.peering import tiebreak
from tests.control_plane import ControlPlane
from tests.operator_process import STOP_TIMEOUT_SECONDS, OperatorProcess, eventually

pytestmark = pytest.mark.kube

PEERING = "eros"
PRIORITY = "3"
START_SECONDS = 60.0
TAKEOVER_SECONDS = 30.0


STANDBY_LOGGER = "eros.operator.standby"
# How the lines that state a standing read (others tell of moves to another tiebreak).
STANDINGS = (" is active", " resumes", " is standing by", " is paused")


@dataclass
class Replica:
    name: str
    process: OperatorProcess

    def peering(self) -> dict[str, Any] | None:
        """The "peering" probe of /healthz (kopf caches the answer for 10 s)."""
        health = self.process.healthz()
        if health is None or health.code != 200:
            return None
        value = health.body.get("peering")
        return value if isinstance(value, dict) and "identity" in value else None

    def standing(self) -> str:
        """The last line in which this replica said whether it acts or stands by."""
        lines = [
            line
            for line in self.process.logs().splitlines()
            if STANDBY_LOGGER in line and any(word in line for word in STANDINGS)
        ]
        return lines[-1] if lines else ""

    def acts(self) -> bool:
        return " is active" in self.standing() or " resumes" in self.standing()

    def stands_by_for(self, other: Replica) -> bool:
        return f"standing by in favour of {other.name}," in self.standing()


def peering_object(namespace: str) -> dict[str, Any]:
    """What the chart renders (templates/operator/kopfpeering.yaml): kopf never creates it."""
    return {
        "apiVersion": "kopf.dev/v1",
        "kind": "KopfPeering",
        "metadata": {"name": PEERING, "namespace": namespace},
    }


def processing(namespace: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "eros.dev/v1alpha1",
        "kind": "ErosProcessing",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {},
    }


def colliding_pod_names() -> tuple[str, str]:
    """Two pod names whose tiebreaks are equal, as 1 pair in 2**20 are: found by the
    birthday bound within a few thousand names."""
    seen: dict[int, str] = {}
    for number in count():
        name = f"eros-operator-{number:05d}"
        other = seen.setdefault(tiebreak(name), name)
        if other != name:
            return other, name
    raise AssertionError("unreachable")


@contextmanager
def replicas(
    plane: ControlPlane, namespace: str, logs: Path, names: Sequence[str]
) -> Iterator[list[Replica]]:
    """Operators with the same --priority, one per pod name, stopped together on exit."""
    started: list[Replica] = []
    try:
        for name in names:
            process = OperatorProcess.start(
                plane.kubeconfig,
                namespace,
                logs / f"{name}.log",
                f"--peering={PEERING}",
                f"--priority={PRIORITY}",
                env={"POD_NAME": name},
            )
            started.append(Replica(name, process))
        yield started
    finally:
        # SIGTERM to all first: each one's shutdown then overlaps the others'.
        for replica in started:
            if replica.process.running():
                replica.process.process.send_signal(signal.SIGTERM)
        for replica in started:
            # A second SIGTERM (from stop()) would only make kopf log an error.
            with suppress(subprocess.TimeoutExpired):
                replica.process.process.wait(STOP_TIMEOUT_SECONDS)
            replica.process.stop()


def settled(pair: Sequence[Replica]) -> tuple[Replica, Replica] | None:
    """(active, standby) once one says it acts and the other that it stands by for it."""
    first, second = pair
    if first.acts() and second.stands_by_for(first):
        return first, second
    if second.acts() and first.stands_by_for(second):
        return second, first
    return None


def deployments(plane: ControlPlane, namespace: str, owner: str) -> list[str]:
    apps = AppsV1Api(plane.api_client())
    try:
        found = apps.list_namespaced_deployment(
            namespace, label_selector=f"{LABEL_INSTANCE}={owner}"
        )
    except ApiException:
        return []
    return sorted(item.metadata.name for item in found.items)


@pytest.fixture
def namespace(eros_crds: ControlPlane) -> str:
    name = eros_crds.create_namespace("eros-peering")
    eros_crds.apply(peering_object(name))
    return name


def test_of_two_replicas_with_the_same_priority_one_acts_and_the_other_takes_over(
    eros_crds: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    plane = eros_crds
    with replicas(plane, namespace, tmp_path, ["eros-operator-a", "eros-operator-b"]) as pair:
        active, standby = eventually(lambda: settled(pair), START_SECONDS, "one active replica")
        assert (active.peering() or {}).get("state") == "active"
        # A standby is healthy: Kubernetes must not restart it.
        assert (standby.process.healthz() or pytest.fail("no /healthz")).code == 200
        assert (standby.peering() or {}).get("in favour of") == [active.name]

        plane.apply(processing(namespace, "first"))
        eventually(lambda: deployments(plane, namespace, "first"), what="the first Deployments")
        # The log line follows the API call that created the Deployment.
        eventually(lambda: f"{namespace}/first-phase-1" in active.process.logs())
        assert f"{namespace}/first-phase-1" not in standby.process.logs()

        active.process.stop()
        eventually(standby.acts, TAKEOVER_SECONDS, "the standby to resume")
        assert f"resumes: the peers it stood by for ({active.name}) are gone" in standby.standing()
        plane.apply(processing(namespace, "second"))
        eventually(lambda: deployments(plane, namespace, "second"), what="the second Deployments")
        eventually(lambda: f"{namespace}/second-phase-1" in standby.process.logs())
        eventually(
            lambda: (standby.peering() or {}).get("state") == "active",
            TAKEOVER_SECONDS,
            "/healthz to say active",
        )


def test_two_pod_names_whose_tiebreaks_collide_still_leave_one_replica_active(
    eros_crds: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    smaller, greater = colliding_pod_names()
    with replicas(eros_crds, namespace, tmp_path, [smaller, greater]) as pair:
        active, standby = eventually(lambda: settled(pair), START_SECONDS, "one active replica")
        by_name = {replica.name: replica for replica in pair}
        # Only the smaller identity moves to another tiebreak; the other keeps its own.
        assert "ties with a peer" in by_name[smaller].process.logs()
        assert "ties with a peer" not in by_name[greater].process.logs()
        assert [active.peering(), standby.peering()] == [
            {"state": "active", "identity": active.name, "priority": ANY},
            {
                "state": "paused",
                "identity": standby.name,
                "priority": ANY,
                "in favour of": [active.name],
            },
        ]
