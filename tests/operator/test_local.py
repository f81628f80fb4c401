"""Local mode: the reconciler driving real `eros worker` processes, and following a file."""

from __future__ import annotations

import logging
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from rq import Queue, Worker

from eros.core import phase_config
from eros.core.keys import ACTIVITY_KEY, PHASE_CONFIG_KEY
from eros.operator.cgroups import (
    CFS_PERIOD_US,
    MIN_QUOTA_US,
    CpuLimiter,
    cpu_max,
    phase_budget_millicores,
    quota_us,
)
from eros.operator.kube import Ensured
from eros.operator.local import (
    LOCAL_NAMESPACE,
    LocalLoop,
    LocalWorkers,
    ResourceError,
    parse_resource,
    read_resource,
)
from eros.operator.manifests import Owner, build_worker_deployment
from eros.operator.spec import parse_spec
from eros.operator.status import DeploymentState
from tests.conftest import TEST_JWT_SECRET
from tests.worker import cpu_work

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
OWNER = Owner("eros-test", LOCAL_NAMESPACE, "local")
WAIT_SECONDS = 30.0
POLL_SECONDS = 0.05
# An idle worker exits on SIGTERM at once, but RQ 3 with redis-py 8 sometimes waits up to
# a minute for its pubsub thread on the way out; the backend's kill ends that wait.
STOP_TIMEOUT_SECONDS = 3.0
V2 = 2


def eventually(probe: Callable[[], Any], what: str, timeout: float = WAIT_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(POLL_SECONDS)


def resource(**changes: Any) -> dict[str, Any]:
    """A small local resource: 1 core, phases of 100m, 300m and 900m, ticking every second."""
    phases = [
        {
            "name": "phase-1",
            "idleAfter": "1m",
            "cpuBudgetPercent": 10,
            "cpuPerWorker": "50m",
            "minReplicas": 1,
            "maxReplicas": 2,
            "queue": f"test-{uuid.uuid4().hex[:6]}-1",
        },
        {
            "name": "phase-2",
            "idleAfter": "3m",
            "cpuBudgetPercent": 30,
            "cpuPerWorker": "100m",
            "maxReplicas": 3,
            "queue": "test-phase-2",
        },
        {
            "name": "phase-3",
            "idleAfter": "10m",
            "cpuBudgetPercent": 100,
            "cpuPerWorker": "250m",
            "maxReplicas": 3,
            "queue": "test-phase-3",
        },
    ]
    spec: dict[str, Any] = {
        "cpuPool": "1",
        "headroomPercent": 10,
        "tickSeconds": 1,
        "phases": phases,
        "scaleDown": {"stabilizationWindowSeconds": 0},
    }
    spec.update(changes)
    return {
        "apiVersion": "eros.dev/v1alpha1",
        "kind": "ErosProcessing",
        "metadata": {"name": OWNER.name},
        "spec": spec,
    }


@pytest.fixture(scope="module")
def work_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test work as the top-level module `cpu_work`, for workers run with `-P`."""
    directory = tmp_path_factory.mktemp("local-work-modules")
    (directory / "cpu_work.py").symlink_to(Path(cpu_work.__file__).resolve())
    return directory


@pytest.fixture
def workers(
    redis_client: redis.Redis, redis_url: str, tmp_path: Path, work_modules: Path, repo_root: Path
) -> Iterator[LocalWorkers]:
    env = {
        **os.environ,
        "EROS_ENVIRONMENT": "test",
        "EROS_JWT_SECRET": TEST_JWT_SECRET,
        "EROS_LOG_FORMAT": "text",
        "EROS_WORKER_WORK_MODULES": '["cpu_work"]',
        "EROS_WORKER_HEARTBEAT_SECONDS": "1",
        "PYTHONPATH": str(work_modules),
    }
    local = LocalWorkers(
        redis_url,
        env=env,
        log_dir=tmp_path / "workers",
        stop_timeout_seconds=STOP_TIMEOUT_SECONDS,
        cwd=repo_root,
    )
    yield local
    local.close()


def manifest(body: dict[str, Any], phase: int = 1, replicas: int = 0) -> dict[str, Any]:
    spec = parse_spec(body["spec"])
    return build_worker_deployment(OWNER, spec, spec.phases[phase - 1], replicas)


def registered(client: redis.Redis, queue: str) -> int:
    """Workers that registered with RQ on `queue`: real, started processes."""
    return int(Worker.count(connection=client, queue=Queue(queue, connection=client)))


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie is gone too: only its parent's wait is missing.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


def environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def make_idle(client: redis.Redis, users: int, idle_seconds: int) -> list[bytes]:
    since = int(time.time() * 1000) - idle_seconds * 1000
    members = [uuid.uuid4().bytes for _ in range(users)]
    client.zadd(ACTIVITY_KEY, dict.fromkeys(members, since))
    return members


def published(client: redis.Redis) -> phase_config.PhaseConfig | None:
    raw = client.get(PHASE_CONFIG_KEY)
    return None if raw is None else phase_config.decode(raw)


# Pure: the quota and the file.


def test_a_phase_quota_is_its_budget_in_cpu_time_per_period() -> None:
    assert quota_us(100) == CFS_PERIOD_US // 10
    assert quota_us(1500) == 3 * CFS_PERIOD_US // 2
    assert cpu_max(250) == f"{CFS_PERIOD_US // 4} {CFS_PERIOD_US}"
    assert quota_us(0) == MIN_QUOTA_US  # the kernel refuses less


def test_a_phase_budget_is_its_share_of_the_pool_within_the_headroom() -> None:
    small = parse_spec(read_resource(EXAMPLES / "erosprocessing-small.yaml").spec)
    assert phase_budget_millicores(small) == {1: 100, 2: 300, 3: 1800}  # 2 cores, 10 % kept
    dev = parse_spec(read_resource(EXAMPLES / "erosprocessing-dev.yaml").spec)
    assert phase_budget_millicores(dev) == {1: 500, 2: 800, 3: 1800}


def test_a_resource_file_gives_its_name_and_spec() -> None:
    found = parse_resource(yaml.safe_dump(resource(cpuPool="3")))
    assert found.name == OWNER.name
    assert found.spec["cpuPool"] == "3"


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("kind: [", "not valid YAML"),
        ("- a list", "YAML object"),
        ("kind: Deployment\nmetadata: {name: x}", "not an ErosProcessing"),
        ("kind: ErosProcessing\nspec: {}", "metadata.name"),
        ("kind: ErosProcessing\nmetadata: {name: x}\nspec: [1]", "spec must be an object"),
    ],
)
def test_a_file_without_a_usable_eros_processing_is_refused(text: str, complaint: str) -> None:
    with pytest.raises(ResourceError, match=complaint):
        parse_resource(text)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ResourceError, match="cannot read"):
        read_resource(tmp_path / "absent.yaml")


# Real worker processes.


def test_local_workers_scale_real_worker_processes_up_and_down(
    workers: LocalWorkers, redis_client: redis.Redis
) -> None:
    body = resource()
    queue = body["spec"]["phases"][0]["queue"]
    desired = manifest(body, replicas=2)
    name = desired["metadata"]["name"]

    assert workers.ensure_deployment(desired).outcome is Ensured.CREATED
    first = workers.pids(name)
    assert len(first) == 2
    eventually(lambda: registered(redis_client, queue) == 2, "two workers on the queue")
    state = workers.deployments(OWNER.name)[0]
    assert state is not None
    assert (state.replicas, state.ready_replicas, state.cpu_millicores) == (2, 2, 50)

    workers.scale_deployment(LOCAL_NAMESPACE, name, 1)
    assert workers.pids(name) == first[:1]
    eventually(lambda: gone(first[1]) and not workers.stopping(), "the second worker to stop")

    workers.scale_deployment(LOCAL_NAMESPACE, name, 0)
    eventually(lambda: gone(first[0]) and not workers.stopping(), "every worker to stop")
    assert workers.deployments(OWNER.name)[0] == DeploymentState(
        name, 0, 0, 50, state.template_hash
    )


def test_a_new_template_restarts_the_phase_workers_with_it(workers: LocalWorkers) -> None:
    body = resource()
    name = manifest(body)["metadata"]["name"]
    workers.ensure_deployment(manifest(body, replicas=1))
    before = workers.pids(name)

    body["spec"]["worker"] = {"env": [{"name": "EROS_LOG_LEVEL", "value": "DEBUG"}]}
    result = workers.ensure_deployment(manifest(body, replicas=5))

    assert (result.outcome, result.replicas) == (Ensured.PATCHED, 1)  # replicas are kept
    after = workers.pids(name)
    assert len(after) == 1
    assert after != before
    assert environ(after[0])["EROS_LOG_LEVEL"] == "DEBUG"
    assert environ(after[0])["EROS_REDIS_URL"] == workers.redis_url  # the secretKeyRef
    eventually(lambda: gone(before[0]), "the old worker to stop")
    assert workers.ensure_deployment(manifest(body)).outcome is Ensured.UNCHANGED


def test_a_worker_that_exits_is_started_again(workers: LocalWorkers) -> None:
    body = resource()
    name = manifest(body)["metadata"]["name"]
    workers.ensure_deployment(manifest(body, replicas=1))
    [pid] = workers.pids(name)

    os.killpg(pid, signal.SIGKILL)
    eventually(lambda: gone(pid), "the worker to die")

    state = workers.deployments(OWNER.name)[0]
    assert state is not None and state.replicas == 1
    [replacement] = workers.pids(name)
    assert replacement != pid


# The loop.


def write(path: Path, body: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(body))


def phase_status(loop: LocalLoop, number: int) -> dict[str, Any]:
    return dict(loop.status["phases"][number - 1])


def test_the_loop_scales_workers_with_idle_users_and_follows_the_edited_file(
    workers: LocalWorkers, redis_client: redis.Redis, tmp_path: Path
) -> None:
    path = tmp_path / "eros.yaml"
    body = resource()
    write(path, body)
    loop = LocalLoop(path, workers)
    name = f"{OWNER.name}-phase-1"

    loop.tick()
    assert workers.pids(name) == []
    assert published(redis_client).generation == 1  # type: ignore[union-attr]

    users = make_idle(redis_client, 3, idle_seconds=90)  # phase 1: idle 1 to 3 minutes
    loop.tick()
    assert phase_status(loop, 1)["idleUsers"] == 3
    assert len(workers.pids(name)) == 1  # minReplicas, for idle users
    assert loop.status["replicas"] == 1

    # The local `kubectl edit`: thresholds and budgets, for every component.
    body["spec"]["phases"][0]["idleAfter"] = "2m"
    body["spec"]["phases"][0]["cpuBudgetPercent"] = 5
    write(path, body)
    for _ in range(2):
        loop.tick()
    config = published(redis_client)
    assert config is not None
    assert (config.generation, config.idle_seconds[0], config.cpu_budget_percent[0]) == (
        2,
        120,
        5.0,
    )
    assert phase_status(loop, 1)["idleUsers"] == 0  # 90 s idle is not phase 1 any more
    assert phase_status(loop, 1)["budgetReplicas"] == 1  # 50m of 5 % of 1 core
    assert workers.pids(name) == []  # no idle users and no jobs: zero at once
    assert loop.status["observedGeneration"] == 2

    redis_client.zrem(ACTIVITY_KEY, *users)
    write(path, resource(tickSeconds=2))
    loop.tick()
    assert loop.tick_seconds == 2


def test_an_invalid_file_keeps_the_workers_and_says_why(
    workers: LocalWorkers, redis_client: redis.Redis, tmp_path: Path
) -> None:
    path = tmp_path / "eros.yaml"
    body = resource()
    write(path, body)
    loop = LocalLoop(path, workers)
    make_idle(redis_client, 2, idle_seconds=90)
    loop.tick()
    running = workers.pids(f"{OWNER.name}-phase-1")
    assert len(running) == 1

    body["spec"]["cpuPool"] = "lots"
    write(path, body)
    loop.tick()
    ready = {c["type"]: c for c in loop.status["conditions"]}["Ready"]
    assert (ready["status"], ready["reason"]) == ("False", "InvalidSpec")
    assert "cpuPool" in ready["message"]

    path.write_text("kind: [")
    loop.tick()
    ready = {c["type"]: c for c in loop.status["conditions"]}["Ready"]
    assert "not valid YAML" in ready["message"]
    assert workers.pids(f"{OWNER.name}-phase-1") == running
    assert published(redis_client).generation == 1  # type: ignore[union-attr]


# The kernel's CPU controller.


@pytest.fixture
def limiter() -> Iterator[CpuLimiter]:
    found = CpuLimiter.detect(name=f"eros-test-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    if not found.enabled:
        pytest.skip(f"neither cgroup v2 nor cgroup v1 is writable here: {found.reason}")
    yield found
    found.close()


def quota_of(group: Path, version: int | None) -> str:
    """The quota as the kernel shows it: v2's `cpu.max` line, or v1's quota."""
    if version == V2:
        return (group / "cpu.max").read_text().strip()
    return (group / "cpu.cfs_quota_us").read_text().strip()


def written_quota(millicores: int, version: int | None) -> str:
    return cpu_max(millicores) if version == V2 else str(quota_us(millicores))


def test_each_phase_runs_in_a_cgroup_whose_quota_is_its_budget(
    workers: LocalWorkers, limiter: CpuLimiter, tmp_path: Path
) -> None:
    workers.limiter = limiter
    path = tmp_path / "eros.yaml"
    write(path, resource())
    loop = LocalLoop(path, workers)
    loop.tick()
    groups = {n: limiter.group(n) for n in (1, 2, 3)}
    expected = {1: 100, 2: 300, 3: 900}
    for number, group in groups.items():
        assert group is not None
        assert quota_of(group, limiter.version) == written_quota(expected[number], limiter.version)

    name = f"{OWNER.name}-phase-1"
    workers.scale_deployment(LOCAL_NAMESPACE, name, 1)
    [pid] = workers.pids(name)
    eventually(lambda: pid in limiter.members(1), "the worker to be in phase 1's cgroup")

    body = resource()
    body["spec"]["phases"][0]["cpuBudgetPercent"] = 20
    write(path, body)
    loop.tick()
    assert quota_of(groups[1], limiter.version).startswith(str(quota_us(200)))

    workers.close()
    assert limiter.parent is not None and not limiter.parent.exists()


def test_without_a_writable_cpu_controller_the_limiter_warns_once_and_does_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="eros.operator.cgroups"):
        found = CpuLimiter.detect(root=tmp_path)
    assert not found.enabled
    assert [r.getMessage() for r in caplog.records if "WITHOUT CPU limits" in r.getMessage()]
    found.limit(1, 100)
    assert found.launch_prefix(1) == []
