"""Core's errors get their HTTP status from one table in the API, and every error body,
whoever writes it, has the same shape."""

from __future__ import annotations

import json
from collections.abc import Iterator

from eros.api.errors import ErrorBody, error_body, kind_of
from eros.api.middleware import _error_body
from eros.core.analysis.delivery import NoDailyProfile
from eros.core.errors import AccountDisabled, DomainError, ProfileNotFound


def _kinds_of_domain_error(cls: type[DomainError] = DomainError) -> Iterator[type[DomainError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _kinds_of_domain_error(sub)


def test_every_domain_error_of_core_has_a_status_in_the_api() -> None:
    unmapped = [cls.__name__ for cls in _kinds_of_domain_error() if kind_of(cls()) is None]
    assert unmapped == []


def test_a_domain_error_keeps_its_own_code_and_message_under_its_kinds_status() -> None:
    kind = kind_of(NoDailyProfile())
    assert kind is not None
    assert (kind.status, kind.code, kind.message) == (404, None, None)
    error = NoDailyProfile()
    assert error.code == ProfileNotFound.code == "profile_not_found"
    assert error.message == "Create your profile to get daily matches."


def test_core_errors_carry_no_http_status() -> None:
    assert not hasattr(AccountDisabled(), "status")


def test_the_middleware_writes_the_same_body_as_the_error_handlers() -> None:
    from_middleware = json.loads(_error_body(500, "internal_error", "Oops.", "rid-1"))
    from_handlers = error_body("internal_error", "Oops.", request_id="rid-1")
    assert from_middleware == from_handlers
    assert set(from_handlers) == set(ErrorBody.model_fields)
