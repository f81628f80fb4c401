"""Fitting the population model from real decisions: a bounded read of the newest likes
and skips, turned into the ranking's own training examples, stored as the next version
only when enough new decisions arrived."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import numpy as np
import psycopg
import redis
import redis.asyncio as aredis

from eros.core.matching import (
    CandidatePool,
    Interaction,
    InteractionKind,
    InteractionLog,
    Reputation,
    training_examples,
)
from eros.core.population_training import FitOutcome, refit, training_set
from eros.core.profiles import Gender, Profile
from eros.core.recommendation_inputs import to_match_profile, vocabulary_of
from tests.core.population_support import NOW, decide, person, save_profiles, with_clients

HIKING, GAMING = {"hiking": 95}, {"gaming": 95}


def _profile(gender: Gender, seeks: Gender) -> Profile:
    return Profile(uuid4(), "P", NOW.date().replace(year=1994), gender, (seeks,))


def _decision(actor: UUID, target: UUID, kind: InteractionKind, days_ago: int) -> Interaction:
    return Interaction(actor, target, kind, NOW - timedelta(days=days_ago))


def test_the_training_set_has_one_example_per_pair_and_names_each_decider() -> None:
    women = [_profile(Gender.WOMAN, Gender.MAN) for _ in range(2)]
    men = [_profile(Gender.MAN, Gender.WOMAN) for _ in range(3)]
    profiles = [to_match_profile(p, NOW, True) for p in women + men]
    stranger = uuid4()  # no profile: decisions by or on them teach nothing
    like, skip = InteractionKind.LIKE, InteractionKind.SKIP
    decisions = [
        _decision(women[0].user_id, men[0].user_id, skip, 3),
        _decision(women[0].user_id, men[0].user_id, like, 2),  # changed her mind: one example
        _decision(women[0].user_id, men[1].user_id, skip, 2),
        _decision(women[1].user_id, men[2].user_id, like, 1),
        _decision(women[1].user_id, stranger, like, 1),
        _decision(stranger, men[2].user_id, like, 1),
    ]

    examples = training_set(profiles, decisions, NOW)

    assert (examples.examples, examples.users) == (3, 2)
    assert examples.features.shape[0] == 3
    assert sorted(examples.user_index.tolist()) == [0, 0, 1]
    assert examples.liked.sum() == 2


def test_the_training_set_is_what_ranking_builds_for_each_decider() -> None:
    rng = np.random.default_rng(14)
    women = [_profile(Gender.WOMAN, Gender.MAN) for _ in range(4)]
    men = [_profile(Gender.MAN, Gender.WOMAN) for _ in range(5)]
    for i, p in enumerate(women + men):
        p.interests.update({"hiking": 10 * i, "gaming": 90 - 10 * i})
    profiles = [to_match_profile(p, NOW, True) for p in women + men]
    decisions = [
        _decision(a.user_id, b.user_id, InteractionKind(int(rng.integers(2, 4))), int(d))
        for d, (a, b) in enumerate(
            [(w, m) for w in women for m in men] + [(m, w) for m in men for w in women]
        )
    ]

    examples = training_set(profiles, decisions, NOW)

    pool = CandidatePool.from_profiles(profiles, vocabulary_of(profiles))
    log = InteractionLog.from_events(decisions, pool)
    reputation = Reputation.from_log(log, len(pool))
    expected = [training_examples(pool, r, NOW.timestamp(), reputation, log) for r in range(9)]
    assert np.allclose(examples.features, np.vstack([x for x, _ in expected]))
    assert np.array_equal(examples.liked, np.concatenate([y for _, y in expected]))
    assert examples.users == 9


def test_no_profiles_or_no_decisions_make_an_empty_training_set() -> None:
    assert training_set([], [], NOW).examples == 0
    profiles = [to_match_profile(_profile(Gender.WOMAN, Gender.MAN), NOW, True)]
    assert training_set(profiles, [], NOW).users == 0


def _seed(
    db: psycopg.Connection[Any], database_url: str, redis_url: str, deciders: int, each: int
) -> None:
    """`deciders` women who each like hikers and skip gamers among `each` men."""
    women = [person(db, Gender.WOMAN, Gender.MAN) for _ in range(deciders)]
    men = [
        person(db, Gender.MAN, Gender.WOMAN, interests=HIKING if i % 2 else GAMING)
        for i in range(each)
    ]
    save_profiles(database_url, redis_url, women + men)
    for woman in women:
        for i, man in enumerate(men):
            decide(db, woman.user_id, man.user_id, liked=bool(i % 2))


def _refit(database_url: str, redis_url: str, min_new: int, cap: int = 10_000) -> FitOutcome:
    async def body(conn: psycopg.AsyncConnection[Any], client: aredis.Redis) -> FitOutcome:
        return await refit(conn, client, NOW, min_new_decisions=min_new, cap=cap)

    return with_clients(database_url, redis_url, body)


def test_fits_from_seeded_decisions_make_version_one_then_two(
    db: psycopg.Connection[Any], database_url: str, redis_url: str, redis_client: redis.Redis
) -> None:
    _seed(db, database_url, redis_url, deciders=3, each=6)

    first = _refit(database_url, redis_url, min_new=10).version
    assert first is not None
    assert (first.version, first.examples, first.users) == (1, 18, 3)

    _seed(db, database_url, redis_url, deciders=2, each=6)
    second = _refit(database_url, redis_url, min_new=10).version
    assert second is not None
    assert (second.version, second.examples, second.users) == (2, 30, 5)
    assert second.last_decision_id > first.last_decision_id
    assert second.fitted_at == NOW and second.fit_seconds >= 0


def test_no_version_is_fitted_until_enough_new_decisions_arrived(
    db: psycopg.Connection[Any], database_url: str, redis_url: str, redis_client: redis.Redis
) -> None:
    _seed(db, database_url, redis_url, deciders=2, each=4)  # 8 decisions
    assert _refit(database_url, redis_url, min_new=9) == FitOutcome(8, None)
    assert _refit(database_url, redis_url, min_new=8).version is not None

    _seed(db, database_url, redis_url, deciders=1, each=4)  # 4 new since version 1
    assert _refit(database_url, redis_url, min_new=8) == FitOutcome(4, None)


def test_a_fit_reads_only_the_newest_decisions_up_to_its_cap(
    db: psycopg.Connection[Any], database_url: str, redis_url: str, redis_client: redis.Redis
) -> None:
    _seed(db, database_url, redis_url, deciders=4, each=5)  # 20 decisions
    fitted = _refit(database_url, redis_url, min_new=1, cap=7).version
    assert fitted is not None and fitted.examples == 7
