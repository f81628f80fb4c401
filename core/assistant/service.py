"""The assistant: chooses a responder per request and keeps conversations.

Rules first, Claude when it adds something: greetings, safety, privacy refusals and
questions about how matching works always get the deterministic answer (fast, free, and
never creative about safety or the product); everything else goes to Claude when a key is
configured and the user's daily Claude budget allows, and falls back to the rules on any
failure. Every request is scoped to the caller's user id from the verified token.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

import redis.asyncio as aredis

from eros.core.assistant import rules
from eros.core.assistant.claude import claude_advice, claude_reply, claude_translation
from eros.core.assistant.context import load_own_context
from eros.core.assistant.conversations import (
    StoredMessage,
    append_messages,
    read_messages,
)
from eros.core.assistant.intents import Intent, classify
from eros.core.assistant.phrasebook import lookup
from eros.core.assistant.replies import Reply, Source
from eros.core.clock import Clock
from eros.core.database import AsyncPool
from eros.core.llm import ASSISTANT_PURPOSE, AsyncClaudeClient, LlmError, claim_assistant_call
from eros.core.llm.metrics import record_fallback
from eros.core.settings import Settings

logger = logging.getLogger(__name__)

__all__ = [
    "Advice",
    "Assistant",
    "ConversationNotFound",
    "Translation",
    "TranslationSource",
]

RULES_ONLY_INTENTS = frozenset(
    {Intent.GREETING, Intent.SAFETY, Intent.PRIVACY, Intent.MATCHES_HELP}
)
# How much of a conversation Claude sees: enough for follow-ups, bounded in tokens.
HISTORY_MESSAGES_FOR_CLAUDE = 10


class ConversationNotFound(LookupError):
    """The caller has no conversation of this id (it never existed, expired, or is not
    theirs: the three are deliberately indistinguishable)."""


class TranslationSource(StrEnum):
    CLAUDE = "claude"
    PHRASEBOOK = "phrasebook"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class Translation:
    translated: str | None
    source: TranslationSource
    note: str | None


@dataclass(frozen=True, slots=True)
class Advice:
    text: str
    source: Source


PHRASEBOOK_NOTE = "Translated with EROS's small phrasebook of common phrases."
NO_CLAUDE_NOTE = (
    "Only a small phrasebook of common phrases can be translated without the Claude "
    "assistant, which is not configured, and this text is not in it."
)
UNAVAILABLE_NOTE = (
    "Translation is unavailable right now (or today's assistant limit is reached), and this "
    "text is not in the phrasebook of common phrases."
)


@dataclass
class Assistant:
    redis: aredis.Redis
    db: AsyncPool
    settings: Settings
    clock: Clock
    llm: AsyncClaudeClient | None

    async def _claude_for(self, user_id: UUID) -> AsyncClaudeClient | None:
        """The client if Claude is configured and one of the user's daily calls is claimed."""
        if self.llm is None:
            record_fallback(ASSISTANT_PURPOSE)
            return None
        if await claim_assistant_call(self.redis, self.settings, user_id, self.clock.now_ms()):
            return self.llm
        logger.info("User %s gets rule-based answers: no Claude call left for today.", user_id)
        record_fallback(ASSISTANT_PURPOSE)
        return None

    async def _reply(self, user_id: UUID, message: str, history: list[StoredMessage]) -> Reply:
        intent = classify(message)
        context = await load_own_context(self.db, user_id)
        fallback = rules.respond(message, intent, context)
        llm = None if intent in RULES_ONLY_INTENTS else await self._claude_for(user_id)
        if llm is None:
            return fallback
        try:
            return await claude_reply(llm, message, history, context)
        except LlmError:
            return fallback

    async def chat(
        self, user_id: UUID, message: str, conversation_id: UUID | None
    ) -> tuple[UUID, Reply]:
        """Answer within a conversation (a new one without an id); raises
        `ConversationNotFound` for an id the caller does not have."""
        history: list[StoredMessage] = []
        if conversation_id is None:
            conversation_id = uuid.uuid4()
        else:
            found = await read_messages(
                self.redis, user_id, conversation_id, last=HISTORY_MESSAGES_FOR_CLAUDE
            )
            if found is None:
                raise ConversationNotFound(str(conversation_id))
            history = found
        asked_at = self.clock.now_ms()
        reply = await self._reply(user_id, message, history)
        await append_messages(
            self.redis,
            user_id,
            conversation_id,
            [
                StoredMessage("user", message, asked_at),
                StoredMessage(
                    "assistant",
                    reply.text,
                    self.clock.now_ms(),
                    intent=reply.intent.value,
                    source=reply.source.value,
                ),
            ],
            ttl_seconds=self.settings.assistant_conversation_ttl_seconds,
            max_messages=self.settings.assistant_max_conversation_messages,
        )
        return conversation_id, reply

    async def ask(self, user_id: UUID, question: str) -> Reply:
        """A one-off question: answered like a chat message, kept nowhere."""
        return await self._reply(user_id, question, [])

    async def advice(self, user_id: UUID, topic: str, details: str | None) -> Advice:
        request = f"{topic} {details or ''}"
        if classify(request) is Intent.PRIVACY:
            return Advice(rules.PRIVACY_TEXT, Source.RULES)
        context = await load_own_context(self.db, user_id)
        fallback = Advice(rules.advice_text(request, context), Source.RULES)
        llm = await self._claude_for(user_id)
        if llm is None:
            return fallback
        try:
            return Advice(await claude_advice(llm, topic, details, context), Source.CLAUDE)
        except LlmError:
            return fallback

    async def translate(self, user_id: UUID, text: str, target_language: str) -> Translation:
        """The phrasebook when it knows the text (free), else Claude; never a guess."""
        phrase = lookup(text, target_language)
        if phrase is not None:
            return Translation(phrase, TranslationSource.PHRASEBOOK, PHRASEBOOK_NOTE)
        if self.llm is None:
            record_fallback(ASSISTANT_PURPOSE)
            return Translation(None, TranslationSource.UNAVAILABLE, NO_CLAUDE_NOTE)
        llm = await self._claude_for(user_id)
        if llm is None:
            return Translation(None, TranslationSource.UNAVAILABLE, UNAVAILABLE_NOTE)
        try:
            translated = await claude_translation(llm, text, target_language)
        except LlmError:
            return Translation(None, TranslationSource.UNAVAILABLE, UNAVAILABLE_NOTE)
        return Translation(translated, TranslationSource.CLAUDE, None)

    async def conversation(self, user_id: UUID, conversation_id: UUID) -> list[StoredMessage]:
        messages = await read_messages(self.redis, user_id, conversation_id)
        if messages is None:
            raise ConversationNotFound(str(conversation_id))
        return messages
