"""`/metrics` and `/healthz` of the scheduler and worker processes, on their own port.

A thread with a small HTTP server: the Helm chart's probes and ServiceMonitor use exactly
these two paths. `/healthz` answers from the process's own state (is its main loop still
turning?) and never touches Redis, so a Redis outage does not make Kubernetes restart pods.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

logger = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
HEALTH_PATH = "/healthz"
SHUTDOWN_TIMEOUT_SECONDS = 2.0


class _Handler(BaseHTTPRequestHandler):
    server: _ProbeHTTPServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == METRICS_PATH:
            if self.server.before_scrape is not None:
                self.server.before_scrape()
            self._reply(HTTPStatus.OK, generate_latest(), CONTENT_TYPE_LATEST)
        elif path == HEALTH_PATH:
            alive = self.server.live()
            status = HTTPStatus.OK if alive else HTTPStatus.SERVICE_UNAVAILABLE
            self._reply(status, b"ok\n" if alive else b"stalled\n", "text/plain; charset=utf-8")
        else:
            self._reply(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")

    def _reply(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("Probe request: %s", format % args)


class _ProbeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    live: Callable[[], bool]
    before_scrape: Callable[[], None] | None


class ProbeServer:
    """Serves `/metrics` and `/healthz` from a daemon thread."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        live: Callable[[], bool],
        before_scrape: Callable[[], None] | None = None,
    ) -> None:
        self._server = _ProbeHTTPServer((host, port), _Handler)
        self._server.live = live
        self._server.before_scrape = before_scrape
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="eros-probes", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()
        logger.info("Serving /metrics and /healthz on port %d.", self.port)

    def close_in_horse(self) -> None:
        """In a forked work horse: release the inherited listening socket (the worker keeps
        its own), so that an orphaned horse cannot hold the port."""
        self._server.socket.close()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(SHUTDOWN_TIMEOUT_SECONDS)
