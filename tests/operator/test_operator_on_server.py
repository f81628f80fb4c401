"""A real `eros operator` on a real API server, under the chart's namespaced RBAC.

An operator process serves a fresh namespace, authenticated with a token of the chart's
operator ServiceAccount (not the admin), and reads real idle users and queued jobs from
the embedded Valkey, written by the API's and the scheduler's own code. The tests follow
one resource through its life, in order: created before its Secret, scaled, edited,
paused, degraded, kept by a restarted operator, pointed at a Secret the operator may not
read, deleted; then a resource deleted while no operator runs is left to the garbage
collector, and the apiserver's audit log shows the operators used exactly what the
chart's Role grants.

No spec reaches the operator that the CRD admits and `parse_spec` refuses (every class
tried on the server is refused by both, or accepted by both), so the InvalidSpec status
is covered by the unit tests of the reconciler, not here.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eros.core.phases import Phase
from eros.operator.quantity import cpu_millicores
from tests.charts.chart import Rendering, render, scenario_values
from tests.conftest import RedisServer
from tests.control_plane import ControlPlane
from tests.operator.on_server import (
    OPERATOR_ACCOUNT,
    Activity,
    Request,
    Server,
    audit_requests,
    container,
    dedicated_database,
    grants,
    held_millicores,
    install_operator_rbac,
    secret,
    ungranted,
    unused,
)

pytestmark = pytest.mark.kube

logger = logging.getLogger(__name__)

NAME = "eros"
GC_NAME = "eros-gc"
REDIS_SECRET = "eros"  # the chart's own Redis Secret, which its Role always grants
LATER_SECRET = "eros-redis-later"  # granted through operator.redisSecretNames, made late
FORBIDDEN_SECRET = "eros-redis-forbidden"  # exists, but the Role does not grant it
REDIS_KEY = "redis-url"
QUEUES = ("eros-phase-1", "eros-phase-2", "eros-phase-3")
# 2 cores less 10 % headroom: 1800m in all. Phase 1 may use 5 % (one 100m worker),
# phase 2 15 % (one 250m worker), phase 3 all of it (three 500m workers).
PHASES = [
    {
        "name": "phase-1",
        "idleAfter": "10m",
        "cpuBudgetPercent": 5,
        "cpuPerWorker": "100m",
        "memoryPerWorker": "256Mi",
        "maxReplicas": 4,
        "queue": QUEUES[0],
    },
    {
        "name": "phase-2",
        "idleAfter": "30m",
        "cpuBudgetPercent": 15,
        "cpuPerWorker": "250m",
        "memoryPerWorker": "384Mi",
        "maxReplicas": 4,
        "queue": QUEUES[1],
    },
    {
        "name": "phase-3",
        "idleAfter": "1h",
        "cpuBudgetPercent": 100,
        "cpuPerWorker": "500m",
        "memoryPerWorker": "768Mi",
        "maxReplicas": 8,
        "queue": QUEUES[2],
    },
]
SPEC = {
    # The smallest tick the CRD allows, so that every step below takes about a second.
    "tickSeconds": 1,
    "cpuPool": "2",
    "headroomPercent": 10,
    # Created before its Secret, as happens when both are applied together.
    "redis": {"secretRef": {"name": LATER_SECRET, "key": REDIS_KEY}},
    "worker": {"image": "eros:0.1.0"},
    "phases": PHASES,
}


def chart_values() -> dict[str, Any]:
    """The minimal install, its operator serving only the release namespace, allowed one
    more Redis Secret by name."""
    values = scenario_values("minimal")
    values["operator"] = {
        "watchNamespaces": [],
        "watchAllNamespaces": False,
        "redisSecretNames": [LATER_SECRET],
    }
    return values


@pytest.fixture(scope="module")
def namespace(eros_crds: ControlPlane) -> Iterator[str]:
    name = eros_crds.create_namespace("eros-operator")
    yield name
    eros_crds.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture(scope="module")
def rendering(namespace: str) -> Rendering:
    return render(chart_values(), namespace=namespace)


@pytest.fixture(scope="module")
def figures_url(redis_server: RedisServer) -> str:
    """Where the figures live: the session's Valkey, a database of this module's own."""
    redis_server.start()  # an earlier test may have left it stopped
    return dedicated_database(redis_server.url)


@pytest.fixture(scope="module")
def activity(figures_url: str) -> Activity:
    activity = Activity(figures_url, QUEUES)
    activity.flush()
    return activity


@pytest.fixture(scope="module")
def server(
    eros_crds: ControlPlane,
    namespace: str,
    rendering: Rendering,
    figures_url: str,
    activity: Activity,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    """The chart's operator RBAC, the Secrets, the operator process and the resource."""
    # A namespaced operator: every right it has comes from the Role in this namespace.
    assert not rendering.of_kind("ClusterRole") and not rendering.of_kind("ClusterRoleBinding")
    install_operator_rbac(eros_crds, rendering)
    (peering,) = rendering.of_kind("KopfPeering")
    folder: Path = tmp_path_factory.mktemp("operator-on-server")
    kubeconfig = eros_crds.service_account_kubeconfig(
        namespace, OPERATOR_ACCOUNT, folder / "kubeconfig"
    )
    server = Server(eros_crds, namespace, kubeconfig, folder, peering.name)
    server.apply(
        secret(REDIS_SECRET, {REDIS_KEY: figures_url}),
        secret(FORBIDDEN_SECRET, {REDIS_KEY: figures_url}),
    )
    server.start_operator()
    server.create_processing(NAME, SPEC)
    server.created = time.monotonic()
    try:
        yield server
    finally:
        server.stop_operator()


@pytest.fixture(scope="module")
def crowd() -> dict[Phase, list[uuid.UUID]]:
    """The idle users the tests made, by phase, so that later tests can bring them back."""
    return {Phase.LIGHT: [], Phase.MEDIUM: [], Phase.DEEP: []}


def phases(server: Server, name: str = NAME) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = server.status(name).get("phases") or []
    return found


def conditions(server: Server, name: str = NAME) -> dict[str, tuple[str, str]]:
    return {
        str(c["type"]): (str(c["status"]), str(c["reason"]))
        for c in server.status(name).get("conditions") or []
    }


def generations(server: Server, name: str = NAME) -> dict[int, int]:
    return {n: int(d["metadata"]["generation"]) for n, d in server.deployments(name).items()}


def cpu_is_what_runs(server: Server, name: str = NAME) -> bool:
    """status.cpuAllocated (in all and per phase) is what the Deployments hold now:
    replicas times each one's CPU, not what the planner or the spec wants."""
    held = held_millicores(server.deployments(name))
    status = server.status(name)
    if not status.get("cpuAllocated") or len(held) != len(status.get("phases") or []):
        return False
    per_phase = {
        number: cpu_millicores(entry["cpuAllocated"])
        for number, entry in enumerate(status["phases"], start=1)
    }
    return cpu_millicores(status["cpuAllocated"]) == sum(held.values()) and per_phase == held


def event_uids(server: Server) -> frozenset[str]:
    return frozenset(e["metadata"]["uid"] for e in server.events(NAME))


def event_with(
    server: Server, kind: str, reason: str, seen: frozenset[str] = frozenset()
) -> dict[str, Any] | None:
    """An Event of that type and reason about the resource, other than those `seen`."""
    for event in server.events(NAME):
        if event["metadata"]["uid"] in seen:
            continue
        if (event.get("type"), event.get("reason")) == (kind, reason):
            return event
    return None


def test_the_operator_creates_one_worker_deployment_per_phase_owned_by_the_resource(
    server: Server,
) -> None:
    deployments = server.wait(
        lambda: (found := server.deployments(NAME)) and len(found) == 3 and found,
        "three worker Deployments",
    )
    resource = server.processing(NAME)
    assert resource is not None
    for number, deployment in deployments.items():
        assert deployment["metadata"]["name"] == f"{NAME}-phase-{number}"
        assert deployment["metadata"]["ownerReferences"] == [
            {
                "apiVersion": "eros.dev/v1alpha1",
                "kind": "ErosProcessing",
                "name": NAME,
                "uid": resource["metadata"]["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
        worker = container(deployment)
        phase = PHASES[number - 1]
        expected = {"cpu": phase["cpuPerWorker"], "memory": phase["memoryPerWorker"]}
        assert worker["resources"] == {"requests": expected, "limits": expected}
        assert worker["args"] == ["worker", "--phase", str(number)]
    # Nobody is idle yet (and the figures cannot even be read): no worker runs.
    assert server.replicas(NAME) == (0, 0, 0)


def test_a_resource_whose_secret_is_missing_is_degraded_with_an_event_and_in_healthz(
    server: Server,
) -> None:
    degraded = server.wait(
        lambda: (
            (c := server.condition(NAME, "Degraded")).get("reason") == "SecretUnavailable" and c
        ),
        "Degraded SecretUnavailable",
    )
    on_resource = time.monotonic() - server.created
    assert degraded["status"] == "True"
    assert f"{server.namespace}/{LATER_SECRET}" in degraded["message"]
    event = server.wait(
        lambda: event_with(server, "Warning", "SecretUnavailable"), "a SecretUnavailable Warning"
    )
    assert f"{server.namespace}/{LATER_SECRET}" in event["message"]
    # /healthz answers 200 (a restart would not bring the Secret) and names the problem.
    problem = server.wait(
        lambda: (p := server.problem(NAME)) and p.startswith("SecretUnavailable") and p,
        "SecretUnavailable in /healthz",
    )
    in_healthz = time.monotonic() - server.created
    assert f"{server.namespace}/{LATER_SECRET}" in problem
    assert server.replicas(NAME) == (0, 0, 0)
    logger.info(
        "Missing Secret: on the resource %.1f s after its creation (the operator starting "
        "meanwhile), in /healthz after %.1f s.",
        on_resource,
        in_healthz,
    )


def test_creating_the_missing_secret_lets_the_operator_read_the_figures(
    server: Server, figures_url: str
) -> None:
    server.apply(secret(LATER_SECRET, {REDIS_KEY: figures_url}))

    server.wait(
        lambda: conditions(server).get("Degraded") == ("False", "MetricsAvailable"),
        "Degraded=False",
    )
    server.wait(
        lambda: event_with(server, "Normal", "MetricsAvailable"), "a MetricsAvailable Event"
    )
    assert [p.get("idleUsers") for p in phases(server)] == [0, 0, 0]


def test_idle_users_with_queued_jobs_scale_their_phases_up_within_the_cpu_budgets(
    server: Server, activity: Activity, crowd: dict[Phase, list[uuid.UUID]]
) -> None:
    crowd[Phase.LIGHT] += activity.idle_users(Phase.LIGHT, 2, with_jobs=True)
    crowd[Phase.MEDIUM] += activity.idle_users(Phase.MEDIUM, 1, with_jobs=False)
    crowd[Phase.DEEP] += activity.idle_users(Phase.DEEP, 5, with_jobs=True)

    # Phase 1 wants 2 workers and phase 3 wants 5, but their budgets hold 1 and 3;
    # phase 2's idle user has no job, so it needs none.
    server.wait(lambda: server.replicas(NAME) == (1, 0, 3), "replicas (1, 0, 3)")
    found = server.wait(
        lambda: (
            [p.get("reason") for p in phases(server)]
            == ["PhaseBudgetLimited", "Demand", "PhaseBudgetLimited"]
            and phases(server)
        ),
        "the planner's reasons in the status",
    )
    assert [p["budgetReplicas"] for p in found] == [1, 1, 3]
    assert [p["desiredReplicas"] for p in found] == [1, 0, 3]


def test_the_status_reports_the_figures_the_replicas_and_the_cpu_the_deployments_hold(
    server: Server,
) -> None:
    status = server.wait(
        lambda: (s := server.status(NAME)).get("replicas") == 4 and s, "4 replicas in the status"
    )
    assert status["idleUsers"] == "2/1/5"
    assert status["desiredReplicas"] == 4
    assert [
        (p["name"], p["idleUsers"], p["queuedJobs"], p["runningJobs"]) for p in phases(server)
    ] == [
        ("phase-1", 2, 2, 0),
        ("phase-2", 1, 0, 0),
        ("phase-3", 5, 5, 0),
    ]
    assert [p["currentReplicas"] for p in status["phases"]] == [1, 0, 3]
    assert [p["deployment"] for p in status["phases"]] == [f"{NAME}-phase-{n}" for n in (1, 2, 3)]
    # 1 x 100m + 3 x 500m.
    assert cpu_millicores(status["cpuAllocated"]) == 1600
    assert server.wait(lambda: cpu_is_what_runs(server), "cpuAllocated = what the Deployments hold")
    resource = server.processing(NAME)
    assert resource is not None
    assert status["observedGeneration"] == resource["metadata"]["generation"]


def test_the_conditions_say_ready_active_not_degraded_and_not_paused(server: Server) -> None:
    assert conditions(server) == {
        "Ready": ("True", "Reconciled"),
        "Active": ("True", "WorkersRunning"),
        "Degraded": ("False", "MetricsAvailable"),
        "Paused": ("False", "NotPaused"),
    }


def test_events_record_each_deployment_created_and_each_scaling(server: Server) -> None:
    def scaled() -> list[dict[str, Any]] | None:
        events = server.events(NAME)
        return events if [e["reason"] for e in events].count("Scaled") == 2 else None

    # Events are posted in order, and each Deployment was created before it was scaled.
    events = server.wait(scaled, "2 Scaled events")
    ours = [e for e in events if e["reason"] in ("Created", "Scaled")]
    assert {e["type"] for e in ours} == {"Normal"}
    assert {e["source"]["component"] for e in ours} == {"eros-operator"}
    assert sorted(e["message"] for e in ours if e["reason"] == "Created") == [
        f"Created worker Deployment {NAME}-phase-{n}." for n in (1, 2, 3)
    ]
    assert sorted(e["message"] for e in ours if e["reason"] == "Scaled") == [
        f"Scaled phase-1 workers ({NAME}-phase-1) from 0 to 1: PhaseBudgetLimited.",
        f"Scaled phase-3 workers ({NAME}-phase-3) from 0 to 3: PhaseBudgetLimited.",
    ]


def test_an_edit_of_cpu_per_worker_reaches_the_deployment_and_its_budget(server: Server) -> None:
    server.edit_phase(NAME, 3, cpuPerWorker="700m")

    # 1800m hold two 700m workers where they held three 500m ones.
    def edited() -> dict[str, Any] | None:
        deployment = server.deployments(NAME)[3]
        cpu = container(deployment)["resources"]
        ok = cpu["requests"]["cpu"] == cpu["limits"]["cpu"] == "700m"
        return deployment if ok and deployment["spec"]["replicas"] == 2 else None

    server.wait(edited, "phase 3 at two 700m workers")
    server.wait(
        lambda: (
            cpu_millicores(server.status(NAME).get("cpuAllocated") or "0") == 1500
            and cpu_is_what_runs(server)
        ),
        "cpuAllocated 1 x 100m + 2 x 700m",
    )
    assert server.replicas(NAME) == (1, 0, 2)


def test_while_paused_new_demand_is_read_but_nothing_is_scaled(
    server: Server, activity: Activity, crowd: dict[Phase, list[uuid.UUID]]
) -> None:
    server.patch_spec(NAME, {"paused": True})
    server.wait(lambda: conditions(server).get("Paused") == ("True", "PausedBySpec"), "Paused")
    before = generations(server)

    crowd[Phase.MEDIUM] += activity.idle_users(Phase.MEDIUM, 1, with_jobs=True)
    # The status shows the new job, so a tick read it while paused.
    server.wait(
        lambda: [p.get("queuedJobs") for p in phases(server)] == [2, 1, 5],
        "the phase 2 job in the status",
    )
    assert [p.get("reason") for p in phases(server)] == ["Paused"] * 3
    assert server.replicas(NAME) == (1, 0, 2)
    assert conditions(server)["Active"] == ("True", "WorkersRunning")
    # Not a single write: no Deployment's spec changed.
    assert generations(server) == before


def test_a_template_edit_while_paused_waits_and_ready_says_changes_are_pending(
    server: Server,
) -> None:
    before = generations(server)
    server.edit_phase(NAME, 1, cpuPerWorker="50m")

    ready = server.wait(
        lambda: (c := server.condition(NAME, "Ready")).get("reason") == "ChangesPending" and c,
        "Ready=False ChangesPending",
    )
    assert ready["status"] == "False"
    assert "phase-1" in ready["message"]
    assert generations(server) == before
    assert container(server.deployments(NAME)[1])["resources"]["limits"]["cpu"] == "100m"
    # What runs is one 100m worker, whatever the spec now says.
    assert server.wait(lambda: cpu_is_what_runs(server), "cpuAllocated = what runs")
    assert cpu_millicores(server.status(NAME)["cpuAllocated"]) == 1500


def test_resuming_applies_the_pending_edit_and_scales_to_the_new_demand(server: Server) -> None:
    server.patch_spec(NAME, {"paused": False})

    # Phase 1's budget now holds two 50m workers for its two jobs; phase 2 gets its one.
    server.wait(lambda: server.replicas(NAME) == (2, 1, 2), "replicas (2, 1, 2)")
    cpu = container(server.deployments(NAME)[1])["resources"]
    assert cpu["requests"]["cpu"] == cpu["limits"]["cpu"] == "50m"
    server.wait(
        lambda: (
            conditions(server).get("Ready") == ("True", "Reconciled")
            and conditions(server).get("Paused") == ("False", "NotPaused")
        ),
        "Ready and not Paused",
    )
    # 2 x 50m + 1 x 250m + 2 x 700m.
    server.wait(
        lambda: (
            cpu_millicores(server.status(NAME).get("cpuAllocated") or "0") == 1750
            and cpu_is_what_runs(server)
        ),
        "cpuAllocated 1750m",
    )


def test_while_redis_is_unreachable_the_resource_is_degraded_and_keeps_its_replicas(
    server: Server, redis_server: RedisServer
) -> None:
    replicas, before, seen = server.replicas(NAME), generations(server), event_uids(server)
    redis_server.stop()
    try:
        degraded = server.wait(
            lambda: (c := server.condition(NAME, "Degraded")).get("status") == "True" and c,
            "Degraded=True",
        )
        assert degraded["reason"] == "MetricsUnavailable"
        assert "Replicas are kept" in degraded["message"]
        server.wait(
            lambda: event_with(server, "Warning", "MetricsUnavailable", seen),
            "a MetricsUnavailable Warning",
        )
        assert server.replicas(NAME) == replicas
        assert conditions(server)["Active"] == ("True", "WorkersRunning")
        # The last figures stay in the status; the condition says they are stale.
        assert [p.get("idleUsers") for p in phases(server)] == [2, 2, 5]
    finally:
        redis_server.start()

    server.wait(
        lambda: conditions(server).get("Degraded") == ("False", "MetricsAvailable"),
        "Degraded=False once Redis is back",
    )
    server.wait(
        lambda: event_with(server, "Normal", "MetricsAvailable", seen), "a MetricsAvailable Event"
    )
    assert server.replicas(NAME) == replicas
    assert generations(server) == before


def test_healthz_no_longer_lists_the_problem_once_it_is_fixed(server: Server) -> None:
    # Late in the module on purpose: kopf re-runs the probes of /healthz at most every
    # 10 s, and the scenarios in between hide that wait.
    server.wait(
        lambda: (
            (body := server.healthz()) is not None
            and f"{server.namespace}/{NAME}" not in (body.get("problems") or {})
        ),
        "no problem in /healthz",
    )


def test_a_restarted_operator_keeps_the_replicas_and_scales_on_from_there(
    server: Server, activity: Activity, crowd: dict[Phase, list[uuid.UUID]]
) -> None:
    assert server.replicas(NAME) == (2, 1, 2)
    before, seen = generations(server), event_uids(server)
    server.stop_operator()
    server.start_operator()
    activity.users_return(crowd[Phase.MEDIUM])

    # Phase 2's users are back, so the new operator stops its worker...
    event = server.wait(lambda: event_with(server, "Normal", "Scaled", seen), "a Scaled Event")
    assert event["message"] == f"Scaled phase-2 workers ({NAME}-phase-2) from 1 to 0: NoIdleUsers."
    assert server.replicas(NAME) == (2, 0, 2)
    # ...and never touched the others: not reset to 0 and scaled back, not written at all.
    after = generations(server)
    assert (after[1], after[2], after[3]) == (before[1], before[2] + 1, before[3])
    assert server.wait(lambda: cpu_is_what_runs(server), "cpuAllocated = what runs")


def test_a_secret_the_operator_may_not_read_is_named_on_the_resource_in_an_event_and_healthz(
    server: Server,
) -> None:
    replicas, seen = server.replicas(NAME), event_uids(server)
    started = time.monotonic()
    server.patch_spec(NAME, {"redis": {"secretRef": {"name": FORBIDDEN_SECRET}}})

    degraded = server.wait(
        lambda: (c := server.condition(NAME, "Degraded")).get("reason") == "SecretForbidden" and c,
        "Degraded SecretForbidden",
    )
    on_resource = time.monotonic() - started
    assert degraded["status"] == "True"
    assert f"{server.namespace}/{FORBIDDEN_SECRET}" in degraded["message"]
    event = server.wait(
        lambda: event_with(server, "Warning", "SecretForbidden", seen),
        "a SecretForbidden Warning",
    )
    assert f"{server.namespace}/{FORBIDDEN_SECRET}" in event["message"]
    problem = server.wait(
        lambda: (p := server.problem(NAME)) and p.startswith("SecretForbidden") and p,
        "SecretForbidden in /healthz",
    )
    in_healthz = time.monotonic() - started
    assert f"{server.namespace}/{FORBIDDEN_SECRET}" in problem
    assert server.replicas(NAME) == replicas
    logger.info(
        "Forbidden Secret: on the resource after %.1f s, in /healthz after %.1f s (tick 1 s).",
        on_resource,
        in_healthz,
    )


def test_pointing_the_resource_at_a_secret_it_may_read_clears_the_problem(server: Server) -> None:
    server.patch_spec(NAME, {"redis": {"secretRef": {"name": REDIS_SECRET}}})

    server.wait(
        lambda: conditions(server).get("Degraded") == ("False", "MetricsAvailable"),
        "Degraded=False with a readable Secret",
    )
    assert server.replicas(NAME) == (2, 0, 2)


def test_deleting_the_resource_deletes_its_deployments(server: Server) -> None:
    server.delete_processing(NAME)

    server.wait(lambda: server.deployments(NAME) == {}, "no Deployments of the deleted resource")
    server.wait(lambda: server.processing(NAME) is None, "the resource gone (finalizer removed)")


def test_without_the_operator_the_garbage_collector_deletes_a_deleted_resources_deployments(
    server: Server,
) -> None:
    server.create_processing(GC_NAME, SPEC)
    server.wait(lambda: len(server.deployments(GC_NAME)) == 3, "the Deployments of a new resource")
    server.stop_operator()

    # A person removes the operator's finalizer, so the resource goes without it.
    server.patch_processing(GC_NAME, {"metadata": {"finalizers": None}})
    server.delete_processing(GC_NAME)
    server.wait(lambda: server.processing(GC_NAME) is None, "the resource gone")
    # kube-controller-manager's garbage collector follows the owner references.
    server.wait(lambda: server.deployments(GC_NAME) == {}, "the Deployments collected")


@pytest.fixture(scope="module")
def audited(server: Server) -> list[Request]:
    """The operators' requests, once both stopped: a watch is logged when it ends."""
    server.stop_operator()

    def with_watches() -> list[Request] | None:
        requests = audit_requests(server.plane, server.namespace, OPERATOR_ACCOUNT)
        watched = {r.resource for r in requests if r.verb == "watch"}
        return requests if {"erosprocessings", "deployments", "kopfpeerings"} <= watched else None

    found: list[Request] = server.wait(with_watches, "the operator's watches in the audit log")
    counts: dict[str, int] = {}
    for request in found:
        key = f"{request.verb} {request.resource} {request.code}"
        counts[key] = counts.get(key, 0) + 1
    logger.info("The operators' %d requests: %s", len(found), dict(sorted(counts.items())))
    return found


def test_the_operator_used_nothing_but_what_the_charts_role_grants(
    audited: list[Request], rendering: Rendering
) -> None:
    role = rendering.one("Role", OPERATOR_ACCOUNT)
    allowed = [r for r in audited if r.code != 403]
    assert {(r.verb, r.resource, r.name) for r in ungranted(allowed, grants(role))} == set()


def test_no_request_was_forbidden_but_the_reads_of_the_secret_it_may_not_read(
    audited: list[Request],
) -> None:
    forbidden = {(r.verb, r.resource, r.name) for r in audited if r.code == 403}
    assert forbidden == {("get", "secrets", FORBIDDEN_SECRET)}


def test_every_permission_the_role_grants_was_used(
    audited: list[Request], rendering: Rendering
) -> None:
    role = rendering.one("Role", OPERATOR_ACCOUNT)
    assert list(unused(audited, grants(role))) == []
