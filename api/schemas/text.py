"""Free-text field types: bounded length and no control characters.

Control characters break logs and rendering, and NUL cannot even be stored in
PostgreSQL (it would turn a bad input into a 500).
"""

from __future__ import annotations

import re

__all__ = ["multiline", "single_line"]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f]")


def multiline(text: str) -> str:
    """Accept newlines and tabs, refuse every other control character."""
    if _CONTROL.search(text):
        raise ValueError("must not contain control characters")
    return text


def single_line(text: str) -> str:
    if _CONTROL_OR_NEWLINE.search(text):
        raise ValueError("must be one line without control characters")
    return text
