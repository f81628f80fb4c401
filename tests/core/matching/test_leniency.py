"""`decider_offsets`: how lenient each unfitted candidate is, as an intercept shift."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from eros.core.matching import (
    Interaction,
    InteractionKind,
    InteractionLog,
    ModelTable,
    decider_offsets,
    offsets_from_counts,
    prior_model,
)
from tests.core.matching.builders import NOW, man, pool_of, profile


def decisions(pool_size_men: int, likes_by: dict[str, int]) -> list[Interaction]:
    """Each named woman decides on every man, liking the first `likes_by[name]` of them."""
    return [
        Interaction(
            who,
            f"m{i}",
            InteractionKind.LIKE if i < likes else InteractionKind.SKIP,
            NOW - timedelta(minutes=i),
        )
        for who, likes in likes_by.items()
        for i in range(pool_size_men)
    ]


def test_a_lenient_decider_gets_a_positive_offset_and_a_choosy_one_a_negative_one() -> None:
    people = [profile("lenient"), profile("choosy"), profile("silent")]
    pool = pool_of([*people, *(man(f"m{i}") for i in range(10))])
    log = InteractionLog.from_events(decisions(10, {"lenient": 9, "choosy": 1}), pool)

    offsets = decider_offsets(log, len(pool))

    lenient, choosy, silent = offsets[:3]
    assert lenient > 0 > choosy
    assert silent == 0.0  # no decisions: exactly the population's intercept
    assert np.all(offsets[3:] == 0.0)


def test_more_evidence_moves_the_offset_further_from_zero() -> None:
    # A crowd that likes everyone, and her, who skips everyone: a few times or many.
    crowd = [man("crowd"), *(profile(f"w{i}") for i in range(3))]
    lenient_crowd = [Interaction("crowd", f"w{i}", InteractionKind.LIKE, NOW) for i in range(3)]

    def her_offset(skips: int) -> float:
        pool = pool_of([profile("her"), *(man(f"m{i}") for i in range(skips)), *crowd])
        log = InteractionLog.from_events([*decisions(skips, {"her": 0}), *lenient_crowd], pool)
        return float(decider_offsets(log, len(pool))[0])

    assert her_offset(40) < her_offset(4) < 0


def test_offsets_shift_only_the_rows_without_a_model_of_their_own() -> None:
    population = prior_model()
    fitted = prior_model()
    offsets = np.asarray([1.0, -2.0, 0.5])

    table = ModelTable.build(3, population, {1: fitted}, default_offsets=offsets)

    assert table.intercepts[0] == population.intercept + 1.0
    assert table.intercepts[1] == fitted.intercept  # its own fit already says how lenient
    assert table.intercepts[2] == population.intercept + 0.5


def test_offsets_from_counts_are_the_same_rule_as_offsets_from_the_log() -> None:
    people = [profile("lenient"), profile("choosy"), profile("silent")]
    pool = pool_of([*people, *(man(f"m{i}") for i in range(10))])
    log = InteractionLog.from_events(decisions(10, {"lenient": 9, "choosy": 1}), pool)
    likes = np.zeros(len(pool))
    given = np.zeros(len(pool))
    likes[pool.row_of("lenient")], given[pool.row_of("lenient")] = 9, 10
    likes[pool.row_of("choosy")], given[pool.row_of("choosy")] = 1, 10

    assert np.allclose(offsets_from_counts(likes, given), decider_offsets(log, len(pool)))
