"""`eros dev`: which ErosProcessing the local loop follows, and the ports it takes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from eros.cli.dev import DEFAULT_RESOURCE, components, port_taken, resolve_resource
from eros.cli.main import build_parser
from eros.operator.local import free_port, read_resource


def test_dev_takes_the_resource_file_to_follow() -> None:
    args = build_parser().parse_args(["dev", "--resource", "mine.yaml"])
    assert resolve_resource(args.resource) == Path("mine.yaml")


def test_without_a_resource_dev_follows_the_checkouts_dev_example() -> None:
    args = build_parser().parse_args(["dev"])
    assert resolve_resource(args.resource) == DEFAULT_RESOURCE
    assert read_resource(DEFAULT_RESOURCE).name == "eros-dev"


def test_dev_supervises_the_api_and_the_scheduler_and_leaves_workers_to_the_loop() -> None:
    assert [component.name for component in components(8000, 9100)] == ["api", "scheduler"]


def test_a_missing_resource_file_stops_dev_before_it_starts_anything(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-P", "-m", "eros.cli.main", "dev", "--resource", "absent.yaml"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "EROS_DATA_DIR": str(tmp_path / "data")},
        timeout=60,
    )
    assert result.returncode == 2
    assert "cannot read absent.yaml" in result.stderr
    assert not (tmp_path / "data").exists()


def test_a_taken_api_port_stops_dev_with_one_sentence_naming_it(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-P", "-m", "eros.cli.main", "dev", "--port", str(port)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "EROS_DATA_DIR": str(tmp_path / "data")},
            timeout=60,
        )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"eros dev: port {port} on 127.0.0.1 is taken by another program "
        "(perhaps another `eros dev`); stop it or pass --port."
    ]
    assert not (tmp_path / "data").exists()


def test_a_free_port_is_one_nobody_listens_on() -> None:
    port = free_port("127.0.0.1")
    assert not port_taken("127.0.0.1", port)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        assert port_taken("127.0.0.1", port)
