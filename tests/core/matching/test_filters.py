from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pytest

from eros.core.matching import (
    BlockGraph,
    CandidatePool,
    Interaction,
    InteractionKind,
    InteractionLog,
    NonNegotiable,
    NonNegotiableKind,
    candidate_rows,
    rank_for_viewer,
)
from eros.core.matching.filters import (
    FilterRules,
    distance_km,
    mutual_age,
    mutual_distance,
    mutual_gender,
    no_off_limits_conflict,
)
from eros.core.matching.pool import unit_vector
from tests.core.matching.builders import NOW, NOW_S, context, man, pool_of, profile

MUNICH = (48.137, 11.575)


def ids(pool: CandidatePool, rows: np.ndarray) -> set[object]:
    return {pool.user_ids[int(r)] for r in rows}


def event(actor: str, target: str, kind: InteractionKind, days_ago: float) -> Interaction:
    return Interaction(actor, target, kind, NOW - timedelta(days=days_ago))


def test_every_hard_filter_excludes_exactly_the_people_it_should() -> None:
    viewer = profile(
        "viewer",
        interests={"hiking": 85.0},  # insists on hiking
        off_limits_topics=frozenset({"politics"}),
    )
    people = [
        viewer,
        man("ok"),
        man("shown_long_ago"),
        man("active_29_days_ago", last_active_at=NOW - timedelta(days=29)),
        profile("woman_seeking_women", genders_sought=frozenset({"woman"})),
        man("seeks_men_only", genders_sought=frozenset({"man"})),
        man("too_old_for_viewer", birth_date=date(1984, 6, 1)),  # 41
        man("viewer_too_old_for_him", age_min=18, age_max=29),
        man("far_away", latitude=MUNICH[0], longitude=MUNICH[1]),
        man("his_limit_is_tighter", latitude=52.52, longitude=13.85, max_distance_km=20.0),
        man("blocked_by_viewer"),
        man("blocked_the_viewer"),
        man("hiking_off_limits", off_limits_topics=frozenset({"hiking"})),
        man("insists_on_politics", interests={"politics": 90.0}),
        man("shown_recently"),
        man("liked"),
        man("skipped"),
        man("reported"),
        man("paused", active=False),
        man("dormant", last_active_at=NOW - timedelta(days=31)),
    ]
    pool = pool_of(people)
    log = InteractionLog.from_events(
        [
            event("viewer", "shown_recently", InteractionKind.IMPRESSION, 2),
            event("viewer", "shown_long_ago", InteractionKind.VIEW, 60),
            event("viewer", "liked", InteractionKind.LIKE, 90),
            event("viewer", "skipped", InteractionKind.SKIP, 1),
            event("viewer", "reported", InteractionKind.REPORT, 5),
        ],
        pool,
    )
    blocks = BlockGraph.from_pairs(
        [("viewer", "blocked_by_viewer"), ("blocked_the_viewer", "viewer")], pool
    )

    rows = candidate_rows(pool, pool.row_of("viewer"), NOW_S, blocks, log)

    assert ids(pool, rows) == {"ok", "shown_long_ago", "active_29_days_ago"}


def test_gender_must_be_sought_by_both_sides() -> None:
    pool = pool_of(
        [
            profile("viewer", genders_sought=frozenset({"man", "nonbinary"})),
            man("man"),
            profile("nonbinary_seeking_men", gender="nonbinary"),
            profile(
                "nonbinary_seeking_women", gender="nonbinary", genders_sought=frozenset({"woman"})
            ),
        ]
    )
    rows = np.arange(1, 4)
    passed = rows[mutual_gender(pool.columns, 0, rows)]
    assert ids(pool, passed) == {"man", "nonbinary_seeking_women"}


def test_age_limits_are_inclusive_and_birthdays_count_from_their_day() -> None:
    pool = pool_of(
        [
            profile("viewer", age_min=30, age_max=40),
            man("exactly_40", birth_date=date(1985, 6, 1)),
            man("turns_41_today", birth_date=date(1984, 6, 1)),
            man("turns_30_tomorrow", birth_date=date(1995, 6, 2)),
            man("exactly_30", birth_date=date(1995, 6, 1)),
        ]
    )
    rows = np.arange(1, 5)
    passed = rows[mutual_age(pool.columns, 0, rows, NOW.date())]
    assert ids(pool, passed) == {"exactly_40", "exactly_30"}


def test_distance_must_be_within_both_limits_and_unknown_locations_only_pass_without_limits() -> (
    None
):
    pool = pool_of(
        [
            profile("viewer", max_distance_km=100.0),
            man("munich_no_limit", latitude=MUNICH[0], longitude=MUNICH[1], max_distance_km=None),
            man("near_with_limit", latitude=52.6, longitude=13.4, max_distance_km=15.0),
            man("unknown_location", latitude=None, longitude=None, max_distance_km=None),
        ]
    )
    rows = np.arange(1, 4)
    passed = rows[mutual_distance(pool.columns, 0, rows)]
    assert ids(pool, passed) == {"near_with_limit"}

    no_limits = pool_of(
        [
            profile("viewer", max_distance_km=None),
            man("unknown_location", latitude=None, longitude=None, max_distance_km=None),
        ]
    )
    assert mutual_distance(no_limits.columns, 0, np.arange(1, 2)).tolist() == [True]


def test_great_circle_distance_berlin_munich_is_about_504_km_and_precise_at_a_metre() -> None:
    berlin = np.asarray([unit_vector(52.52, 13.405)])
    munich = np.asarray([unit_vector(*MUNICH)])
    assert float(distance_km(berlin, munich)[0]) == pytest.approx(504, abs=2)
    nearby = np.asarray([unit_vector(52.52, 13.405 + 1e-5)])  # under a metre east
    assert float(distance_km(berlin, nearby)[0]) == pytest.approx(0.000679, rel=0.01)


def test_insisted_topics_conflict_with_off_limits_either_way() -> None:
    pool = pool_of(
        [
            profile(
                "viewer",
                non_negotiables=(NonNegotiable(NonNegotiableKind.INTEREST, "politics"),),
                off_limits_topics=frozenset({"hiking"}),
            ),
            man("politics_off_limits", off_limits_topics=frozenset({"politics"})),
            man("mild_hiking_is_fine", interests={"hiking": 79.0}),
            man("keen_hiker", interests={"hiking": 80.0}),
            man("no_conflict", interests={"music": 90.0}),
        ]
    )
    rows = np.arange(1, 5)
    passed = rows[no_off_limits_conflict(pool.columns, 0, rows)]
    assert ids(pool, passed) == {"mild_hiking_is_fine", "no_conflict"}


def test_a_block_either_way_hides_both_people_from_each_other() -> None:
    pool = pool_of([profile("her"), man("him"), man("other")])
    blocks = BlockGraph.from_pairs([("him", "her")], pool)
    ctx = context(pool, blocks=blocks)

    her_matches = {m.user_id for m in rank_for_viewer(ctx, pool.row_of("her"), NOW_S)}
    his_rows = candidate_rows(pool, pool.row_of("him"), NOW_S, blocks, ctx.log)

    assert her_matches == {"other"}
    assert "her" not in ids(pool, his_rows)
    assert set(blocks.blocked_with(pool.row_of("her")).tolist()) == {pool.row_of("him")}
    assert set(blocks.blocked_with(pool.row_of("him")).tolist()) == {pool.row_of("her")}


def test_the_reshow_cooldown_and_inactivity_window_are_configurable() -> None:
    pool = pool_of(
        [profile("viewer"), man("shown_5_days_ago", last_active_at=NOW - timedelta(days=10))]
    )
    log = InteractionLog.from_events(
        [event("viewer", "shown_5_days_ago", InteractionKind.IMPRESSION, 5)], pool
    )
    none = BlockGraph(np.zeros(0, np.int64), np.zeros(0, np.int64))
    default = candidate_rows(pool, 0, NOW_S, none, log)
    lenient = candidate_rows(pool, 0, NOW_S, none, log, FilterRules(reshow_cooldown_days=3))
    strict = candidate_rows(
        pool, 0, NOW_S, none, log, FilterRules(reshow_cooldown_days=3, inactive_after_days=7)
    )
    assert ids(pool, default) == set()
    assert ids(pool, lenient) == {"shown_5_days_ago"}
    assert ids(pool, strict) == set()


def test_the_viewer_is_never_their_own_candidate() -> None:
    pool = pool_of([profile("viewer", genders_sought=frozenset({"woman"}), age_min=18, age_max=99)])
    none = BlockGraph(np.zeros(0, np.int64), np.zeros(0, np.int64))
    assert candidate_rows(pool, 0, NOW_S, none, InteractionLog.empty()).size == 0


def test_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        profile("naive", last_active_at=datetime(2025, 1, 1))
