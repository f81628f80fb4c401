"""What users did to each other, as columns the matcher can slice per viewer.

Users are referred to by *keys*: a user in the pool has its pool row as key; a user not
in the pool (a paused account whose likes still count towards reputation) gets a key
from `len(pool)` up. A pair's *decision* is its latest like or skip.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

from eros.core.matching.pool import CandidatePool
from eros.core.matching.profile import UserId

__all__ = [
    "ACTED_ON_KINDS",
    "DECISION_KINDS",
    "NO_DECISION",
    "SHOWN_KINDS",
    "BlockGraph",
    "Interaction",
    "InteractionKind",
    "InteractionLog",
]

Int64 = NDArray[np.int64]
Int8 = NDArray[np.int8]
Float64 = NDArray[np.float64]


class InteractionKind(IntEnum):
    IMPRESSION = 0  # served in a recommendation list
    VIEW = 1
    LIKE = 2
    SKIP = 3
    REPORT = 4
    BLOCK = 5
    MESSAGE_SENT = 6
    MESSAGE_REPLIED = 7
    CALL = 8


DECISION_KINDS = frozenset({InteractionKind.LIKE, InteractionKind.SKIP})
SHOWN_KINDS = frozenset({InteractionKind.IMPRESSION, InteractionKind.VIEW})
ACTED_ON_KINDS = frozenset(InteractionKind) - SHOWN_KINDS
NO_DECISION = -1
"""`decisions_of`/`decisions_toward` value for a pair without a like or skip (like 1, skip 0)."""


@dataclass(frozen=True, slots=True)
class Interaction:
    actor_id: UserId
    target_id: UserId
    kind: InteractionKind
    at: datetime


def _kinds_mask(kinds: Int8, wanted: frozenset[InteractionKind]) -> NDArray[np.bool_]:
    return np.isin(kinds, np.fromiter((int(k) for k in wanted), dtype=np.int8))


def _lookup(sorted_keys: Int64, sorted_other: Int64, key: int, others: Int64) -> Int64:
    """Positions of (key, other) pairs in arrays sorted by (key, other); -1 when absent."""
    lo, hi = np.searchsorted(sorted_keys, [key, key + 1])
    block = sorted_other[lo:hi]
    pos = np.searchsorted(block, others)
    found = pos < block.shape[0]
    found[found] = block[pos[found]] == others[found]
    return np.where(found, lo + pos, -1).astype(np.int64)


def _decisions_at(liked: Int8, pos: Int64) -> Int8:
    out = np.full(pos.shape, NO_DECISION, np.int8)
    found = pos >= 0
    out[found] = liked[pos[found]]
    return out


class InteractionLog:
    """Interaction events sorted by (actor, target, time), plus the latest decision per pair."""

    def __init__(self, actor: Int64, target: Int64, kind: Int8, at: Float64) -> None:
        order = np.lexsort((at, target, actor))
        self.actor = np.ascontiguousarray(actor[order], dtype=np.int64)
        self.target = np.ascontiguousarray(target[order], dtype=np.int64)
        self.kind = np.ascontiguousarray(kind[order], dtype=np.int8)
        self.at = np.ascontiguousarray(at[order], dtype=np.float64)

        decided = np.flatnonzero(_kinds_mask(self.kind, DECISION_KINDS))
        last = np.ones(decided.shape[0], np.bool_)  # the latest decision of each pair
        same_pair = (self.actor[decided][1:] == self.actor[decided][:-1]) & (
            self.target[decided][1:] == self.target[decided][:-1]
        )
        last[:-1] = ~same_pair
        decided = decided[last]
        self.decision_actor = self.actor[decided]
        self.decision_target = self.target[decided]
        self.decision_liked = (self.kind[decided] == InteractionKind.LIKE).astype(np.int8)
        by_target = np.lexsort((self.decision_actor, self.decision_target))
        self._dt_target = self.decision_target[by_target]
        self._dt_actor = self.decision_actor[by_target]
        self._dt_liked = self.decision_liked[by_target]

    @classmethod
    def empty(cls) -> InteractionLog:
        none = np.zeros(0, np.int64)
        return cls(none, none, np.zeros(0, np.int8), np.zeros(0))

    @classmethod
    def from_events(cls, events: Iterable[Interaction], pool: CandidatePool) -> InteractionLog:
        extra: dict[UserId, int] = {}

        def key(user_id: UserId) -> int:
            try:
                return pool.row_of(user_id)
            except KeyError:
                return extra.setdefault(user_id, len(pool) + len(extra))

        rows = [(key(e.actor_id), key(e.target_id), int(e.kind), e.at.timestamp()) for e in events]
        if not rows:
            return cls.empty()
        actor, target, kind, at = zip(*rows, strict=True)
        return cls(
            np.asarray(actor, np.int64),
            np.asarray(target, np.int64),
            np.asarray(kind, np.int8),
            np.asarray(at, np.float64),
        )

    def _actor_slice(self, actor: int) -> slice:
        lo, hi = np.searchsorted(self.actor, [actor, actor + 1])
        return slice(int(lo), int(hi))

    def targets_of(
        self, actor: int, kinds: frozenset[InteractionKind], since: float = -np.inf
    ) -> Int64:
        """Keys the actor did one of `kinds` to at or after `since` (epoch s), unique."""
        part = self._actor_slice(actor)
        keep = _kinds_mask(self.kind[part], kinds) & (self.at[part] >= since)
        return np.unique(self.target[part][keep])

    def decisions_of(self, actor: int, targets: Int64) -> Int8:
        """The actor's latest decision on each target: 1 like, 0 skip, NO_DECISION."""
        pos = _lookup(self.decision_actor, self.decision_target, actor, targets)
        return _decisions_at(self.decision_liked, pos)

    def decisions_toward(self, target: int, actors: Int64) -> Int8:
        """Each actor's latest decision on `target`: 1 like, 0 skip, NO_DECISION."""
        pos = _lookup(self._dt_target, self._dt_actor, target, actors)
        return _decisions_at(self._dt_liked, pos)

    def decided_by(self, actor: int) -> tuple[Int64, Int8]:
        """Targets the actor decided on and the decisions (1 like, 0 skip), by target key."""
        lo, hi = np.searchsorted(self.decision_actor, [actor, actor + 1])
        return self.decision_target[lo:hi], self.decision_liked[lo:hi]


class BlockGraph:
    """Blocks as an undirected graph over pool rows: a block either way separates a pair."""

    def __init__(self, blocker_rows: Int64, blocked_rows: Int64) -> None:
        src = np.concatenate([blocker_rows, blocked_rows]).astype(np.int64)
        dst = np.concatenate([blocked_rows, blocker_rows]).astype(np.int64)
        order = np.lexsort((dst, src))
        self._src, self._dst = src[order], dst[order]

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[UserId, UserId]], pool: CandidatePool) -> BlockGraph:
        """(blocker, blocked) id pairs; pairs with a user outside the pool cannot meet, so drop."""
        rows = [(pool.row_of(a), pool.row_of(b)) for a, b in pairs if a in pool and b in pool]
        arr = np.asarray(rows, np.int64).reshape(-1, 2)
        return cls(arr[:, 0], arr[:, 1])

    def blocked_with(self, row: int) -> Int64:
        """Rows that blocked `row` or that `row` blocked."""
        lo, hi = np.searchsorted(self._src, [row, row + 1])
        return self._dst[lo:hi]
