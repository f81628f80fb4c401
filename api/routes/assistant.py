"""The assistant: chat, one-off questions, translations, advice, and one's conversations.

Every route acts for the caller of the access token and nobody else; a message naming
another user changes nothing about whose data is read (see docs/assistant.md).
"""

from __future__ import annotations

from typing import Annotated, TypeVar
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Request

from eros.api.deps import ClockDep, CurrentUser, DbDep, RedisDep, SettingsDep
from eros.api.errors import ERROR_RESPONSES
from eros.api.limits import WriteKind, limit
from eros.api.schemas.assistant import (
    AdviceRequest,
    AdviceResponse,
    AskRequest,
    AskResponse,
    ChatRequest,
    ChatResponse,
    ConversationMessage,
    ConversationResponse,
    TranslateRequest,
    TranslateResponse,
)
from eros.core.assistant import Assistant, Intent, Source
from eros.core.llm import AsyncClaudeClient

router = APIRouter(prefix="/assistant", tags=["assistant"], responses=ERROR_RESPONSES)

ConversationIdPath = Annotated[UUID, Path(alias="conversationId")]


async def get_assistant(
    request: Request, db: DbDep, redis: RedisDep, settings: SettingsDep, clock: ClockDep
) -> Assistant:
    llm: AsyncClaudeClient | None = getattr(request.app.state, "assistant_llm", None)
    return Assistant(redis=redis, db=db, settings=settings, clock=clock, llm=llm)


AssistantDep = Annotated[Assistant, Depends(get_assistant)]
# One limit shared by every assistant request that may reach Claude.
LIMITED = [Depends(limit(WriteKind.ASSISTANT))]


@router.post("/chat", response_model=ChatResponse, dependencies=LIMITED)
async def chat(body: ChatRequest, claims: CurrentUser, assistant: AssistantDep) -> ChatResponse:
    """Answer a message, in a new conversation or one of the caller's (7 days)."""
    # An unknown conversation raises `ConversationNotFound`: the error table's 404.
    conversation_id, reply = await assistant.chat(
        claims.user_id, body.message, body.conversation_id
    )
    return ChatResponse(
        conversation_id=conversation_id,
        response=reply.text,
        intent=reply.intent,
        suggested_actions=list(reply.actions),
        source=reply.source,
    )


@router.post("/ask", response_model=AskResponse, dependencies=LIMITED)
async def ask(body: AskRequest, claims: CurrentUser, assistant: AssistantDep) -> AskResponse:
    """A one-off question; nothing is kept."""
    reply = await assistant.ask(claims.user_id, body.question)
    return AskResponse(
        question=body.question,
        answer=reply.text,
        intent=reply.intent,
        suggested_actions=list(reply.actions),
        source=reply.source,
    )


@router.post("/translate", response_model=TranslateResponse, dependencies=LIMITED)
async def translate(
    body: TranslateRequest, claims: CurrentUser, assistant: AssistantDep
) -> TranslateResponse:
    """Translate a message. Without Claude only a small phrasebook is available, and a text
    outside it gets `translated: null` with a note, never a guess."""
    result = await assistant.translate(claims.user_id, body.text, body.target_language)
    return TranslateResponse(
        original=body.text,
        translated=result.translated,
        target_language=body.target_language,
        source=result.source,
        note=result.note,
    )


@router.post("/advice", response_model=AdviceResponse, dependencies=LIMITED)
async def advice(
    body: AdviceRequest, claims: CurrentUser, assistant: AssistantDep
) -> AdviceResponse:
    result = await assistant.advice(claims.user_id, body.topic, body.context)
    return AdviceResponse(topic=body.topic, advice=result.text, source=result.source)


E = TypeVar("E", Intent, Source)


def _enum_or_none(kind: type[E], value: str | None) -> E | None:
    # Messages stored by another release may name values this one does not know.
    try:
        return kind(value) if value is not None else None
    except ValueError:
        return None


@router.get("/conversations/{conversationId}", response_model=ConversationResponse)
async def get_conversation(
    conversation_id: ConversationIdPath, claims: CurrentUser, assistant: AssistantDep
) -> ConversationResponse:
    """One of the caller's conversations, oldest message first. Another user's id gets the
    same 404 as an id that never existed."""
    messages = await assistant.conversation(claims.user_id, conversation_id)
    return ConversationResponse(
        conversation_id=conversation_id,
        messages=[
            ConversationMessage(
                role=m.role,
                content=m.content,
                created_at=m.created_at_ms,
                intent=_enum_or_none(Intent, m.intent),
                source=_enum_or_none(Source, m.source),
            )
            for m in messages
        ],
    )
