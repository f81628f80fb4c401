"""`eros status` against the real Valkey: a pipeline seeded through the scheduler and
the API's heartbeats, printed as aligned text and as one JSON document, refreshed by
`--watch`, and a clear exit 2 when Redis is down; with a kubeconfig, the ErosProcessing
status the operator's own reconciler wrote on a real control plane, or one line saying
why it cannot be read."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from kubernetes.client import ApiException

from eros.cli.main import build_parser
from eros.cli.status import (
    CLEAR_SCREEN,
    REDIS_UNREACHABLE_EXIT,
    cluster_error,
    kubeconfig_path,
    run_status,
)
from eros.cli.status_resource import summarise
from eros.core.clock import ManualClock, utc_from_ms
from eros.core.settings import Settings
from eros.operator.kube import Kube
from eros.operator.manifests import Owner
from eros.operator.reconciler import Reconciler
from eros.operator.spec import (
    DEFAULT_PHASES,
    DEFAULT_REDIS_SECRET_KEY,
    DEFAULT_REDIS_SECRET_NAME,
    GROUP,
    PLURAL,
)
from eros.pipeline.scheduler import Scheduler
from tests.conftest import Account, RedisServer
from tests.control_plane import ControlPlane
from tests.operator.helpers import processing

HOUR_S = 3600
ACTIVE = {"appActive": True, "screenOn": True}


@pytest.fixture
def idle_pipeline(
    client: TestClient,
    make_account: Callable[..., Account],
    redis_client: redis.Redis,
    settings: Settings,
    clock: ManualClock,
) -> Account:
    """One user idle an hour, a job queued in each phase, and a second user still active."""
    idle, active = make_account(), make_account()
    scheduler = Scheduler(redis_client, settings, clock=clock, name="scheduler-a")
    scheduler.tick()
    assert client.post("/api/v1/heartbeat", json=ACTIVE, headers=idle.headers).is_success
    clock.advance(seconds=HOUR_S + 1)
    assert scheduler.tick().total_enqueued == 3
    assert client.post("/api/v1/heartbeat", json=ACTIVE, headers=active.headers).is_success
    return idle


def status(
    settings: Settings, clock: ManualClock, *options: str, tty: bool = False
) -> tuple[int, str, str, int]:
    """Run the command as the parser builds it: (exit code, stdout, stderr, sleeps)."""
    args = build_parser().parse_args(["status", *options])
    out, err = (_Tty() if tty else io.StringIO()), io.StringIO()
    sleeps: list[float] = []
    code = run_status(
        settings,
        as_json=args.json,
        watch=args.watch,
        count=args.count,
        kubeconfig=Path(args.kubeconfig) if args.kubeconfig else None,
        out=out,
        err=err,
        sleep=sleeps.append,
        now_ms=clock.now_ms,
    )
    return code, out.getvalue(), err.getvalue(), len(sleeps)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_text_view_shows_each_phase_its_queue_the_leader_and_the_config(
    idle_pipeline: Account, settings: Settings, clock: ManualClock
) -> None:
    code, out, err, _ = status(settings, clock)

    assert (code, err) == (0, "")
    assert "1 active users" in out
    header, *phases = [line.split() for line in out.splitlines()[2:5]]
    assert header[:5] == ["phase", "idle", "queued", "running", "workers"]
    # The idle user is in phase 3 only; each phase has its one job queued, no worker.
    assert [row[:5] for row in phases] == [["1", "0", "1", "0", "0"], ["2", "0", "1", "0", "0"]]
    assert "scheduler: leader scheduler-a" in out
    assert "config: settings generation -" in out
    assert "operator: no plan published" in out
    assert "resources:" not in out  # no kubeconfig given


def test_the_json_document_has_stable_keys_and_the_same_figures(
    idle_pipeline: Account, settings: Settings, clock: ManualClock
) -> None:
    code, out, _, _ = status(settings, clock, "--json")

    document = json.loads(out)
    assert code == 0
    assert set(document) == {
        "at", "redis", "activeUsers", "phases", "scheduler", "recentHalts", "config",
        "followers", "plan", "model", "resources", "resourcesError", "resourcesNamespace",
    }  # fmt: skip
    assert document["activeUsers"] == 1
    assert [(p["phase"], p["idleUsers"], p["queued"]) for p in document["phases"]] == [
        (1, 0, 1),
        (2, 0, 1),
        (3, 1, 1),
    ]
    assert document["scheduler"]["leader"] == "scheduler-a"
    assert document["resources"] is None


def test_a_returning_user_shows_as_a_halt_and_empties_the_queues(
    client: TestClient, idle_pipeline: Account, settings: Settings, clock: ManualClock
) -> None:
    assert client.post("/api/v1/heartbeat", json=ACTIVE, headers=idle_pipeline.headers).is_success

    document = json.loads(status(settings, clock, "--json")[1])

    assert len(document["recentHalts"]) == 3
    assert {h["state"] for h in document["recentHalts"]} == {"queued"}
    assert [p["queued"] for p in document["phases"]] == [0, 0, 0]
    assert document["activeUsers"] == 2


def test_watch_refreshes_until_its_count_and_clears_only_a_terminal(
    idle_pipeline: Account, settings: Settings, clock: ManualClock
) -> None:
    code, out, _, sleeps = status(settings, clock, "--watch", "0.5", "--count", "2")
    assert (code, sleeps) == (0, 1)
    assert out.count("scheduler: leader") == 2 and CLEAR_SCREEN not in out

    _, on_tty, _, _ = status(settings, clock, "--watch", "--count", "2", tty=True)
    assert on_tty.count(CLEAR_SCREEN) == 2


def test_watch_in_json_prints_one_document_per_line(
    idle_pipeline: Account, settings: Settings, clock: ManualClock
) -> None:
    _, out, _, _ = status(settings, clock, "--json", "--watch", "1", "--count", "2")

    assert [json.loads(line)["activeUsers"] for line in out.splitlines()] == [1, 1]


def test_redis_down_exits_2_with_one_line_and_no_traceback(
    redis_server: RedisServer, settings: Settings, clock: ManualClock
) -> None:
    redis_server.stop()
    try:
        code, out, err, _ = status(settings, clock, "--watch", "--count", "3")
    finally:
        redis_server.start()

    assert (code, out) == (REDIS_UNREACHABLE_EXIT, "")
    assert err.startswith("eros status: cannot reach Redis at 127.0.0.1:")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_cluster_out_of_reach_is_said_and_the_redis_facts_still_shown(
    idle_pipeline: Account, settings: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: gone\n"
        "clusters: [{name: gone, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: me, user: {token: t}}]\n"
        "contexts: [{name: gone, context: {cluster: gone, user: me}}]\n"
    )

    code, out, _, _ = status(settings, clock, "--kubeconfig", str(kubeconfig))

    assert code == 0
    assert "scheduler: leader scheduler-a" in out
    assert "resources: cannot read ErosProcessing" in out


def _as_text_and_json(
    settings: Settings, clock: ManualClock, kubeconfig: Path
) -> tuple[int, str, dict[str, Any]]:
    """`eros status --kubeconfig` twice: (exit code, text, the `--json` document)."""
    code, out, _, _ = status(settings, clock, "--kubeconfig", str(kubeconfig))
    _, as_json, _, _ = status(settings, clock, "--json", "--kubeconfig", str(kubeconfig))
    return code, out, json.loads(as_json)


@pytest.mark.kube
def test_the_status_the_operator_wrote_on_a_real_cluster_shows_in_text_and_json(
    idle_pipeline: Account, settings: Settings, clock: ManualClock, eros_crds: ControlPlane
) -> None:
    namespace = eros_crds.create_namespace("eros-status")
    resource = processing({"cpuPool": "2"})
    resource["metadata"]["namespace"] = namespace
    eros_crds.apply(resource)
    eros_crds.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": DEFAULT_REDIS_SECRET_NAME, "namespace": namespace},
            "stringData": {DEFAULT_REDIS_SECRET_KEY: settings.redis_url},
        }
    )
    name = resource["metadata"]["name"]
    stored = json.loads(
        eros_crds.kubectl("get", "erosprocessing", name, "-n", namespace, "-o", "json").stdout
    )
    # One tick of the operator's own reconciler, through its own client: it creates the
    # Deployments and writes the status subresource exactly as in a cluster.
    kube = Kube(eros_crds.api_client())
    reconciler = Reconciler(kube, Owner(name, namespace, stored["metadata"]["uid"]))
    try:
        written = reconciler.tick(
            stored["spec"], 1, {}, [None] * len(DEFAULT_PHASES), utc_from_ms(clock.now_ms())
        ).status
    finally:
        reconciler.close()
        kube.close()

    code, out, document = _as_text_and_json(settings, clock, eros_crds.kubeconfig)

    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith(f"resource {namespace}/"))
    assert line.startswith(f"resource {namespace}/{name} generation 1 (observed 1): ")
    assert f"replicas 0/{written['desiredReplicas']} ready" in line
    assert f"cpu {written['cpuAllocated']}" in line
    for condition in written["conditions"]:
        assert f"{condition['type']}={condition['status']} ({condition['reason']})" in line
    assert document["resourcesError"] is None
    (mine,) = [r for r in document["resources"] if r["namespace"] == namespace]
    assert (mine["name"], mine["generation"], mine["observedGeneration"]) == (name, 1, 1)
    assert mine["desiredReplicas"] == written["desiredReplicas"] > 0
    assert mine["idleUsers"] == written["idleUsers"]
    assert [p["name"] for p in mine["phases"]] == [p["name"] for p in written["phases"]]
    assert mine["conditions"] == [
        {k: c.get(k) for k in ("type", "status", "reason", "message")}
        for c in written["conditions"]
    ]


def _service_account(
    plane: ControlPlane, namespace: str, path: Path, *, may_list_here: bool
) -> Path:
    """A kubeconfig for a ServiceAccount of `namespace` (its context's namespace), allowed
    to list ErosProcessing in that namespace by a Role, or not at all."""
    reader = {"name": "reader", "namespace": namespace}
    plane.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": reader})
    if may_list_here:
        plane.apply(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": reader,
                "rules": [{"apiGroups": [GROUP], "resources": [PLURAL], "verbs": ["get", "list"]}],
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": reader,
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": "reader",
                },
                "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": namespace}],
            },
        )
    return plane.service_account_kubeconfig(namespace, "reader", path)


@pytest.mark.kube
def test_a_user_who_may_list_only_their_namespace_sees_its_resources_and_is_told_so(
    idle_pipeline: Account,
    settings: Settings,
    clock: ManualClock,
    eros_crds: ControlPlane,
    tmp_path: Path,
) -> None:
    namespace = eros_crds.create_namespace("eros-status")
    resource = processing({"cpuPool": "2"})
    resource["metadata"]["namespace"] = namespace
    eros_crds.apply(resource)
    kubeconfig = _service_account(eros_crds, namespace, tmp_path / "reader", may_list_here=True)

    code, out, document = _as_text_and_json(settings, clock, kubeconfig)

    assert code == 0
    assert f"resources: namespace {namespace} only (this user may not list" in out
    assert f"resource {namespace}/{resource['metadata']['name']} generation 1" in out
    assert document["resourcesError"] is None
    assert document["resourcesNamespace"] == namespace
    assert [r["namespace"] for r in document["resources"]] == [namespace]


@pytest.mark.kube
def test_a_user_who_may_not_list_them_anywhere_reads_one_line_saying_so(
    idle_pipeline: Account,
    settings: Settings,
    clock: ManualClock,
    eros_crds: ControlPlane,
    tmp_path: Path,
) -> None:
    namespace = eros_crds.create_namespace("eros-status")
    kubeconfig = _service_account(eros_crds, namespace, tmp_path / "reader", may_list_here=False)

    code, out, document = _as_text_and_json(settings, clock, kubeconfig)

    assert code == 0
    last = out.splitlines()[-1]
    assert last.startswith("resources: cannot read ErosProcessing (403 Forbidden: ")
    assert 'cannot list resource "erosprocessings"' in last
    assert f'in the namespace "{namespace}"' in last, "the namespaced list was tried too"
    error = document["resourcesError"]
    assert error in last and "\n" not in error and "headers" not in error


def test_a_cluster_error_is_one_line_with_the_servers_message() -> None:
    forbidden = ApiException(status=403, reason="Forbidden")
    forbidden.body = json.dumps({"kind": "Status", "message": "erosprocessings is forbidden"})
    forbidden.headers = {"Audit-Id": "a1"}
    unreadable = ApiException(status=502, reason="Bad Gateway")
    unreadable.body = "<html>\n</html>"

    assert cluster_error(forbidden) == "403 Forbidden: erosprocessings is forbidden"
    assert cluster_error(unreadable) == "502 Bad Gateway"
    assert cluster_error(OSError("no route\n  to host")) == "OSError: no route to host"


def test_a_resource_is_summarised_from_the_status_the_operator_wrote() -> None:
    item = {
        "metadata": {"namespace": "eros", "name": "processing", "generation": 4},
        "status": {
            "observedGeneration": 4,
            "desiredReplicas": 3,
            "readyReplicas": 2,
            "cpuAllocated": "1500m",
            "conditions": [{"type": "Ready", "status": "True", "reason": "Reconciled", "x": 1}],
        },
    }

    summary = summarise(item)

    assert summary["observedGeneration"] == 4 and summary["readyReplicas"] == 2
    assert summary["conditions"] == [
        {"type": "Ready", "status": "True", "reason": "Reconciled", "message": None}
    ]


def test_the_kubeconfig_is_the_given_one_else_the_environments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    present = tmp_path / "config"
    present.write_text("")
    assert kubeconfig_path(str(tmp_path / "given")) == tmp_path / "given"
    monkeypatch.setenv("KUBECONFIG", str(present))
    assert kubeconfig_path(None) == present
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    assert kubeconfig_path(None) is None
