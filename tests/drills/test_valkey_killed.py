"""Drill: Valkey killed with SIGKILL while apps write through the API.

Embedded Valkey keeps an append-only file fsynced every second (`core/embedded.py`): what
it promises is every write before its latest fsync. So the drill asks Valkey for an fsync
barrier (`WAITAOF`) under load, kills it right after, and checks the heartbeats
acknowledged before the barrier; those acknowledged between the barrier and the kill are
counted, not promised. PostgreSQL's writes must all be there; the API must answer 503
with `Retry-After` to what needs Valkey while it is down, keep taking interaction batches
and reports, and serve everything again once it is back.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import redis

from tests.drills.load import INTERACTIONS, REPORT, Load, running
from tests.drills.stack import DrillStack
from tests.drills.verify import (
    lost_database_writes,
    lost_heartbeats,
    lost_writes,
    unexpected_answers,
)

pytestmark = pytest.mark.slow

logger = logging.getLogger(__name__)

ACKS_BEFORE_FAULT = 15
ACKS_AFTER_RECOVERY = 10
# Refused writes the clients see before Valkey comes back: an outage, not a blip.
FAILURES_DURING_FAULT = 10
WRITES_DURING_FAULT = 2
FSYNC_BARRIER_TIMEOUT_MS = 10_000


def fsync_barrier(redis_url: str) -> None:
    """Return once Valkey has fsynced every write it acknowledged so far."""
    client = redis.Redis.from_url(redis_url)
    try:
        # redis-py has no WAITAOF method.
        command: Any = client.execute_command
        local, _replicas = command("WAITAOF", 1, 0, FSYNC_BARRIER_TIMEOUT_MS)
    finally:
        client.close()
    assert local == 1, "Valkey did not fsync its append-only file"


def test_valkey_killed_mid_load_keeps_every_heartbeat_fsynced_and_every_database_write(
    stack: DrillStack, load: Load
) -> None:
    with running(load):
        load.wait_for_acks(ACKS_BEFORE_FAULT)
        fsynced = load.ledger.heartbeats_now()
        fsync_barrier(stack.redis_url)
        stack.kill_valkey()
        load.wait_for_failures(FAILURES_DURING_FAULT)
        assert not stack.api_process.ready(), "readiness must fail while Valkey is down"
        # Writes that only need PostgreSQL go on meanwhile.
        load.wait_for_acks(WRITES_DURING_FAULT, after=load.acks(), kinds=(INTERACTIONS, REPORT))
    # No heartbeat after the kill may hide a lost one behind a newer score.
    acked_before_restart = load.ledger.heartbeats_now()
    stack.restart_valkey()

    assert lost_heartbeats(stack.redis_url, fsynced) == []
    unsynced = lost_heartbeats(stack.redis_url, acked_before_restart)
    logger.info(
        "Of %d users' newest acknowledged heartbeats, %d were lost after the fsync barrier.",
        len(acked_before_restart),
        len(unsynced),
    )
    assert lost_database_writes(stack.database_url, load.ledger) == []
    assert ("heartbeat", "503") in load.ledger.answers, load.ledger.summary()

    with running(load):
        after = load.acks()
        load.wait_for_acks(ACKS_AFTER_RECOVERY, after=after)
    assert lost_writes(stack.redis_url, stack.database_url, load.ledger) == []
    assert unexpected_answers(load.ledger) == set(), load.ledger.summary()
    logger.info("Answers during the drill: %s.", load.ledger.summary())
