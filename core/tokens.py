"""Access tokens (short-lived JWTs) and refresh tokens (random, stored hashed)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

import jwt

ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "access"
REFRESH_TOKEN_BYTES = 32
ISSUER = "eros"


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"


class TokenError(Exception):
    """A token that cannot be accepted; `code` says why, for the error response."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: UUID
    role: Role
    expires_at_s: int


def issue_access_token(
    user_id: UUID, role: Role, *, secret: str, now_s: int, ttl_seconds: int
) -> str:
    claims = {
        "sub": str(user_id),
        "role": role.value,
        "typ": ACCESS_TOKEN_TYPE,
        "iss": ISSUER,
        "iat": now_s,
        "exp": now_s + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_access_token(token: str, *, secret: str, now_s: int) -> AccessClaims:
    """Check signature, expiry and kind; raises `TokenError` with a precise code."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["sub", "exp", "iat", "typ", "role"], "verify_exp": False},
        )
    except jwt.InvalidTokenError as exc:
        raise TokenError(
            "invalid_token", "The access token is malformed or its signature is invalid."
        ) from exc
    # Expiry is checked against the injected clock, not the wall clock, so tests can move time.
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= now_s:
        raise TokenError("token_expired", "The access token has expired; refresh it.")
    if claims.get("typ") != ACCESS_TOKEN_TYPE:
        raise TokenError("invalid_token_type", "This token is not an access token.")
    try:
        return AccessClaims(UUID(claims["sub"]), Role(claims["role"]), claims["exp"])
    except ValueError as exc:
        raise TokenError("invalid_token", "The access token carries invalid claims.") from exc


def new_refresh_token() -> str:
    return secrets.token_urlsafe(REFRESH_TOKEN_BYTES)


def hash_refresh_token(token: str) -> bytes:
    # A fast hash is right here: the token is 256 random bits, not a guessable password.
    return hashlib.sha256(token.encode()).digest()
