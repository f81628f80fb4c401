"""`/metrics`, `/healthz` and `/readyz` of the scheduler and worker processes, on their own
port (the container port named `metrics`).

A thread with a small HTTP server: the Helm chart's and the operator's probes, the
ServiceMonitor and the PodMonitor use exactly these paths.
- `/metrics` serves the process's own registry only (`eros.pipeline.metrics`).
- `/healthz` is liveness: is the process's main loop still turning? A failure restarts
  the container.
- `/readyz` is readiness: live and not draining. A worker stops being ready as soon as it
  is asked to stop (SIGTERM, or RQ's shutdown command) and drains its running job back to
  its queue, so a rollout counts it out at once while it still finishes cleanly.
Both answer from the process's own state and never touch Redis, so a Redis outage does not
make Kubernetes restart pods.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

logger = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
SHUTDOWN_TIMEOUT_SECONDS = 2.0
_TEXT = "text/plain; charset=utf-8"


class PlainHandler(BaseHTTPRequestHandler):
    """A probe endpoint's request handler: whole replies, request lines logged at DEBUG."""

    def _reply(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("Probe request: %s", format % args)


class _Handler(PlainHandler):
    server: _ProbeHTTPServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == METRICS_PATH:
            if self.server.before_scrape is not None:
                self.server.before_scrape()
            self._reply(HTTPStatus.OK, generate_latest(self.server.registry), CONTENT_TYPE_LATEST)
        elif path == HEALTH_PATH:
            alive = self.server.live()
            status = HTTPStatus.OK if alive else HTTPStatus.SERVICE_UNAVAILABLE
            self._reply(status, b"ok\n" if alive else b"stalled\n", _TEXT)
        elif path == READY_PATH:
            ready = self.server.ready()
            status = HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE
            self._reply(status, b"ready\n" if ready else b"not ready\n", _TEXT)
        else:
            self._reply(HTTPStatus.NOT_FOUND, b"not found\n", _TEXT)


class _ProbeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    registry: CollectorRegistry
    live: Callable[[], bool]
    ready: Callable[[], bool]
    before_scrape: Callable[[], None] | None


class ProbeServer:
    """Serves `/metrics` (of `registry`), `/healthz` and `/readyz` from a daemon thread.

    `ready` defaults to `live`: a process that never drains is ready while it is alive.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        registry: CollectorRegistry,
        live: Callable[[], bool],
        ready: Callable[[], bool] | None = None,
        before_scrape: Callable[[], None] | None = None,
    ) -> None:
        self._server = _ProbeHTTPServer((host, port), _Handler)
        self._server.registry = registry
        self._server.live = live
        self._server.ready = ready or live
        self._server.before_scrape = before_scrape
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="eros-probes", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()
        logger.info("Serving /metrics, /healthz and /readyz on port %d.", self.port)

    def close_in_horse(self) -> None:
        """In a forked work horse: release the inherited listening socket (the worker keeps
        its own), so that an orphaned horse cannot hold the port."""
        self._server.socket.close()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(SHUTDOWN_TIMEOUT_SECONDS)
