"""The population model in production: a versioned row in PostgreSQL (the truth), read
through a Redis cache, refused when fitted on other features, and scored with by ranking."""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import Any

import numpy as np
import psycopg
import pytest
import redis
import redis.asyncio as aredis

from eros.core.keys import POPULATION_MODEL_KEY
from eros.core.matching import FEATURE_NAMES, FilterRules, PreferenceModel, prior_model
from eros.core.population_model import (
    MODEL_FORMAT,
    ModelVersion,
    StoredModel,
    decode_model,
    decode_record,
    encode_model,
    encode_record,
    load_current,
    load_stored,
    save_version,
)
from eros.core.profiles import Gender
from eros.core.recommendation_inputs import load_inputs, rank
from tests.core.population_support import NOW, person, save_profiles, with_clients

ABS_AGE_GAP = FEATURE_NAMES.index("abs_age_gap")
STRONG_WEIGHT = 20.0


def _model(weight: float = 0.5) -> PreferenceModel:
    prior = prior_model()
    weights = prior.weights.copy()
    weights[ABS_AGE_GAP] = weight
    return PreferenceModel(-0.7, weights, 123)


def _save(database_url: str, redis_url: str, model: PreferenceModel) -> ModelVersion:
    async def body(conn: psycopg.AsyncConnection[Any], client: aredis.Redis) -> ModelVersion:
        return await save_version(
            conn, client, model, examples=123, users=7, last_decision_id=42,
            fitted_at=NOW, fit_seconds=0.25,
        )  # fmt: skip

    return with_clients(database_url, redis_url, body)


def _stored(database_url: str, redis_url: str) -> StoredModel | None:
    return with_clients(database_url, redis_url, load_stored)


def test_a_model_survives_its_codec_with_every_weight() -> None:
    model = _model()
    decoded = decode_model(encode_model(model))
    assert decoded is not None
    assert decoded.intercept == model.intercept
    assert np.array_equal(decoded.weights, model.weights)
    assert decoded.n_decisions == 123


def test_a_model_fitted_on_other_features_is_refused_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    record = json.loads(encode_model(_model()))
    record["features"] = [*record["features"], "a_feature_of_another_release"]
    record["weights"] = [*record["weights"], 1.0]
    with caplog.at_level(logging.WARNING, "eros.core.population_model"):
        assert decode_model(json.dumps(record)) is None
    assert "other features" in caplog.text


def test_a_model_of_another_format_or_unreadable_is_refused() -> None:
    record = json.loads(encode_model(_model()))
    record["format"] = MODEL_FORMAT + 1
    assert decode_model(json.dumps(record)) is None
    assert decode_model("not json") is None
    assert decode_record(b"{}") is None


def test_a_cache_record_keeps_the_versions_facts() -> None:
    info = ModelVersion(3, 1000, 40, 99, NOW, 1.5)
    stored = decode_record(encode_record(info, encode_model(_model())))
    assert stored is not None and stored.info == info and stored.model is not None


def test_versions_count_up_and_the_newest_is_current(
    db: psycopg.Connection[Any], database_url: str, redis_url: str, redis_client: redis.Redis
) -> None:
    assert _stored(database_url, redis_url) is None
    assert _save(database_url, redis_url, _model(0.1)).version == 1
    assert _save(database_url, redis_url, _model(0.2)).version == 2
    stored = _stored(database_url, redis_url)
    assert stored is not None and stored.info.version == 2
    assert stored.model is not None and stored.model.weights[ABS_AGE_GAP] == 0.2


def test_the_cache_is_read_through_and_a_redis_flush_loses_nothing(
    db: psycopg.Connection[Any], database_url: str, redis_url: str, redis_client: redis.Redis
) -> None:
    _save(database_url, redis_url, _model(0.3))
    assert redis_client.ttl(POPULATION_MODEL_KEY) > 0  # saving makes it current at once

    redis_client.flushall()
    model = with_clients(database_url, redis_url, load_current)

    assert model is not None and model.weights[ABS_AGE_GAP] == 0.3
    assert redis_client.exists(POPULATION_MODEL_KEY)  # filled again from PostgreSQL
    # The cache answers now, even when it disagrees with the table, until its TTL.
    db.execute("UPDATE population_models SET examples = 5")
    stored = _stored(database_url, redis_url)
    assert stored is not None and stored.info.examples == 123


def test_a_stored_model_of_other_features_leaves_ranking_on_the_prior(
    db: psycopg.Connection[Any], database_url: str, redis_url: str, redis_client: redis.Redis
) -> None:
    record = json.loads(encode_model(_model()))
    record["features"] = record["features"][:-1]
    record["weights"] = record["weights"][:-1]
    db.execute(
        "INSERT INTO population_models (version, model, examples, users, last_decision_id, "
        "fitted_at, fit_seconds) VALUES (1, %s, 10, 2, 1, %s, 0.1)",
        (json.dumps(record), NOW),
    )
    stored = _stored(database_url, redis_url)
    assert stored is not None and stored.info.version == 1 and stored.model is None
    assert with_clients(database_url, redis_url, load_current) is None


def _ranked(database_url: str, redis_url: str, viewer: Any) -> list[Any]:
    async def body(conn: psycopg.AsyncConnection[Any], client: aredis.Redis) -> list[Any]:
        inputs = await load_inputs(conn, client, viewer, NOW, FilterRules())
        assert inputs is not None
        return [m.user_id for m in rank(inputs, NOW, 10, FilterRules())]

    return with_clients(database_url, redis_url, body)


def test_ranking_scores_with_the_stored_model(
    db: psycopg.Connection[Any], database_url: str, redis_url: str, redis_client: redis.Redis
) -> None:
    viewer = person(db, Gender.WOMAN, Gender.MAN, birth=date(1994, 5, 1))
    peer = person(db, Gender.MAN, Gender.WOMAN, birth=date(1994, 5, 1))
    older = person(db, Gender.MAN, Gender.WOMAN, birth=date(1985, 5, 1))
    save_profiles(database_url, redis_url, [viewer, peer, older])

    _save(database_url, redis_url, _model(-STRONG_WEIGHT))  # age gaps repel
    assert _ranked(database_url, redis_url, viewer.user_id) == [peer.user_id, older.user_id]

    _save(database_url, redis_url, _model(STRONG_WEIGHT))  # age gaps attract
    assert _ranked(database_url, redis_url, viewer.user_id) == [older.user_id, peer.user_id]
