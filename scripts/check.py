#!/usr/bin/env python3
"""Static checks: ruff (lint and format), mypy --strict over the `eros` namespace, and
dead code (vulture, through scripts/dead_code.py).

mypy cannot follow setuptools' editable-install finder, which maps the top-level folders
onto `eros.*`, so this script lays the same mapping out as symlinks under `.eros/typecheck`.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Folder -> package, as pyproject.toml maps them (its top-level packages only).
PACKAGES = {
    folder: package
    for package, folder in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"][
        "setuptools"
    ]["package-dir"].items()
    if "/" not in folder
}
TYPECHECK_ROOT = ROOT / ".eros" / "typecheck"


def _link_namespace() -> None:
    namespace = TYPECHECK_ROOT / "eros"
    namespace.mkdir(parents=True, exist_ok=True)
    for folder in PACKAGES:
        link = namespace / folder
        if not link.is_symlink():
            link.symlink_to(Path("..", "..", "..", folder))


def _run(*command: str, env: dict[str, str] | None = None) -> bool:
    sys.stdout.write(f"$ {' '.join(command)}\n")
    sys.stdout.flush()
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode == 0


def main() -> int:
    import os

    _link_namespace()
    python = sys.executable
    ok = _run(python, "-P", "-m", "ruff", "check", ".")
    ok = _run(python, "-P", "-m", "ruff", "format", "--check", ".") and ok
    packages = [
        arg for name, pkg in PACKAGES.items() if (ROOT / name).is_dir() for arg in ("-p", pkg)
    ]
    env = {**os.environ, "MYPYPATH": str(TYPECHECK_ROOT)}
    ok = _run(python, "-P", "-m", "mypy", *packages, env=env) and ok
    ok = _run(python, "-P", str(ROOT / "scripts" / "dead_code.py")) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
