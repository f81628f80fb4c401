"""Claude calls are counted per use: answered, failed, or not made (rules answered),
with their latency and tokens; against the fake Messages API on loopback, never the
network."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from eros.core.llm import AsyncClaudeClient, LlmConfig, LlmUnavailable, Turn
from eros.core.llm import metrics as llm_metrics
from eros.core.llm.metrics import LLM_SERIES, LlmCall, decode_calls, encode_calls
from tests.conftest import Account
from tests.fake_anthropic import FakeAnthropic, Reply

QUESTION = [Turn("user", "Summarise my preferences.")]
# The fake's usage of every reply.
FAKE_INPUT_TOKENS = 10
FAKE_OUTPUT_TOKENS = 5

REGISTRY = CollectorRegistry()
for _series in LLM_SERIES:
    REGISTRY.register(_series)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def calls(use: str, outcome: str) -> float:
    return sample("eros_llm_calls_total", use=use, outcome=outcome)


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


def complete(fake: FakeAnthropic, purpose: str) -> None:
    config = LlmConfig(
        purpose=purpose,
        api_key=SecretStr("test-key"),
        model="claude-test-model",
        base_url=fake.url,
        timeout_seconds=5.0,
        max_retries=0,
        max_tokens=100,
    )

    async def call() -> None:
        async with AsyncClaudeClient(config) as client:
            await client.complete("Be brief.", QUESTION)

    asyncio.run(call())


def test_an_answered_call_counts_ok_with_its_latency_and_tokens(fake: FakeAnthropic) -> None:
    fake.script(Reply.message("You like hikers."))
    before_ok = calls("analysis", "ok")
    before_in = sample("eros_llm_tokens_total", use="analysis", direction="input")
    before_out = sample("eros_llm_tokens_total", use="analysis", direction="output")
    before_timed = sample("eros_llm_call_duration_seconds_count", use="analysis")

    complete(fake, "analysis")

    assert calls("analysis", "ok") == before_ok + 1
    assert sample("eros_llm_tokens_total", use="analysis", direction="input") == (
        before_in + FAKE_INPUT_TOKENS
    )
    assert sample("eros_llm_tokens_total", use="analysis", direction="output") == (
        before_out + FAKE_OUTPUT_TOKENS
    )
    assert sample("eros_llm_call_duration_seconds_count", use="analysis") == before_timed + 1


def test_a_failed_call_counts_an_error_and_no_tokens(fake: FakeAnthropic) -> None:
    fake.script(Reply.status(500))
    before_error = calls("assistant", "error")
    before_ok = calls("assistant", "ok")
    before_in = sample("eros_llm_tokens_total", use="assistant", direction="input")

    with pytest.raises(LlmUnavailable):
        complete(fake, "assistant")

    assert calls("assistant", "error") == before_error + 1
    assert calls("assistant", "ok") == before_ok
    assert sample("eros_llm_tokens_total", use="assistant", direction="input") == before_in


def test_a_question_without_an_api_key_counts_a_fallback_to_the_rules(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    caller = make_account()
    before = calls("assistant", "fallback")

    answer = client.post(
        "/api/v1/assistant/ask", json={"question": "date ideas?"}, headers=caller.headers
    )

    assert answer.status_code == 200, answer.text
    assert calls("assistant", "fallback") == before + 1
    scraped = client.get("/metrics").text
    assert 'eros_llm_calls_total{outcome="fallback",use="assistant"}' in scraped


def test_a_work_horse_keeps_its_calls_for_its_worker_instead_of_counting_them() -> None:
    before = calls("analysis", "fallback")
    llm_metrics.buffer_calls()
    try:
        llm_metrics.record_fallback("analysis")
        kept = llm_metrics.take_buffered()
    finally:
        llm_metrics._buffer = None  # back to counting in this process

    assert kept == [LlmCall("analysis", "fallback")]
    assert calls("analysis", "fallback") == before


def test_calls_survive_their_trip_from_the_horse_and_garbage_decodes_to_nothing() -> None:
    shipped = [LlmCall("analysis", "ok", 1.5, 10, 5), LlmCall("analysis", "fallback")]

    assert decode_calls(encode_calls(shipped)) == shipped
    assert decode_calls(b"not json") == []
    assert decode_calls(None) == []
