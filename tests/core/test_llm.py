"""The Claude client against a fake Messages API on loopback: success, retries, timeouts,
malformed and schema-invalid output. Nothing here reaches the network."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import pytest
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from eros.core.llm import (
    AsyncClaudeClient,
    Completion,
    LlmConfig,
    LlmOutputError,
    LlmUnavailable,
    Turn,
    analysis_client,
    assistant_client,
    parse_json_output,
)
from eros.core.settings import Settings
from tests.fake_anthropic import FakeAnthropic, Reply

# Short enough to keep the suite fast; the fake's hanging replies never answer anyway.
TEST_TIMEOUT_SECONDS = 0.3
QUESTION = [Turn("user", "Summarise my preferences.")]


class Preferences(BaseModel):
    model_config = ConfigDict(extra="forbid")

    summary: str = Field(min_length=1)
    weights: dict[str, float]
    confidence: float = Field(ge=0, le=1)


M = TypeVar("M", bound=BaseModel)


class Claude:
    """The client, driven from a synchronous test on an event loop of its own."""

    def __init__(self, config: LlmConfig) -> None:
        self._loop = asyncio.new_event_loop()
        self._llm = AsyncClaudeClient(config)

    def complete(self, system: str, turns: Sequence[Turn], **options: Any) -> Completion:
        return self._loop.run_until_complete(self._llm.complete(system, turns, **options))

    def complete_json(self, system: str, turns: Sequence[Turn], output: type[M]) -> M:
        return self._loop.run_until_complete(self._llm.complete_json(system, turns, output))

    def __enter__(self) -> Claude:
        return self

    def __exit__(self, *_: object) -> None:
        self._loop.run_until_complete(self._llm.aclose())
        self._loop.close()


GOOD = {"summary": "Likes hikers.", "weights": {"hiking": 0.8}, "confidence": 0.7}


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


def config(fake: FakeAnthropic, **overrides: Any) -> LlmConfig:
    values: dict[str, Any] = {
        "purpose": "analysis",
        "api_key": SecretStr("test-key"),
        "model": "claude-test-model",
        "base_url": fake.url,
        "timeout_seconds": TEST_TIMEOUT_SECONDS,
        "max_retries": 0,
        "max_tokens": 300,
    }
    values.update(overrides)
    return LlmConfig(**values)


def test_a_valid_reply_becomes_a_validated_model(fake: FakeAnthropic) -> None:
    fake.script(Reply.json(GOOD))
    with Claude(config(fake)) as llm:
        result = llm.complete_json("You analyse dating preferences.", QUESTION, Preferences)
    assert result == Preferences.model_validate(GOOD)
    [request] = fake.requests
    assert request.path == "/v1/messages"
    assert request.body["model"] == "claude-test-model"
    assert request.body["max_tokens"] == 300
    assert request.body["messages"] == [{"role": "user", "content": "Summarise my preferences."}]
    assert request.body["system"].startswith("You analyse dating preferences.")
    assert "JSON schema" in request.body["system"]
    output_format = request.body["output_config"]["format"]
    assert output_format["type"] == "json_schema"
    assert output_format["schema"]["additionalProperties"] is False


def test_a_per_call_token_limit_overrides_the_configured_one(fake: FakeAnthropic) -> None:
    fake.script(Reply.message("ok"))
    with Claude(config(fake)) as llm:
        assert llm.complete("system", QUESTION, max_tokens=42).text == "ok"
    assert fake.requests[0].body["max_tokens"] == 42
    assert "output_config" not in fake.requests[0].body


def test_without_structured_outputs_the_schema_is_only_in_the_prompt(fake: FakeAnthropic) -> None:
    fake.script(Reply.json(GOOD))
    with Claude(config(fake, structured_outputs=False)) as llm:
        llm.complete_json("system", QUESTION, Preferences)
    assert "output_config" not in fake.requests[0].body
    assert "JSON schema" in fake.requests[0].body["system"]


def test_a_reply_fenced_in_markdown_is_still_accepted(fake: FakeAnthropic) -> None:
    fake.script(Reply.message('```json\n{"summary": "x", "weights": {}, "confidence": 0}\n```'))
    with Claude(config(fake)) as llm:
        assert llm.complete_json("s", QUESTION, Preferences).summary == "x"


def test_a_reply_that_is_not_json_is_an_output_error(fake: FakeAnthropic) -> None:
    fake.script(Reply.message("Sure! The user likes hikers."))
    with Claude(config(fake)) as llm, pytest.raises(LlmOutputError) as caught:
        llm.complete_json("s", QUESTION, Preferences)
    assert caught.value.reason == "malformed_json"


@pytest.mark.parametrize(
    "value",
    [
        {"summary": "x", "weights": {}},  # a required field missing
        {"summary": "x", "weights": {}, "confidence": 7},  # out of range
        {"summary": "x", "weights": "hiking", "confidence": 0.5},  # wrong type
        {**GOOD, "user_email": "someone@example.com"},  # an unexpected field
        ["not", "an", "object"],
    ],
)
def test_json_that_does_not_match_the_schema_is_an_output_error(
    fake: FakeAnthropic, value: Any
) -> None:
    fake.script(Reply.json(value))
    with Claude(config(fake)) as llm, pytest.raises(LlmOutputError) as caught:
        llm.complete_json("s", QUESTION, Preferences)
    assert caught.value.reason == "schema_mismatch"


def test_a_reply_cut_off_at_the_token_limit_is_an_output_error(fake: FakeAnthropic) -> None:
    fake.script(Reply.message('{"summary": "Likes hik', stop_reason="max_tokens"))
    with Claude(config(fake)) as llm, pytest.raises(LlmOutputError) as caught:
        llm.complete_json("s", QUESTION, Preferences)
    assert caught.value.reason == "truncated"


@pytest.mark.parametrize(
    ("body", "reason"),
    [(b"<html>bad gateway</html>", "malformed_response"), (b"[1, 2]", "malformed_response")],
)
def test_a_response_body_that_is_not_a_message_is_an_output_error(
    fake: FakeAnthropic, body: bytes, reason: str
) -> None:
    fake.script(Reply.raw(body))
    with Claude(config(fake)) as llm, pytest.raises(LlmOutputError) as caught:
        llm.complete("s", QUESTION)
    assert caught.value.reason == reason


def test_a_message_without_text_is_an_output_error(fake: FakeAnthropic) -> None:
    fake.script(Reply.message("   "))
    with Claude(config(fake)) as llm, pytest.raises(LlmOutputError) as caught:
        llm.complete("s", QUESTION)
    assert caught.value.reason == "empty"


def test_a_timeout_is_reported_as_unavailable(fake: FakeAnthropic) -> None:
    fake.script(Reply.hanging())
    with Claude(config(fake)) as llm, pytest.raises(LlmUnavailable) as caught:
        llm.complete("s", QUESTION)
    assert caught.value.reason == "timeout"
    assert len(fake.requests) == 1


def test_a_timed_out_attempt_is_retried_and_can_then_succeed(fake: FakeAnthropic) -> None:
    fake.script(Reply.hanging(), Reply.json(GOOD))
    with Claude(config(fake, max_retries=1)) as llm:
        assert llm.complete_json("s", QUESTION, Preferences).confidence == 0.7
    assert len(fake.requests) == 2


def test_a_server_error_is_retried_and_can_then_succeed(fake: FakeAnthropic) -> None:
    fake.script(Reply.status(529, retry_after_ms=1), Reply.json(GOOD))
    with Claude(config(fake, max_retries=2)) as llm:
        assert llm.complete_json("s", QUESTION, Preferences).summary == "Likes hikers."
    assert [r.headers["x-stainless-retry-count"] for r in fake.requests] == ["0", "1"]


def test_retries_stop_at_the_configured_bound(fake: FakeAnthropic) -> None:
    fake.script(*[Reply.status(500, retry_after_ms=1)] * 5)
    with Claude(config(fake, max_retries=2)) as llm, pytest.raises(LlmUnavailable) as caught:
        llm.complete("s", QUESTION)
    assert caught.value.reason == "http_500"
    assert len(fake.requests) == 3


def test_a_client_error_is_not_retried(fake: FakeAnthropic) -> None:
    fake.script(Reply.status(400))
    with Claude(config(fake, max_retries=2)) as llm, pytest.raises(LlmUnavailable) as caught:
        llm.complete("s", QUESTION)
    assert caught.value.reason == "http_400"
    assert len(fake.requests) == 1


def test_an_unreachable_api_is_reported_as_unavailable() -> None:
    with FakeAnthropic() as gone:
        url = gone.url
    llm = Claude(LlmConfig("analysis", SecretStr("k"), "m", url, TEST_TIMEOUT_SECONDS, 0, 10))
    with llm, pytest.raises(LlmUnavailable) as caught:
        llm.complete("s", QUESTION)
    assert caught.value.reason in {"connection", "timeout"}


def test_history_is_sent_starting_with_the_user(fake: FakeAnthropic) -> None:
    fake.script(Reply.message("ok"))
    turns = [
        Turn("assistant", "trimmed"),
        Turn("user", "a"),
        Turn("assistant", "b"),
        Turn("user", "c"),
    ]
    with Claude(config(fake)) as llm:
        llm.complete("s", turns)
    assert [m["role"] for m in fake.requests[0].body["messages"]] == ["user", "assistant", "user"]


def test_a_request_must_end_with_the_user(fake: FakeAnthropic) -> None:
    with Claude(config(fake)) as llm, pytest.raises(ValueError):
        llm.complete("s", [Turn("user", "a"), Turn("assistant", "b")])
    assert fake.requests == []


def test_one_client_serves_successive_calls_in_one_event_loop(fake: FakeAnthropic) -> None:
    fake.script(Reply.json(GOOD), Reply.hanging(), Reply.json({"summary": ""}))

    async def run() -> None:
        llm = AsyncClaudeClient(config(fake, purpose="assistant"))
        try:
            assert (await llm.complete_json("s", QUESTION, Preferences)).confidence == 0.7
            with pytest.raises(LlmUnavailable):
                await llm.complete("s", QUESTION)
            with pytest.raises(LlmOutputError):
                await llm.complete_json("s", QUESTION, Preferences)
        finally:
            await llm.aclose()

    asyncio.run(run())
    assert len(fake.requests) == 3


def test_no_client_is_made_without_an_api_key(settings: Settings) -> None:
    keyless = settings.model_copy(update={"anthropic_api_key": None})
    assert analysis_client(keyless) is None
    assert assistant_client(keyless) is None


def test_clients_take_their_limits_from_settings(settings: Settings) -> None:
    keyed = settings.model_copy(
        update={
            "anthropic_api_key": SecretStr("sk-test-secret"),
            "anthropic_base_url": "http://127.0.0.1:9",
            "anthropic_timeout_seconds": 12.0,
            "anthropic_max_tokens": 800,
            "assistant_timeout_seconds": 4.0,
            "assistant_max_tokens": 200,
        }
    )
    analysis = analysis_client(keyed)
    assistant = assistant_client(keyed)
    assert analysis is not None and assistant is not None
    assert (analysis.config.timeout_seconds, analysis.config.max_tokens) == (12.0, 800)
    assert (assistant.config.timeout_seconds, assistant.config.max_tokens) == (4.0, 200)
    assert "sk-test-secret" not in repr(analysis.config)
    asyncio.run(analysis.aclose())
    asyncio.run(assistant.aclose())


def test_parsing_refuses_trailing_prose() -> None:
    with pytest.raises(LlmOutputError):
        parse_json_output(
            '{"summary": "x", "weights": {}, "confidence": 0} Hope this helps!', Preferences
        )
