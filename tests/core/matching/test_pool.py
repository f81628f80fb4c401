"""A pool built in slices is the pool built at once; its memory is known per row."""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
import pytest

from eros.core.matching import CandidatePool
from tests.core.matching.builders import VOCABULARY, man, pool_of, profile

PROFILES = [profile("ann"), man("bob"), man("carl", interests={"gaming": 90.0}), profile("dora")]


def test_pools_joined_in_order_equal_the_pool_built_at_once() -> None:
    whole = pool_of(PROFILES)
    joined = CandidatePool.concatenate([pool_of(PROFILES[:1]), pool_of(PROFILES[1:])])
    assert joined.user_ids == whole.user_ids
    assert joined.row_of("carl") == whole.row_of("carl")
    for f in fields(whole.columns):
        np.testing.assert_array_equal(
            getattr(joined.columns, f.name), getattr(whole.columns, f.name)
        )


def test_pools_of_different_vocabularies_are_not_joined() -> None:
    other = CandidatePool.from_profiles(
        [man("bob")], replace(VOCABULARY, interests=(*VOCABULARY.interests, "chess"))
    )
    with pytest.raises(ValueError, match="vocabularies"):
        CandidatePool.concatenate([pool_of(PROFILES[:1]), other])


def test_a_joined_pool_refuses_a_member_twice() -> None:
    with pytest.raises(ValueError, match="unique"):
        CandidatePool.concatenate([pool_of(PROFILES[:1]), pool_of(PROFILES[:1])])


def test_the_columns_memory_grows_with_the_rows() -> None:
    one, four = pool_of(PROFILES[:1]), pool_of(PROFILES)
    assert four.columns.nbytes == 4 * one.columns.nbytes
