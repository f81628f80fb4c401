from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eros.core.matching import (
    Interaction,
    InteractionKind,
    InteractionLog,
    ModelTable,
    Reputation,
    prior_model,
    profile_prior_score,
    reciprocal_score,
    score_candidates,
    scoring,
)
from eros.core.matching.components import COMPONENT_NAMES
from eros.core.matching.learning import PROFILE_PRIOR_WEIGHTS
from tests.core.matching.builders import NOW, NOW_S, man, pool_of, profile

probability = st.floats(min_value=0.0, max_value=1.0)


@given(a=probability, b=probability)
def test_the_reciprocal_score_stays_in_0_1_between_the_sides_and_under_the_root_of_the_lower(
    a: float, b: float
) -> None:
    r = float(reciprocal_score(np.asarray([a]), np.asarray([b]))[0])
    low, high = min(a, b), max(a, b)
    assert 0.0 <= r <= 1.0
    assert low - 1e-12 <= r <= high + 1e-12
    # The most a reluctant side can be lifted by an eager one: to sqrt(lower).
    assert r <= np.sqrt(low) + 1e-12


@settings(max_examples=50)
@given(st.lists(st.one_of(st.none(), probability), min_size=8, max_size=8))
def test_the_profile_prior_score_is_in_0_1_and_neutral_without_main_components(
    parts: list[float | None],
) -> None:
    comps = np.asarray([[np.nan if p is None else p for p in parts]])
    s = float(profile_prior_score(comps)[0])
    assert 0.0 <= s <= 1.0
    if all(p is None for p in parts):
        assert s == 0.5


def test_the_profile_prior_weighs_values_35_communication_25_interests_20_the_rest_10() -> None:
    assert PROFILE_PRIOR_WEIGHTS[:5] == (0.35, 0.25, 0.20, 0.10, 0.10)
    assert len(PROFILE_PRIOR_WEIGHTS) == len(COMPONENT_NAMES)
    eye = np.eye(5)  # one main component perfect, the other four at zero
    full = np.hstack([eye, np.ones((5, 3))])  # modifiers at their best
    np.testing.assert_allclose(profile_prior_score(full), PROFILE_PRIOR_WEIGHTS[:5])
    worst_modifiers = np.hstack([np.ones((1, 5)), np.zeros((1, 3))])
    assert float(profile_prior_score(worst_modifiers)[0]) == pytest.approx(0.95**3)


def test_a_candidate_who_already_liked_the_viewer_is_certainly_interested_unless_evaluating() -> (
    None
):
    pool = pool_of([profile("her"), man("liked_her"), man("skipped_her"), man("silent")])
    log = InteractionLog.from_events(
        [
            Interaction("liked_her", "her", InteractionKind.LIKE, NOW),
            Interaction("skipped_her", "her", InteractionKind.SKIP, NOW),
        ],
        pool,
    )
    models = ModelTable.build(len(pool), prior_model())
    reputation = Reputation.from_log(log, len(pool))
    rows = np.arange(1, 4)
    live = score_candidates(pool, 0, rows, NOW_S, models, reputation, log)
    replay = score_candidates(
        pool, 0, rows, NOW_S, models, reputation, log, use_known_interest=False
    )

    assert live.candidate_interest[0] == 1.0
    assert live.candidate_interest[1] == 0.0
    assert live.known_like.tolist() == [True, False, False]
    assert replay.candidate_interest.min() > 0.0
    assert replay.candidate_interest.max() < 1.0
    assert not replay.known_like.any()
    # In a replay the viewer's reputation leaves out every listed candidate's decision,
    # so it is the same for all of them (equal candidates, equal predicted interest).
    assert np.ptp(replay.candidate_interest) < 1e-12


def test_scoring_is_deterministic() -> None:
    pool = pool_of(
        [profile("her")] + [man(f"m{i}", interests={"music": float(i * 10)}) for i in range(8)]
    )
    models = ModelTable.build(len(pool), prior_model())
    log = InteractionLog.empty()
    reputation = Reputation.from_log(log, len(pool))
    rows = np.arange(1, 9)
    first = score_candidates(pool, 0, rows, NOW_S, models, reputation, log)
    second = score_candidates(pool, 0, rows, NOW_S, models, reputation, log)
    np.testing.assert_array_equal(first.score, second.score)
    np.testing.assert_array_equal(first.features, second.features)


def test_scoring_in_chunks_gives_the_same_scores_as_in_one_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pool = pool_of(
        [profile("her")] + [man(f"m{i}", interests={"music": float(i * 9)}) for i in range(10)]
    )
    models = ModelTable.build(len(pool), prior_model())
    log = InteractionLog.empty()
    reputation = Reputation.from_log(log, len(pool))
    rows = np.arange(1, 11)
    whole = score_candidates(pool, 0, rows, NOW_S, models, reputation, log)
    monkeypatch.setattr(scoring, "CHUNK_ROWS", 3)
    chunked = score_candidates(pool, 0, rows, NOW_S, models, reputation, log)
    np.testing.assert_array_equal(whole.score, chunked.score)
    np.testing.assert_array_equal(whole.components, chunked.components)
    assert np.all((whole.score >= 0) & (whole.score <= 1))
