"""The phases' work (docs/analysis.md), registered with the pipeline by `register_work`.

Each job runs in the job's one event loop (`eros.worker.job`), with one PostgreSQL
connection of its own, the job's Redis client (`ctx.redis`) and, in phase 3, a Claude
client: a halt cancels whichever of them the job is waiting on. Everything a job computes
is anchored to its idle period (`ctx.idle_since_ms`, the user's last activity) or to a
time pinned in its checkpoint, so that a job resumed after a halt, or run again, writes
the same result.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from eros.core.analysis.delivery import cache_daily
from eros.core.analysis.generate import generate_daily
from eros.core.analysis.light import Favourites, cached_favourites, load_favourites
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
from eros.core.candidate_pool import PoolKeeper
from eros.core.clock import utc_from_ms
from eros.core.database import connect
from eros.core.keys import favourites_cache_key
from eros.core.llm import (
    ANALYSIS_PURPOSE,
    AsyncClaudeClient,
    analysis_client,
    claim_analysis_call,
)
from eros.core.llm.metrics import record_fallback
from eros.core.phases import Phase
from eros.core.profiles import clear_reanalysis, get_profile
from eros.core.redis_client import async_redis
from eros.core.settings import Settings
from eros.worker.work import JobContext, WorkRegistry

logger = logging.getLogger(__name__)

__all__ = ["DeepPhase", "LightPhase", "MediumPhase", "register_work"]

FAVOURITES_TTL_SECONDS = 3600
Clock = Callable[[], int]


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class LightPhase:
    """Phase 1: favourites and an interaction summary in Redis for an hour, which phase 2
    of the same idle period reads instead of querying them again."""

    async def run(self, ctx: JobContext) -> Mapping[str, Any]:
        async with await connect(ctx.settings) as conn:
            found = await load_favourites(conn, ctx.user_id, utc_from_ms(ctx.idle_since_ms))
        await ctx.check_halt()
        await ctx.redis.set(
            favourites_cache_key(ctx.user_id), found.model_dump_json(), ex=FAVOURITES_TTL_SECONDS
        )
        return {"favourites": len(found.favourites)}


def _patterns_of(kind: PatternKind, evidence: Evidence, recent: Favourites) -> list[Pattern]:
    if kind is PatternKind.FAVOURITE:
        found = contrast_patterns(kind, evidence.liked, evidence.skipped)
        likes = recent.summary.get("like", 0)
        decisions = likes + recent.summary.get("skip", 0)
        if not decisions:
            # A rate of 0 would read as "likes no one"; with no decisions it is unknown.
            return found
        return [*found, share_pattern(kind, "recent_like_rate", likes, decisions)]
    if kind is PatternKind.MESSAGE:
        found = contrast_patterns(kind, evidence.messaged, evidence.liked_not_messaged)
        liked = len(evidence.liked)
        messaged_liked = liked - len(evidence.liked_not_messaged)
        return [*found, share_pattern(kind, "messaged_share", messaged_liked, liked)]
    return contrast_patterns(kind, evidence.blocked, evidence.liked)


async def _recent_favourites(
    ctx: JobContext, conn: AsyncConnection[DictRow]
) -> tuple[Favourites, str]:
    """Phase 1's summary of this idle period from its cache, else computed here."""
    raw = await ctx.redis.get(favourites_cache_key(ctx.user_id))
    found = cached_favourites(raw, ctx.user_id, ctx.idle_since_ms)
    if found is not None:
        return found, "cache"
    return await load_favourites(conn, ctx.user_id, utc_from_ms(ctx.idle_since_ms)), "database"


class MediumPhase:
    """Phase 2: favourite, message and block patterns, one kind at a time; the favourite
    kind adds phase 1's 30-day like rate (`stat:recent_like_rate`)."""

    async def run(self, ctx: JobContext) -> Mapping[str, Any]:
        state = await ctx.load_checkpoint() or {"done": []}
        as_of = utc_from_ms(ctx.idle_since_ms)
        counts: dict[str, int] = {}
        async with await connect(ctx.settings) as conn:
            evidence = await load_evidence(conn, ctx.user_id, as_of)
            recent, favourites_from = await _recent_favourites(ctx, conn)
            for kind in PatternKind:
                if kind.value in state["done"]:
                    continue
                patterns = _patterns_of(kind, evidence, recent)
                await save_patterns(conn, ctx.user_id, kind, patterns, as_of)
                counts[kind.value] = len(patterns)
                state = {"done": [*state["done"], kind.value]}
                await ctx.checkpoint(state)
        logger.info(
            "Learned patterns for user %s: %s (phase 1's summary from the %s).",
            ctx.user_id,
            counts,
            favourites_from,
        )
        return {"patterns": counts, "favourites": favourites_from}


class DeepPhase:
    """Phase 3: ultimate preferences (Claude or rules), then the 10 daily matches, ranked
    against the worker process's shared candidate pool (refreshed first when stale)."""

    def __init__(
        self,
        clock: Clock = wall_ms,
        client_factory: Callable[[Settings], AsyncClaudeClient | None] = analysis_client,
        pools: PoolKeeper | None = None,
    ) -> None:
        self._clock = clock
        self._client_factory = client_factory
        self._pools = pools or PoolKeeper()

    def warm_worker_process(self, settings: Settings) -> None:
        """Load or refresh the pool in the worker process, so that each job's horse starts
        with it: loaded in the horse, it would be loaded again for every job (measured at
        ~7.8 CPU-s a job for 50,000 members, against ~0.06 s with the pool warm).

        It runs before every phase-3 job: a fresh pool returns before any connection."""
        if self._pools.fresh(settings.candidate_pool_refresh_seconds):
            return
        asyncio.run(self._warm(settings))

    async def _warm(self, settings: Settings) -> None:
        if not settings.redis_url:
            return  # a worker never runs without one
        redis = async_redis(settings.redis_url)
        try:
            async with await connect(settings) as conn:
                await self._pools.current(
                    conn,
                    redis,
                    utc_from_ms(self._clock()),
                    settings.candidate_pool_refresh_seconds,
                )
        finally:
            await redis.aclose()

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
            async with client:
                if await claim_analysis_call(ctx.redis, ctx.settings, ctx.user_id, now_ms):
                    prefs = await claude_preferences(client, profile, patterns)
                    source = "claude"
                else:
                    record_fallback(ANALYSIS_PURPOSE)
        else:
            record_fallback(ANALYSIS_PURPOSE)
        if prefs is None:
            prefs, source = rule_based(profile, patterns), "rules"
        # Saved before anything else: a rerun would be refused the call and differ.
        await save_preferences(
            conn, ctx.user_id, prefs, source, ctx.idle_since_ms, utc_from_ms(now_ms)
        )
        return prefs, source

    async def run(self, ctx: JobContext) -> Mapping[str, Any]:
        state = await ctx.load_checkpoint() or {"now_ms": self._clock()}
        now_ms = int(state["now_ms"])
        # Pinned first: a job halted while it waits on Claude resumes with the same time.
        await ctx.checkpoint(state)
        async with await connect(ctx.settings) as conn:
            profile = await get_profile(conn, ctx.user_id)
            prefs, source = await self._preferences(ctx, conn, now_ms)
            state = {"now_ms": now_ms, "step": "preferences"}
            await ctx.checkpoint(state)
            pool = await self._pools.current(
                conn,
                ctx.redis,
                utc_from_ms(now_ms),
                ctx.settings.candidate_pool_refresh_seconds,
            )
            await ctx.check_halt()
            daily = await generate_daily(
                conn,
                ctx.redis,
                ctx.user_id,
                now_ms,
                prefs,
                source="analysis",
                preferences_source=source,
                pool=pool,
            )
            await ctx.checkpoint(state)
            stored = daily is not None and await save_daily_set(conn, daily, delivered_at=None)
            if daily is not None and stored:
                await cache_daily(
                    ctx.redis, daily, now_ms, ctx.settings.daily_matches_cache_ttl_seconds
                )
            if profile is not None and profile.analysis_requested_at is not None:
                await clear_reanalysis(conn, ctx.user_id, profile.analysis_requested_at)
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
