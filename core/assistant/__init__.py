"""The in-app assistant: intents, a deterministic responder, Claude when configured,
conversations in Redis. Only the caller's own data is ever used; see docs/assistant.md."""

from __future__ import annotations

from eros.core.assistant.intents import Intent, SuggestedAction, classify
from eros.core.assistant.replies import Reply, Source
from eros.core.assistant.service import (
    Advice,
    Assistant,
    ConversationNotFound,
    Translation,
    TranslationSource,
)

__all__ = [
    "Advice",
    "Assistant",
    "ConversationNotFound",
    "Intent",
    "Reply",
    "Source",
    "SuggestedAction",
    "Translation",
    "TranslationSource",
    "classify",
]
