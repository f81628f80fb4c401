"""The operator's Kubernetes calls answered from memory, for tests that run the reconciler
without an API server: the `Kube` protocol's fake, the owner and moment those tests share,
and the Deployments as the operator would have made them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from eros.operator.kube import Ensured, EnsureResult
from eros.operator.manifests import Owner, desired_template_hash
from eros.operator.spec import parse_spec
from eros.operator.status import DeploymentState

OWNER = Owner(name="eros", namespace="dating", uid="uid-1")
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@dataclass
class FakeKube:
    """The operator's API calls, answered from memory and recorded."""

    redis_url: str
    secret_error: Exception | None = None
    ensured: list[str] = field(default_factory=list)
    scaled: list[tuple[str, int]] = field(default_factory=list)
    statuses: list[Mapping[str, Any]] = field(default_factory=list)

    def read_secret_value(self, namespace: str, name: str, key: str) -> str:
        if self.secret_error is not None:
            raise self.secret_error
        return self.redis_url

    def ensure_deployment(self, desired: Mapping[str, Any]) -> EnsureResult:
        self.ensured.append(desired["metadata"]["name"])
        return EnsureResult(Ensured.PATCHED, int(desired["spec"]["replicas"]))

    def scale_deployment(self, namespace: str, name: str, replicas: int) -> None:
        self.scaled.append((name, replicas))

    def patch_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        self.statuses.append(status)


def deployments_of(raw_spec: Mapping[str, Any], replicas: int = 0) -> list[DeploymentState]:
    """The Deployments as the operator made them from `raw_spec`."""
    spec = parse_spec(raw_spec)
    return [
        DeploymentState(
            f"eros-phase-{phase.number}",
            replicas,
            replicas,
            phase.cpu_per_worker_millicores,
            desired_template_hash(OWNER, spec, phase),
        )
        for phase in spec.phases
    ]
