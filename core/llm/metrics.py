"""Prometheus series of the Claude calls, per use (analysis, assistant).

One request that wanted Claude counts once in `eros_llm_calls_total`: `ok` when Claude
answered usefully, `error` when the call failed (the caller then answers with its rules),
`fallback` when Claude was not called at all (no API key, or the user's daily calls spent)
and the rules answered. Latency and tokens are those of the calls made, failed or not.

The series are created unregistered; the processes that call Claude (the API, the phase-3
worker) register `LLM_SERIES` in their own registry. A phase job runs in a work horse, a
fork whose counters die with it: there `buffer_calls()` keeps the calls in memory, the
worker ships them to Redis before the horse exits and observes them in its own series
once it has (`encode_calls` / `decode_calls` carry them).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import Literal

from prometheus_client import Counter, Histogram
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

__all__ = [
    "LLM_CALLS",
    "LLM_CALL_DURATION",
    "LLM_SERIES",
    "LLM_TOKENS",
    "LlmCall",
    "Outcome",
    "buffer_calls",
    "decode_calls",
    "encode_calls",
    "observe",
    "record",
    "record_fallback",
    "take_buffered",
]

Outcome = Literal["ok", "error", "fallback"]

# Assistant replies take about a second, deep analyses up to the 60 s of a retried timeout.
CALL_BUCKETS_SECONDS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 45.0, 60.0)

LLM_CALLS = Counter(
    "eros_llm_calls_total",
    "Requests that wanted Claude, by use (analysis, assistant) and outcome: ok, error "
    "(the call failed; rules answered) or fallback (not called: no key or no daily call "
    "left; rules answered).",
    ["use", "outcome"],
    registry=None,
)
LLM_CALL_DURATION = Histogram(
    "eros_llm_call_duration_seconds",
    "Wall time of a Claude call, retries included, failed or not.",
    ["use"],
    buckets=CALL_BUCKETS_SECONDS,
    registry=None,
)
LLM_TOKENS = Counter(
    "eros_llm_tokens_total",
    "Tokens of Claude calls as the API's usage reports them, by use and direction (input, output).",
    ["use", "direction"],
    registry=None,
)
LLM_SERIES: tuple[Collector, ...] = (LLM_CALLS, LLM_CALL_DURATION, LLM_TOKENS)


@dataclass(frozen=True, slots=True)
class LlmCall:
    """One request that wanted Claude; `seconds` is None when none was made (fallback)."""

    use: str
    outcome: Outcome
    seconds: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0


# Set in a work horse only: the calls of its job, shipped to its worker before it exits.
_buffer: list[LlmCall] | None = None


def observe(call: LlmCall) -> None:
    """Count a call in this process's series."""
    LLM_CALLS.labels(call.use, call.outcome).inc()
    if call.seconds is not None:
        LLM_CALL_DURATION.labels(call.use).observe(call.seconds)
    if call.input_tokens:
        LLM_TOKENS.labels(call.use, "input").inc(call.input_tokens)
    if call.output_tokens:
        LLM_TOKENS.labels(call.use, "output").inc(call.output_tokens)


def record(call: LlmCall) -> None:
    """Count a call here, or keep it for the worker when this process is a work horse."""
    if _buffer is not None:
        _buffer.append(call)
    else:
        observe(call)


def record_fallback(use: str) -> None:
    """The rules answered without calling Claude (no key, or no daily call left)."""
    record(LlmCall(use, "fallback"))


def buffer_calls() -> None:
    """From now on keep the calls for `take_buffered` (a work horse, at its start)."""
    global _buffer
    _buffer = []


def take_buffered() -> list[LlmCall]:
    """The calls kept since `buffer_calls` or the last take."""
    global _buffer
    taken, _buffer = (_buffer or []), ([] if _buffer is not None else None)
    return taken


def encode_calls(calls: list[LlmCall]) -> str:
    return json.dumps([asdict(call) for call in calls], separators=(",", ":"))


def decode_calls(raw: bytes | str | None) -> list[LlmCall]:
    """The calls of `encode_calls`; nothing (and a warning) from anything else."""
    if raw is None:
        return []
    try:
        return [
            LlmCall(
                use=str(item["use"]),
                outcome=item["outcome"] if item["outcome"] in ("ok", "error") else "fallback",
                seconds=None if item["seconds"] is None else float(item["seconds"]),
                input_tokens=int(item["input_tokens"]),
                output_tokens=int(item["output_tokens"]),
            )
            for item in json.loads(raw)
        ]
    except (ValueError, KeyError, TypeError):
        logger.warning("Ignoring Claude call records that do not decode.")
        return []
