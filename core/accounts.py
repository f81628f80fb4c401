"""Accounts: registration, login, refresh-token rotation with reuse detection, roles."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row

from eros.core.database import AsyncPool
from eros.core.errors import (
    AccountDisabled,
    UnauthenticatedError,
)
from eros.core.passwords import hash_password, verify_password
from eros.core.tokens import Role, hash_refresh_token, new_refresh_token
from eros.core.visibility import account_enabled, enabled_flag_sql

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class User:
    id: UUID
    email: str
    name: str
    role: Role
    created_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> User:
        return cls(
            id=row["id"],
            email=row["email"],
            name=row["name"],
            role=Role(row["role"]),
            created_at=row["created_at"],
        )


@dataclass(frozen=True, slots=True)
class IssuedRefreshToken:
    token: str
    family_id: UUID
    expires_at: datetime


# Whether an account is in good standing is the visibility rule's to say, not a column.
_USER_COLUMNS = "id, email, name, role, created_at"


async def register(pool: AsyncPool, email: str, password: str, name: str) -> User | None:
    """Create an account; None, changing nothing, when the address already has one.

    The caller must answer both alike (an answer that differs tells anyone whether an
    address has an account), so both pay for the hash and one INSERT.
    """
    # argon2 is deliberately slow (tens of ms): off the event loop, or every login would
    # stall every heartbeat the process is serving.
    password_hash = await asyncio.to_thread(hash_password, password)
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO users (id, email, password_hash, name) VALUES (%s, %s, %s, %s) "
            f"ON CONFLICT DO NOTHING RETURNING {_USER_COLUMNS}",
            (uuid4(), email, password_hash, name),
        )
        row = await cur.fetchone()
    if row is None:
        # Where a mailer would tell the owner ("someone tried to register with your
        # address"); the log carries no address, only that it happened.
        logger.info("A registration was attempted with the address of an existing account.")
        return None
    return User.from_row(row)


async def authenticate(pool: AsyncPool, email: str, password: str) -> User:
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {_USER_COLUMNS}, password_hash, {enabled_flag_sql('users.id')} AS enabled "
            "FROM users WHERE lower(email) = lower(%s)",
            (email,),
        )
        row = await cur.fetchone()
    stored = row["password_hash"] if row else None
    if not await asyncio.to_thread(verify_password, stored, password) or row is None:
        raise UnauthenticatedError("invalid_credentials", "Email or password is incorrect.")
    user = User.from_row(row)
    if not row["enabled"]:
        raise AccountDisabled
    return user


async def refresh_token_owner(pool: AsyncPool, token: str) -> UUID | None:
    """Whose refresh token this is (None: unknown), for the per-user refresh limit."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT user_id FROM refresh_tokens WHERE token_hash = %s", (hash_refresh_token(token),)
        )
        row = await cur.fetchone()
    return row["user_id"] if row is not None else None


async def _insert_refresh_token(
    conn: AsyncConnection[DictRow], user_id: UUID, family_id: UUID, now: datetime, ttl_seconds: int
) -> IssuedRefreshToken:
    token = new_refresh_token()
    expires_at = now + timedelta(seconds=ttl_seconds)
    await conn.execute(
        "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, created_at, expires_at) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (uuid4(), user_id, family_id, hash_refresh_token(token), now, expires_at),
    )
    return IssuedRefreshToken(token=token, family_id=family_id, expires_at=expires_at)


async def issue_refresh_token(
    pool: AsyncPool, user_id: UUID, now: datetime, ttl_seconds: int
) -> IssuedRefreshToken:
    """Start a new token family (one per login)."""
    async with pool.connection() as conn:
        return await _insert_refresh_token(conn, user_id, uuid4(), now, ttl_seconds)


async def rotate_refresh_token(
    pool: AsyncPool, token: str, now: datetime, ttl_seconds: int
) -> tuple[User, IssuedRefreshToken]:
    """Exchange a refresh token for a new one of the same family.

    A token that was already exchanged is evidence of theft: the whole family is revoked,
    so both the thief and the victim must log in again.
    """
    reused_family: UUID | None = None
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            "SELECT t.id AS token_id, t.family_id, t.expires_at, t.used_at, t.revoked_at, "
            f"{', '.join('u.' + c for c in _USER_COLUMNS.split(', '))} "
            "FROM refresh_tokens t JOIN users u ON u.id = t.user_id "
            "WHERE t.token_hash = %s FOR UPDATE OF t",
            (hash_refresh_token(token),),
        )
        row = await cur.fetchone()
        if row is None:
            raise UnauthenticatedError("invalid_refresh_token", "The refresh token is not valid.")
        if row["revoked_at"] is not None:
            raise UnauthenticatedError("refresh_token_revoked", "The refresh token was revoked.")
        if row["used_at"] is not None:
            # Revoke and commit; the error is raised once the transaction is closed.
            await _revoke_family(conn, row["family_id"], now)
            reused_family = row["family_id"]
        else:
            if row["expires_at"] <= now:
                raise UnauthenticatedError(
                    "refresh_token_expired", "The refresh token has expired."
                )
            user = User.from_row(row)
            if not await account_enabled(conn, user.id):
                raise AccountDisabled
            await conn.execute(
                "UPDATE refresh_tokens SET used_at = %s WHERE id = %s", (now, row["token_id"])
            )
            issued = await _insert_refresh_token(conn, user.id, row["family_id"], now, ttl_seconds)
    if reused_family is not None:
        logger.warning(
            "A rotated refresh token was presented again; revoked its family %s.", reused_family
        )
        raise UnauthenticatedError(
            "refresh_token_reused",
            "The refresh token was already used; every session of this login is revoked.",
        )
    return user, issued


async def _revoke_family(conn: AsyncConnection[DictRow], family_id: UUID, now: datetime) -> None:
    await conn.execute(
        "UPDATE refresh_tokens SET revoked_at = %s WHERE family_id = %s AND revoked_at IS NULL",
        (now, family_id),
    )


async def revoke_refresh_token(pool: AsyncPool, token: str, now: datetime) -> bool:
    """Log out: revoke the token's family. Returns False when the token was unknown."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT family_id FROM refresh_tokens WHERE token_hash = %s",
            (hash_refresh_token(token),),
        )
        row = await cur.fetchone()
        if row is None:
            return False
        await _revoke_family(conn, row["family_id"], now)
    return True


def set_role(database_url: str, email: str, role: Role) -> bool:
    """Used by `eros users promote`; returns False when no such user exists."""
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        cur = conn.execute(
            "UPDATE users SET role = %s, updated_at = now() WHERE lower(email) = lower(%s)",
            (role.value, email),
        )
        return cur.rowcount == 1
