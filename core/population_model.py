"""The production population model: versioned in PostgreSQL, cached in Redis.

The fit job (`eros.worker.maintenance.run_model_fit_job`, training set from
`eros.core.population_training`) stores each fit as a new row of `population_models`
(migration 0008); the newest row is the current model. Every ranking path reads it
through `load_current`, a read-through of `POPULATION_MODEL_KEY` with a TTL, so a Redis
flush costs one PostgreSQL read and nothing else.

The model is kept as text by a pure codec with a format version and the feature names it
was fitted on. A stored model fitted on other features than this code's (another release
added or reordered one) is refused: ranking falls back to the hand-set prior, with a
warning, until the next fit.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import redis.asyncio as aredis
import redis.exceptions
from psycopg import AsyncConnection

from eros.core.clock import utc_from_ms
from eros.core.keys import POPULATION_MODEL_KEY
from eros.core.matching import FEATURE_NAMES, PreferenceModel

logger = logging.getLogger(__name__)

__all__ = [
    "MODEL_CACHE_TTL_SECONDS",
    "MODEL_FORMAT",
    "ModelVersion",
    "StoredModel",
    "current_version",
    "decode_model",
    "decode_record",
    "encode_model",
    "encode_record",
    "load_current",
    "load_stored",
    "save_version",
]

MODEL_FORMAT = 1
"""Version of the text layout of a stored model; a reader refuses any other."""
MODEL_CACHE_TTL_SECONDS = 3600
"""How long Redis keeps the current model before the next read goes to PostgreSQL."""
_UNAVAILABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """What a fit saw and cost: shown by `/eros/status`."""

    version: int
    examples: int  # decisions trained on
    users: int  # people who made them
    last_decision_id: int  # newest like or skip the fit could see
    fitted_at: datetime
    fit_seconds: float


@dataclass(frozen=True, slots=True)
class StoredModel:
    info: ModelVersion
    model: PreferenceModel | None  # None: fitted on other features than this code's


def encode_model(model: PreferenceModel) -> str:
    record = {
        "format": MODEL_FORMAT,
        "features": list(FEATURE_NAMES),
        "intercept": model.intercept,
        "weights": [float(w) for w in model.weights],
        "decisions": model.n_decisions,
    }
    return json.dumps(record, separators=(",", ":"))


def decode_model(text: str) -> PreferenceModel | None:
    """None, logged, for another format or other features than `FEATURE_NAMES`."""
    try:
        record = json.loads(text)
        if record["format"] != MODEL_FORMAT:
            logger.warning("Refused a population model of format %s.", record["format"])
            return None
        if tuple(record["features"]) != FEATURE_NAMES:
            logger.warning(
                "Refused a population model fitted on %d other features; ranking uses "
                "the prior until the next fit.",
                len(record["features"]),
            )
            return None
        weights = np.asarray(record["weights"], dtype=np.float64)
        if weights.shape != (len(FEATURE_NAMES),):
            raise ValueError("weights do not match the feature names")
        return PreferenceModel(float(record["intercept"]), weights, int(record["decisions"]))
    except (ValueError, KeyError, TypeError):
        logger.warning("Refused an unreadable population model.")
        return None


def encode_record(info: ModelVersion, model_text: str) -> str:
    """The cache entry: a version's row, its model kept as the stored text."""
    record = {
        "version": info.version,
        "examples": info.examples,
        "users": info.users,
        "lastDecisionId": info.last_decision_id,
        "fittedAt": int(info.fitted_at.timestamp() * 1000),
        "fitSeconds": info.fit_seconds,
        "model": model_text,
    }
    return json.dumps(record, separators=(",", ":"))


def decode_record(raw: bytes | str) -> StoredModel | None:
    """None for an entry we cannot read: that only costs a read of PostgreSQL."""
    try:
        record = json.loads(raw)
        info = ModelVersion(
            version=int(record["version"]),
            examples=int(record["examples"]),
            users=int(record["users"]),
            last_decision_id=int(record["lastDecisionId"]),
            fitted_at=utc_from_ms(int(record["fittedAt"])),
            fit_seconds=float(record["fitSeconds"]),
        )
        return StoredModel(info, decode_model(str(record["model"])))
    except (ValueError, KeyError, TypeError):
        return None


def _info(row: dict[str, Any]) -> ModelVersion:
    return ModelVersion(
        version=row["version"],
        examples=row["examples"],
        users=row["users"],
        last_decision_id=row["last_decision_id"],
        fitted_at=row["fitted_at"],
        fit_seconds=row["fit_seconds"],
    )


async def _newest_row(conn: AsyncConnection[Any]) -> dict[str, Any] | None:
    cur = await conn.execute(
        "SELECT version, model, examples, users, last_decision_id, fitted_at, fit_seconds "
        "FROM population_models ORDER BY version DESC LIMIT 1"
    )
    row: dict[str, Any] | None = await cur.fetchone()
    return row


async def current_version(conn: AsyncConnection[Any]) -> ModelVersion | None:
    """The newest version's row from PostgreSQL (the fit job's view: never cached)."""
    row = await _newest_row(conn)
    return None if row is None else _info(row)


async def _cache(redis: aredis.Redis, info: ModelVersion, model_text: str) -> None:
    try:
        await redis.set(
            POPULATION_MODEL_KEY, encode_record(info, model_text), ex=MODEL_CACHE_TTL_SECONDS
        )
    except _UNAVAILABLE:
        logger.warning("Population model cache fill skipped: Redis is unavailable.")


async def load_stored(conn: AsyncConnection[Any], redis: aredis.Redis) -> StoredModel | None:
    """The current version, from Redis, else from PostgreSQL (then cached); None before
    the first fit."""
    try:
        raw = await redis.get(POPULATION_MODEL_KEY)
    except _UNAVAILABLE:
        logger.warning("Population model cache read skipped: Redis is unavailable.")
        raw = None
    if raw is not None:
        cached = decode_record(raw)
        if cached is not None:
            return cached
    row = await _newest_row(conn)
    if row is None:
        return None
    info = _info(row)
    await _cache(redis, info, row["model"])
    return StoredModel(info, decode_model(row["model"]))


async def load_current(conn: AsyncConnection[Any], redis: aredis.Redis) -> PreferenceModel | None:
    """The population model to rank with; None before the first fit or when the stored
    one does not fit this code's features (callers then use `prior_model()`)."""
    stored = await load_stored(conn, redis)
    return None if stored is None else stored.model


async def save_version(
    conn: AsyncConnection[Any],
    redis: aredis.Redis,
    model: PreferenceModel,
    *,
    examples: int,
    users: int,
    last_decision_id: int,
    fitted_at: datetime,
    fit_seconds: float,
) -> ModelVersion:
    """Store `model` as the next version and make it current in the cache at once."""
    text = encode_model(model)
    async with conn.transaction():
        # Two fits finishing together would otherwise both take the same next version.
        await conn.execute("LOCK TABLE population_models IN SHARE ROW EXCLUSIVE MODE")
        cur = await conn.execute(
            "INSERT INTO population_models "
            "(version, model, examples, users, last_decision_id, fitted_at, fit_seconds) "
            "SELECT coalesce(max(version), 0) + 1, %s, %s, %s, %s, %s, %s "
            "FROM population_models RETURNING version",
            (text, examples, users, last_decision_id, fitted_at, fit_seconds),
        )
        row = await cur.fetchone()
    assert row is not None
    info = ModelVersion(row["version"], examples, users, last_decision_id, fitted_at, fit_seconds)
    await _cache(redis, info, text)
    logger.info(
        "Saved population model version %d, fitted on %d decisions of %d users.",
        info.version,
        examples,
        users,
    )
    return info
