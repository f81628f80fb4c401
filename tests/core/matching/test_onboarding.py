"""Onboarding tiers and cooldowns, applied in the one ranking path (`rank_for_viewer`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from eros.core.matching import ExposureLedger, MatchProfile, rank_for_viewer
from eros.core.matching.onboarding import (
    FIRST,
    LAST,
    NEWCOMER_SLOTS,
    NORMAL,
    Tiers,
    onboarding_tiers,
)
from eros.core.matching.ranking import MatchContext, settled_priority, tiered_top_k
from eros.core.matching.standing import COOLDOWN_EXPOSURE_FACTOR, StandingColumns
from tests.core.matching.builders import NOW_S, context, man, pool_of, profile

DAY = 86_400.0
MEN = 8


def varied_men(n: int) -> list[MatchProfile]:
    return [
        man(f"m{i}", interests={"hiking": float(60 - 7 * i), "music": float(40 + 3 * i)})
        for i in range(n)
    ]


def her_and_men() -> MatchContext:
    """Row 0 is her; rows 1.. are men whose match with her differs."""
    return context(pool_of([profile("her"), *varied_men(MEN)]))


def standing(
    size: int,
    new: tuple[int, ...] = (),
    trusted: tuple[int, ...] = (),
    bad: tuple[int, ...] = (),
    cooling: tuple[int, ...] = (),
) -> StandingColumns:
    cols = StandingColumns.neutral(size)
    cols.new[list(new)] = True
    cols.trusted[list(trusted)] = True
    cols.good[list(bad)] = False
    cols.cooldown_end[list(cooling)] = NOW_S + DAY
    return cols


def order(ctx: MatchContext, viewer: int = 0, k: int = MEN) -> list[str]:
    return [str(m.user_id) for m in rank_for_viewer(ctx, viewer, NOW_S, k)]


def test_a_new_viewer_meets_trusted_candidates_before_anyone_else() -> None:
    ctx = her_and_men()
    by_score = order(ctx)
    worst, second_worst = by_score[-1], by_score[-2]
    rows = (ctx.pool.row_of(second_worst), ctx.pool.row_of(worst))

    onboarded = replace(ctx, standing=standing(MEN + 1, new=(0,), trusted=rows))
    assert order(onboarded) == [second_worst, worst, *by_score[:-2]]
    firsts = rank_for_viewer(onboarded, 0, NOW_S, 2)
    assert [m.priority for m in firsts] == [FIRST, FIRST]


def test_a_trusted_viewer_is_shown_a_few_new_members_first_then_by_score() -> None:
    ctx = her_and_men()
    by_score = order(ctx)
    newcomers = by_score[-(NEWCOMER_SLOTS + 1) :]  # the lowest scores, one more than slots
    rows = tuple(ctx.pool.row_of(u) for u in newcomers)

    onboarded = replace(ctx, standing=standing(MEN + 1, new=rows, trusted=(0,)))
    served = order(onboarded)
    assert served[:NEWCOMER_SLOTS] == newcomers[:NEWCOMER_SLOTS]
    assert served[NEWCOMER_SLOTS:] == [u for u in by_score if u not in served[:NEWCOMER_SLOTS]]


def test_a_viewer_not_in_good_standing_meets_new_members_last() -> None:
    ctx = her_and_men()
    by_score = order(ctx)
    best = by_score[0]

    onboarded = replace(ctx, standing=standing(MEN + 1, new=(ctx.pool.row_of(best),), bad=(0,)))
    assert order(onboarded) == [*by_score[1:], best]


def test_a_member_in_a_cooldown_scores_less_and_recovers_once_it_ends() -> None:
    ctx = her_and_men()
    baseline = rank_for_viewer(ctx, 0, NOW_S, MEN)
    best = baseline[0]
    cooled = replace(ctx, standing=standing(MEN + 1, cooling=(ctx.pool.row_of(best.user_id),)))

    during = rank_for_viewer(cooled, 0, NOW_S, MEN)
    penalised = next(m for m in during if m.user_id == best.user_id)
    assert penalised.score == best.score * COOLDOWN_EXPOSURE_FACTOR
    assert during.index(penalised) > 0

    after = rank_for_viewer(cooled, 0, NOW_S + 2 * DAY, MEN)
    assert after[0].user_id == best.user_id


def test_a_member_in_a_cooldown_is_handed_out_to_fewer_viewers_a_day() -> None:
    ctx = her_and_men()
    cooling_row, other_row = 1, 2
    cooled = replace(ctx, standing=standing(MEN + 1, cooling=(cooling_row,)))
    ledger = ExposureLedger.fresh(MEN + 1, cap=2)
    ledger.counts[[cooling_row, other_row]] = 1  # each was handed out once today

    served = {str(m.user_id) for m in rank_for_viewer(cooled, 0, NOW_S, MEN, ledger)}
    assert ctx.pool.user_ids[cooling_row] not in served
    assert ctx.pool.user_ids[other_row] in served


def test_tiers_follow_the_viewer_and_the_candidates_standing() -> None:
    rows = np.arange(1, 5, dtype=np.int64)
    cols = standing(5, new=(0, 1), trusted=(2,))
    new_viewer = onboarding_tiers(cols, 0, rows)
    assert new_viewer.priority.tolist() == [NORMAL, FIRST, NORMAL, NORMAL]
    assert new_viewer.first_limit is None

    trusted_viewer = onboarding_tiers(cols, 2, np.asarray([0, 1, 3], np.int64))
    assert trusted_viewer.priority.tolist() == [FIRST, FIRST, NORMAL]
    assert trusted_viewer.first_limit == NEWCOMER_SLOTS

    shady = standing(5, new=(1,), bad=(3,))
    assert onboarding_tiers(shady, 3, rows[:2]).priority.tolist() == [LAST, NORMAL]
    assert onboarding_tiers(shady, 4, rows[:2]).priority.tolist() == [NORMAL, NORMAL]


def test_a_list_is_filled_tier_by_tier_and_the_first_tier_is_cut_to_its_limit() -> None:
    scores = np.asarray([0.9, 0.2, 0.5, 0.4, 0.8])
    rows = np.arange(5, dtype=np.int64)
    tiers = Tiers(np.asarray([NORMAL, FIRST, FIRST, LAST, NORMAL], np.int8), first_limit=1)

    priority = settled_priority(scores, rows, tiers)
    assert priority.tolist() == [NORMAL, NORMAL, FIRST, LAST, NORMAL]
    assert tiered_top_k(scores, rows, priority, 4).tolist() == [2, 0, 4, 1]
    assert tiered_top_k(scores, rows, priority, 10).tolist() == [2, 0, 4, 1, 3]
