"""The base of every request and response body: camelCase on the wire, unknown fields refused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        json_schema_serialization_defaults_required=True,
    )


# The base of every response body that reports a success, so `success` comes first. A
# comment, not a docstring: a docstring would become the schema's OpenAPI description.
class SuccessResponse(ApiModel):
    success: bool = True
