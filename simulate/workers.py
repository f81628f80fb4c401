"""Simulated workers: how much CPU a phase's job needs, what a halt keeps, how fast a slot runs.

CPU time per job is lognormal around a per-phase median. The defaults are the real phase
jobs measured by `.venv/bin/python -P bench/phase_jobs.py --members 50000 --jobs 100`
(docs/benchmarks.md, "What a phase job costs (issue 16)"; per phase, the median of three
runs): each phase's median CPU in the job's process, plus the 20-40 ms that RQ and the
fork of a work horse add to every job (measured through `eros worker --burst`); phase 3
with its worker's candidate pool warm and the pool's refresh every 60 s amortised over
the jobs between. PostgreSQL's own CPU is not a worker's and is left out. The worker
warms the pool before each fork (`DeepPhase.warm_worker_process`); before that, every
horse reloaded it (~5-9 CPU-s a phase-3 job at 50,000 members), which
`--job-cpu 0.044,0.049,7.8` simulates. The sigma is not fitted: the bench's city gives
every member ten decisions, so its spread (0.1-0.3) is a floor, not
real users' spread. All are overridable (`--job-cpu`).

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

DEFAULT_JOB_CPU_SECONDS = (0.044, 0.049, 0.069)
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


def slot_cores(cpu_per_worker_millicores: int) -> float:
    """Cores a worker's job may use: an RQ worker runs one job at a time (`jobsPerWorker`
    only sizes the fleet), in one process, within the worker's CPU limit."""
    return min(MAX_JOB_CORES, cpu_per_worker_millicores / 1000)
