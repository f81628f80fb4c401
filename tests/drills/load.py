"""The drills' load: app-like clients writing through the real API (heartbeats, profile
updates, interaction batches, reports) and a ledger of every write the API acknowledged
with a 2xx, so that a drill can check afterwards that none of them was lost.

Each client is one user writing one request at a time, as an app does. A batch or a report
that was not acknowledged is sent again with the same `Idempotency-Key` until it is, as
the API asks of its clients, so the ledger also shows whether retries across a fault
write twice.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx

from tests.api.profile_support import profile_body
from tests.drills.stack import DrillUser
from tests.pipeline.fixtures import wait_until

HEARTBEAT = "heartbeat"
PROFILE = "profile"
INTERACTIONS = "interactions"
REPORT = "report"
KINDS = (HEARTBEAT, PROFILE, INTERACTIONS, REPORT)
UNREACHABLE = "unreachable"
REPLAYED = " replayed"

# Longer than any answer of a loaded two-core machine: a timeout must mean the fault.
REQUEST_TIMEOUT_SECONDS = 10.0
# A client honours Retry-After, but never waits longer than this, so a drill sees the
# service return soon after it does.
MAX_BACKOFF_SECONDS = 0.25
EVENTS_PER_BATCH = 2
REPORT_EVERY_CYCLES = 3
BIO_PREFIX = "drill version "
EVENT_SPACING = timedelta(milliseconds=1)


@dataclass(frozen=True)
class AckedEvent:
    actor: UUID
    target: UUID
    kind: str
    occurred_at: datetime


@dataclass(frozen=True)
class AckedBatch:
    """An acknowledged interaction batch as it was sent, to send again."""

    user: DrillUser
    key: str
    body: dict[str, Any]


@dataclass
class Ledger:
    """What the API acknowledged, and every answer it gave, by kind of write."""

    heartbeats: dict[UUID, int] = field(default_factory=dict)
    profiles: dict[UUID, int] = field(default_factory=dict)
    events: list[AckedEvent] = field(default_factory=list)
    batches: list[AckedBatch] = field(default_factory=list)
    reports: dict[str, UUID] = field(default_factory=dict)
    answers: Counter[tuple[str, str]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answered(self, kind: str, answer: str) -> None:
        with self._lock:
            self.answers[(kind, answer)] += 1

    def acked_heartbeat(self, user: UUID, server_ms: int) -> None:
        with self._lock:
            self.heartbeats[user] = max(server_ms, self.heartbeats.get(user, 0))

    def acked_profile(self, user: UUID, version: int) -> None:
        with self._lock:
            self.profiles[user] = version

    def acked_batch(self, batch: AckedBatch, events: list[AckedEvent]) -> None:
        with self._lock:
            self.batches.append(batch)
            self.events.extend(events)

    def acked_report(self, key: str, report_id: UUID) -> None:
        with self._lock:
            self.reports[key] = report_id

    def heartbeats_now(self) -> dict[UUID, int]:
        with self._lock:
            return dict(self.heartbeats)

    def acks(self, kind: str) -> int:
        with self._lock:
            return sum(n for (k, answer), n in self.answers.items() if k == kind and _ok(answer))

    def failures(self) -> int:
        with self._lock:
            return sum(n for (_, answer), n in self.answers.items() if not _ok(answer))

    def answers_seen(self) -> set[str]:
        with self._lock:
            return {answer for (_, answer) in self.answers}

    def summary(self) -> str:
        with self._lock:
            return ", ".join(f"{k} {a}: {n}" for (k, a), n in sorted(self.answers.items()))


def _ok(answer: str) -> bool:
    return answer.startswith("2")


class AppClient:
    """One user's app: heartbeat, profile save, interaction batch and now and then a report,
    again and again until told to stop. It keeps its unacknowledged writes and its profile
    version from one run to the next."""

    def __init__(
        self, base_url: str, user: DrillUser, target: UUID, reportee: UUID, ledger: Ledger
    ) -> None:
        self.name = f"drill client {user.id}"
        self._base_url = base_url
        self._user = user
        self._target = target
        self._reportee = reportee
        self._ledger = ledger
        self._version = 0
        self._writes = 0
        self._cycle = 0
        self._last_event = datetime.fromtimestamp(0, UTC)
        self._batch: tuple[str, list[dict[str, str]]] | None = None
        self._report: str | None = None

    def run(self, stop: threading.Event) -> None:
        with httpx.Client(
            base_url=self._base_url, headers=self._user.headers, timeout=REQUEST_TIMEOUT_SECONDS
        ) as http:
            while not stop.is_set():
                self._heartbeat(http)
                self._save_profile(http)
                self._send_batch(http)
                if self._cycle % REPORT_EVERY_CYCLES == 0 or self._report is not None:
                    self._file_report(http)
                self._cycle += 1

    def _send(
        self, http: httpx.Client, kind: str, method: str, path: str, body: Any, key: str = ""
    ) -> httpx.Response | None:
        headers = {"Idempotency-Key": key} if key else {}
        try:
            response = http.request(method, path, json=body, headers=headers)
        except httpx.TransportError:
            self._ledger.answered(kind, UNREACHABLE)
            time.sleep(MAX_BACKOFF_SECONDS)
            return None
        replayed = response.headers.get("Idempotent-Replayed") == "true"
        self._ledger.answered(kind, f"{response.status_code}{REPLAYED if replayed else ''}")
        if response.is_success:
            return response
        retry_after = response.headers.get("Retry-After")
        if response.status_code == 503 and retry_after is None:
            self._ledger.answered(kind, "503 without Retry-After")
        time.sleep(min(float(retry_after or 0), MAX_BACKOFF_SECONDS))
        return None

    def _event_time(self) -> datetime:
        """Now, but at least a millisecond after this client's previous event: each event
        is told apart by its actor and time."""
        now = datetime.now(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        self._last_event = max(now, self._last_event + EVENT_SPACING)
        return self._last_event

    def _key(self, what: str) -> str:
        self._writes += 1
        return f"{self._user.id}-{what}-{self._writes}"

    def _heartbeat(self, http: httpx.Client) -> None:
        beat = {"appActive": True, "screenOn": True}
        response = self._send(http, HEARTBEAT, "POST", "/api/v1/heartbeat", beat)
        if response is not None:
            self._ledger.acked_heartbeat(self._user.id, int(response.json()["timestamp"]))

    def _save_profile(self, http: httpx.Client) -> None:
        self._version += 1
        body = profile_body(bio=f"{BIO_PREFIX}{self._version}")
        if self._send(http, PROFILE, "PUT", "/api/v1/users/profile", body) is not None:
            self._ledger.acked_profile(self._user.id, self._version)

    def _send_batch(self, http: httpx.Client) -> None:
        if self._batch is None:
            events = [
                {
                    "targetUserId": str(self._target),
                    "type": "view",
                    "occurredAt": self._event_time().isoformat(),
                }
                for _ in range(EVENTS_PER_BATCH)
            ]
            self._batch = (self._key("batch"), events)
        key, events = self._batch
        body = {"events": events}
        response = self._send(http, INTERACTIONS, "POST", "/api/v1/interactions", body, key)
        if response is None:
            return  # sent again, with the same key, next cycle
        self._batch = None
        answer = response.json()
        if answer["accepted"] != len(events) or answer["rejected"]:
            self._ledger.answered(INTERACTIONS, "rejected")
            return
        self._ledger.acked_batch(
            AckedBatch(self._user, key, body),
            [
                AckedEvent(
                    self._user.id, self._target, "view", datetime.fromisoformat(e["occurredAt"])
                )
                for e in events
            ],
        )

    def _file_report(self, http: httpx.Client) -> None:
        if self._report is None:
            self._report = self._key("report")
        key = self._report
        # The key in the details: the drill finds the report again by it.
        body = {"reportedUserId": str(self._reportee), "reason": "spam", "details": key}
        response = self._send(http, REPORT, "POST", "/api/v1/reports", body, key)
        if response is not None:
            self._report = None
            self._ledger.acked_report(key, UUID(response.json()["reportId"]))


class Load:
    """Every user's app client, writing from `start()` to `stop()`, as often as wanted."""

    def __init__(self, base_url: str, users: list[DrillUser], target: UUID, reportee: UUID) -> None:
        self.ledger = Ledger()
        self._clients = [AppClient(base_url, user, target, reportee, self.ledger) for user in users]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        assert not self._threads, "the load is already running"
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=client.run, args=(self._stop,), name=client.name, daemon=True)
            for client in self._clients
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(REQUEST_TIMEOUT_SECONDS * 2)
            assert not thread.is_alive(), f"{thread.name} did not stop"
        self._threads = []

    def wait_for_acks(
        self, count: int, *, after: dict[str, int] | None = None, kinds: tuple[str, ...] = KINDS
    ) -> None:
        """Until each of `kinds` of write has `count` more acknowledgements than in `after`."""
        base = after or {}

        def enough() -> bool:
            return all(self.ledger.acks(kind) >= base.get(kind, 0) + count for kind in kinds)

        wait_until(enough, what=f"{count} more acknowledged writes of {', '.join(kinds)}")

    def wait_for_failures(self, count: int = 1) -> None:
        """Until the clients have felt the fault: `count` more writes were refused or went
        unanswered."""
        seen = self.ledger.failures()
        wait_until(
            lambda: self.ledger.failures() >= seen + count, what="the clients to see the fault"
        )

    def acks(self) -> dict[str, int]:
        return {kind: self.ledger.acks(kind) for kind in KINDS}


@contextmanager
def running(load: Load) -> Iterator[Load]:
    load.start()
    try:
        yield load
    finally:
        load.stop()
