"""Drill: the API process killed with SIGKILL while apps write through it.

The API keeps nothing of its own: a write is acknowledged only after PostgreSQL committed it
(or Valkey applied it), so killing the process loses only answers, never acknowledged
writes. A client that lost an answer sends the write again with the same
`Idempotency-Key` to the restarted API: the key was claimed in the write's own transaction,
so the retry either replays the first answer or writes once.
"""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.drills.load import INTERACTIONS, REQUEST_TIMEOUT_SECONDS, UNREACHABLE, Load, running
from tests.drills.stack import DrillStack
from tests.drills.verify import lost_writes, unexpected_answers

pytestmark = pytest.mark.slow

logger = logging.getLogger(__name__)

ACKS_BEFORE_FAULT = 15
ACKS_AFTER_RECOVERY = 10
FAILURES_DURING_FAULT = 6


def test_the_api_killed_mid_load_loses_no_acknowledged_write_and_retries_land_once(
    stack: DrillStack, load: Load
) -> None:
    with running(load):
        load.wait_for_acks(ACKS_BEFORE_FAULT)
        stack.api_process.kill()
        answered_before_the_kill = list(load.ledger.batches)
        load.wait_for_failures(FAILURES_DURING_FAULT)
        stack.api_process.start()
        load.wait_for_acks(ACKS_AFTER_RECOVERY, after=load.acks())

    # A client that never got the answer sends the batch again to the new process: the
    # stored answer is replayed and nothing is written twice (checked below).
    for batch in answered_before_the_kill:
        response = httpx.post(
            f"{stack.api_process.url}/api/v1/interactions",
            json=batch.body,
            headers={**batch.user.headers, "Idempotency-Key": batch.key},
            timeout=REQUEST_TIMEOUT_SECONDS,
        )
        assert response.status_code == 200, response.text
        assert response.headers.get("Idempotent-Replayed") == "true"
    assert lost_writes(stack.redis_url, stack.database_url, load.ledger) == []
    assert (INTERACTIONS, UNREACHABLE) in load.ledger.answers, load.ledger.summary()
    assert unexpected_answers(load.ledger) == set(), load.ledger.summary()
    logger.info("Answers during the drill: %s.", load.ledger.summary())
