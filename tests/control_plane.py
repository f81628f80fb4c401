"""A real Kubernetes control plane for the `kube` test tier (etcd, kube-apiserver and
kube-controller-manager on loopback, started by `../shared/kube/control-plane`).

No kubelet runs: objects are stored, defaulted, validated, admitted, watched and
garbage-collected for real, Deployments get ReplicaSets, and pods stay Pending. The
apiserver writes an audit log (metadata only), so that a test can list the requests a
component really made, and under which identity.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes.client import ApiClient, Configuration

REPO_ROOT = Path(__file__).resolve().parent.parent
# Where the binaries and the start script live; CI lays `shared/` beside the clone.
CONTROL_PLANE_ENV = "EROS_KUBE_CONTROL_PLANE"
DEFAULT_CONTROL_PLANE_DIR = REPO_ROOT.parent / "shared" / "kube"
# Set (to anything) where the kube tier must run: a missing control plane then fails.
REQUIRE_KUBE_ENV = "EROS_REQUIRE_KUBE"
SCRIPT_NAME = "control-plane"
START_TIMEOUT_SECONDS = 120
KUBECTL_TIMEOUT_SECONDS = 60
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    # One event per request, when the answer is sent; no bodies, which keeps the log small.
    "omitStages": ["RequestReceived", "ResponseStarted"],
    "rules": [{"level": "Metadata"}],
}


def control_plane_script() -> Path | None:
    """The start script, or None where the binaries are not on this machine."""
    folder = Path(os.environ.get(CONTROL_PLANE_ENV) or DEFAULT_CONTROL_PLANE_DIR)
    script = folder / SCRIPT_NAME
    if not script.is_file() or not (folder / "bin").is_dir():
        return None
    return script


@dataclass(frozen=True)
class AuditEvent:
    user: str
    verb: str
    resource: str  # "deployments", "erosprocessings/status", ...
    group: str
    namespace: str
    code: int


@dataclass
class ControlPlane:
    """One running control plane; `kubeconfig` holds the admin's static token."""

    script: Path
    directory: Path

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "kubeconfig"

    @property
    def audit_log(self) -> Path:
        return self.directory / "audit.log"

    @classmethod
    def start(cls, script: Path, directory: Path) -> ControlPlane:
        directory.mkdir(parents=True, exist_ok=True)
        policy = directory / "audit-policy.yaml"
        policy.write_text(yaml.safe_dump(AUDIT_POLICY))
        flags = (
            f"--audit-policy-file={policy} --audit-log-path={directory / 'audit.log'} "
            "--audit-log-format=json"
        )
        env = {**os.environ, "KUBE_APISERVER_FLAGS": flags}
        subprocess.run(
            [str(script), "start", str(directory)],
            env=env,
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT_SECONDS,
        )
        return cls(script, directory)

    def stop(self) -> None:
        subprocess.run(
            [str(self.script), "stop", str(self.directory)],
            check=False,
            capture_output=True,
            timeout=START_TIMEOUT_SECONDS,
        )

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        kubeconfig: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this control plane; output is text."""
        result = subprocess.run(
            ["kubectl", f"--kubeconfig={kubeconfig or self.kubeconfig}", *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=KUBECTL_TIMEOUT_SECONDS,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}"
            )
        return result

    def apply(self, *objects: Mapping[str, Any], namespace: str | None = None) -> None:
        extra = [f"--namespace={namespace}"] if namespace else []
        self.kubectl("apply", *extra, "-f", "-", input=yaml.safe_dump_all(list(objects)))

    def api_client(self, kubeconfig: Path | None = None) -> ApiClient:
        """A client of the official library, as the admin or as `kubeconfig`'s user."""
        from kubernetes import config

        configuration = Configuration()
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig or self.kubeconfig), client_configuration=configuration
        )
        return ApiClient(configuration)

    def create_namespace(
        self, prefix: str = "eros-test", labels: Mapping[str, str] | None = None
    ) -> str:
        """A new namespace with a unique name, so that tests never see each other's objects."""
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.apply(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": name, "labels": dict(labels or {})},
            }
        )
        return name

    def service_account_kubeconfig(self, namespace: str, account: str, path: Path) -> Path:
        """A kubeconfig authenticated with a TokenRequest token of a ServiceAccount, which
        the apiserver authorizes through RBAC exactly as it would a pod's token."""
        token = self.kubectl(
            "create", "token", account, f"--namespace={namespace}", "--duration=2h"
        ).stdout.strip()
        admin = yaml.safe_load(self.kubeconfig.read_text())
        admin["users"] = [{"name": account, "user": {"token": token}}]
        admin["contexts"] = [
            {
                "name": account,
                "context": {"cluster": "local", "user": account, "namespace": namespace},
            }
        ]
        admin["current-context"] = account
        path.write_text(yaml.safe_dump(admin))
        return path

    def audit_events(self, user_prefix: str = "") -> Iterator[AuditEvent]:
        """The requests the apiserver answered so far, of users whose name starts so."""
        if not self.audit_log.exists():
            return
        for line in self.audit_log.read_text().splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:  # the line being written
                continue
            user = str((event.get("user") or {}).get("username", ""))
            ref = event.get("objectRef") or {}
            if not user.startswith(user_prefix) or not ref.get("resource"):
                continue
            resource = ref["resource"] + (
                f"/{ref['subresource']}" if ref.get("subresource") else ""
            )
            yield AuditEvent(
                user=user,
                verb=str(event.get("verb", "")),
                resource=resource,
                group=str(ref.get("apiGroup", "")),
                namespace=str(ref.get("namespace", "")),
                code=int((event.get("responseStatus") or {}).get("code", 0)),
            )


def service_account_user(namespace: str, account: str) -> str:
    return f"system:serviceaccount:{namespace}:{account}"


def crd_files(folder: Path) -> Sequence[Path]:
    return sorted(folder.glob("*.yaml"))
