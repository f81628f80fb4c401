"""Why a Claude call gave no usable answer. Callers catch `LlmError` and fall back."""

from __future__ import annotations

__all__ = ["LlmError", "LlmOutputError", "LlmUnavailable"]


class LlmError(Exception):
    """Claude gave no usable answer. `reason` is a short machine-readable word for logs
    and metrics; the message never contains the prompt or the reply."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class LlmUnavailable(LlmError):
    """The call failed: not configured, timed out, refused by the API, connection lost."""


class LlmOutputError(LlmError):
    """The API answered, but not with what was asked: malformed, truncated, refused,
    not JSON, or JSON that does not match the schema."""
