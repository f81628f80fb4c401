"""A bounded cache of access tokens whose signature has already been verified.

An app sends a heartbeat every few seconds with the same access token for its whole
lifetime; verifying the signature again each time costs more than the heartbeat's Redis
write. Only the signature check is cached: expiry is checked on every use.
"""

from __future__ import annotations

from collections import OrderedDict

from eros.core.tokens import AccessClaims, TokenError, decode_access_token

DEFAULT_CAPACITY = 100_000


class VerifiedTokenCache:
    def __init__(self, secret: str, capacity: int = DEFAULT_CAPACITY) -> None:
        self._secret = secret
        self._capacity = capacity
        self._entries: OrderedDict[str, AccessClaims] = OrderedDict()

    def verify(self, token: str, now_s: int) -> AccessClaims:
        claims = self._entries.get(token)
        if claims is None:
            claims = decode_access_token(token, secret=self._secret, now_s=now_s)
            self._entries[token] = claims
            if len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        elif claims.expires_at_s <= now_s:
            del self._entries[token]
            raise TokenError("token_expired", "The access token has expired; refresh it.")
        return claims

    def __len__(self) -> int:
        return len(self._entries)
