"""What a Claude client needs to know, built from settings for each of its two callers."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import SecretStr

from eros.core.settings import Settings

__all__ = [
    "ANALYSIS_PURPOSE",
    "ASSISTANT_PURPOSE",
    "LlmConfig",
    "analysis_config",
    "assistant_config",
]

ANALYSIS_PURPOSE = "analysis"
ASSISTANT_PURPOSE = "assistant"


@dataclass(frozen=True, slots=True)
class LlmConfig:
    # Names the caller in logs and budgets: "analysis" or "assistant".
    purpose: str
    api_key: SecretStr = field(repr=False)
    model: str
    base_url: str | None
    # Per attempt: the worst case of a call is (max_retries + 1) timeouts plus backoff.
    timeout_seconds: float
    max_retries: int
    max_tokens: int
    structured_outputs: bool = True


def analysis_config(settings: Settings) -> LlmConfig | None:
    """The deep-analysis (phase 3) client's configuration; None without an API key."""
    if settings.anthropic_api_key is None:
        return None
    return LlmConfig(
        purpose=ANALYSIS_PURPOSE,
        api_key=settings.anthropic_api_key,
        model=settings.anthropic_model,
        base_url=settings.anthropic_base_url,
        timeout_seconds=settings.anthropic_timeout_seconds,
        max_retries=settings.anthropic_max_retries,
        max_tokens=settings.anthropic_max_tokens,
        structured_outputs=settings.anthropic_structured_outputs,
    )


def assistant_config(settings: Settings) -> LlmConfig | None:
    """The assistant's configuration: same key and model, shorter timeouts and replies."""
    if settings.anthropic_api_key is None:
        return None
    return LlmConfig(
        purpose=ASSISTANT_PURPOSE,
        api_key=settings.anthropic_api_key,
        model=settings.anthropic_model,
        base_url=settings.anthropic_base_url,
        timeout_seconds=settings.assistant_timeout_seconds,
        max_retries=settings.assistant_max_retries,
        max_tokens=settings.assistant_max_tokens,
        structured_outputs=settings.anthropic_structured_outputs,
    )
