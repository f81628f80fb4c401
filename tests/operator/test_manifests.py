"""The worker Deployments, as the pure builders make them."""

from __future__ import annotations

import json
from typing import Any

import jsonpatch
import kubernetes_validate

from eros.core.settings import Settings
from eros.operator.manifests import (
    ANNOTATION_TEMPLATE_HASH,
    LABEL_MANAGED_BY,
    METRICS_PORT,
    METRICS_PORT_ENV,
    METRICS_PORT_NAME,
    Owner,
    build_template_patch,
    build_worker_deployment,
    controller_uid,
    deployment_name,
    needs_template_patch,
    selector_labels,
    template_hash,
)
from eros.operator.spec import DEFAULT_PHASES, parse_spec
from eros.pipeline.server import HEALTH_PATH, METRICS_PATH, READY_PATH
from tests.charts.chart import kube_version

OWNER = Owner(name="eros", namespace="prod", uid="0b2c5e52-0000-4000-8000-000000000001")


def test_a_worker_deployment_runs_its_phase_with_cpu_request_equal_to_limit() -> None:
    spec = parse_spec({})
    deployment = build_worker_deployment(OWNER, spec, spec.phases[2], replicas=3)

    assert deployment["metadata"]["name"] == deployment_name("eros", 3) == "eros-phase-3"
    assert deployment["metadata"]["namespace"] == "prod"
    assert deployment["spec"]["replicas"] == 3
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["command"] == ["eros"]
    assert container["args"] == ["worker", "--phase", "3"]
    assert container["resources"]["requests"] == {"cpu": "1", "memory": "1Gi"}
    assert container["resources"]["limits"] == container["resources"]["requests"]
    assert pod["terminationGracePeriodSeconds"] == 60
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == 0


def test_a_worker_deployment_is_a_valid_kubernetes_object() -> None:
    raw = {
        "worker": {
            "nodeSelector": {"pool": "eros"},
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "eros"}],
            "priorityClassName": "batch",
            "imagePullSecrets": [{"name": "registry"}],
            "envFrom": [{"configMapRef": {"name": "eros"}}],
            "env": [{"name": "EROS_LOG_LEVEL", "value": "DEBUG"}],
            "podAnnotations": {"a": "b"},
        }
    }
    spec = parse_spec(raw)
    for phase in spec.phases:
        deployment = build_worker_deployment(OWNER, spec, phase, replicas=1)
        kubernetes_validate.validate(deployment, kube_version(), strict=True)


def test_the_deployment_is_owned_by_the_resource_and_labelled_as_the_operators() -> None:
    spec = parse_spec({})
    deployment = build_worker_deployment(OWNER, spec, spec.phases[0], replicas=0)
    meta = deployment["metadata"]
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "eros.dev/v1alpha1",
            "kind": "ErosProcessing",
            "name": "eros",
            "uid": OWNER.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert controller_uid(deployment) == OWNER.uid
    assert meta["labels"][LABEL_MANAGED_BY] == "eros-operator"
    assert meta["labels"]["app.kubernetes.io/instance"] == "eros"
    assert deployment["spec"]["selector"]["matchLabels"] == selector_labels("eros", 1)
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector_labels("eros", 1).items() <= pod_labels.items()


def test_workers_get_the_redis_url_queues_and_thresholds_of_the_resource() -> None:
    phases = [dict(p) for p in DEFAULT_PHASES]
    phases[0]["queue"] = "light"
    spec = parse_spec({"phases": phases, "redis": {"secretRef": {"name": "r", "key": "url"}}})
    container = build_worker_deployment(OWNER, spec, spec.phases[0], 1)["spec"]["template"]["spec"][
        "containers"
    ][0]
    env = {item["name"]: item for item in container["env"]}
    assert env["EROS_REDIS_URL"]["valueFrom"] == {"secretKeyRef": {"name": "r", "key": "url"}}
    assert json.loads(env["EROS_PHASE_QUEUES"]["value"]) == [
        "light",
        "eros-phase-2",
        "eros-phase-3",
    ]
    assert json.loads(env["EROS_PHASE_IDLE_SECONDS"]["value"]) == [600, 1800, 3600]


def test_the_users_own_environment_wins_over_the_operators() -> None:
    spec = parse_spec({"worker": {"env": [{"name": "EROS_PHASE_QUEUES", "value": "[]"}]}})
    container = build_worker_deployment(OWNER, spec, spec.phases[0], 1)["spec"]["template"]["spec"][
        "containers"
    ][0]
    values = [item for item in container["env"] if item["name"] == "EROS_PHASE_QUEUES"]
    assert values == [{"name": "EROS_PHASE_QUEUES", "value": "[]"}]


def test_pod_extras_appear_only_when_set() -> None:
    plain = parse_spec({})
    pod = build_worker_deployment(OWNER, plain, plain.phases[0], 1)["spec"]["template"]["spec"]
    assert not {"nodeSelector", "tolerations", "priorityClassName", "affinity"} & pod.keys()

    extras = parse_spec(
        {"worker": {"nodeSelector": {"pool": "eros"}, "priorityClassName": "batch"}}
    )
    pod = build_worker_deployment(OWNER, extras, extras.phases[0], 1)["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"pool": "eros"}
    assert pod["priorityClassName"] == "batch"


def test_the_template_hash_changes_with_the_template_only() -> None:
    spec = parse_spec({})
    one = build_worker_deployment(OWNER, spec, spec.phases[0], replicas=1)
    five = build_worker_deployment(OWNER, spec, spec.phases[0], replicas=5)
    other = parse_spec({"worker": {"image": "eros:2"}})
    changed = build_worker_deployment(OWNER, other, other.phases[0], replicas=1)
    digest = ANNOTATION_TEMPLATE_HASH
    assert one["metadata"]["annotations"][digest] == five["metadata"]["annotations"][digest]
    assert one["metadata"]["annotations"][digest] != changed["metadata"]["annotations"][digest]


def test_an_up_to_date_deployment_needs_no_patch() -> None:
    spec = parse_spec({})
    desired = build_worker_deployment(OWNER, spec, spec.phases[0], replicas=0)
    existing = json.loads(json.dumps(desired))
    existing["spec"]["replicas"] = 7
    existing["metadata"]["labels"]["team"] = "dating"
    assert not needs_template_patch(desired, existing)


def test_the_template_patch_replaces_the_template_and_keeps_what_others_added() -> None:
    old = parse_spec({"worker": {"nodeSelector": {"pool": "old"}}})
    new = parse_spec({"worker": {"image": "eros:2"}})
    existing = build_worker_deployment(OWNER, old, old.phases[0], replicas=4)
    existing["metadata"]["labels"]["team"] = "dating"
    existing["metadata"]["annotations"]["note"] = "kept"
    existing["metadata"]["resourceVersion"] = "42"
    desired = build_worker_deployment(OWNER, new, new.phases[0], replicas=0)
    assert needs_template_patch(desired, existing)

    patched = jsonpatch.apply_patch(existing, build_template_patch(desired, existing))

    assert patched["spec"]["replicas"] == 4  # the scaler's, not the template's
    assert patched["spec"]["template"] == desired["spec"]["template"]
    assert "nodeSelector" not in patched["spec"]["template"]["spec"]  # dropped, not merged
    assert patched["metadata"]["labels"]["team"] == "dating"
    assert patched["metadata"]["annotations"]["note"] == "kept"
    assert not needs_template_patch(desired, patched)


def test_the_template_patch_adopts_an_unowned_deployment_and_tests_its_version() -> None:
    spec = parse_spec({})
    desired = build_worker_deployment(OWNER, spec, spec.phases[0], replicas=0)
    existing = json.loads(json.dumps(desired))
    existing["metadata"]["ownerReferences"] = []
    existing["metadata"]["resourceVersion"] = "7"
    ops = build_template_patch(desired, existing)
    assert ops[0] == {"op": "test", "path": "/metadata/resourceVersion", "value": "7"}
    patched = jsonpatch.apply_patch(existing, ops)
    assert controller_uid(patched) == OWNER.uid


def _worker_container(raw: dict[str, object], phase_index: int = 0) -> dict[str, Any]:
    spec = parse_spec(raw)
    pod = build_worker_deployment(OWNER, spec, spec.phases[phase_index], 1)["spec"]["template"]
    container: dict[str, Any] = pod["spec"]["containers"][0]
    return container


def test_every_phases_worker_has_a_named_metrics_port_and_both_probes() -> None:
    spec = parse_spec({})
    for index, phase in enumerate(spec.phases):
        container = _worker_container({}, index)
        assert container["ports"] == [
            {"name": METRICS_PORT_NAME, "containerPort": METRICS_PORT, "protocol": "TCP"}
        ], phase.name
        liveness, readiness = container["livenessProbe"], container["readinessProbe"]
        assert liveness["httpGet"] == {"path": HEALTH_PATH, "port": METRICS_PORT_NAME}
        assert readiness["httpGet"] == {"path": READY_PATH, "port": METRICS_PORT_NAME}
        # A stopping worker must turn unready long before liveness would restart it.
        assert (
            readiness["periodSeconds"] * readiness["failureThreshold"]
            < liveness["periodSeconds"] * liveness["failureThreshold"]
        )


def test_the_metrics_port_is_the_one_the_worker_serves_by_default() -> None:
    # The worker reads EROS_WORKER_METRICS_PORT; the operator pins it to the container port.
    assert Settings.model_fields["worker_metrics_port"].default == METRICS_PORT
    assert METRICS_PATH == "/metrics"
    env = {item["name"]: item for item in _worker_container({})["env"]}
    assert env[METRICS_PORT_ENV] == {"name": METRICS_PORT_ENV, "value": str(METRICS_PORT)}


def test_a_users_metrics_port_cannot_move_the_port_away_from_the_probes() -> None:
    raw = {"worker": {"env": [{"name": METRICS_PORT_ENV, "value": "9999"}]}}
    values = [item for item in _worker_container(raw)["env"] if item["name"] == METRICS_PORT_ENV]
    assert values == [{"name": METRICS_PORT_ENV, "value": str(METRICS_PORT)}]


def test_the_template_hash_covers_the_probes() -> None:
    spec = parse_spec({})
    deployment = build_worker_deployment(OWNER, spec, spec.phases[0], replicas=1)
    without_probes = json.loads(json.dumps(deployment["spec"]["template"]))
    del without_probes["spec"]["containers"][0]["readinessProbe"]
    assert template_hash(without_probes) != template_hash(deployment["spec"]["template"])
    assert deployment["metadata"]["annotations"][ANNOTATION_TEMPLATE_HASH] == template_hash(
        deployment["spec"]["template"]
    )
