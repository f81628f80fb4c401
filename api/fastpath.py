"""`POST /api/v1/heartbeat`, served ahead of FastAPI.

Every app sends a heartbeat every few seconds, so it is the API's hottest request, and
its one Redis round trip is cheaper than FastAPI's layers, middleware, routing and
request objects. `FastPathApp`, the API's FastAPI, hands that one method and path to
`HeartbeatFastPath`, a pure ASGI handler, before any of them, and everything else to
FastAPI. The fast path keeps what the rest of the API guarantees:

- the same authentication (`eros.api.deps.authenticate`, over the app's
  `VerifiedTokenCache`), body limit, body model and handler code as the FastAPI route
  (`eros.api.routes.heartbeat`), which stays declared for OpenAPI;
- the one error shape: an error is answered by the app's own exception handlers,
  looked up as Starlette's `ExceptionMiddleware` does; anything unhandled is a JSON 500;
- the request id and security headers of `eros.api.middleware`;
- the same metrics series, with the label sets of a success bound once;
- the access log, sampled: every error and every slow answer is logged, but only one
  success in `ACCESS_LOG_ONE_IN`, its line saying so in `sampled_one_in`, because
  formatting and writing one JSON line costs about a fifth of a heartbeat. At DEBUG
  level every heartbeat is logged.

A request with an `Origin` header, when CORS is configured, takes the full stack, so
that the CORS middleware answers it as it answers every other route.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import State
from starlette.exceptions import HTTPException
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.types import ExceptionHandler, Message, Receive, Scope, Send

from eros.api.deps import authenticate
from eros.api.errors import error_response
from eros.api.metrics import REQUEST_LATENCY, REQUESTS
from eros.api.middleware import (
    SECURITY_HEADERS,
    declared_length,
    log_access,
    request_id_for,
    stamp_response,
)
from eros.api.routes.heartbeat import answer_heartbeat, read_heartbeat
from eros.core.logs import request_id_var

logger = logging.getLogger("eros.api.access")

ACCESS_LOG_ONE_IN = 100
# A success this slow is always logged: the tail is what an access log is read for.
ALWAYS_LOG_SECONDS = 0.1
_METHOD = "POST"
_ERROR_KEY = "eros.fastpath.error"
_JSON = (b"content-type", b"application/json")


class _Disconnected(Exception):
    """The client went away before its body arrived: there is no one to answer."""


class HeartbeatFastPath:
    """Answers the heartbeats that `serves` accepts; `FastPathApp` hands them over."""

    def __init__(
        self,
        *,
        path: str,
        state: State,
        handlers: Mapping[Any, ExceptionHandler],
        max_body_bytes: int,
        cors: bool,
        log_one_in: int = ACCESS_LOG_ONE_IN,
    ) -> None:
        self._path = path
        self._state = state
        self._max_body_bytes = max_body_bytes
        self._cors = cors
        self._log_one_in = log_one_in
        self._unlogged = 0
        # The app's handlers, minus those of ServerErrorMiddleware (500 / Exception), as
        # FastAPI hands them to its ExceptionMiddleware; it raises what none handles.
        self._errors = ExceptionMiddleware(
            _raise_pending,
            handlers={k: v for k, v in handlers.items() if k not in (500, Exception)},
        )
        self._ok_requests = REQUESTS.labels(_METHOD, path, "200")
        self._latency = REQUEST_LATENCY.labels(_METHOD, path)

    def serves(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["path"] != self._path or scope["method"] != _METHOD:
            return False
        return not (self._cors and any(name == b"origin" for name, _ in scope["headers"]))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = request_id_for(scope)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        try:
            try:
                body = await self._beat(scope, receive)
            except _Disconnected:
                status = 0
                return
            except Exception as exc:
                status = await self._answer_error(exc, scope, receive, send, request_id)
                return
            status = 200
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-length", str(len(body)).encode()),
                        _JSON,
                        (b"x-request-id", request_id.encode()),
                        *SECURITY_HEADERS,
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
        finally:
            if status:
                self._account(status, time.perf_counter() - started)
            request_id_var.reset(token)

    async def _beat(self, scope: Scope, receive: Receive) -> bytes:
        declared = declared_length(scope)
        if declared is not None and declared > self._max_body_bytes:
            raise self._too_large()
        claims = authenticate(Request(scope))
        beat = read_heartbeat(await self._body(receive))
        return await answer_heartbeat(self._state, claims.user_id, beat)

    async def _body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk: bytes = message.get("body", b"")
            received += len(chunk)
            if received > self._max_body_bytes:
                raise self._too_large()
            if not message.get("more_body", False):
                return b"".join((*chunks, chunk)) if chunks else chunk
            chunks.append(chunk)

    def _too_large(self) -> HTTPException:
        # The message of eros.api.middleware's limit; the handlers give it its code.
        return HTTPException(413, f"The request body exceeds {self._max_body_bytes} bytes.")

    async def _answer_error(
        self, exc: Exception, scope: Scope, receive: Receive, send: Send, request_id: str
    ) -> int:
        status = 500
        started = False

        async def send_with_context(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                stamp_response(message, request_id)
            await send(message)

        scope[_ERROR_KEY] = exc
        try:
            await self._errors(scope, receive, send_with_context)
        except Exception:
            logger.exception("Unhandled error while serving a request.")
            if not started:
                response = error_response(
                    500, "internal_error", "Something went wrong on our side."
                )
                await response(scope, receive, send_with_context)
            status = 500
        finally:
            del scope[_ERROR_KEY]
        return status

    def _account(self, status: int, elapsed: float) -> None:
        if status == 200:
            self._ok_requests.inc()
        else:
            REQUESTS.labels(_METHOD, self._path, str(status)).inc()
        self._latency.observe(elapsed)
        if status < 400 and elapsed < ALWAYS_LOG_SECONDS and not logger.isEnabledFor(logging.DEBUG):
            self._unlogged += 1
            if self._unlogged < self._log_one_in:
                return
            self._unlogged = 0
            if logger.isEnabledFor(logging.INFO):
                log_access(_METHOD, self._path, status, elapsed, sampled_one_in=self._log_one_in)
        elif logger.isEnabledFor(logging.INFO):
            log_access(_METHOD, self._path, status, elapsed)


class FastPathApp(FastAPI):
    """FastAPI, but a heartbeat is answered before any of its layers (OpenTelemetry's
    check, the error middleware, body limits, the user middleware, routing): together
    they cost about a tenth of a heartbeat. Those layers' duties are the fast path's."""

    heartbeats: HeartbeatFastPath | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        heartbeats = self.heartbeats
        if heartbeats is not None and heartbeats.serves(scope):
            # As Starlette does, for what reads `request.app` (authentication).
            scope["app"] = self
            await heartbeats(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


async def _raise_pending(scope: Scope, receive: Receive, send: Send) -> None:
    """The app inside the fast path's ExceptionMiddleware: re-raises the error to answer."""
    raise scope[_ERROR_KEY]
