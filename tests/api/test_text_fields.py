"""The one free-text type: control characters refused, newlines only where a field is
several lines, and the rule published in the OpenAPI document."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel, ValidationError

from eros.api.schemas.text import MULTILINE_PATTERN, SINGLE_LINE_PATTERN, Text


class Sample(BaseModel):
    line: Annotated[str, Text(20, strip_whitespace=True)]
    lines: Annotated[str, Text(50, min_length=0, multiline=True)] = ""


@pytest.mark.parametrize(
    "bad", ["a\x00b", "a\x1bb", "a\nb", "a\tb", "a\x85b", "a\u2028b", "a\x7fb"]
)
def test_a_single_line_refuses_every_control_character_and_line_break(bad: str) -> None:
    with pytest.raises(ValidationError):
        Sample(line=bad)


@pytest.mark.parametrize("bad", ["a\x00b", "a\x1bb", "a\rb", "a\x9bb"])
def test_a_multiline_text_refuses_control_characters_but_newlines_and_tabs(bad: str) -> None:
    assert Sample(line="x", lines="one\n\ttwo").lines == "one\n\ttwo"
    with pytest.raises(ValidationError):
        Sample(line="x", lines=bad)


def test_lengths_and_stripping_still_apply() -> None:
    assert Sample(line="  Ann  ").line == "Ann"
    with pytest.raises(ValidationError):
        Sample(line="   ")
    with pytest.raises(ValidationError):
        Sample(line="x" * 21)


def test_the_json_schema_publishes_the_rule_as_a_pattern() -> None:
    properties = Sample.model_json_schema()["properties"]
    assert properties["line"]["pattern"] == SINGLE_LINE_PATTERN
    assert properties["lines"]["pattern"] == MULTILINE_PATTERN
    assert (properties["line"]["minLength"], properties["line"]["maxLength"]) == (1, 20)
