"""The Dockerfile builds here and the image serves the API against real servers."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _reachable(host: str) -> bool:
    try:
        socket.create_connection((host, 80), timeout=5).close()
    except OSError:
        return False
    return True


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "building the image needs root (debootstrap, podman)"
    if shutil.which("apt-get") is None and shutil.which("podman") is None:
        return "needs Debian's apt-get (or podman, runc and debootstrap already installed)"
    if not _reachable("deb.debian.org"):
        return "needs the network (deb.debian.org for the stand-in base, PyPI for the build)"
    return None


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_image", ROOT / "scripts" / "build_image.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_image"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.timeout(1800)
def test_the_image_builds_and_serves_health_against_real_servers(tmp_path: Path) -> None:
    reason = _skip_reason()
    if reason is not None:
        pytest.skip(reason)
    script = _load_script()
    script.ensure_tools()
    env = script.engine_env(tmp_path)
    script.build_base(script.base_image_name(), tmp_path, env)
    script.build_image(env)
    assert "usage: eros" in script.in_container("--help", env=env)
    script.check_user_and_tools(env)
    assert script.check_api(env, tmp_path) == 200
