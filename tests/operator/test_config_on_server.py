"""The ErosProcessing drives the other components: an edit on a real API server reaches
the scheduler through the configuration a real operator publishes to Redis.

A real `eros operator` (the chart's ServiceAccount, a fresh namespace) serves one
resource; a real scheduler follows what it publishes. Editing the resource's phase-1
`idleAfter` and `queue` makes the scheduler enqueue, from the next ticks on, at the new
threshold and onto the new queue, which the phase-1 workers' Deployment now serves.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
import redis
from rq import Queue

from eros.core.clock import SystemClock
from eros.core.keys import ACTIVITY_KEY, PHASE_CONFIG_KEY
from eros.core.phase_config import PhaseConfig, decode
from eros.core.phases import Phase
from eros.core.redis_client import sync_redis
from eros.operator.spec import DEFAULT_PHASES
from eros.pipeline.queue import JobKey
from eros.pipeline.scheduler import Scheduler
from tests.charts.chart import render, scenario_values
from tests.conftest import RedisServer
from tests.control_plane import ControlPlane
from tests.operator.on_server import (
    OPERATOR_ACCOUNT,
    Activity,
    Server,
    container,
    dedicated_database,
    install_operator_rbac,
    now_ms,
    secret,
)

pytestmark = pytest.mark.kube

NAME = "eros"
REDIS_SECRET = "eros"  # the chart's own Redis Secret, which its Role grants
REDIS_KEY = "redis-url"
REDIS_DATABASE = 8  # not the other operator test's
RENAMED_QUEUE = "eros-light-renamed"
SPEC = {
    "tickSeconds": 1,
    "redis": {"secretRef": {"name": REDIS_SECRET, "key": REDIS_KEY}},
    "worker": {"image": "eros:0.1.0"},
}


@pytest.fixture(scope="module")
def figures_url(redis_server: RedisServer) -> str:
    redis_server.start()
    url = dedicated_database(redis_server.url, REDIS_DATABASE)
    with sync_redis(url) as client:
        client.flushdb()
    return url


@pytest.fixture(scope="module")
def server(
    eros_crds: ControlPlane, figures_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    namespace = eros_crds.create_namespace("eros-config")
    values = scenario_values("minimal")
    values["operator"] = {"watchNamespaces": [], "watchAllNamespaces": False}
    rendering = render(values, namespace=namespace)
    install_operator_rbac(eros_crds, rendering)
    (peering,) = rendering.of_kind("KopfPeering")
    folder = tmp_path_factory.mktemp("config-on-server")
    kubeconfig = eros_crds.service_account_kubeconfig(
        namespace, OPERATOR_ACCOUNT, folder / "kubeconfig"
    )
    server = Server(eros_crds, namespace, kubeconfig, folder, peering.name)
    server.apply(secret(REDIS_SECRET, {REDIS_KEY: figures_url}))
    server.start_operator()
    server.create_processing(NAME, SPEC)
    try:
        yield server
    finally:
        server.stop_operator()
        eros_crds.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


@pytest.fixture(scope="module")
def client(figures_url: str) -> Iterator[redis.Redis]:
    with sync_redis(figures_url) as connection:
        yield connection


def published(client: redis.Redis) -> PhaseConfig | None:
    raw = client.get(PHASE_CONFIG_KEY)
    return None if raw is None else decode(raw)


def generation(server: Server) -> int:
    body = server.processing(NAME)
    assert body is not None
    return int(body["metadata"]["generation"])


def queues_env(server: Server) -> list[str]:
    env = {e["name"]: e.get("value") for e in container(server.deployments(NAME)[1])["env"]}
    return list(json.loads(env["EROS_PHASE_QUEUES"]))


def test_the_operator_publishes_the_resources_configuration_with_its_generation(
    server: Server, client: redis.Redis
) -> None:
    config = server.wait(lambda: published(client), "the published configuration")
    assert config.source == f"{server.namespace}/{NAME}"
    assert config.generation == generation(server)
    assert config.idle_seconds == (600, 1800, 3600)
    reasons = server.wait(
        lambda: ("Normal", "ConfigPublished") in server.event_reasons(NAME),
        "a ConfigPublished Event",
    )
    assert reasons


def test_an_edited_threshold_and_queue_reach_the_scheduler_and_the_workers(
    server: Server, client: redis.Redis, figures_url: str
) -> None:
    activity = Activity(figures_url, [p["queue"] for p in DEFAULT_PHASES])
    scheduler = Scheduler(client, activity.settings, clock=SystemClock(), name="scheduler-t")
    scheduler.tick()  # its watermarks start now

    edited = [
        {**DEFAULT_PHASES[0], "idleAfter": "5m", "queue": RENAMED_QUEUE},
        *DEFAULT_PHASES[1:],
    ]
    server.patch_spec(NAME, {"phases": edited})
    wanted = generation(server)
    config = server.wait(
        lambda: (c := published(client)) and c.generation == wanted and c,
        "the edited configuration in Redis",
    )
    assert config.queue(Phase.LIGHT) == RENAMED_QUEUE
    assert config.idle_seconds[0] == 300

    # A user whose 5 minutes (not 10) run out in a second or two.
    user = uuid.uuid4()
    since = now_ms() - 300_000 + 1500
    client.zadd(ACTIVITY_KEY, {user.bytes: since})
    enqueued: dict[Phase, int] = server.wait(
        lambda: (report := scheduler.tick()).enqueued.get(Phase.LIGHT) and report.enqueued,
        "the scheduler enqueuing at the new threshold",
    )
    assert enqueued[Phase.LIGHT] == 1
    renamed = Queue(RENAMED_QUEUE, connection=client)
    assert renamed.get_job_ids() == [JobKey(user, Phase.LIGHT, since).id]
    assert Queue("eros-phase-1", connection=client).get_job_ids() == []
    server.wait(lambda: queues_env(server)[0] == RENAMED_QUEUE, "the workers on the new queue")


def test_deleting_the_resource_withdraws_its_configuration(
    server: Server, client: redis.Redis
) -> None:
    server.delete_processing(NAME)
    server.wait(lambda: published(client) is None, "the configuration withdrawn")
