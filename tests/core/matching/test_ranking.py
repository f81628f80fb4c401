from __future__ import annotations

import json

import numpy as np

from eros.core.matching import (
    COMPONENT_NAMES,
    ExposureLedger,
    Interaction,
    InteractionKind,
    InteractionLog,
    MatchProfile,
    daily_order,
    rank_for_viewer,
)
from eros.core.matching.ranking import (
    DEFAULT_TOP_K,
    LIKES_YOU_REASON,
    REASONS_PER_MATCH,
    REPUTATION_REASON,
    Match,
    MatchContext,
    top_k,
)
from tests.core.matching.builders import NOW, NOW_S, context, man, pool_of, profile

REASON_CODES = {*COMPONENT_NAMES, REPUTATION_REASON, LIKES_YOU_REASON}


def varied_men(n: int) -> list[MatchProfile]:
    return [
        man(f"m{i}", interests={"hiking": float(10 * i % 100), "music": float(7 * i % 100)})
        for i in range(n)
    ]


def serve_in_turn(
    ctx: MatchContext, viewers: np.ndarray, k: int, ledger: ExposureLedger
) -> dict[int, list[Match]]:
    """A batch as the workers serve it: viewer by viewer, through one exposure ledger."""
    return {int(v): rank_for_viewer(ctx, int(v), NOW_S, k, ledger) for v in viewers}


def test_every_match_carries_up_to_three_machine_readable_reasons() -> None:
    pool = pool_of([profile("her"), *varied_men(12)])
    log = InteractionLog.from_events([Interaction("m3", "her", InteractionKind.LIKE, NOW)], pool)
    matches = rank_for_viewer(context(pool, log=log), 0, NOW_S, k=5)

    assert len(matches) == 5
    for match in matches:
        assert 1 <= len(match.reasons) <= REASONS_PER_MATCH
        assert {r.code for r in match.reasons} <= REASON_CODES
        assert all(0.0 <= r.score <= 1.0 for r in match.reasons)
        decoded = json.loads(json.dumps(match.to_dict()))
        assert decoded["reasons"][0].keys() == {"code", "score", "contribution"}
    admirer = next(m for m in matches if m.user_id == "m3")
    assert admirer.reasons[0].code == LIKES_YOU_REASON
    assert matches[0].user_id == "m3"  # certain interest on one side lifts the pair


def test_matches_are_ordered_best_first_by_reciprocal_score() -> None:
    pool = pool_of([profile("her"), *varied_men(12)])
    matches = rank_for_viewer(context(pool), 0, NOW_S, k=12)
    scores = [m.score for m in matches]
    assert scores == sorted(scores, reverse=True)
    for m in matches:
        assert m.score <= np.sqrt(min(m.viewer_interest, m.candidate_interest)) + 1e-12


def test_the_exposure_cap_stops_one_popular_profile_being_shown_to_everyone() -> None:
    star = man("star", interests={"hiking": 60.0, "music": 40.0})  # identical tastes to all
    others = [man(f"m{i}", interests={"gaming": 50.0}) for i in range(4)]
    women = [profile(f"w{i}") for i in range(12)]
    pool = pool_of([star, *others, *women])
    ledger = ExposureLedger.fresh(len(pool), cap=5)
    viewers = np.asarray([pool.row_of(w.user_id) for w in women])

    results = serve_in_turn(context(pool), viewers, 2, ledger)

    shown_star = sum(any(m.user_id == "star" for m in ms) for ms in results.values())
    assert shown_star == 5
    assert all(results[int(v)][0].user_id == "star" for v in viewers[:5])
    assert ledger.counts.max() <= 5
    assert ledger.counts.sum() == sum(len(ms) for ms in results.values())


def test_ranking_is_deterministic() -> None:
    pool = pool_of([*(profile(f"w{i}") for i in range(5)), *varied_men(10)])
    viewers = np.arange(5)
    first = serve_in_turn(context(pool), viewers, DEFAULT_TOP_K, ExposureLedger.fresh(len(pool), 3))
    second = serve_in_turn(
        context(pool), viewers, DEFAULT_TOP_K, ExposureLedger.fresh(len(pool), 3)
    )
    assert first == second


def test_top_k_breaks_ties_by_lower_row() -> None:
    scores = np.asarray([0.5, 0.9, 0.5, 0.5, 0.1])
    rows = np.asarray([40, 10, 30, 20, 0])
    assert rows[top_k(scores, rows, 3)].tolist() == [10, 20, 30]
    assert rows[top_k(scores, rows, 10)].tolist() == [10, 20, 30, 40, 0]


def test_the_daily_order_is_a_fixed_permutation_per_day_that_changes_between_days() -> None:
    rows = np.arange(1000, dtype=np.int64)
    monday, again, tuesday = daily_order(rows, 1), daily_order(rows, 1), daily_order(rows, 2)
    assert sorted(monday.tolist()) == rows.tolist()
    assert monday.tolist() == again.tolist()
    assert monday.tolist() != tuesday.tolist()
