"""Refusals in the domain's words: a stable `code` and a human `message`, no HTTP.

Each kind below says what went wrong (missing, conflicting, not authenticated, not
allowed, not valid); the API's one table turns a kind into a status, so a new error only
has to pick its kind.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AccountDisabled",
    "ConflictError",
    "DomainError",
    "ForbiddenError",
    "InvalidError",
    "NotFoundError",
    "ProfileNotFound",
    "UnauthenticatedError",
]


class DomainError(Exception):
    """A refused operation. Subclasses may fix `code` and `message` as class defaults."""

    code: str = "error"
    message: str = "The operation was refused."

    def __init__(
        self, code: str | None = None, message: str | None = None, *, details: Any = None
    ) -> None:
        text = message if message is not None else self.message
        super().__init__(text)
        self.code = code if code is not None else self.code
        self.message = text
        self.details = details


class NotFoundError(DomainError):
    """What was asked for does not exist, or the caller may not know that it does."""


class ConflictError(DomainError):
    """The request contradicts what is already stored."""


class UnauthenticatedError(DomainError):
    """The caller could not be identified: no, wrong or stale credentials."""


class ForbiddenError(DomainError):
    """The caller is known but may not do this."""


class InvalidError(DomainError):
    """The request is well-formed but breaks a rule of the domain."""


class AccountDisabled(ForbiddenError):
    code = "account_disabled"
    message = "This account is disabled."


class ProfileNotFound(NotFoundError):
    """The user has no profile yet, so there is nothing to show or match on."""

    code = "profile_not_found"
    message = "You have not created a profile yet."
