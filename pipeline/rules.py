"""The two per-job rules that production applies inside Redis Lua scripts, stated in Python.

- The enqueue refusal (`eros.pipeline.queue`'s script): a job per (user, phase, idle
  period), refused when its id exists already, and refused when the user's activity moved
  since the scheduler read it (they are back, or gone).
- The halt (`eros.pipeline.halt`'s script, from a returning user's heartbeat): a job
  still waiting in its queue or retry registry is cancelled, one dequeued but not started
  is left to its start guard, a running one is told to stop and keeps its checkpoint, and
  one that already ended is left alone.

The scripts stay the production path (they decide atomically, next to the data); these
functions are the same decisions over NumPy arrays, for code that keeps its state
elsewhere (`eros simulate`). tests/pipeline/test_rules.py runs one table of cases through
each script and its function and asserts the same outcome, so a change to either fails.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import numpy.typing as npt
from rq.job import JobStatus

from eros.pipeline.queue import DUPLICATE, ENQUEUED, USER_RETURNED

# The statuses the halt script acts on; every other one (or none at all) has ended.
_QUEUED, _SCHEDULED, _STARTED = (
    JobStatus.QUEUED.value,
    JobStatus.SCHEDULED.value,
    JobStatus.STARTED.value,
)


def enqueue_outcomes(
    job_exists: npt.ArrayLike, last_activity_ms: npt.ArrayLike, idle_since_ms: npt.ArrayLike
) -> npt.NDArray[np.int8]:
    """The enqueue script's outcome per candidate: `ENQUEUED`, `DUPLICATE` or `USER_RETURNED`.

    `last_activity_ms` is the user's score in the activity index now (NaN where they have
    none: erased, or never seen) and `idle_since_ms` the one the scheduler selected them
    by. Scores are doubles in Redis, so the comparison is made in float64, as the script's
    `tonumber` makes it; the existing job is checked first, whatever the activity.
    """
    exists = np.asarray(job_exists, bool)
    unmoved = np.asarray(last_activity_ms, np.float64) == np.asarray(idle_since_ms, np.float64)
    outcome: npt.NDArray[np.int8] = np.where(
        exists, DUPLICATE, np.where(unmoved, ENQUEUED, USER_RETURNED)
    ).astype(np.int8)
    return outcome


class HaltAction(StrEnum):
    """What the halt does to one job of a returning user. The values are the halt
    script's own words for the state it found the job in (`HaltedJob.state`)."""

    CANCEL = "queued"  # removed from its queue or retry registry, marked canceled
    GUARD = "starting"  # dequeued but not started: its start guard sees the halt flag
    STOP = "running"  # sent RQ's stop-job command; it keeps its last checkpoint
    NONE = ""  # ended already, or gone: nothing to halt, nothing recorded


# The members' values, read once: an enum member lookup costs more than the comparisons.
_CANCEL, _GUARD, _STOP, _NONE = (action.value for action in HaltAction)


def halt_actions(status: npt.ArrayLike, listed: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """The halt script's action per job of the user's index, as `HaltAction` values.

    `status` is the job hash's RQ status (`""` where the hash is gone); `listed` whether
    the job is still in the list its status names (its queue when queued, its queue's
    scheduled registry when waiting for a retry).
    """
    statuses = np.asarray(status, np.str_)
    # Nested `where`s over plain strings: the simulator calls this every tick.
    waiting = (statuses == _QUEUED) | (statuses == _SCHEDULED)
    return np.where(
        waiting,
        np.where(np.asarray(listed, bool), _CANCEL, _GUARD),
        np.where(statuses == _STARTED, _STOP, _NONE),
    )
