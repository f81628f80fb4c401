"""Simulated workers: how much CPU a phase's job needs, what a halt keeps, how fast a slot runs.

CPU time per job is lognormal around a per-phase median. The defaults come from the
measured phase jobs (docs/benchmarks.md): phase 3's daily matches cost ~1.2 CPU-s per
viewer on a city's uncapped path ("Phase 3 against a whole city", 135 us per candidate
loaded x 8,573 eligible) and 0.87 s on 5,000 eligible ("Recommendations on a cache
miss"); phases 1 and 2 are a few queries and pattern counts (`eros.worker.phases`),
estimated at 20 ms and 80 ms. All are overridable (`--job-cpu`).

What a halt keeps follows the phases' checkpoints (`eros.worker.phases`, kept in Redis
by `eros.pipeline.checkpoint` for the user's next idle period): phase 1 saves nothing
(its work starts over), phase 2 saves after each of its three pattern kinds, phase 3
after its preferences (small) and after the daily set is computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

DEFAULT_JOB_CPU_SECONDS = (0.02, 0.08, 1.2)
DEFAULT_JOB_CPU_SIGMA = 0.5
# A job runs in one Python process: it never uses more than one core, whatever its worker.
MAX_JOB_CORES = 1.0
# Fractions of a job's CPU at which it checkpoints (eros.worker.phases).
CHECKPOINTS: tuple[tuple[float, ...], ...] = ((), (1 / 3, 2 / 3), (0.05, 0.95))


@dataclass(frozen=True)
class JobCosts:
    median_cpu_seconds: tuple[float, ...] = DEFAULT_JOB_CPU_SECONDS
    sigma: float = DEFAULT_JOB_CPU_SIGMA
    checkpoints: tuple[tuple[float, ...], ...] = CHECKPOINTS

    def draw(self, rng: np.random.Generator, phase_index: int, n: int) -> npt.NDArray[np.float64]:
        median = self.median_cpu_seconds[phase_index]
        return rng.lognormal(np.log(median), self.sigma, n)


def parse_job_cpu(text: str) -> tuple[float, ...]:
    values = tuple(float(v) for v in text.split(","))
    if len(values) != 3 or any(v <= 0 for v in values):
        raise ValueError("--job-cpu takes three positive CPU-second medians, e.g. 0.02,0.08,1.2")
    return values


def kept_after_halt(
    done: npt.NDArray[np.float64],
    total: npt.NDArray[np.float64],
    checkpoints: Sequence[float],
) -> npt.NDArray[np.float64]:
    """CPU-seconds of work a halted job keeps: up to its last checkpoint passed."""
    kept = np.zeros_like(done)
    for fraction in checkpoints:
        mark = total * fraction
        kept = np.where(done >= mark, mark, kept)
    return kept


def slot_cores(cpu_per_worker_millicores: int, jobs_per_worker: int) -> float:
    """Cores one job slot may use: its share of the worker's limit, at most one core."""
    return min(MAX_JOB_CORES, cpu_per_worker_millicores / 1000 / jobs_per_worker)
