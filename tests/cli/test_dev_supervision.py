"""`eros dev` as a developer runs it: a component or an embedded server killed with SIGKILL
comes back, and when `eros dev` itself is killed with SIGKILL nothing it started survives."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from uuid import uuid4

import pytest
import redis

from eros.core.keys import ACTIVITY_KEY
from tests.conftest import free_port
from tests.core.test_parent_death import alive
from tests.pipeline.fixtures import wait_until

pytestmark = pytest.mark.slow

# Starting the whole stack on a shared two-core machine: PostgreSQL, migrations, workers.
START_TIMEOUT_SECONDS = 180.0
# Workers drain on their parent-death signal; give them a Kubernetes pod's grace and more.
GONE_TIMEOUT_SECONDS = 120.0
STARTED = re.compile(r"Started (\w+) \(pid (\d+)\)")
REDIS_URL = re.compile(r"Redis: +(redis://\S+)")
# Longer than phase 1's idleAfter in examples/erosprocessing-dev.yaml.
PHASE_1_IDLE_SECONDS = 120


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _started(log: Path, name: str) -> list[int]:
    """The pids `eros dev` logged starting `name` with, oldest first."""
    return [int(pid) for what, pid in STARTED.findall(log.read_text()) if what == name]


def _descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _running(pids: set[int], program: bytes) -> list[int]:
    found = []
    for pid in pids:
        with contextlib.suppress(OSError):
            if program in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
    return found


def _valkey_pid(dev: int) -> int:
    [pid] = _running(_descendants(dev), b"valkey-server")
    return pid


def _with_a_worker(pids: set[int]) -> set[int] | None:
    return pids if _running(pids, b"worker\0--phase") else None


def _redis_url(log: Path) -> str:
    match = REDIS_URL.search(log.read_text())
    assert match is not None
    return match.group(1)


def _postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])


def _start_dev(tmp_path: Path, repo_root: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("EROS_REDIS_URL", "EROS_DATABASE_URL")}
    env["EROS_DATA_DIR"] = str(tmp_path / "data")
    with (tmp_path / "dev.log").open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-P", "-m", "eros.cli.main", "dev", "--port", str(port)],
            cwd=repo_root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _clean_up(dev: subprocess.Popen[bytes], children: set[int]) -> None:
    if dev.poll() is None:
        dev.kill()
        dev.wait()
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_dev_restarts_what_was_killed_and_takes_everything_with_it_when_killed(
    tmp_path: Path, repo_root: Path
) -> None:
    port, data_dir, log = free_port(), tmp_path / "data", tmp_path / "dev.log"
    dev = _start_dev(tmp_path, repo_root, port)
    children: set[int] = set()
    try:
        wait_until(lambda: _ready(port), timeout=START_TIMEOUT_SECONDS, what="the API")

        # A component killed with SIGKILL is restarted, and says so.
        [api] = _started(log, "api")
        os.kill(api, signal.SIGKILL)
        wait_until(lambda: len(_started(log, "api")) == 2, what="a second API")
        assert "api exited with code -9; restarting it in" in log.read_text()
        wait_until(lambda: _ready(port), what="the restarted API")

        # So is an embedded server, on its port and data: the API gets ready again.
        os.kill(_valkey_pid(dev.pid), signal.SIGKILL)
        wait_until(lambda: "Restarted Valkey" in log.read_text(), what="Valkey's restart")
        wait_until(lambda: _ready(port), what="the API over the restarted Valkey")

        # A user idle long enough for phase 1 makes the local loop start a worker.
        idle_since = (time.time() - PHASE_1_IDLE_SECONDS) * 1000
        redis.Redis.from_url(_redis_url(log)).zadd(ACTIVITY_KEY, {uuid4().bytes: idle_since})
        # Killed with SIGKILL itself while that worker runs, `eros dev` leaves nothing running.
        children = wait_until(lambda: _with_a_worker(_descendants(dev.pid)), what="a worker")
        children.add(_postmaster_pid(data_dir))
        os.kill(dev.pid, signal.SIGKILL)
        dev.wait()
        wait_until(
            lambda: not [pid for pid in children if alive(pid)],
            timeout=GONE_TIMEOUT_SECONDS,
            what="every child of eros dev to end",
        )
    finally:
        _clean_up(dev, children)


def test_dev_stopped_with_sigterm_stops_the_servers_it_restarted(
    tmp_path: Path, repo_root: Path
) -> None:
    port, data_dir, log = free_port(), tmp_path / "data", tmp_path / "dev.log"
    dev = _start_dev(tmp_path, repo_root, port)
    children: set[int] = set()
    try:
        wait_until(lambda: _ready(port), timeout=START_TIMEOUT_SECONDS, what="the API")
        first = _postmaster_pid(data_dir)
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: "Restarted PostgreSQL" in log.read_text(), what="PostgreSQL's restart")
        wait_until(lambda: _ready(port), what="the API over the restarted PostgreSQL")
        restarted = _postmaster_pid(data_dir)
        assert restarted != first

        children = _descendants(dev.pid) | {restarted}
        dev.send_signal(signal.SIGTERM)
        assert dev.wait(GONE_TIMEOUT_SECONDS) == 0
        wait_until(
            lambda: not [pid for pid in children if alive(pid)],
            timeout=GONE_TIMEOUT_SECONDS,
            what="everything eros dev runs to stop",
        )
        assert "EROS dev stopped." in log.read_text()
    finally:
        _clean_up(dev, children)
