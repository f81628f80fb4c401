from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from eros.core.matching import (
    AvailabilityWindow,
    MatchProfile,
    NonNegotiable,
    NonNegotiableKind,
)
from eros.core.matching.components import COMPONENT_NAMES, component_pairs
from tests.core.matching.builders import NOW_S, VOCABULARY, man, pool_of, profile

INTEREST = COMPONENT_NAMES.index("interest_overlap")
VALUES = COMPONENT_NAMES.index("values_alignment")
AVAILABILITY = COMPONENT_NAMES.index("availability_overlap")
PROXIMITY = COMPONENT_NAMES.index("proximity")
SYMMETRIC = [COMPONENT_NAMES.index(c) for c in ("conversation_depth", "proximity")]

sliders = st.integers(min_value=0, max_value=100).map(float)
interest_maps = st.dictionaries(st.sampled_from(VOCABULARY.interests), sliders)
value_maps = st.dictionaries(st.sampled_from(VOCABULARY.values), sliders)
windows = st.builds(
    lambda day, start, hours: AvailabilityWindow(day, start * 60, min(24, start + hours) * 60),
    st.integers(0, 6),
    st.integers(0, 23),
    st.integers(1, 6),
)


def scores(a: MatchProfile, b: MatchProfile) -> tuple[np.ndarray, np.ndarray]:
    """(a looking at b, b looking at a) component rows."""
    cols = pool_of([a, b]).columns
    one, two = cols.take(np.array([0])), cols.take(np.array([1]))
    ab, ba = component_pairs(one, two, NOW_S)
    return ab[0], ba[0]


@settings(max_examples=60, deadline=None)
@given(
    mine=interest_maps,
    theirs=interest_maps,
    key=st.sampled_from(VOCABULARY.interests),
    raise_by=sliders,
)
def test_raising_any_of_the_candidates_interests_never_lowers_interest_overlap(
    mine: dict[str, float], theirs: dict[str, float], key: str, raise_by: float
) -> None:
    higher = {**theirs, key: min(100.0, theirs.get(key, 0.0) + raise_by)}
    before = scores(profile("a", interests=mine), man("b", interests=theirs))[0][INTEREST]
    after = scores(profile("a", interests=mine), man("b", interests=higher))[0][INTEREST]
    assert (math.isnan(before) and math.isnan(after)) or after >= before - 1e-6


@settings(max_examples=60, deadline=None)
@given(
    mine=interest_maps,
    theirs=interest_maps,
    key=st.sampled_from(VOCABULARY.interests),
    strength=sliders,
    extra=sliders,
)
def test_adding_an_interest_both_share_never_lowers_interest_overlap(
    mine: dict[str, float], theirs: dict[str, float], key: str, strength: float, extra: float
) -> None:
    mine = {k: v for k, v in mine.items() if k != key}
    shared_mine = {**mine, key: strength}
    shared_theirs = {**theirs, key: min(100.0, strength + extra)}  # they share at least as much
    before = scores(profile("a", interests=mine), man("b", interests=theirs))[0][INTEREST]
    after = scores(profile("a", interests=shared_mine), man("b", interests=shared_theirs))[0][
        INTEREST
    ]
    if not math.isnan(before):
        assert after >= before - 1e-6


@settings(max_examples=60, deadline=None)
@given(
    interests=st.tuples(interest_maps, interest_maps),
    values=st.tuples(value_maps, value_maps),
    depth=st.tuples(st.none() | sliders, st.none() | sliders),
    free=st.tuples(st.lists(windows, max_size=4), st.lists(windows, max_size=4)),
    where=st.tuples(st.none() | st.floats(-60, 60), st.none() | st.floats(-60, 60)),
)
def test_every_component_is_in_0_1_or_unknown_and_depth_and_proximity_are_symmetric(
    interests: tuple[dict[str, float], dict[str, float]],
    values: tuple[dict[str, float], dict[str, float]],
    depth: tuple[float | None, float | None],
    free: tuple[list[AvailabilityWindow], list[AvailabilityWindow]],
    where: tuple[float | None, float | None],
) -> None:
    def person(i: int) -> MatchProfile:
        make = profile if i == 0 else man
        lat = where[i]
        return make(
            f"p{i}",
            interests=interests[i],
            values=values[i],
            conversation_depth=depth[i],
            availability=tuple(free[i]),
            latitude=lat,
            longitude=None if lat is None else lat / 2,
        )

    a, b = person(0), person(1)
    ab, ba = scores(a, b)
    for row in (ab, ba):
        known = row[~np.isnan(row)]
        assert np.all((known >= 0.0) & (known <= 1.0))
    np.testing.assert_allclose(ab[SYMMETRIC], ba[SYMMETRIC])


def test_unknown_inputs_give_unknown_components_not_guesses() -> None:
    ab, _ = scores(
        profile(
            "a", values={}, availability=(), latitude=None, longitude=None, max_distance_km=None
        ),
        man("b"),
    )
    assert math.isnan(ab[VALUES])
    assert math.isnan(ab[AVAILABILITY])
    assert math.isnan(ab[PROXIMITY])


def test_a_non_negotiable_value_weighs_more_in_its_owners_view_only() -> None:
    mine = {"honesty": 100.0, "family": 50.0}
    theirs = {"honesty": 0.0, "family": 50.0}
    plain = scores(profile("a", values=mine), man("b", values=theirs))
    strict = scores(
        profile(
            "a",
            values=mine,
            non_negotiables=(NonNegotiable(NonNegotiableKind.VALUE, "honesty"),),
        ),
        man("b", values=theirs),
    )
    assert plain[0][VALUES] == 0.5  # gap 100 on one of two keys
    assert strict[0][VALUES] == 0.25  # honesty counts three times: 300 / (4 * 100)
    assert strict[1][VALUES] == plain[1][VALUES]


def test_availability_overlap_is_the_share_of_ones_own_free_hours_the_other_shares() -> None:
    evening = AvailabilityWindow(4, 18 * 60, 22 * 60)  # Friday 18-22: 4 hours
    late = AvailabilityWindow(4, 20 * 60, 23 * 60)  # Friday 20-23: 3 hours
    ab, ba = scores(profile("a", availability=(evening,)), man("b", availability=(late,)))
    assert ab[AVAILABILITY] == 0.5  # 2 of a's 4 hours
    assert ba[AVAILABILITY] == 2 / 3  # 2 of b's 3 hours
