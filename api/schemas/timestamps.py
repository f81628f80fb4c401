"""The one date-time type of request bodies: an RFC 3339 string with a time zone, which is
what the OpenAPI `date-time` format promises.

Pydantic's own datetime also takes a number, or a numeric string, as Unix time, so an
integer `occurredAt` passed for a date-time though the published schema says string.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BeforeValidator

__all__ = ["IsoDateTime"]

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")


def rfc3339(value: object) -> object:
    """Let through only an RFC 3339 string (or a datetime built in code); pydantic parses it."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _RFC3339.fullmatch(value):
        return value
    raise ValueError("must be a date-time string with a time zone, e.g. 2026-12-07T03:00:00Z")


IsoDateTime = Annotated[AwareDatetime, BeforeValidator(rfc3339)]
