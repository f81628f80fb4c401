"""One pure ASGI middleware for what every request needs: request id, body limit, metrics,
access log, security headers, and a JSON 500 instead of a stack trace."""

from __future__ import annotations

import json
import logging
import os
import re
import time

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eros.api.errors import error_body
from eros.api.metrics import REQUEST_LATENCY, REQUESTS
from eros.api.route_templates import UNMATCHED, RouteTemplates
from eros.core.logs import request_id_var

logger = logging.getLogger("eros.api.access")

# A client-supplied id is echoed only if it is short and harmless in logs and headers.
# Matched with fullmatch: a `$` would also accept the id followed by a newline.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


def stamp_response(start: Message, request_id: str) -> None:
    """Add the request id and the security headers to a response's start message."""
    headers = MutableHeaders(scope=start)
    headers.append("X-Request-ID", request_id)
    for name, value in SECURITY_HEADERS:
        headers.append(name.decode(), value.decode())


class _BodyTooLarge(StarletteHTTPException):
    """An HTTPException, so that FastAPI's body parsing lets it through to the error handler."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body exceeds {limit} bytes.")


def request_id_for(scope: Scope) -> str:
    """The client's X-Request-ID if it is safe to echo, else a fresh one (32 hex digits)."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _VALID_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    # As random as uuid4().hex and the same length, for a fifth of its cost.
    return os.urandom(16).hex()


def declared_length(scope: Scope) -> int | None:
    """The request's Content-Length, or None if it has none or a garbled one."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def log_access(method: str, route: str, status: int, elapsed: float, **fields: object) -> None:
    """One line of the access log; `fields` are extra attributes of the record."""
    logger.info(
        "%s %s answered %d in %.1f ms.",
        method,
        route,
        status,
        elapsed * 1000,
        extra={
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(elapsed * 1000, 2),
            **fields,
        },
    )


def _error_body(status: int, code: str, message: str, request_id: str) -> bytes:
    return json.dumps(error_body(code, message, request_id=request_id)).encode()


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, templates: RouteTemplates) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self._templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(scope)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                stamp_response(message, request_id)
            await send(message)

        try:
            declared = declared_length(scope)
            if declared is not None and declared > self.max_body_bytes:
                raise _BodyTooLarge(self.max_body_bytes)
            await self.app(scope, self._limited(receive), send_wrapper)
        except _BodyTooLarge:
            status = 413
            if not response_started:
                await self._send_error(
                    send,
                    413,
                    "payload_too_large",
                    f"The request body exceeds {self.max_body_bytes} bytes.",
                    request_id,
                )
        except Exception:
            status = 500
            logger.exception("Unhandled error while serving a request.")
            if not response_started:
                await self._send_error(
                    send, 500, "internal_error", "Something went wrong on our side.", request_id
                )
        finally:
            elapsed = time.perf_counter() - started
            route = self._route_template(scope)
            method = scope["method"]
            REQUESTS.labels(method, route, str(status)).inc()
            REQUEST_LATENCY.labels(method, route).observe(elapsed)
            if logger.isEnabledFor(logging.INFO):
                log_access(method, route, status, elapsed)
            request_id_var.reset(token)

    def _limited(self, receive: Receive) -> Receive:
        received = 0

        async def wrapper() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge(self.max_body_bytes)
            return message

        return wrapper

    def _route_template(self, scope: Scope) -> str:
        if scope.get("route") is None:
            return UNMATCHED
        return self._templates.match(scope["path"])

    @staticmethod
    async def _send_error(
        send: Send, status: int, code: str, message: str, request_id: str
    ) -> None:
        body = _error_body(status, code, message, request_id)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", request_id.encode()),
                    *SECURITY_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
