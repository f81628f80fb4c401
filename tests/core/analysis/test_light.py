"""Phase 1's cached summary, as phase 2 reads it back: only the same user's, of the same
idle period."""

from __future__ import annotations

from uuid import UUID

import pytest

from eros.core.analysis.light import Favourite, Favourites, cached_favourites

USER = UUID(int=1)
AS_OF_MS = 1_700_000_000_000


def _entry(user_id: UUID = USER, as_of_ms: int = AS_OF_MS) -> str:
    found = Favourites(
        user_id=user_id,
        as_of_ms=as_of_ms,
        favourites=[Favourite(user_id=UUID(int=2), liked_at_ms=AS_OF_MS - 1)],
        summary={"like": 1, "skip": 3},
        like_rate=0.25,
    )
    return found.model_dump_json()


def test_the_cached_summary_of_the_same_idle_period_is_read_back_whole() -> None:
    found = cached_favourites(_entry().encode(), USER, AS_OF_MS)
    assert found is not None
    assert found.summary == {"like": 1, "skip": 3}
    assert [f.user_id for f in found.favourites] == [UUID(int=2)]


@pytest.mark.parametrize(
    "raw",
    [None, _entry(as_of_ms=AS_OF_MS - 1), _entry(user_id=UUID(int=3)), b"{not json", b"{}"],
    ids=["absent", "another idle period", "another user", "unreadable", "incomplete"],
)
def test_a_missing_stale_or_foreign_entry_is_not_used(raw: bytes | str | None) -> None:
    assert cached_favourites(raw, USER, AS_OF_MS) is None
