"""Claude for EROS: one bounded client, structured output, per-user daily budgets.

Everything here is optional at run time: with no `EROS_ANTHROPIC_API_KEY` the factories
return None and callers use their rule-based path. Every failure is an `LlmError`.
"""

from __future__ import annotations

from eros.core.llm.budget import (
    claim_analysis_call,
    claim_assistant_call,
    claim_daily_call,
    utc_day,
)
from eros.core.llm.client import AsyncClaudeClient, Completion, Turn
from eros.core.llm.config import (
    ANALYSIS_PURPOSE,
    ASSISTANT_PURPOSE,
    LlmConfig,
    analysis_config,
    assistant_config,
)
from eros.core.llm.errors import LlmError, LlmOutputError, LlmUnavailable
from eros.core.llm.structured import output_schema, parse_json_output
from eros.core.settings import Settings

__all__ = [
    "ANALYSIS_PURPOSE",
    "ASSISTANT_PURPOSE",
    "AsyncClaudeClient",
    "Completion",
    "LlmConfig",
    "LlmError",
    "LlmOutputError",
    "LlmUnavailable",
    "Turn",
    "analysis_client",
    "analysis_config",
    "assistant_client",
    "assistant_config",
    "claim_analysis_call",
    "claim_assistant_call",
    "claim_daily_call",
    "output_schema",
    "parse_json_output",
    "utc_day",
]


def analysis_client(settings: Settings) -> AsyncClaudeClient | None:
    """The phase jobs' client; None without an API key. One per job, in the job's loop."""
    config = analysis_config(settings)
    return AsyncClaudeClient(config) if config else None


def assistant_client(settings: Settings) -> AsyncClaudeClient | None:
    """The API's asynchronous client; None without an API key. One per API process."""
    config = assistant_config(settings)
    return AsyncClaudeClient(config) if config else None
