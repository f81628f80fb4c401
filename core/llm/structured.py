"""Structured output: ask Claude for JSON of a schema, and refuse anything else.

The schema goes both into the request (`output_config.format`, which constrains the
model's sampling on models that support it) and into the system prompt (so that models
without it still know the shape). The reply is validated against the pydantic model in
every case: a caller gets a valid instance or an `LlmOutputError`, never half a result.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any, TypeVar

import anthropic
from pydantic import BaseModel, ValidationError

from eros.core.llm.errors import LlmOutputError

__all__ = ["json_instructions", "output_schema", "parse_json_output"]

M = TypeVar("M", bound=BaseModel)

# Models sometimes wrap JSON in a Markdown fence although told not to.
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)
# Enough of a validation error to diagnose from a log line, never the whole reply.
MAX_ERROR_DETAIL_CHARS = 300


# Cached per model class: schemas are built once, not on every call.
@cache
def output_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema in the subset the Messages API accepts.

    The SDK's `transform_schema` moves unsupported keywords (lengths, bounds) into
    descriptions; validation still enforces them.
    """
    return anthropic.transform_schema(model)


@cache
def json_instructions(model: type[BaseModel]) -> str:
    schema = json.dumps(model.model_json_schema(), separators=(",", ":"))
    return (
        "Reply with exactly one JSON object and nothing else (no prose, no Markdown), "
        f"valid against this JSON schema: {schema}"
    )


def parse_json_output(text: str, model: type[M]) -> M:
    """Parse and validate a reply; `LlmOutputError` when it is not JSON or not the schema."""
    stripped = text.strip()
    fenced = _FENCE.match(stripped)
    if fenced:
        stripped = fenced.group(1)
    try:
        value = json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise LlmOutputError("malformed_json", f"the reply is not JSON ({exc.msg})") from exc
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise LlmOutputError(
            "schema_mismatch",
            f"the reply does not match {model.__name__}: {problems[:MAX_ERROR_DETAIL_CHARS]}",
        ) from exc
