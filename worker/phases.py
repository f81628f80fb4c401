"""The phases' work (docs/analysis.md), registered with the pipeline by `register_work`.

Each job opens its own PostgreSQL and Redis connections and runs the asynchronous
analysis code in one event loop. Everything a job computes is anchored to its idle
period (`ctx.idle_since_ms`, the user's last activity) or to a time pinned in its
checkpoint, so that a job resumed after a halt, or run again, writes the same result.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aredis
from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row

from eros.core.accounts import utc_from_ms
from eros.core.analysis.delivery import cache_daily
from eros.core.analysis.generate import generate_daily
from eros.core.analysis.light import load_favourites
from eros.core.analysis.patterns import Pattern, PatternKind, contrast_patterns, share_pattern
from eros.core.analysis.preferences import (
    PreferenceSource,
    UltimatePreferences,
    claude_preferences,
    rule_based,
)
from eros.core.analysis.store import (
    Evidence,
    load_evidence,
    load_patterns,
    load_preferences,
    save_daily_set,
    save_patterns,
    save_preferences,
)
from eros.core.database import require_database_url
from eros.core.keys import favourites_cache_key
from eros.core.llm import ClaudeClient, analysis_client, claim_analysis_call
from eros.core.phases import Phase
from eros.core.profiles import aclear_reanalysis, get_profile
from eros.core.settings import Settings
from eros.worker.work import JobContext, WorkRegistry

logger = logging.getLogger(__name__)

__all__ = ["DeepPhase", "LightPhase", "MediumPhase", "register_work"]

FAVOURITES_TTL_SECONDS = 3600
CONNECT_TIMEOUT_SECONDS = 5
Clock = Callable[[], int]


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


@asynccontextmanager
async def _connections(
    settings: Settings,
) -> AsyncIterator[tuple[AsyncConnection[DictRow], aredis.Redis]]:
    conn = await AsyncConnection.connect(
        require_database_url(settings),
        autocommit=True,
        row_factory=dict_row,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
    )
    client = aredis.Redis.from_url(str(settings.redis_url))
    try:
        yield conn, client
    finally:
        await client.aclose()
        await conn.close()


class LightPhase:
    """Phase 1: favourites and an interaction summary in Redis for an hour."""

    def run(self, ctx: JobContext) -> Mapping[str, Any]:
        return asyncio.run(self._run(ctx))

    async def _run(self, ctx: JobContext) -> Mapping[str, Any]:
        async with _connections(ctx.settings) as (conn, _):
            found = await load_favourites(conn, ctx.user_id, utc_from_ms(ctx.idle_since_ms))
        ctx.check_halt()
        ctx.redis.set(
            favourites_cache_key(ctx.user_id), found.model_dump_json(), ex=FAVOURITES_TTL_SECONDS
        )
        return {"favourites": len(found.favourites)}


def _patterns_of(kind: PatternKind, evidence: Evidence) -> list[Pattern]:
    if kind is PatternKind.FAVOURITE:
        return contrast_patterns(kind, evidence.liked, evidence.skipped)
    if kind is PatternKind.MESSAGE:
        found = contrast_patterns(kind, evidence.messaged, evidence.liked_not_messaged)
        liked = len(evidence.liked)
        messaged_liked = liked - len(evidence.liked_not_messaged)
        return [*found, share_pattern(kind, "messaged_share", messaged_liked, liked)]
    return contrast_patterns(kind, evidence.blocked, evidence.liked)


class MediumPhase:
    """Phase 2: favourite, message and block patterns, one kind at a time."""

    def run(self, ctx: JobContext) -> Mapping[str, Any]:
        return asyncio.run(self._run(ctx))

    async def _run(self, ctx: JobContext) -> Mapping[str, Any]:
        state = ctx.load_checkpoint() or {"done": []}
        as_of = utc_from_ms(ctx.idle_since_ms)
        counts: dict[str, int] = {}
        async with _connections(ctx.settings) as (conn, _):
            evidence = await load_evidence(conn, ctx.user_id, as_of)
            for kind in PatternKind:
                if kind.value in state["done"]:
                    continue
                patterns = _patterns_of(kind, evidence)
                await save_patterns(conn, ctx.user_id, kind, patterns, as_of)
                counts[kind.value] = len(patterns)
                state = {"done": [*state["done"], kind.value]}
                ctx.checkpoint(state)
        logger.info("Learned patterns for user %s: %s.", ctx.user_id, counts)
        return {"patterns": counts}


class DeepPhase:
    """Phase 3: ultimate preferences (Claude or rules), then the 10 daily matches."""

    def __init__(
        self,
        clock: Clock = wall_ms,
        client_factory: Callable[[Settings], ClaudeClient | None] = analysis_client,
    ) -> None:
        self._clock = clock
        self._client_factory = client_factory

    def run(self, ctx: JobContext) -> Mapping[str, Any]:
        return asyncio.run(self._run(ctx))

    async def _preferences(
        self, ctx: JobContext, conn: AsyncConnection[DictRow], now_ms: int
    ) -> tuple[UltimatePreferences, PreferenceSource]:
        stored = await load_preferences(conn, ctx.user_id)
        if stored is not None and stored.basis_ms == ctx.idle_since_ms:
            # This idle period was analysed already: the daily Claude call is spent.
            return stored.preferences, stored.source
        profile = await get_profile(conn, ctx.user_id)
        patterns = await load_patterns(conn, ctx.user_id)
        prefs: UltimatePreferences | None = None
        source: PreferenceSource = "rules"
        client = self._client_factory(ctx.settings)
        if client is not None:
            try:
                if claim_analysis_call(ctx.redis, ctx.settings, ctx.user_id, now_ms):
                    prefs = claude_preferences(client, profile, patterns)
                    source = "claude"
            finally:
                client.close()
        if prefs is None:
            prefs, source = rule_based(profile, patterns), "rules"
        # Saved before anything else: a rerun would be refused the call and differ.
        await save_preferences(
            conn, ctx.user_id, prefs, source, ctx.idle_since_ms, utc_from_ms(now_ms)
        )
        return prefs, source

    async def _run(self, ctx: JobContext) -> Mapping[str, Any]:
        state = ctx.load_checkpoint() or {"now_ms": self._clock()}
        now_ms = int(state["now_ms"])
        async with _connections(ctx.settings) as (conn, client):
            profile = await get_profile(conn, ctx.user_id)
            prefs, source = await self._preferences(ctx, conn, now_ms)
            state = {"now_ms": now_ms, "step": "preferences"}
            ctx.checkpoint(state)
            daily = await generate_daily(
                conn,
                client,
                ctx.user_id,
                now_ms,
                prefs,
                source="analysis",
                preferences_source=source,
            )
            ctx.checkpoint(state)
            stored = daily is not None and await save_daily_set(conn, daily, delivered_at=None)
            if daily is not None and stored:
                await cache_daily(
                    client, daily, now_ms, ctx.settings.daily_matches_cache_ttl_seconds
                )
            if profile is not None and profile.analysis_requested_at is not None:
                await aclear_reanalysis(conn, ctx.user_id, profile.analysis_requested_at)
        matches = len(daily.matches) if daily is not None else 0
        logger.info(
            "Deep analysis of user %s done with %s preferences and %d daily matches.",
            ctx.user_id,
            source,
            matches,
        )
        return {"preferences": source, "matches": matches, "stored": bool(stored)}


def register_work(registry: WorkRegistry) -> None:
    registry.register(Phase.LIGHT, LightPhase())
    registry.register(Phase.MEDIUM, MediumPhase())
    registry.register(Phase.DEEP, DeepPhase())
