"""Redis connections: asyncio clients for the API, blocking clients for workers and tools."""

from __future__ import annotations

import redis
import redis.asyncio as aredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

# A request must never hang on a dead Redis: fail fast and let the caller answer 503.
SOCKET_TIMEOUT_SECONDS = 2.0
CONNECT_TIMEOUT_SECONDS = 2.0
HEALTH_CHECK_INTERVAL_SECONDS = 30
MAX_CONNECTIONS = 200
# After Redis restarts, every pooled connection is dead; one quick retry on a fresh
# connection turns that into a reconnect instead of a 503. An outage still fails fast.
RETRIES = 2
RETRY_BACKOFF_BASE_SECONDS = 0.01
RETRY_BACKOFF_CAP_SECONDS = 0.1
_RETRY_ON: list[type[Exception]] = [redis.exceptions.ConnectionError, redis.exceptions.TimeoutError]


def _backoff() -> ExponentialBackoff:
    return ExponentialBackoff(cap=RETRY_BACKOFF_CAP_SECONDS, base=RETRY_BACKOFF_BASE_SECONDS)


def async_redis(url: str) -> aredis.Redis:
    return aredis.Redis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        health_check_interval=HEALTH_CHECK_INTERVAL_SECONDS,
        max_connections=MAX_CONNECTIONS,
        retry=AsyncRetry(_backoff(), RETRIES),
        retry_on_error=_RETRY_ON,
    )


def sync_redis(url: str, *, socket_timeout: float | None = SOCKET_TIMEOUT_SECONDS) -> redis.Redis:
    """A blocking client; pass `socket_timeout=None` for blocking reads such as RQ's dequeue."""
    return redis.Redis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        health_check_interval=HEALTH_CHECK_INTERVAL_SECONDS,
        retry=Retry(_backoff(), RETRIES),
        retry_on_error=_RETRY_ON,
    )
