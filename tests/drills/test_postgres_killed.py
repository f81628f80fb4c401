"""Drill: PostgreSQL killed with SIGKILL (the postmaster and every backend at once) while
apps write through the API.

PostgreSQL runs with its defaults (`fsync`, `synchronous_commit` on): a write the API
acknowledged was committed, so it survives the kill and the WAL replay. While PostgreSQL is
down the API answers 503 with `Retry-After`, and its pool reconnects by itself once the
server is back. Writes that were retried with their `Idempotency-Key` land exactly once.
"""

from __future__ import annotations

import logging

import pytest

from tests.drills.load import PROFILE, Load, running
from tests.drills.stack import DrillStack
from tests.drills.verify import lost_writes, unexpected_answers

pytestmark = pytest.mark.slow

logger = logging.getLogger(__name__)

ACKS_BEFORE_FAULT = 15
ACKS_AFTER_RECOVERY = 10
FAILURES_DURING_FAULT = 10


def test_postgres_killed_mid_load_keeps_every_acknowledged_write_exactly_once(
    stack: DrillStack, load: Load
) -> None:
    with running(load):
        load.wait_for_acks(ACKS_BEFORE_FAULT)
        stack.kill_postgres()
        load.wait_for_failures(FAILURES_DURING_FAULT)
        assert not stack.api_process.ready(), "readiness must fail while PostgreSQL is down"
        stack.restart_postgres()
        load.wait_for_acks(ACKS_AFTER_RECOVERY, after=load.acks())

    assert lost_writes(stack.redis_url, stack.database_url, load.ledger) == []
    assert (PROFILE, "503") in load.ledger.answers, load.ledger.summary()
    assert unexpected_answers(load.ledger) == set(), load.ledger.summary()
    logger.info("Answers during the drill: %s.", load.ledger.summary())
