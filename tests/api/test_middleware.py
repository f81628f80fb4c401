from __future__ import annotations

from typing import Any

from eros.api.middleware import request_id_for


def _scope(request_id: bytes) -> dict[str, Any]:
    return {"type": "http", "headers": [(b"x-request-id", request_id)]}


def test_a_safe_client_request_id_is_kept() -> None:
    assert request_id_for(_scope(b"abc-123")) == "abc-123"


def test_a_client_request_id_with_a_trailing_newline_is_replaced() -> None:
    # A `$` anchor would have matched before the newline and let it into logs and headers.
    replaced = request_id_for(_scope(b"abc-123\n"))
    assert replaced != "abc-123\n"
    assert "\n" not in replaced
    assert len(replaced) == 32
