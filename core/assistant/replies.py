"""What every responder returns, whichever answered."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from eros.core.assistant.intents import Intent, SuggestedAction

__all__ = ["MAX_SUGGESTED_ACTIONS", "Reply", "Source"]

MAX_SUGGESTED_ACTIONS = 3


class Source(StrEnum):
    """Who wrote an answer, so that clients and logs can tell a model from the rules."""

    CLAUDE = "claude"
    RULES = "rules"


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    intent: Intent
    actions: tuple[SuggestedAction, ...]
    source: Source
