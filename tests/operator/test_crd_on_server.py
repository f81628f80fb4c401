"""The ErosProcessing CRD on a real API server: it installs, and defaults an empty spec."""

from __future__ import annotations

import pytest

from tests.control_plane import ControlPlane

pytestmark = pytest.mark.kube


def test_the_crds_install_with_kubectl_apply(eros_crds: ControlPlane) -> None:
    names = eros_crds.kubectl("get", "crd", "-o", "name").stdout.split()
    assert "customresourcedefinition.apiextensions.k8s.io/erosprocessings.eros.dev" in names
