"""Checks shared by the profile, interaction and safety routes."""

from __future__ import annotations

from uuid import UUID

from eros.api.deps import CurrentUser, DbDep
from eros.api.errors import ApiError
from eros.core.errors import AccountDisabled
from eros.core.visibility import account_enabled

__all__ = ["refuse_self", "require_active_account"]


def refuse_self(target: UUID, caller: UUID) -> None:
    """Liking, blocking or reporting oneself is a client bug: 422 `self_target`."""
    if target == caller:
        raise ApiError(422, "self_target", "You cannot do this to yourself.")


async def require_active_account(claims: CurrentUser, db: DbDep) -> None:
    """Writes need an enabled account. Access tokens are checked without a database read
    and outlive a ban by up to their lifetime; a write is worth one primary-key lookup."""
    async with db.connection() as conn:
        enabled = await account_enabled(conn, claims.user_id)
    if not enabled:
        raise AccountDisabled
