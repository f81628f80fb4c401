"""Each phase's local workers held to the phase's CPU budget by the kernel's CPU controller.

In a cluster the kubelet enforces each worker's CPU limit (`cpuPerWorker`), and the planner
keeps a phase's replicas x cpuPerWorker within the phase's budget. `eros dev` runs the
workers as processes, so the kernel holds each phase as a whole instead: every phase gets
one cgroup, `eros-<pid>/phase-N`, whose quota is **the phase's budget**,
min(cpuPool x cpuBudgetPercent / 100, cpuPool x (100 - headroomPercent) / 100) - the bound
`eros.operator.planner.phase_budget_replicas` keeps the phase's workers within - over a
period of CFS_PERIOD_US. The workers of a phase share it (one busy worker may use the
whole budget while the others idle), and a phase never takes more, however many
processes it runs.

Whichever the machine has writable: cgroup v2 (`cpu.max` under a child of the unified
hierarchy, with `+cpu` in the parents' `cgroup.subtree_control`), else cgroup v1
(`cpu.cfs_period_us` / `cpu.cfs_quota_us` under the `cpu` hierarchy). Where neither is
writable (no root, a read-only /sys/fs/cgroup), one warning says so and the workers run
unthrottled. A worker joins its phase's cgroup before its interpreter starts (a shell
writes its own pid to `cgroup.procs`, then execs the worker), so that the processes it
forks (RQ's work horses) are born inside.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from eros.operator.planner import usable_millicores
from eros.operator.spec import ProcessingSpec

logger = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
# The kernel's default CFS period; a quota of `millicores x 100` us per period is
# `millicores / 1000` CPUs.
CFS_PERIOD_US = 100_000
MILLICORES_PER_CPU = 1000
# The smallest quota the kernel accepts (cgroup v1 refuses less than 1 ms).
MIN_QUOTA_US = 1000
V1_HIERARCHIES = ("cpu", "cpu,cpuacct")
PROCS_FILE = "cgroup.procs"
# Joins the cgroup named by $0, then becomes the worker: nothing runs outside it.
JOIN_AND_EXEC = (
    'echo $$ > "$0" 2>/dev/null || echo "eros: could not join the cgroup $0" >&2; exec "$@"'
)
SHELL = "/bin/sh"
V1, V2 = 1, 2


def quota_us(millicores: int, period_us: int = CFS_PERIOD_US) -> int:
    """The CPU time per period that is `millicores` thousandths of one CPU."""
    return max(MIN_QUOTA_US, millicores * period_us // MILLICORES_PER_CPU)


def cpu_max(millicores: int, period_us: int = CFS_PERIOD_US) -> str:
    """The cgroup v2 `cpu.max` line: "<quota> <period>"."""
    return f"{quota_us(millicores, period_us)} {period_us}"


def phase_budget_millicores(spec: ProcessingSpec) -> dict[int, int]:
    """Each phase's budget by phase number: its share of the pool, within the usable pool."""
    usable = usable_millicores(spec)
    return {
        phase.number: min(spec.cpu_pool_millicores * phase.cpu_budget_percent // 100, usable)
        for phase in spec.phases
    }


def phase_group(number: int) -> str:
    return f"phase-{number}"


def _write(path: Path, text: str) -> None:
    path.write_text(text + "\n")


def _pids(group: Path) -> list[int]:
    try:
        return [int(line) for line in (group / PROCS_FILE).read_text().split() if line]
    except OSError:
        return []


class CpuLimiter:
    """The phases' cgroups under one parent, or nothing where cgroups are not writable.

    `detect()` picks the writable hierarchy; `limit` writes a phase's quota (creating its
    cgroup), `launch_prefix` is what a worker's command starts with to run inside it, and
    `close` moves any process left to the parent's parent and removes the cgroups.
    """

    def __init__(self, parent: Path | None, version: int | None, reason: str = "") -> None:
        self.parent = parent  # eros-<pid>, None when disabled
        self.version = version  # 1 or 2
        self.reason = reason  # why it is disabled
        self._limits: dict[int, int] = {}

    @property
    def enabled(self) -> bool:
        return self.parent is not None

    @classmethod
    def disabled(cls, reason: str) -> CpuLimiter:
        return cls(None, None, reason)

    @classmethod
    def detect(cls, root: Path = CGROUP_ROOT, name: str | None = None) -> CpuLimiter:
        """A limiter on the first writable hierarchy (v2, then v1); else a disabled one,
        after one warning."""
        name = name or f"eros-{os.getpid()}"
        tried: list[str] = []
        limiter = _try_v2(root, name, tried) or _try_v1(root, name, tried)
        if limiter is not None:
            logger.info(
                "Each phase's workers are held to its CPU budget by cgroup v%d under %s.",
                limiter.version,
                limiter.parent,
            )
            return limiter
        reason = "; ".join(tried) or f"no CPU controller under {root}"
        logger.warning(
            "Local workers run WITHOUT CPU limits: neither cgroup v2 (cpu.max) nor cgroup v1 "
            "(cpu.cfs_quota_us) is writable here (%s). Run as root on a machine with a "
            "writable CPU controller to hold each phase to its budget.",
            reason,
        )
        return cls.disabled(reason)

    def group(self, number: int) -> Path | None:
        return None if self.parent is None else self.parent / phase_group(number)

    def limit(self, number: int, millicores: int) -> None:
        """Hold phase `number` to `millicores`; written only when it changed."""
        group = self.group(number)
        if group is None or self._limits.get(number) == millicores:
            return
        try:
            group.mkdir(exist_ok=True)
            if self.version == 2:
                _write(group / "cpu.max", cpu_max(millicores))
            else:
                _write(group / "cpu.cfs_period_us", str(CFS_PERIOD_US))
                _write(group / "cpu.cfs_quota_us", str(quota_us(millicores)))
        except OSError as error:
            logger.warning("Could not limit phase %d to %dm CPU: %s", number, millicores, error)
            return
        self._limits[number] = millicores
        logger.info(
            "Phase %d's workers may use %dm CPU (cgroup %s, quota %d us per %d us).",
            number,
            millicores,
            group,
            quota_us(millicores),
            CFS_PERIOD_US,
        )

    def launch_prefix(self, number: int) -> list[str]:
        """What a worker's command starts with to run inside phase `number`'s cgroup."""
        group = self.group(number)
        if group is None or number not in self._limits:
            return []
        return [SHELL, "-c", JOIN_AND_EXEC, str(group / PROCS_FILE)]

    def members(self, number: int) -> list[int]:
        """The pids in phase `number`'s cgroup."""
        group = self.group(number)
        return [] if group is None else _pids(group)

    def close(self) -> None:
        """Remove the cgroups, moving any process still in them out first."""
        if self.parent is None:
            return
        _remove(self.parent)
        self._limits.clear()


def _remove(parent: Path) -> None:
    outer = parent.parent / PROCS_FILE
    try:
        groups = sorted(p for p in parent.iterdir() if p.is_dir())
    except FileNotFoundError:  # removed already
        return
    for group in [*groups, parent]:
        for pid in _pids(group):
            with contextlib.suppress(OSError):  # gone meanwhile
                _write(outer, str(pid))
        try:
            group.rmdir()
        except OSError as error:
            if error.errno != errno.ENOENT:
                logger.warning("Could not remove cgroup %s: %s", group, error)


def _remove_stale(base: Path) -> None:
    """Remove the cgroups of `eros dev` runs that were killed before removing theirs."""
    with contextlib.suppress(OSError):
        for path in base.glob("eros-*"):
            pid = path.name.removeprefix("eros-").split("-")[0]
            if pid.isdigit() and not Path("/proc", pid).exists() and path.is_dir():
                _remove(path)


def _try_v2(root: Path, name: str, tried: list[str]) -> CpuLimiter | None:
    controllers = root / "cgroup.controllers"
    try:
        available = controllers.read_text().split()
    except OSError:
        tried.append(f"no cgroup v2 at {root}")
        return None
    if "cpu" not in available:
        tried.append(f"cgroup v2 at {root} has no cpu controller")
        return None
    parent = root / name
    try:
        _remove_stale(root)
        _write(root / "cgroup.subtree_control", "+cpu")
        parent.mkdir(exist_ok=True)
        _write(parent / "cgroup.subtree_control", "+cpu")
    except OSError as error:
        tried.append(f"cgroup v2 at {root} is not writable ({error})")
        with contextlib.suppress(OSError):
            parent.rmdir()
        return None
    return CpuLimiter(parent, V2)


def _try_v1(root: Path, name: str, tried: list[str]) -> CpuLimiter | None:
    for hierarchy in _v1_hierarchies(root):
        if not (hierarchy / "cpu.cfs_quota_us").exists():
            continue
        parent = hierarchy / name
        try:
            _remove_stale(hierarchy)
            parent.mkdir(exist_ok=True)
        except OSError as error:
            tried.append(f"cgroup v1 at {hierarchy} is not writable ({error})")
            continue
        return CpuLimiter(parent, V1)
    if not any(h.exists() for h in _v1_hierarchies(root)):
        tried.append(f"no cgroup v1 cpu hierarchy under {root}")
    return None


def _v1_hierarchies(root: Path) -> Sequence[Path]:
    return [root / name for name in V1_HIERARCHIES]
