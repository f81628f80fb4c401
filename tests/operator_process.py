"""A real `eros operator` process for the `kube` test tier: started with a kubeconfig of
the caller's choosing (a ServiceAccount's token, usually), its logs kept in a file and its
`/healthz` answered over HTTP, exactly as a pod's liveness probe would see it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tests.conftest import free_port

STOP_TIMEOUT_SECONDS = 30.0
HEALTHZ_TIMEOUT_SECONDS = 5.0
POLL_INTERVAL_SECONDS = 0.1
DEFAULT_WAIT_SECONDS = 30.0

T = TypeVar("T")


def eventually(
    probe: Callable[[], T | None],
    timeout: float = DEFAULT_WAIT_SECONDS,
    what: str = "the condition",
) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(POLL_INTERVAL_SECONDS)
    raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what} (last: {last!r}).")


@dataclass(frozen=True)
class Healthz:
    code: int
    body: dict[str, Any]


@dataclass
class OperatorProcess:
    process: subprocess.Popen[bytes]
    log_path: Path
    liveness_port: int

    @classmethod
    def start(
        cls,
        kubeconfig: Path,
        namespace: str,
        log_path: Path,
        *extra_args: str,
        env: dict[str, str] | None = None,
    ) -> OperatorProcess:
        """`eros operator --namespace NS` under `kubeconfig`; text logs go to `log_path`."""
        liveness_port = free_port()
        eros = Path(sys.executable).with_name("eros")
        args: Sequence[str] = (
            str(eros),
            "operator",
            f"--namespace={namespace}",
            f"--liveness-port={liveness_port}",
            "--metrics-port=0",
            "--log-format=text",
            *extra_args,
        )
        environment = {
            **os.environ,
            "KUBECONFIG": str(kubeconfig),
            # Not in a pod: never pick up an in-cluster token by accident.
            "KUBERNETES_SERVICE_HOST": "",
            **(env or {}),
        }
        log = log_path.open("wb")
        process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, env=environment, start_new_session=True
        )
        log.close()
        return cls(process, log_path, liveness_port)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def healthz(self) -> Healthz | None:
        """The liveness endpoint's answer, or None while it does not listen."""
        url = f"http://127.0.0.1:{self.liveness_port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=HEALTHZ_TIMEOUT_SECONDS) as response:
                return Healthz(response.status, _json(response.read()))
        except urllib.error.HTTPError as error:
            return Healthz(error.code, _json(error.read()))
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> int:
        """SIGTERM, as a pod's deletion sends; SIGKILL if it does not exit in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return int(self.process.returncode)


def _json(body: bytes) -> dict[str, Any]:
    try:
        decoded = json.loads(body or b"{}")
    except json.JSONDecodeError:
        return {"raw": body.decode(errors="replace")}
    return decoded if isinstance(decoded, dict) else {"value": decoded}
