"""Bodies of the assistant routes."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, StringConstraints

from eros.api.schemas.base import ApiModel, SuccessResponse
from eros.api.schemas.text import Text
from eros.core.assistant import Intent, Source, SuggestedAction, TranslationSource

MAX_MESSAGE_CHARS = 1000
MAX_TOPIC_CHARS = 100
MAX_ADVICE_CONTEXT_CHARS = 1000
# BCP 47 language tags as apps send them: "es", "pt-BR".
LANGUAGE_TAG_PATTERN = r"^[a-z]{2,3}(-[A-Z]{2})?$"

Message = Annotated[str, Text(MAX_MESSAGE_CHARS, multiline=True, strip_whitespace=True)]
Topic = Annotated[str, Text(MAX_TOPIC_CHARS, strip_whitespace=True)]
AdviceContext = Annotated[
    str, Text(MAX_ADVICE_CONTEXT_CHARS, multiline=True, strip_whitespace=True)
]
LanguageTag = Annotated[str, StringConstraints(pattern=LANGUAGE_TAG_PATTERN)]
Actions = Annotated[
    list[SuggestedAction], Field(description="Screens the app can offer next, best first.")
]


class ChatRequest(ApiModel):
    message: Message
    conversation_id: UUID | None = Field(
        None, description="Continue this conversation; omit to start a new one."
    )


class ChatResponse(SuccessResponse):
    conversation_id: UUID
    response: str
    intent: Intent
    suggested_actions: Actions
    source: Source = Field(
        description="claude, or rules when Claude is off, over budget or failed."
    )


class AskRequest(ApiModel):
    question: Message


class AskResponse(SuccessResponse):
    question: str
    answer: str
    intent: Intent
    suggested_actions: Actions
    source: Source


class TranslateRequest(ApiModel):
    text: Message
    target_language: LanguageTag = Field(description='A language tag: "es", "pt-BR".')


class TranslateResponse(SuccessResponse):
    original: str
    translated: str | None = Field(
        description="None when no translation is available: never a guess."
    )
    target_language: str
    source: TranslationSource
    note: str | None = None


class AdviceRequest(ApiModel):
    topic: Topic
    context: AdviceContext | None = None


class AdviceResponse(SuccessResponse):
    topic: str
    advice: str
    source: Source


class ConversationMessage(ApiModel):
    role: Literal["user", "assistant"]
    content: str
    created_at: int = Field(description="Epoch milliseconds.")
    intent: Intent | None = None
    source: Source | None = None


class ConversationResponse(SuccessResponse):
    conversation_id: UUID
    messages: list[ConversationMessage]
    source: Literal["redis"] = "redis"
