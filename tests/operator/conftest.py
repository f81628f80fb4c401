"""Operator fixtures: the Kubernetes API mock, a kubeconfig for it, and a running operator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from eros.operator.runtime import OperatorOptions
from tests.operator.helpers import NAMESPACE
from tests.operator.kube_mock import Cluster, Emulator, mock_api, running_operator, write_kubeconfig


@pytest_asyncio.fixture
async def kube_api() -> AsyncIterator[Emulator]:
    async with mock_api() as api:
        yield api


@pytest.fixture
def kubeconfig(kube_api: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write_kubeconfig(kube_api, tmp_path / "kubeconfig.yaml")
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    return path


@pytest_asyncio.fixture
async def cluster(kube_api: Emulator, kubeconfig: Path, redis_url: str) -> Cluster:
    """The mock API with the Redis Secret the default ErosProcessing refers to."""
    cluster = Cluster(kube_api)
    await cluster.add_redis_secret(redis_url)
    return cluster


@pytest.fixture
def operator_options() -> OperatorOptions:
    return OperatorOptions(
        namespaces=(NAMESPACE,), standalone=True, liveness_port=0, metrics_port=0
    )


@pytest_asyncio.fixture
async def operator(cluster: Cluster, operator_options: OperatorOptions) -> AsyncIterator[Cluster]:
    """The mock API with a running operator."""
    async with running_operator(operator_options):
        yield cluster
