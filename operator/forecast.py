"""The forecast behind predictive pre-scaling: who crosses a threshold soon, unless they return.

EROS knows every user's idle age, so it knows who reaches each phase's `idleAfter` within
the next seconds, except for those who come back first. `ReturnModel` says how likely a
user idle for t seconds is to come back within the next s seconds, per hour of day (in
the resource's off-peak time zone: people return differently at 3 am and at 8 pm), and
`expected_crossings` sums, per phase, the users due to cross within a horizon, each
discounted by the chance that they stay away until their crossing.

The model is a discrete return hazard over idle-age buckets (`BUCKET_EDGES_SECONDS`):
from the returns seen in each bucket, the share of the users still away at a bucket's
start who return within it. Within a bucket the hazard rate is constant, so the log of
the survival (the chance to stay away) is piecewise linear in the idle age and one
`numpy.interp` evaluates it for a million ages. Returns are counted from observations
only (every idle spell ends in a return): pseudo-returns spread evenly over log idle
age (`PRIOR_RETURNS_PER_HOUR`, with a share beyond the last bucket, "away for longer")
smooth it before and between observations. Beyond the last edge no return is modelled,
so the forecast errs on the side of a worker too many, not a user left waiting.

Pure: no I/O, no clock. `eros.operator.forecast_source` feeds it from Redis.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

HOURS_PER_DAY = 24
# Idle ages (seconds) where the hazard may change; dense below the default thresholds
# (10, 30, 60 minutes), where the forecast looks, and sparse over the day after.
BUCKET_EDGES_SECONDS: tuple[int, ...] = (
    0,
    30,
    60,
    120,
    300,
    450,
    540,
    600,
    900,
    1200,
    1500,
    1680,
    1800,
    2400,
    3000,
    3360,
    3600,
    5400,
    7200,
    10800,
    14400,
    21600,
    28800,
    43200,
    64800,
    86400,
    172800,
    345600,
    604800,
)
BUCKETS = len(BUCKET_EDGES_SECONDS)  # the finite buckets, then one beyond the last edge
# The prior's weight, in returns per hour of day: weak, so that a few hours of
# observations outweigh it, yet enough that an hour never seen predicts sensibly.
PRIOR_RETURNS_PER_HOUR = 24.0
# Of the prior's weight, the share of users away for longer than the last edge.
PRIOR_BEYOND_SHARE = 0.1
# The prior spreads the rest evenly over log idle age, from this age (seconds) on.
PRIOR_LOG_FROM_SECONDS = 1.0
# Observed returns kept per hour of day: beyond it older ones fade (each new return
# scales that hour's counts down), so the model follows a population that changes.
MEMORY_RETURNS_PER_HOUR = 100_000.0

FloatArray = npt.NDArray[np.float64]


_EDGES = np.asarray(BUCKET_EDGES_SECONDS, dtype=np.float64)


def bucket_of(idle_seconds: float) -> int:
    """The bucket of an idle age: i for edges[i] <= idle < edges[i + 1], the last beyond."""
    index = int(np.searchsorted(_EDGES, max(0.0, idle_seconds), side="right"))
    return index - 1


def buckets_of(idle_seconds: npt.NDArray[Any]) -> npt.NDArray[np.intp]:
    """`bucket_of` for many idle ages at once."""
    ages = np.maximum(np.asarray(idle_seconds, dtype=np.float64), 0.0)
    return np.searchsorted(_EDGES, ages, side="right") - 1


def _prior_counts() -> FloatArray:
    edges = np.asarray(BUCKET_EDGES_SECONDS, dtype=np.float64)
    low = np.log(np.maximum(edges[:-1], PRIOR_LOG_FROM_SECONDS))
    high = np.log(edges[1:])
    widths = np.maximum(high - low, 0.0)
    spread = PRIOR_RETURNS_PER_HOUR * (1.0 - PRIOR_BEYOND_SHARE) * widths / widths.sum()
    return np.append(spread, PRIOR_RETURNS_PER_HOUR * PRIOR_BEYOND_SHARE)


_PRIOR = _prior_counts()


def _check_hour(hour: int) -> None:
    if not 0 <= hour < HOURS_PER_DAY:
        raise ValueError(f"hour must be within 0-23, got {hour}")


@dataclass(frozen=True)
class ReturnModel:
    """Per hour of day (0-23, in the resource's off-peak time zone), how likely a user idle
    for t seconds comes back within the next s seconds; learned online from observed returns.

    `returns[hour][bucket]` counts the returns observed at that hour after an idle spell
    in that bucket (the last bucket: beyond the last edge); the prior is added on use.
    """

    returns: tuple[tuple[float, ...], ...] = tuple((0.0,) * BUCKETS for _ in range(HOURS_PER_DAY))

    @classmethod
    def prior(cls) -> ReturnModel:
        """The model before any observation: the prior alone."""
        return cls()

    def observe(self, idle_seconds_at_return: float, hour: int, count: float = 1.0) -> ReturnModel:
        """The model after `count` users came back at `hour`, each idle that long; pure."""
        _check_hour(hour)
        if count <= 0:
            return self
        row = list(self.returns[hour])
        row[bucket_of(idle_seconds_at_return)] += count
        total = sum(row)
        if total > MEMORY_RETURNS_PER_HOUR:
            row = [n * MEMORY_RETURNS_PER_HOUR / total for n in row]
        rows = list(self.returns)
        rows[hour] = tuple(row)
        return ReturnModel(tuple(rows))

    def observe_buckets(self, counts: Sequence[float], hour: int) -> ReturnModel:
        """`observe` for many returns at once: `counts[bucket]` returns in each bucket."""
        model = self
        for bucket, count in enumerate(counts):
            if count > 0:
                model = model.observe(float(BUCKET_EDGES_SECONDS[bucket]), hour, count)
        return model

    def log_survival(self, hour: int) -> FloatArray:
        """log P(still away at edge i | away at age 0), at every bucket edge."""
        _check_hour(hour)
        counts = np.asarray(self.returns[hour], dtype=np.float64) + _PRIOR
        # Users still away at a bucket's start: those who return in it or later.
        at_risk = np.cumsum(counts[::-1])[::-1]
        hazard = counts[:-1] / at_risk[:-1]  # < 1: the bucket beyond always holds some
        return np.concatenate(([0.0], np.cumsum(np.log1p(-hazard))))

    def stay_probability(self, idle_seconds: float, within_seconds: float, hour: int) -> float:
        """How likely a user idle `idle_seconds` stays away for `within_seconds` more."""
        log_s = self.log_survival(hour)
        start = max(0.0, idle_seconds)
        end = start + max(0.0, within_seconds)
        ends = np.interp([start, end], _EDGES, log_s)
        return float(math.exp(float(ends[1] - ends[0])))

    def to_json(self) -> dict[str, Any]:
        """A JSON form, to keep the model between ticks and across operator restarts."""
        return {"edges": list(BUCKET_EDGES_SECONDS), "returns": [list(r) for r in self.returns]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReturnModel:
        """The model `to_json` wrote; the prior when it was written for other buckets."""
        rows = data.get("returns")
        if list(data.get("edges") or []) != list(BUCKET_EDGES_SECONDS) or not isinstance(
            rows, list
        ):
            return cls.prior()
        if len(rows) != HOURS_PER_DAY or any(len(r) != BUCKETS for r in rows):
            return cls.prior()
        return cls(tuple(tuple(max(0.0, float(n)) for n in row) for row in rows))


def expected_crossings(
    idle_seconds: Sequence[float] | npt.NDArray[Any],
    thresholds_seconds: Sequence[int],
    horizon_seconds: float,
    returns: ReturnModel,
    hour: int,
) -> tuple[float, ...]:
    """Per phase, the users expected to cross INTO it within the horizon: each active user
    whose idle age reaches the phase's threshold within `horizon_seconds`, weighted by the
    chance to stay away until then. A user already past a threshold has crossed it."""
    ages = np.asarray(idle_seconds, dtype=np.float64)
    if horizon_seconds <= 0 or ages.size == 0:
        return tuple(0.0 for _ in thresholds_seconds)
    log_s = returns.log_survival(hour)
    result = []
    for threshold in thresholds_seconds:
        due = ages[(ages >= threshold - horizon_seconds) & (ages < threshold)]
        if due.size == 0:
            result.append(0.0)
            continue
        at_threshold = float(np.interp(threshold, _EDGES, log_s))
        stays = np.exp(at_threshold - np.interp(due, _EDGES, log_s))
        result.append(float(stays.sum()))
    return tuple(result)
