"""The one free-text type of every request body: `Annotated[str, Text(max_length=...)]`.

Bounded length and no control characters. Control characters break logs and rendering
(an ESC starts a terminal escape sequence), and NUL cannot even be stored in PostgreSQL
(it would turn a bad input into a 500). Newlines are allowed only where a field is
legitimately several lines (`multiline=True`: a bio, a report's details, a message).
The rule is also published in the OpenAPI document as a `pattern`, so generated
clients and fuzzers know it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from annotated_types import GroupedMetadata
from pydantic import AfterValidator, GetJsonSchemaHandler, StringConstraints
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

__all__ = ["Text", "multiline", "single_line"]

# C0 controls, DEL and C1 controls; a multi-line text keeps tab and line feed, and a
# single line also refuses the Unicode line and paragraph separators.
_MULTILINE_REFUSED = "\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f"
_SINGLE_LINE_REFUSED = "\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029"
MULTILINE_PATTERN = f"^[^{_MULTILINE_REFUSED}]*$"
SINGLE_LINE_PATTERN = f"^[^{_SINGLE_LINE_REFUSED}]*$"
_MULTILINE_BAD = re.compile(f"[{_MULTILINE_REFUSED}]")
_SINGLE_LINE_BAD = re.compile(f"[{_SINGLE_LINE_REFUSED}]")


def multiline(text: str) -> str:
    """Accept newlines and tabs, refuse every other control character."""
    if _MULTILINE_BAD.search(text):
        raise ValueError("must not contain control characters")
    return text


def single_line(text: str) -> str:
    if _SINGLE_LINE_BAD.search(text):
        raise ValueError("must be one line without control characters")
    return text


@dataclass(frozen=True, slots=True)
class _JsonPattern:
    """Documents the character rule in the JSON schema; `Text`'s validator enforces it
    (with a clearer message than a pattern mismatch)."""

    pattern: str

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = self.pattern
        return json_schema


@dataclass(frozen=True, slots=True)
class Text(GroupedMetadata):
    """A free-text field: `min_length` to `max_length` characters, no control characters
    (tab and line feed allowed when `multiline`), optionally stripped of outer spaces."""

    max_length: int
    min_length: int = 1
    multiline: bool = False
    strip_whitespace: bool = False

    def __iter__(self) -> Iterator[Any]:
        yield StringConstraints(
            strip_whitespace=self.strip_whitespace,
            min_length=self.min_length,
            max_length=self.max_length,
        )
        yield AfterValidator(multiline if self.multiline else single_line)
        yield _JsonPattern(MULTILINE_PATTERN if self.multiline else SINGLE_LINE_PATTERN)
