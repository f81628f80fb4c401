"""`eros dev --resource FILE`: which ErosProcessing the local loop follows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from eros.cli.dev import DEFAULT_RESOURCE, components, resolve_resource
from eros.cli.main import build_parser
from eros.operator.local import read_resource


def test_dev_takes_the_resource_file_to_follow() -> None:
    args = build_parser().parse_args(["dev", "--resource", "mine.yaml"])
    assert resolve_resource(args.resource) == Path("mine.yaml")


def test_without_a_resource_dev_follows_the_checkouts_dev_example() -> None:
    args = build_parser().parse_args(["dev"])
    assert resolve_resource(args.resource) == DEFAULT_RESOURCE
    assert read_resource(DEFAULT_RESOURCE).name == "eros-dev"


def test_dev_supervises_the_api_and_the_scheduler_and_leaves_workers_to_the_loop() -> None:
    assert [component.name for component in components(8000)] == ["api", "scheduler"]


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
