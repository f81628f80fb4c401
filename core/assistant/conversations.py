"""Assistant conversations in Redis: one capped list per (user, conversation).

The key holds the owner's user id, so a conversation can only ever be read through its
owner's id: another user asking for the same conversation id reads a key that does not
exist and gets "not found", indistinguishable from an id that never existed. Each append
trims the list to the newest messages and pushes the expiry a full TTL forward, in one
transaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal
from uuid import UUID

import redis.asyncio as aredis

from eros.core.keys import assistant_conversation_key

logger = logging.getLogger(__name__)

__all__ = ["StoredMessage", "append_messages", "read_messages"]

Role = Literal["user", "assistant"]


@dataclass(frozen=True, slots=True)
class StoredMessage:
    role: Role
    content: str
    created_at_ms: int
    # Set on the assistant's messages: what it understood and who answered.
    intent: str | None = None
    source: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, payload: bytes | str) -> StoredMessage:
        value: dict[str, Any] = json.loads(payload)
        if value.get("role") not in ("user", "assistant"):
            raise ValueError("a stored message has no valid role")
        return cls(
            role=value["role"],
            content=str(value["content"]),
            created_at_ms=int(value["created_at_ms"]),
            intent=value.get("intent"),
            source=value.get("source"),
        )


async def append_messages(
    client: aredis.Redis,
    user_id: UUID,
    conversation_id: UUID,
    messages: Sequence[StoredMessage],
    *,
    ttl_seconds: int,
    max_messages: int,
) -> None:
    key = assistant_conversation_key(user_id, conversation_id)
    async with client.pipeline(transaction=True) as pipe:
        pipe.rpush(key, *(m.to_json() for m in messages))
        pipe.ltrim(key, -max_messages, -1)
        pipe.expire(key, ttl_seconds)
        await pipe.execute()


async def read_messages(
    client: aredis.Redis, user_id: UUID, conversation_id: UUID, *, last: int | None = None
) -> list[StoredMessage] | None:
    """The conversation's messages, oldest first (only the `last` ones if given); None when
    the caller has no conversation of that id."""
    key = assistant_conversation_key(user_id, conversation_id)
    start = -last if last else 0
    async with client.pipeline(transaction=True) as pipe:
        pipe.exists(key)
        pipe.lrange(key, start, -1)
        exists, raw = await pipe.execute()
    if not exists:
        return None
    messages = []
    for payload in raw:
        try:
            messages.append(StoredMessage.from_json(payload))
        except (ValueError, KeyError, TypeError):
            # Written by another release with another shape: skip it, keep the rest.
            logger.warning("Skipped an unreadable message in an assistant conversation.")
    return messages
