"""The forecast's Redis side: who is about to cross, and who came back since the last tick.

Both are read from the activity index alone, so the heartbeat stays one round trip and
the API does no extra work:

- **About to cross**: the idle ages of the users within the horizon below each threshold,
  one ZRANGEBYSCORE per phase over that score range only, never the whole index.
- **Returns**: scores only move forward (ZADD GT), and a returning user's score jumps to
  now, so the users of a past score range only leave it by coming back (or by being
  forgotten by the retention pruning, far beyond the last bucket). The count of each
  idle-age bucket's score range at the last tick, less the count of that same range now,
  is how many of those users came back in between: one ZCOUNT per bucket and tick, O(log
  n) each. Tracking users one by one would cost a read of the whole index per tick.

The model is kept in Redis per resource (`return_model_key`), loaded and saved each
tick, so a restarted or a standby operator taking over goes on learning where it was.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import redis

from eros.core.clock import MS_PER_SECOND
from eros.core.keys import ACTIVITY_KEY, return_model_key
from eros.operator.forecast import BUCKET_EDGES_SECONDS, ReturnModel, expected_crossings

logger = logging.getLogger(__name__)

ScoreRange = tuple[float, float]  # inclusive, epoch ms


def bucket_score_ranges(now_ms: int) -> list[ScoreRange]:
    """The last-activity range of every idle-age bucket at `now_ms` (the last: beyond)."""
    edges = [e * MS_PER_SECOND for e in BUCKET_EDGES_SECONDS]
    ranges: list[ScoreRange] = [
        (float(now_ms - high + 1), float(now_ms - low)) for low, high in itertools.pairwise(edges)
    ]
    ranges.append((float("-inf"), float(now_ms - edges[-1])))
    return ranges


def due_score_ranges(
    thresholds_seconds: Sequence[int], horizon_seconds: float, now_ms: int
) -> list[ScoreRange]:
    """Per threshold, the last-activity range of the users idle [threshold - horizon,
    threshold): those who cross it within the horizon unless they come back."""
    horizon_ms = int(horizon_seconds * MS_PER_SECOND)
    return [
        (
            float(now_ms - t * MS_PER_SECOND + 1),
            float(now_ms - max(0, t * MS_PER_SECOND - horizon_ms)),
        )
        for t in thresholds_seconds
    ]


def returns_between(before: Sequence[int], after: Sequence[int]) -> list[int]:
    """Returns per bucket: the users a score range held at the last tick and holds no more."""
    return [max(0, b - a) for b, a in zip(before, after, strict=True)]


def read_due_idle_ages(
    client: redis.Redis, thresholds_seconds: Sequence[int], horizon_seconds: float, now_ms: int
) -> npt.NDArray[np.float64]:
    """The idle ages (seconds) of the users due to cross a threshold, each once."""
    with client.pipeline(transaction=False) as pipe:
        for low, high in due_score_ranges(thresholds_seconds, horizon_seconds, now_ms):
            pipe.zrangebyscore(ACTIVITY_KEY, low, high, withscores=True)
        found: dict[bytes, float] = {}
        for entries in pipe.execute():
            found.update(entries)  # ranges overlap when thresholds are closer than the horizon
    scores = np.fromiter(found.values(), dtype=np.float64, count=len(found))
    return (now_ms - scores) / MS_PER_SECOND


@dataclass
class CrossingForecaster:
    """What one resource's forecast keeps between ticks: the last tick's bucket counts."""

    source: str  # "namespace/name" of the resource
    _ranges: list[ScoreRange] | None = field(default=None, init=False)
    _counts: list[int] | None = field(default=None, init=False)

    def learn(self, client: redis.Redis, now_ms: int, hour: int) -> ReturnModel:
        """Count the returns since the last tick into the stored model; returns the model."""
        key = return_model_key(self.source)
        ranges = bucket_score_ranges(now_ms)
        with client.pipeline(transaction=False) as pipe:
            for low, high in self._ranges or []:
                pipe.zcount(ACTIVITY_KEY, low, high)
            for low, high in ranges:
                pipe.zcount(ACTIVITY_KEY, low, high)
            pipe.get(key)
            answers = pipe.execute()
        stored, counts = answers[-1], [int(n) for n in answers[:-1]]
        before, now = counts[: -len(ranges)], counts[-len(ranges) :]
        model = _load(stored)
        if self._counts is not None and before:
            returned = returns_between(self._counts, before)
            if any(returned):
                model = model.observe_buckets(returned, hour)
                client.set(key, json.dumps(model.to_json()))
        self._ranges, self._counts = ranges, now
        return model

    def expected(
        self,
        client: redis.Redis,
        thresholds_seconds: Sequence[int],
        horizon_seconds: float,
        now_ms: int,
        hour: int,
    ) -> tuple[float, ...]:
        """Per phase, the users expected to cross into it within the horizon."""
        model = self.learn(client, now_ms, hour)
        ages = read_due_idle_ages(client, thresholds_seconds, horizon_seconds, now_ms)
        return expected_crossings(ages, thresholds_seconds, horizon_seconds, model, hour)


def _load(stored: Any) -> ReturnModel:
    if stored is None:
        return ReturnModel.prior()
    try:
        return ReturnModel.from_json(json.loads(stored))
    except (ValueError, TypeError, AttributeError):
        logger.warning("The stored return model is unreadable; starting again from the prior.")
        return ReturnModel.prior()
