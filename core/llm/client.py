"""A thin wrapper over the official Anthropic SDK: one request shape, bounded, and one
error type for everything that can go wrong, so that every caller has a single place
to fall back to its rule-based answer.

`AsyncClaudeClient` serves both callers, each in its own event loop: the API (one client
per process, reused: it holds a connection pool) and the phase jobs (one per job, whose
loop lives as long as the job, so that a halt cancels a request in flight at once). It
never logs prompts or replies, which carry the user's profile. Every call is counted in
`eros.core.llm.metrics`, with its latency and tokens.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import anthropic
from anthropic.types import (
    AssistantMessageParam,
    MessageParam,
    OutputConfigParam,
    UserMessageParam,
)
from pydantic import BaseModel

from eros.core.llm.config import LlmConfig
from eros.core.llm.errors import LlmError, LlmOutputError, LlmUnavailable
from eros.core.llm.metrics import LlmCall, Outcome, record
from eros.core.llm.structured import json_instructions, output_schema, parse_json_output

logger = logging.getLogger(__name__)

__all__ = ["AsyncClaudeClient", "Completion", "Turn"]

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Turn:
    """One message of a conversation sent to Claude."""

    role: Literal["user", "assistant"]
    text: str


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    model: str
    stop_reason: str | None
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True, slots=True)
class _Request:
    system: str
    messages: list[MessageParam]
    max_tokens: int
    output_config: OutputConfigParam | anthropic.Omit


def _message(turn: Turn) -> MessageParam:
    if turn.role == "user":
        return UserMessageParam(role="user", content=turn.text)
    return AssistantMessageParam(role="assistant", content=turn.text)


def _build(
    config: LlmConfig,
    system: str,
    turns: Sequence[Turn],
    max_tokens: int | None,
    output: type[BaseModel] | None,
) -> _Request:
    # The API wants the user to speak first and last; a history trimmed to its newest
    # messages may start with an assistant turn.
    first_user = next((i for i, t in enumerate(turns) if t.role == "user"), len(turns))
    kept = list(turns[first_user:])
    if not kept or kept[-1].role != "user":
        raise ValueError("a Claude request needs turns that end with the user's")
    output_config: OutputConfigParam | anthropic.Omit = anthropic.omit
    if output is not None:
        system = f"{system}\n\n{json_instructions(output)}"
        if config.structured_outputs:
            output_config = {"format": {"type": "json_schema", "schema": output_schema(output)}}
    return _Request(
        system=system,
        messages=[_message(t) for t in kept],
        max_tokens=max_tokens or config.max_tokens,
        output_config=output_config,
    )


def _read(message: object) -> Completion:
    """The text of a reply; the SDK does not validate responses, so nothing is assumed."""
    content = getattr(message, "content", None)
    if not isinstance(content, list):
        raise LlmOutputError("malformed_response", "the API's response is not a message")
    stop_reason = getattr(message, "stop_reason", None)
    if stop_reason == "max_tokens":
        raise LlmOutputError("truncated", "the reply was cut off at the token limit")
    if stop_reason == "refusal":
        raise LlmOutputError("refused", "the model declined to answer")
    text = "".join(
        block.text
        for block in content
        if getattr(block, "type", None) == "text" and isinstance(getattr(block, "text", None), str)
    )
    if not text.strip():
        raise LlmOutputError("empty", "the reply has no text")
    usage = getattr(message, "usage", None)
    return Completion(
        text=text,
        model=str(getattr(message, "model", "") or ""),
        stop_reason=stop_reason if isinstance(stop_reason, str) else None,
        input_tokens=int(getattr(usage, "input_tokens", 0) or 0),
        output_tokens=int(getattr(usage, "output_tokens", 0) or 0),
    )


def _translate(exc: Exception, config: LlmConfig) -> LlmError:
    if isinstance(exc, anthropic.APITimeoutError):
        return LlmUnavailable(
            "timeout", f"Claude did not answer within {config.timeout_seconds} s per attempt"
        )
    if isinstance(exc, anthropic.APIStatusError):
        return LlmUnavailable(f"http_{exc.status_code}", f"the API answered {exc.status_code}")
    if isinstance(exc, anthropic.APIConnectionError):
        return LlmUnavailable("connection", "the API could not be reached")
    if isinstance(exc, anthropic.AnthropicError):
        return LlmUnavailable("api_error", f"the SDK failed: {type(exc).__name__}")
    # The SDK raises a bare ValueError when a response body is not JSON.
    return LlmOutputError("malformed_response", "the API's response is not JSON")


def _failed(config: LlmConfig, exc: LlmError) -> LlmError:
    logger.warning(
        "A %s Claude call gave no usable answer (%s): %s.", config.purpose, exc.reason, exc
    )
    return exc


def _done(config: LlmConfig, completion: Completion) -> Completion:
    logger.debug(
        "A %s Claude call used %d input and %d output tokens.",
        config.purpose,
        completion.input_tokens,
        completion.output_tokens,
    )
    return completion


_SDK_FAILURES = (anthropic.AnthropicError, ValueError)


class AsyncClaudeClient:
    """Asynchronous Claude calls: the assistant's, and the deep analysis' (phase 3)."""

    def __init__(self, config: LlmConfig) -> None:
        self.config = config
        self._sdk = anthropic.AsyncAnthropic(
            api_key=config.api_key.get_secret_value(),
            base_url=config.base_url,
            timeout=config.timeout_seconds,
            max_retries=config.max_retries,
        )

    async def complete(
        self, system: str, turns: Sequence[Turn], *, max_tokens: int | None = None
    ) -> Completion:
        """Plain text. Raises `LlmError` (`LlmUnavailable` or `LlmOutputError`)."""
        started = time.perf_counter()
        completion = await self._measured_call(
            _build(self.config, system, turns, max_tokens, None), started
        )
        self._count("ok", started, completion)
        return completion

    async def complete_json(
        self, system: str, turns: Sequence[Turn], output: type[M], *, max_tokens: int | None = None
    ) -> M:
        """A validated instance of `output`. Raises `LlmError`, `LlmOutputError` when the
        reply is malformed, truncated or does not match the schema."""
        started = time.perf_counter()
        completion = await self._measured_call(
            _build(self.config, system, turns, max_tokens, output), started
        )
        try:
            parsed = parse_json_output(completion.text, output)
        except LlmOutputError as exc:
            # The tokens were spent all the same.
            self._count("error", started, completion)
            raise _failed(self.config, exc) from exc
        self._count("ok", started, completion)
        return parsed

    def _count(self, outcome: Outcome, started: float, completion: Completion | None) -> None:
        record(
            LlmCall(
                use=self.config.purpose,
                outcome=outcome,
                seconds=time.perf_counter() - started,
                input_tokens=completion.input_tokens if completion else 0,
                output_tokens=completion.output_tokens if completion else 0,
            )
        )

    async def _measured_call(self, request: _Request, started: float) -> Completion:
        try:
            return await self._call(request)
        except LlmError:
            self._count("error", started, None)
            raise

    async def _call(self, request: _Request) -> Completion:
        try:
            message: Any = await self._sdk.messages.create(
                model=self.config.model,
                system=request.system,
                messages=request.messages,
                max_tokens=request.max_tokens,
                output_config=request.output_config,
            )
            return _done(self.config, _read(message))
        except LlmError as exc:
            raise _failed(self.config, exc) from exc
        except _SDK_FAILURES as exc:
            raise _failed(self.config, _translate(exc, self.config)) from exc

    async def aclose(self) -> None:
        await self._sdk.close()

    async def __aenter__(self) -> AsyncClaudeClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()
