"""The ErosProcessing CRD on a real API server: both copies install, `kubectl explain`
describes it, defaults fill in what the operator assumes, and bad resources are rejected
with messages an ops person understands."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiException, CustomObjectsApi

from eros.operator.spec import GROUP, PLURAL, VERSION, parse_spec
from tests.control_plane import ControlPlane, crd_files
from tests.operator.crd_cases import (
    GOOD,
    INVALID,
    LEAKED_INTERNALS,
    Invalid,
    phases,
    resource,
)
from tests.operator.crd_validation import REPO_ROOT, apply_defaults, openapi_schema

pytestmark = pytest.mark.kube

CRD_FOLDERS = {"crds": REPO_ROOT / "crds", "chart": REPO_ROOT / "charts" / "eros" / "crds"}
EXPLAIN_TIMEOUT_SECONDS = 30.0
POLL_SECONDS = 0.2
# A few cases of the table through kubectl itself, which validates fields strictly by default.
KUBECTL_CASES = ["misspelt field", "pool not a quantity", "unknown time zone", "two phases"]


def kubectl_apply(
    plane: ControlPlane, manifest: Mapping[str, Any], namespace: str, *flags: str
) -> subprocess.CompletedProcess[str]:
    return plane.kubectl(
        "apply",
        f"--namespace={namespace}",
        *flags,
        "-f",
        "-",
        input=yaml.safe_dump(manifest),
        check=False,
    )


def in_namespace(manifest: dict[str, Any], namespace: str) -> dict[str, Any]:
    manifest["metadata"]["namespace"] = namespace
    return manifest


def stored_spec(plane: ControlPlane, namespace: str, name: str = "eros") -> dict[str, Any]:
    found = plane.kubectl("get", "erosprocessing", name, f"--namespace={namespace}", "-o", "json")
    return dict(json.loads(found.stdout)["spec"])


def crds_in(folder: Path) -> list[dict[str, Any]]:
    return [
        crd for path in crd_files(folder) for crd in yaml.safe_load_all(path.read_text()) if crd
    ]


def under_a_fresh_group(crds: list[dict[str, Any]]) -> str:
    """The CRDs renamed into a group this cluster has never seen, so that the API server
    validates them as a first install (schema, defaults, rules and their cost estimates)."""
    suffix = f"fresh-{uuid.uuid4().hex[:8]}"
    for crd in crds:
        crd["spec"]["group"] = f"{suffix}.{crd['spec']['group']}"
        crd["metadata"]["name"] = f"{crd['spec']['names']['plural']}.{crd['spec']['group']}"
    return yaml.safe_dump_all(crds)


def test_the_crds_install_with_kubectl_apply(eros_crds: ControlPlane) -> None:
    names = eros_crds.kubectl("get", "crd", "-o", "name").stdout.split()
    assert "customresourcedefinition.apiextensions.k8s.io/erosprocessings.eros.dev" in names


@dataclass(frozen=True)
class Answer:
    """What the API server said to a create: its message and the single errors in it."""

    accepted: bool
    message: str
    causes: list[str]


@pytest.fixture(scope="module")
def dry_run(eros_crds: ControlPlane) -> Iterator[Callable[[Mapping[str, Any]], Answer]]:
    """Create a resource in a server-side dry run as the admin, validating fields strictly
    as kubectl does; one namespace serves every case, as a dry run stores nothing.

    The official client instead of kubectl: one request, not one process, per case."""
    namespace = eros_crds.create_namespace("eros-crd-dry-run")
    api = CustomObjectsApi(eros_crds.api_client())

    def create(spec: Mapping[str, Any]) -> Answer:
        try:
            api.create_namespaced_custom_object(
                GROUP,
                VERSION,
                namespace,
                PLURAL,
                in_namespace(resource(spec), namespace),
                dry_run="All",
                field_validation="Strict",
            )
        except ApiException as error:
            status = json.loads(error.body or "{}")
            causes = (status.get("details") or {}).get("causes") or []
            return Answer(
                False, str(status.get("message", error)), [str(c["message"]) for c in causes]
            )
        return Answer(True, "", [])

    yield create
    api.api_client.close()


@pytest.mark.parametrize("folder", CRD_FOLDERS.values(), ids=CRD_FOLDERS.keys())
@pytest.mark.parametrize("mode", [(), ("--server-side",)], ids=["client-side", "server-side"])
def test_the_crds_install_on_a_cluster_that_has_never_seen_them(
    eros_crds: ControlPlane, folder: Path, mode: tuple[str, ...]
) -> None:
    crds = crds_in(folder)
    applied = eros_crds.kubectl(
        "apply", *mode, "--dry-run=server", "-f", "-", input=under_a_fresh_group(crds)
    )
    reports = applied.stdout.splitlines()
    for crd in crds:
        name = crd["metadata"]["name"]
        assert any(name in line and "(server dry run)" in line for line in reports), reports


@pytest.mark.parametrize("folder", CRD_FOLDERS.values(), ids=CRD_FOLDERS.keys())
@pytest.mark.parametrize("mode", [(), ("--server-side",)], ids=["client-side", "server-side"])
def test_the_crds_apply_over_the_installed_ones(
    eros_crds: ControlPlane, folder: Path, mode: tuple[str, ...]
) -> None:
    # A dry run: the session's CRDs stay as the eros_crds fixture applied them.
    applied = eros_crds.kubectl("apply", *mode, "--dry-run=server", "-f", str(folder))
    assert "erosprocessings.eros.dev" in applied.stdout
    assert "(server dry run)" in applied.stdout


def explain(plane: ControlPlane, field: str) -> str:
    """`kubectl explain`, once the API server publishes the CRD's OpenAPI schema."""
    deadline = time.monotonic() + EXPLAIN_TIMEOUT_SECONDS
    while True:
        result = plane.kubectl("explain", field, check=False)
        if result.returncode == 0 or time.monotonic() > deadline:
            assert result.returncode == 0, result.stderr
            return result.stdout
        time.sleep(POLL_SECONDS)


def test_kubectl_explain_describes_the_spec_and_its_fields(eros_crds: ControlPlane) -> None:
    spec = explain(eros_crds, "erosprocessing.spec")
    assert "What EROS may use and how the operator scales the workers" in spec
    assert "cpuPool" in spec and "headroomPercent" in spec
    phase_list = explain(eros_crds, "erosprocessing.spec.phases")
    assert "The three idle phases" in phase_list
    assert "idleAfter" in phase_list
    assert "strictly" not in phase_list  # descriptions, not the rules' messages
    idle_after = explain(eros_crds, "erosprocessing.spec.phases.idleAfter")
    assert "How long a user must have been idle" in idle_after


def test_an_empty_spec_gets_the_defaults_the_operator_assumes(eros_crds: ControlPlane) -> None:
    namespace = eros_crds.create_namespace("eros-crd")
    eros_crds.apply(in_namespace(resource({}), namespace))
    spec = stored_spec(eros_crds, namespace)
    assert parse_spec(spec) == parse_spec({})
    # The Python model of the API server defaults the same way, so its tests hold here too.
    assert spec == apply_defaults(openapi_schema(), resource({}))["spec"]


def test_a_resource_without_a_spec_gets_the_same_defaults(eros_crds: ControlPlane) -> None:
    namespace = eros_crds.create_namespace("eros-crd")
    manifest = in_namespace(resource({}), namespace)
    del manifest["spec"]
    eros_crds.apply(manifest)
    assert parse_spec(stored_spec(eros_crds, namespace)) == parse_spec({})


def test_the_phase_defaults_are_those_the_operator_assumes(eros_crds: ControlPlane) -> None:
    namespace = eros_crds.create_namespace("eros-crd")
    required = ("name", "idleAfter", "cpuBudgetPercent", "queue")
    bare = [{key: phase[key] for key in required} for phase in phases()]
    eros_crds.apply(in_namespace(resource({"phases": bare}), namespace))
    spec = stored_spec(eros_crds, namespace)
    assert spec["phases"] != bare  # the server filled in the per-phase defaults
    assert parse_spec(spec) == parse_spec({"phases": bare})


@pytest.mark.parametrize("spec", GOOD.values(), ids=GOOD.keys())
def test_good_resources_are_accepted(
    dry_run: Callable[[Mapping[str, Any]], Answer], spec: Mapping[str, Any]
) -> None:
    answer = dry_run(spec)
    assert answer.accepted, answer.message


@pytest.mark.parametrize("case", INVALID.values(), ids=INVALID.keys())
def test_bad_resources_are_rejected_with_a_message_an_ops_person_understands(
    dry_run: Callable[[Mapping[str, Any]], Answer], case: Invalid
) -> None:
    answer = dry_run(case.spec)
    assert not answer.accepted
    assert case.message in answer.message
    for internal in LEAKED_INTERNALS:
        assert internal not in answer.message
    if case.alone:
        assert len(answer.causes) == 1, answer.causes


@pytest.mark.parametrize(
    "case",
    [INVALID[name] for name in KUBECTL_CASES],
    ids=KUBECTL_CASES,
)
def test_kubectl_shows_the_same_messages(eros_crds: ControlPlane, case: Invalid) -> None:
    namespace = eros_crds.create_namespace("eros-crd")
    manifest = in_namespace(resource(case.spec), namespace)
    applied = kubectl_apply(eros_crds, manifest, namespace)
    assert applied.returncode != 0, applied.stdout
    assert case.message in applied.stderr
    for internal in LEAKED_INTERNALS:
        assert internal not in applied.stderr
    assert not eros_crds.kubectl(
        "get", "erosprocessings", f"--namespace={namespace}", "-o", "name"
    ).stdout


def test_an_unknown_field_is_dropped_with_a_warning_when_validation_is_not_strict(
    eros_crds: ControlPlane,
) -> None:
    # kubectl validates strictly by default (the table above); other clients may not, and
    # then the structural schema prunes the field: the warning is all they get.
    namespace = eros_crds.create_namespace("eros-crd")
    manifest = in_namespace(resource({"headroomPercnt": 20}), namespace)
    applied = kubectl_apply(eros_crds, manifest, namespace, "--validate=warn")
    assert applied.returncode == 0, applied.stderr
    assert 'unknown field "spec.headroomPercnt"' in applied.stderr
    spec = stored_spec(eros_crds, namespace)
    assert "headroomPercnt" not in spec
    assert spec["headroomPercent"] == parse_spec({}).headroom_percent
