"""A synthetic population: every user's sessions over the simulated span, as idle periods.

An idle period runs from the end of one session (the user's last activity, the score
the activity index would hold) to the start of the next (the heartbeat that halts the
user's jobs). Users live in a few time zones, sleep once a day around a local bedtime
that varies per user, and open the app a Poisson number of times while awake.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MS_PER_HOUR = 3_600_000
MS_PER_DAY = 24 * MS_PER_HOUR
# The last idle period of a user has no return within the simulation.
NEVER_MS = np.iinfo(np.int64).max // 4

# Defaults: a European-centred app with some reach elsewhere (UTC offsets in hours and
# the share of users in each), a local bedtime of 23:30 +- 1 h (normal), 7.5 h asleep,
# 6 sessions per waking day, sessions of 4 min median (lognormal, sigma 0.8).
DEFAULT_TIME_ZONES = "0:0.15,1:0.45,2:0.15,-5:0.15,8:0.10"
DEFAULT_BEDTIME_HOUR = 23.5
DEFAULT_BEDTIME_SPREAD_HOURS = 1.0
DEFAULT_SLEEP_HOURS = 7.5
DEFAULT_SESSIONS_PER_DAY = 6.0
DEFAULT_SESSION_MEDIAN_SECONDS = 240.0
DEFAULT_SESSION_SIGMA = 0.8
# Sessions are generated from this long before the start, so every user has a history.
HISTORY_MS = MS_PER_DAY


@dataclass(frozen=True)
class PopulationParams:
    time_zones: tuple[tuple[float, float], ...]  # (UTC offset hours, share)
    bedtime_hour: float = DEFAULT_BEDTIME_HOUR
    bedtime_spread_hours: float = DEFAULT_BEDTIME_SPREAD_HOURS
    sleep_hours: float = DEFAULT_SLEEP_HOURS
    sessions_per_day: float = DEFAULT_SESSIONS_PER_DAY
    session_median_seconds: float = DEFAULT_SESSION_MEDIAN_SECONDS
    session_sigma: float = DEFAULT_SESSION_SIGMA


def parse_time_zones(text: str) -> tuple[tuple[float, float], ...]:
    """`"1:0.5,-5:0.5"`: UTC offsets in hours with their shares (normalised)."""
    pairs = []
    for item in text.split(","):
        offset, _, share = item.partition(":")
        pairs.append((float(offset), float(share or 1)))
    total = sum(share for _, share in pairs)
    if not pairs or total <= 0:
        raise ValueError(f"{text!r} lists no time zone with a positive share")
    return tuple((offset, share / total) for offset, share in pairs)


@dataclass(frozen=True)
class IdlePeriods:
    """One row per idle period, sorted by `start_ms`; `end_ms` is NEVER_MS if no return."""

    users: int
    user: npt.NDArray[np.int32]
    start_ms: npt.NDArray[np.int64]
    end_ms: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.start_ms)


def generate(
    users: int, start_ms: int, end_ms: int, params: PopulationParams, seed: int
) -> IdlePeriods:
    """The idle periods of `users` users that overlap [start_ms, end_ms]."""
    rng = np.random.default_rng(seed)
    offsets = np.array([o for o, _ in params.time_zones])
    zone = rng.choice(len(offsets), size=users, p=[s for _, s in params.time_zones])
    offset_ms = (offsets[zone] * MS_PER_HOUR).astype(np.int64)
    bedtime_ms = (
        rng.normal(params.bedtime_hour, params.bedtime_spread_hours, users) * MS_PER_HOUR
    ).astype(np.int64)
    sleep_ms = int(params.sleep_hours * MS_PER_HOUR)
    awake_ms = MS_PER_DAY - sleep_ms
    first = start_ms - HISTORY_MS
    days = int(np.ceil((end_ms - first) / MS_PER_DAY)) + 2
    first_day = first // MS_PER_DAY - 1
    counts = rng.poisson(params.sessions_per_day, (users, days))
    user = np.repeat(np.repeat(np.arange(users, dtype=np.int32), days), counts.ravel())
    day = np.repeat(np.tile(np.arange(days, dtype=np.int64), users), counts.ravel())
    # A local day's waking hours begin when the previous night's sleep ends.
    wake = (first_day + day) * MS_PER_DAY + bedtime_ms[user] + sleep_ms - MS_PER_DAY
    begin = wake - offset_ms[user] + (rng.random(len(user)) * awake_ms).astype(np.int64)
    length = (
        rng.lognormal(np.log(params.session_median_seconds), params.session_sigma, len(user)) * 1000
    ).astype(np.int64)
    order = np.lexsort((begin, user))
    user, begin, length = user[order], begin[order], length[order]
    finish = begin + np.maximum(length, 1000)
    same = user[1:] == user[:-1]
    # An idle period: from a session's end to the same user's next session's start.
    idle_start = finish[:-1][same]
    idle_end = begin[1:][same]
    idle_user = user[:-1][same]
    keep = idle_end > idle_start  # overlapping sessions leave no idle time between them
    last = np.ones(len(user), dtype=bool)
    last[:-1] = ~same
    idle_start = np.concatenate([idle_start[keep], finish[last]])
    idle_end = np.concatenate([idle_end[keep], np.full(int(last.sum()), NEVER_MS)])
    idle_user = np.concatenate([idle_user[keep], user[last]])
    overlapping = (idle_end > start_ms) & (idle_start <= end_ms)
    idle_start, idle_end, idle_user = (
        idle_start[overlapping],
        idle_end[overlapping],
        idle_user[overlapping],
    )
    by_start = np.argsort(idle_start, kind="stable")
    return IdlePeriods(
        users=users,
        user=idle_user[by_start].astype(np.int32),
        start_ms=idle_start[by_start],
        end_ms=idle_end[by_start],
    )
