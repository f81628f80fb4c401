"""The one error shape of the API: `{code, message, details, request_id}`, for every 4xx and 5xx."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import redis.exceptions
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg import OperationalError
from psycopg_pool import PoolTimeout
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from eros.api.route_templates import RouteTemplates
from eros.core.assistant import ConversationNotFound
from eros.core.errors import (
    ConflictError,
    DomainError,
    ForbiddenError,
    InvalidError,
    NotFoundError,
    UnauthenticatedError,
)
from eros.core.idempotency import IdempotencyKeyBusy, IdempotencyKeyReused
from eros.core.logs import request_id_var
from eros.core.tokens import TokenError

logger = logging.getLogger(__name__)

_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "service_unavailable",
}


class ErrorBody(BaseModel):
    """Documented in the OpenAPI schema as the body of every error response."""

    code: str
    message: str
    details: Any = None
    request_id: str | None = None


_BEARER = {"WWW-Authenticate": "Bearer"}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers


class NotFound(ApiError):
    def __init__(self, message: str = "Not found.") -> None:
        super().__init__(404, "not_found", message)


class Unauthorized(ApiError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(401, code, message, headers=_BEARER)


class Forbidden(ApiError):
    def __init__(self, message: str = "You are not allowed to do this.") -> None:
        super().__init__(403, "forbidden", message)


def error_body(
    code: str, message: str, details: Any = None, request_id: str | None = None
) -> dict[str, Any]:
    """The one builder of the error body, as JSON-able data; the request's id by default."""
    rid = request_id if request_id is not None else request_id_var.get()
    return ErrorBody(code=code, message=message, details=details, request_id=rid).model_dump()


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


@dataclass(frozen=True, slots=True)
class ErrorKind:
    """How the API answers one type of error. `code` and `message` of None: the
    exception's own (every `DomainError` and `TokenError` has both)."""

    status: int
    code: str | None = None
    message: str | None = None
    headers: Mapping[str, str] | None = None


_SERVICE_DOWN = ErrorKind(
    503,
    "service_unavailable",
    "A backing service is unavailable; retry shortly.",
    {"Retry-After": "1"},
)

# The one place where errors of core get an HTTP status. Looked up along the exception's
# MRO, so a subclass inherits its kind's status unless it has an entry of its own.
ERROR_KINDS: dict[type[Exception], ErrorKind] = {
    NotFoundError: ErrorKind(404),
    ConflictError: ErrorKind(409),
    UnauthenticatedError: ErrorKind(401, headers=_BEARER),
    ForbiddenError: ErrorKind(403),
    InvalidError: ErrorKind(422),
    TokenError: ErrorKind(401, headers=_BEARER),
    ConversationNotFound: ErrorKind(404, "not_found", "No such conversation."),
    IdempotencyKeyReused: ErrorKind(
        422,
        "idempotency_key_reused",
        "This Idempotency-Key was already used for a different request.",
    ),
    IdempotencyKeyBusy: ErrorKind(
        409, "idempotency_key_busy", "This Idempotency-Key is busy; retry shortly."
    ),
    redis.exceptions.ConnectionError: _SERVICE_DOWN,
    redis.exceptions.TimeoutError: _SERVICE_DOWN,
    OperationalError: _SERVICE_DOWN,
    PoolTimeout: _SERVICE_DOWN,
}


def kind_of(exc: Exception) -> ErrorKind | None:
    for cls in type(exc).__mro__:
        kind = ERROR_KINDS.get(cls)
        if kind is not None:
            return kind
    return None


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Only location, message and type: echoing the input back could leak a password.
    return [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]


async def _on_api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)


async def _on_mapped_error(_: Request, exc: Exception) -> JSONResponse:
    kind = kind_of(exc)
    assert kind is not None
    if kind.status >= 500:
        logger.warning("A backing service is unavailable: %s.", type(exc).__name__)
    code = kind.code if kind.code is not None else str(getattr(exc, "code", "error"))
    message = kind.message if kind.message is not None else str(getattr(exc, "message", exc))
    details = exc.details if isinstance(exc, DomainError) else None
    return error_response(kind.status, code, message, details, kind.headers)


async def _on_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = _validation_details(exc)
    if any(d["type"] == "json_invalid" for d in details):
        return error_response(400, "malformed_json", "The request body is not valid JSON.", details)
    return error_response(422, "validation_error", "The request is not valid.", details)


def allowed_methods(request: Request) -> str:
    """Every method the request's path answers, from the OpenAPI document (built once).
    Starlette names only those of the first route matching the path, and FastAPI makes one
    route per method, so its own `Allow` missed the others."""
    paths: dict[str, dict[str, Any]] = request.app.openapi()["paths"]
    template = RouteTemplates(list(paths)).match(request.url.path)
    methods = {method.upper() for method in paths.get(template, {})}
    if "GET" in methods:
        methods.add("HEAD")  # Starlette answers HEAD wherever it answers GET
    return ", ".join(sorted(methods))


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ").capitalize()
    headers = exc.headers
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": allowed_methods(request)}
    return error_response(exc.status_code, code, message, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    for exc_type in ERROR_KINDS:
        app.add_exception_handler(exc_type, _on_mapped_error)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": code.replace("_", " ")}
    for status, code in _STATUS_CODES.items()
    if status in (400, 401, 403, 404, 409, 413, 422, 429, 503)
}
