"""The chart on a real API server, in namespaces enforcing the restricted Pod Security
Standard: every `ci/*-values.yaml` rendering passes a server-side dry run, and one real
install holds what `helm test` and an operator would expect of it."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from tests.charts.chart import (
    NAMESPACE,
    Rendering,
    render,
    scenario_names,
    scenario_values,
)
from tests.charts.standin_crds import STANDIN_CRDS
from tests.control_plane import ControlPlane, service_account_user
from tests.operator.crd_validation import apply_defaults, openapi_schema

pytestmark = pytest.mark.kube

RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
}
INSTALLED_SCENARIO = "minimal"
CONTROLLERS_TIMEOUT_SECONDS = 30.0
POLL_SECONDS = 0.2
OPERATOR_ACCOUNT = "eros-operator"
# What the operator sends, as `kubectl auth can-i` asks it (tests/charts/test_rbac.py
# holds the exact rules; these prove the bound Role grants them on the server).
OPERATOR_MAY = [
    ("list", "erosprocessings.eros.dev"),
    ("watch", "erosprocessings.eros.dev"),
    ("patch", "erosprocessings.eros.dev"),
    ("patch", "erosprocessings.eros.dev/status"),
    ("get", "deployments.apps"),
    ("list", "deployments.apps"),
    ("watch", "deployments.apps"),
    ("create", "deployments.apps"),
    ("patch", "deployments.apps"),
    ("delete", "deployments.apps"),
    ("create", "events"),
    ("list", "kopfpeerings.kopf.dev"),
    ("watch", "kopfpeerings.kopf.dev"),
    ("patch", "kopfpeerings.kopf.dev"),
]
OPERATOR_MAY_NOT = [
    ("update", "erosprocessings.eros.dev"),
    ("update", "erosprocessings.eros.dev/status"),
    ("get", "erosprocessings.eros.dev/status"),
    ("update", "deployments.apps"),
    ("patch", "events"),
    ("list", "secrets"),
    ("create", "pods"),
    ("list", "namespaces"),
]


def watched_namespaces(values: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The scenario moved into `namespace`: further served namespaces become its siblings."""
    values = copy.deepcopy(values)
    operator = values.get("operator") or {}
    if operator.get("watchNamespaces"):
        operator["watchNamespaces"] = [
            namespace if name == NAMESPACE else f"{namespace}-{name.removeprefix('eros-')}"
            for name in operator["watchNamespaces"]
        ]
    return values


def restricted_namespaces(plane: ControlPlane, scenario: str) -> tuple[str, Rendering]:
    """A fresh restricted namespace (and the siblings the scenario serves) and the
    scenario rendered for it, as `helm install -n <namespace>` would."""
    namespace = plane.create_namespace(f"chart-{scenario}"[:20], RESTRICTED)
    rendering = render(
        watched_namespaces(scenario_values(scenario), namespace), namespace=namespace
    )
    siblings = sorted({r.namespace or namespace for r in rendering.manifests} - {namespace})
    for sibling in siblings:
        plane.apply(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": sibling, "labels": RESTRICTED},
            }
        )
    return namespace, rendering


def documents(rendering: Rendering) -> str:
    return yaml.safe_dump_all([r.manifest for r in rendering.manifests])


def object_name(manifest: dict[str, Any]) -> str:
    """How `kubectl -o name` names an object: `kind.group/name`, the core group left out."""
    group = manifest["apiVersion"].rpartition("/")[0]
    kind = manifest["kind"].lower()
    return (
        f"{kind}.{group}/{manifest['metadata']['name']}"
        if group
        else f"{kind}/{manifest['metadata']['name']}"
    )


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Warning:")]


@pytest.fixture(scope="module")
def cluster(eros_crds: ControlPlane) -> ControlPlane:
    eros_crds.apply(*STANDIN_CRDS)
    for crd in STANDIN_CRDS:
        eros_crds.kubectl(
            "wait", "--for=condition=Established", "--timeout=60s", f"crd/{crd['metadata']['name']}"
        )
    return eros_crds


@pytest.mark.parametrize("scenario", scenario_names())
def test_every_rendering_is_admitted_by_a_server_side_dry_run_under_restricted_pod_security(
    cluster: ControlPlane, scenario: str
) -> None:
    namespace, rendering = restricted_namespaces(cluster, scenario)
    # The CRDs come from charts/eros/crds/, which Helm installs before the templates and
    # the session already applied: the templates must not carry them a second time.
    assert not rendering.of_kind("CustomResourceDefinition")
    result = cluster.kubectl(
        "apply",
        "--server-side",
        "--dry-run=server",
        "--output=name",
        "-f",
        "-",
        input=documents(rendering),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # Pod Security admission only warns about workloads (it rejects bare Pods): any
    # warning, "would violate PodSecurity" among them, is a failure.
    assert warnings(result.stderr) == [], result.stderr
    admitted = sorted(result.stdout.split())
    assert admitted == sorted(object_name(r.manifest) for r in rendering.manifests), namespace


@dataclass(frozen=True)
class Install:
    plane: ControlPlane
    namespace: str
    rendering: Rendering

    def get(self, *args: str) -> dict[str, Any]:
        result = self.plane.kubectl("get", f"--namespace={self.namespace}", "-o", "json", *args)
        body: dict[str, Any] = json.loads(result.stdout)
        return body

    def items(self, *args: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.get(*args)["items"]
        return items

    def can(self, account: str, verb: str, resource: str) -> bool:
        result = self.plane.kubectl(
            "auth",
            "can-i",
            verb,
            resource,
            f"--namespace={self.namespace}",
            f"--as={service_account_user(self.namespace, account)}",
            check=False,
        )
        return result.stdout.strip() == "yes"


@pytest.fixture(scope="module")
def install(cluster: ControlPlane) -> Iterator[Install]:
    """`helm install` of one scenario for real, hooks included (the migration Job runs
    after the install, the test Pod on `helm test`)."""
    namespace, rendering = restricted_namespaces(cluster, INSTALLED_SCENARIO)
    result = cluster.kubectl(
        "apply", "--server-side", "--field-manager=helm", "-f", "-", input=documents(rendering)
    )
    assert warnings(result.stderr) == [], result.stderr
    yield Install(cluster, namespace, rendering)
    cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def eventually_items(install: Install, what: str, *args: str, count: int) -> list[dict[str, Any]]:
    """Poll until `kubectl get` lists `count` objects (the controllers work asynchronously)."""
    deadline = time.monotonic() + CONTROLLERS_TIMEOUT_SECONDS
    while True:
        items = install.items(*args)
        if len(items) >= count or time.monotonic() > deadline:
            assert len(items) == count, f"{what}: {len(items)} of {count}"
            return items
        time.sleep(POLL_SECONDS)


def test_every_rendered_object_exists_with_its_kind_and_name(install: Install) -> None:
    listed = install.plane.kubectl(
        "get", "-o", "json", "-f", "-", input=documents(install.rendering)
    )
    found = sorted(
        (item["kind"], item["metadata"]["name"], item["metadata"].get("namespace"))
        for item in json.loads(listed.stdout)["items"]
    )
    assert found == sorted((r.kind, r.name, r.namespace) for r in install.rendering.manifests)


def test_every_deployment_gets_a_replica_set_and_its_pods_are_admitted(install: Install) -> None:
    for deployment in install.rendering.of_kind("Deployment"):
        spec = deployment.manifest["spec"]
        selector = ",".join(f"{k}={v}" for k, v in spec["selector"]["matchLabels"].items())
        (replica_set,) = eventually_items(
            install,
            f"ReplicaSets of {deployment}",
            "replicasets",
            f"--selector={selector}",
            count=1,
        )
        (owner,) = replica_set["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["name"]) == ("Deployment", deployment.name)
        # Pods stay Pending (no kubelet), but the ReplicaSet controller creating them
        # proves restricted Pod Security admits them for real, not only as a dry run.
        eventually_items(
            install,
            f"pods of {deployment}",
            "pods",
            f"--selector={selector}",
            count=spec["replicas"],
        )


def test_the_migration_job_and_the_test_pod_are_admitted(install: Install) -> None:
    (job,) = install.rendering.of_kind("Job")
    eventually_items(install, f"pods of {job}", "pods", f"--selector=job-name={job.name}", count=1)
    (test_pod,) = install.rendering.of_kind("Pod")
    assert install.get("pod", test_pod.name)["status"]["phase"] == "Pending"


def test_every_service_selects_the_pods_of_exactly_one_deployment(install: Install) -> None:
    deployments = install.rendering.of_kind("Deployment")
    for service in install.rendering.of_kind("Service"):
        selector = service.manifest["spec"]["selector"]
        selected = [
            d
            for d in deployments
            if selector.items() <= d.manifest["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(selected) == 1, service
        live = ",".join(f"{k}={v}" for k, v in selector.items())
        pods = install.items("pods", f"--selector={live}")
        assert pods, f"{service} selects no pod"
        # Its ports name ports the selected pods declare.
        container_ports = {
            port["name"]
            for container in selected[0].manifest["spec"]["template"]["spec"]["containers"]
            for port in container.get("ports", [])
        }
        for port in service.manifest["spec"]["ports"]:
            assert port["targetPort"] in container_ports, (service, port)


def test_the_helm_test_pod_asks_the_api_service_for_its_health(install: Install) -> None:
    (test_pod,) = install.rendering.of_kind("Pod")
    (url,) = [a for a in test_pod.manifest["spec"]["containers"][0]["args"] if a.startswith("http")]
    service = install.get("service", "eros-api")
    port = service["spec"]["ports"][0]["port"]
    assert url == f"http://{service['metadata']['name']}:{port}/api/v1/health"


def test_the_operator_service_account_may_do_what_the_operator_does_and_no_more(
    install: Install,
) -> None:
    granted = {
        (verb, resource)
        for verb, resource in OPERATOR_MAY
        if install.can(OPERATOR_ACCOUNT, verb, resource)
    }
    assert granted == set(OPERATOR_MAY)
    excess = {
        (verb, resource)
        for verb, resource in OPERATOR_MAY_NOT
        if install.can(OPERATOR_ACCOUNT, verb, resource)
    }
    assert excess == set()


def test_the_operator_may_read_the_redis_secret_of_the_erosprocessing_only(
    install: Install,
) -> None:
    (resource,) = install.rendering.of_kind("ErosProcessing")
    secret = resource.manifest["spec"]["redis"]["secretRef"]["name"]
    assert install.get("secret", secret)["metadata"]["name"] == secret
    assert install.can(OPERATOR_ACCOUNT, "get", f"secrets/{secret}")
    assert not install.can(OPERATOR_ACCOUNT, "get", "secrets/another-secret")


def test_the_other_components_account_has_no_rights(install: Install) -> None:
    for verb, resource in OPERATOR_MAY:
        assert not install.can("eros", verb, resource), (verb, resource)


def test_the_charts_erosprocessing_is_admitted_and_defaulted(install: Install) -> None:
    (resource,) = install.rendering.of_kind("ErosProcessing")
    live = install.get("erosprocessing", resource.name)
    expected = apply_defaults(openapi_schema(), resource.manifest)
    assert live["spec"] == expected["spec"]
