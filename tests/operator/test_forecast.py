"""The forecast of threshold crossings: a pure function of idle ages and a return model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eros.operator.forecast import BUCKET_EDGES_SECONDS, ReturnModel, expected_crossings

THRESHOLDS = [600, 1800, 3600]


def test_with_nobody_returning_every_user_due_within_the_horizon_counts_once() -> None:
    model = ReturnModel.prior().observe(10 * 86400, hour=3, count=1e5)  # all away for days
    ages = [585.0, 595.0, 570.0, 1790.0, 3600.0, 100.0]

    crossings = expected_crossings(ages, THRESHOLDS, 20, model, hour=3)

    assert crossings[0] == pytest.approx(2.0, rel=1e-3)
    assert crossings[1] == pytest.approx(1.0, rel=1e-3)
    assert crossings[2] == 0.0  # already in phase 3


def test_a_known_hazard_gives_the_known_stay_probability() -> None:
    model = ReturnModel.prior()
    log_s = model.log_survival(0)
    low, high = BUCKET_EDGES_SECONDS[5], BUCKET_EDGES_SECONDS[6]  # 450-540 s, one bucket
    bucket_stay = math.exp(log_s[6] - log_s[5])

    assert model.stay_probability(low, high - low, 0) == pytest.approx(bucket_stay)
    # Constant hazard within the bucket: half of it is the square root of the whole.
    assert model.stay_probability(low, (high - low) / 2, 0) == pytest.approx(bucket_stay**0.5)
    crossings = expected_crossings([low], [int(high)], high - low, model, 0)
    assert crossings == pytest.approx((bucket_stay,))


def test_the_expectation_grows_with_the_horizon() -> None:
    ages = np.random.default_rng(7).uniform(0, 4000, 10_000)
    model = ReturnModel.prior()
    sums = [sum(expected_crossings(ages, THRESHOLDS, h, model, 12)) for h in (5, 20, 60, 300)]
    assert sums == sorted(sums) and sums[0] > 0


def test_it_is_zero_when_everyone_returns_before_the_crossing() -> None:
    model = ReturnModel.prior().observe(545, hour=8, count=1e5)  # all return at 540-600 s
    assert expected_crossings([540.0] * 100, THRESHOLDS, 60, model, 8)[0] < 0.1


def test_the_hour_of_day_is_respected() -> None:
    model = ReturnModel.prior().observe(545, hour=8, count=1e5)
    at_eight = expected_crossings([540.0] * 100, THRESHOLDS, 60, model, 8)[0]
    at_nine = expected_crossings([540.0] * 100, THRESHOLDS, 60, model, 9)[0]
    assert at_eight < 0.1 < 90 < at_nine


def test_observe_is_pure_and_the_model_survives_its_json_form() -> None:
    prior = ReturnModel.prior()
    learned = prior.observe(700, hour=2)
    assert prior == ReturnModel.prior() != learned
    assert ReturnModel.from_json(learned.to_json()) == learned


def test_an_hour_outside_the_day_is_refused() -> None:
    with pytest.raises(ValueError, match="0-23"):
        ReturnModel.prior().stay_probability(10, 10, 24)
