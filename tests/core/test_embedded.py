"""The embedded servers come back on their port and data, and die with whoever started them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
import redis

from eros.core.embedded import EmbeddedPostgres, EmbeddedValkey
from tests.conftest import free_port
from tests.core.test_parent_death import DEADLINE_SECONDS, alive
from tests.pipeline.fixtures import wait_until

# Starts both servers under a data directory, prints their pids, then waits to be killed.
OWNER = """
import sys, time
from pathlib import Path
from eros.core.embedded import EmbeddedPostgres, EmbeddedValkey
valkey = EmbeddedValkey(Path(sys.argv[1]) / "valkey")
valkey.start()
postgres = EmbeddedPostgres(Path(sys.argv[1]) / "postgres")
postgres.start()
print(valkey.pid, postgres.pid, flush=True)
time.sleep(600)
"""


def test_a_killed_valkey_restarts_on_its_port_with_its_data(tmp_path: Path) -> None:
    valkey = EmbeddedValkey(tmp_path / "valkey", port=free_port())
    valkey.start()
    try:
        client = redis.Redis.from_url(valkey.url)
        client.set("kept", "yes")
        client.bgrewriteaof()
        wait_until(lambda: client.info("persistence")["aof_rewrite_in_progress"] == 0)
        url, pid = valkey.url, valkey.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not valkey.alive, what="Valkey to die")
        valkey.restart()
        assert valkey.alive and valkey.url == url
        assert redis.Redis.from_url(valkey.url).get("kept") == b"yes"
    finally:
        valkey.stop()


def test_a_killed_postgres_restarts_on_its_socket_with_its_data(tmp_path: Path) -> None:
    postgres = EmbeddedPostgres(tmp_path / "postgres", delete_on_stop=True)
    postgres.start()
    try:
        with psycopg.connect(postgres.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (x int)")
        url, pid = postgres.url, postgres.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not postgres.alive, what="PostgreSQL to die")
        wait_until(_restarts(postgres), what="PostgreSQL to restart")
        assert postgres.url == url
        with psycopg.connect(postgres.url) as conn:
            assert conn.execute("SELECT count(*) FROM kept").fetchone() == (0,)
    finally:
        postgres.stop()


def _restarts(postgres: EmbeddedPostgres) -> Callable[[], bool]:
    def attempt() -> bool:
        # Backends of the killed postmaster may hold its shared memory for a moment.
        try:
            postgres.restart()
        except Exception:
            return False
        return bool(postgres.alive)

    return attempt


def _start_then_kill_their_owner(tmp_path: Path) -> list[int]:
    owner = subprocess.Popen(
        [sys.executable, "-P", "-c", OWNER, str(tmp_path)], stdout=subprocess.PIPE
    )
    assert owner.stdout is not None
    pids = [int(pid) for pid in owner.stdout.readline().split()]
    assert len(pids) == 2 and all(alive(pid) for pid in pids)
    os.kill(owner.pid, signal.SIGKILL)
    owner.wait()
    return pids


def test_the_servers_die_with_a_process_killed_with_sigkill(tmp_path: Path) -> None:
    pids = _start_then_kill_their_owner(tmp_path)
    wait_until(
        lambda: not any(alive(pid) for pid in pids),
        timeout=DEADLINE_SECONDS,
        what="the servers to die",
    )


def test_a_server_started_after_its_owner_was_killed_stops_with_the_next_owner(
    tmp_path: Path,
) -> None:
    pids = _start_then_kill_their_owner(tmp_path)
    wait_until(lambda: not any(alive(pid) for pid in pids), what="the first servers to die")
    postgres = EmbeddedPostgres(tmp_path / "postgres")
    postgres.start()
    pid = postgres.pid
    assert pid is not None
    postgres.stop()
    wait_until(lambda: not alive(pid), what="PostgreSQL to stop")
