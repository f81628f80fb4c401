"""The registry through which the phases' work is plugged in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from eros.core.phases import Phase
from eros.worker.work import JobContext, WorkRegistry
from tests.worker import cpu_work


class _Nothing:
    async def run(self, ctx: JobContext) -> Mapping[str, Any] | None:
        return None


class _Blocking:
    def run(self, ctx: JobContext) -> Mapping[str, Any] | None:
        return None


def test_work_is_registered_per_phase_and_once() -> None:
    registry = WorkRegistry()
    registry.register(Phase.DEEP, _Nothing())
    assert registry.phases() == [Phase.DEEP]
    assert registry.get(Phase.LIGHT) is None
    with pytest.raises(ValueError, match="already has work"):
        registry.register(Phase.DEEP, _Nothing())
    registry.register(Phase.DEEP, _Nothing(), replace=True)


def test_work_that_would_block_the_jobs_event_loop_is_refused() -> None:
    with pytest.raises(TypeError, match="async"):
        WorkRegistry().register(Phase.LIGHT, _Blocking())  # type: ignore[arg-type]


def test_active_users_get_no_work() -> None:
    with pytest.raises(ValueError, match="active users"):
        WorkRegistry().register(Phase.ACTIVE, _Nothing())


def test_modules_register_their_work_through_register_work() -> None:
    registry = WorkRegistry()
    registry.load([cpu_work.__name__])
    assert registry.phases() == [Phase.LIGHT, Phase.MEDIUM, Phase.DEEP]


def test_a_module_without_register_work_is_refused() -> None:
    with pytest.raises(ValueError, match="register_work"):
        WorkRegistry().load(["tests.worker.conftest"])
