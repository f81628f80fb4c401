from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from eros.core.matching import (
    FEATURE_NAMES,
    Interaction,
    InteractionKind,
    InteractionLog,
    Reputation,
    fit_population_model,
    fit_user_model,
    prior_model,
    training_examples,
)
from eros.core.matching.interactions import NO_DECISION
from eros.core.matching.learning import CONFIDENCE_HALF_DECISIONS
from tests.core.matching.builders import NOW, NOW_S, man, pool_of, profile

INTEREST = FEATURE_NAMES.index("interest_overlap")
REPUTATION = FEATURE_NAMES.index("reputation")


def liking_high(feature: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random features; the user likes exactly the candidates high on `feature`."""
    x = np.random.default_rng(seed).uniform(-1, 1, size=(n, len(FEATURE_NAMES)))
    return x, x[:, feature] > 0


def test_a_user_who_likes_shared_interests_learns_a_higher_interest_weight() -> None:
    her = profile("her", interests={"hiking": 100.0, "music": 100.0})
    men = [man(f"m{i}", interests={"hiking": 100.0 * (i % 2), "gaming": 80.0}) for i in range(20)]
    pool = pool_of([her, *men])
    # She likes every man who hikes and skips every man who does not.
    log = InteractionLog.from_events(
        [
            Interaction(
                "her",
                f"m{i}",
                InteractionKind.LIKE if i % 2 else InteractionKind.SKIP,
                NOW - timedelta(minutes=i),
            )
            for i in range(20)
        ],
        pool,
    )
    reputation = Reputation.from_log(log, len(pool))
    x, liked = training_examples(pool, 0, NOW_S, reputation, log)
    prior = prior_model()
    model = fit_user_model(x, liked, prior)

    assert x.shape == (20, len(FEATURE_NAMES)) and liked.sum() == 10
    assert model.weights[INTEREST] > prior.weights[INTEREST]
    hiker, non_hiker = x[liked][:1], x[~liked][:1]
    assert model.predict(hiker)[0] > model.predict(non_hiker)[0]


def test_more_consistent_evidence_moves_further_from_the_prior_and_raises_confidence() -> None:
    prior = prior_model()
    shifts, confidences = [], []
    for n in (0, 5, 40, 400):
        x, liked = liking_high(REPUTATION + 1, n)  # age gap: absent from the prior
        model = fit_user_model(x, liked, prior)
        shifts.append(model.weights[REPUTATION + 1] - prior.weights[REPUTATION + 1])
        confidences.append(model.confidence)
    assert shifts[0] == 0.0 and confidences[0] == 0.0
    assert shifts == sorted(shifts) and shifts[-1] > 1.0
    assert confidences == sorted(confidences) and confidences[-1] < 1.0
    assert fit_user_model(*liking_high(0, CONFIDENCE_HALF_DECISIONS), prior).confidence == 0.5


def test_the_population_model_finds_shared_taste_despite_users_of_different_leniency() -> None:
    rng = np.random.default_rng(3)
    users, per_user = 30, 40
    x = rng.uniform(-1, 1, size=(users * per_user, len(FEATURE_NAMES)))
    user_index = np.repeat(np.arange(users), per_user).astype(np.int64)
    leniency = rng.normal(0, 1.5, users)[user_index]
    liked = rng.random(len(x)) < 1 / (1 + np.exp(-(leniency + 2.0 * x[:, INTEREST])))

    model = fit_population_model(x, liked, user_index)

    assert model.weights[INTEREST] == pytest.approx(2.0, abs=0.5)
    assert model.n_decisions == users * per_user


def test_fitting_is_deterministic() -> None:
    x, liked = liking_high(INTEREST, 50)
    a = fit_user_model(x, liked, prior_model())
    b = fit_user_model(x, liked, prior_model())
    np.testing.assert_array_equal(a.weights, b.weights)
    assert a.intercept == b.intercept


def test_reputation_is_a_smoothed_like_rate_that_leaves_out_the_viewers_own_decision() -> None:
    pool = pool_of([man("popular"), man("new"), *(profile(f"w{i}") for i in range(6))])
    log = InteractionLog.from_events(
        [Interaction(f"w{i}", "popular", InteractionKind.LIKE, NOW) for i in range(6)]
        # w0 changed her mind: only a pair's latest decision counts.
        + [Interaction("w0", "popular", InteractionKind.SKIP, NOW + timedelta(seconds=1))],
        pool,
    )
    reputation = Reputation.from_log(log, len(pool), prior_decisions=4.0)
    popular, new = pool.row_of("popular"), pool.row_of("new")

    assert reputation.likes[popular] == 5 and reputation.decisions[popular] == 6
    assert reputation.rate(np.asarray([popular]))[0] == pytest.approx((5 + 4 * 5 / 6) / (6 + 4))
    assert reputation.logit(np.asarray([new]))[0] == 0.0  # no evidence: neutral
    rows = np.asarray([popular, popular])
    own = np.asarray([1, NO_DECISION], np.int8)  # w1 liked him; someone else did not decide
    mine, theirs = reputation.logit_leaving_out(rows, own)
    assert mine < theirs
