"""What every benchmark needs: the machine's description, free ports, and Redis and
PostgreSQL (embedded ones unless EROS_REDIS_URL / EROS_DATABASE_URL are set)."""

from __future__ import annotations

import os
import platform
import socket
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from eros.core.embedded import EmbeddedPostgres, EmbeddedValkey
from eros.core.migrate import apply_migrations

READY_TIMEOUT_SECONDS = 30.0
READY_POLL_SECONDS = 0.1


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, timeout: float = READY_TIMEOUT_SECONDS) -> None:
    """Poll `url` until it answers at all (any HTTP status counts as up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(READY_POLL_SECONDS)
    raise RuntimeError(f"{url} did not become ready")


@dataclass(frozen=True)
class Servers:
    redis_url: str
    database_url: str
    workdir: Path


@contextmanager
def servers(prefix: str, *, database: bool = True) -> Iterator[Servers]:
    """Redis and (unless `database=False`) a migrated PostgreSQL for one benchmark run."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        workdir = Path(tmp)
        valkey = postgres = None
        redis_url = os.environ.get("EROS_REDIS_URL")
        database_url = os.environ.get("EROS_DATABASE_URL", "")
        try:
            if not redis_url:
                valkey = EmbeddedValkey(workdir / "valkey", port=free_port(), persist=False)
                valkey.start()
                redis_url = valkey.url
            if database and not database_url:
                postgres = EmbeddedPostgres(workdir / "postgres", delete_on_stop=True)
                postgres.start()
                database_url = postgres.url
            if database:
                apply_migrations(database_url)
            yield Servers(redis_url, database_url, workdir)
        finally:
            if postgres is not None:
                postgres.stop()
            if valkey is not None:
                valkey.stop()
