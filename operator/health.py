"""The operator's `/healthz`: every probe answered fresh, on each request.

Kopf has a liveness endpoint of its own, but it caches its answer for 10 s (a constant
inside kopf), so a problem a tick found (a Secret the operator may not read) would reach
`/healthz` up to 10 s after the resource's status shows it. This server calls the probes
on every request instead; they only read in-memory state, so that costs microseconds.
The answer is 200 with every probe's value as JSON, or 500 when one probe raises (a stuck
daemon): the liveness probe then fails and Kubernetes restarts the operator.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from typing import Any

from eros.pipeline.server import PlainHandler

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
LISTEN_HOST = "0.0.0.0"
SHUTDOWN_TIMEOUT_SECONDS = 2.0

Probe = Callable[[], Any]


def answer(probes: Mapping[str, Probe]) -> tuple[HTTPStatus, bytes]:
    """The status and body of one `/healthz` request."""
    results: dict[str, Any] = {}
    for name, probe in probes.items():
        try:
            results[name] = probe()
        except Exception as error:  # any probe's failure is the answer, not a crash
            return HTTPStatus.INTERNAL_SERVER_ERROR, f"{name}: {error}\n".encode()
    return HTTPStatus.OK, json.dumps(results, default=str).encode()


class _Handler(PlainHandler):
    server: _HealthHTTPServer

    def do_GET(self) -> None:  # noqa: N802 - http.server calls it by this name
        if self.path.split("?", 1)[0] != HEALTH_PATH:
            self._reply(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")
            return
        status, body = answer(self.server.probes)
        kind = "application/json" if status is HTTPStatus.OK else "text/plain; charset=utf-8"
        self._reply(status, body, kind)


class _HealthHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    probes: Mapping[str, Probe]


class HealthServer:
    """Serves `/healthz` from a daemon thread."""

    def __init__(self, port: int, probes: Mapping[str, Probe], host: str = LISTEN_HOST) -> None:
        self._server = _HealthHTTPServer((host, port), _Handler)
        self._server.probes = dict(probes)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="eros-operator-healthz", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()
        logger.info("Serving %s on port %d.", HEALTH_PATH, self.port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(SHUTDOWN_TIMEOUT_SECONDS)
