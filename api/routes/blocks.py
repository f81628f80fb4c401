"""Blocks: a block either way hides two users from each other everywhere."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from eros.api.deps import ClockDep, CurrentUser, DbDep, RedisDep, UserIdPath
from eros.api.errors import ERROR_RESPONSES, NotFound
from eros.api.guards import refuse_self
from eros.api.limits import WriteKind, guarded_write
from eros.api.schemas.blocks import (
    BlockedUser,
    BlockList,
    BlockRequest,
    BlockResponse,
    UnblockResponse,
)
from eros.core.clock import utc_from_ms
from eros.core.recommendations import forget_recommendations
from eros.core.safety import BlockSource, block, list_blocks, unblock, user_exists

router = APIRouter(prefix="/blocks", tags=["safety"], responses=ERROR_RESPONSES)


@router.post(
    "",
    status_code=201,
    response_model=BlockResponse,
    dependencies=[Depends(guarded_write(WriteKind.BLOCKS))],
    responses={200: {"model": BlockResponse, "description": "Already blocked."}},
)
async def create_block(
    body: BlockRequest,
    response: Response,
    claims: CurrentUser,
    db: DbDep,
    redis: RedisDep,
    clock: ClockDep,
) -> BlockResponse:
    """Block a user: 201 when new, 200 when the caller had already blocked them."""
    refuse_self(body.user_id, claims.user_id)
    async with db.connection() as conn, conn.transaction():
        if not await user_exists(conn, body.user_id):
            raise NotFound("No such user.")
        created = await block(
            conn,
            claims.user_id,
            body.user_id,
            utc_from_ms(clock.now_ms()),
            BlockSource.MANUAL,
            body.reason,
        )
    await forget_recommendations(redis, claims.user_id, body.user_id)
    if not created:
        response.status_code = 200
    return BlockResponse(user_id=body.user_id, blocked=True, created=created)


@router.get("", response_model=BlockList)
async def get_blocks(claims: CurrentUser, db: DbDep) -> BlockList:
    """The users the caller blocked (never who blocked the caller)."""
    async with db.connection() as conn:
        entries = await list_blocks(conn, claims.user_id)
    blocks = [
        BlockedUser(user_id=e.user_id, source=e.source, created_at=e.created_at) for e in entries
    ]
    return BlockList(blocks=blocks, count=len(blocks))


@router.delete(
    "/{userId}",
    response_model=UnblockResponse,
    dependencies=[Depends(guarded_write(WriteKind.BLOCKS))],
)
async def delete_block(user_id: UserIdPath, claims: CurrentUser, db: DbDep) -> UnblockResponse:
    """Lift the caller's block. The other user's block of the caller, if any, stays, and
    someone once blocked is not recommended again."""
    refuse_self(user_id, claims.user_id)
    async with db.connection() as conn:
        removed = await unblock(conn, claims.user_id, user_id)
    return UnblockResponse(user_id=user_id, removed=removed)
