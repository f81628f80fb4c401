"""Create `.venv` and install EROS into it, once per change of pyproject.toml.

Used by `scripts/dev.py` and `scripts/test.py`, so that a fresh machine with only
Python 3.11+ needs nothing else. Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
MIN_PYTHON = (3, 11)
# `-P`: do not put the working directory on sys.path. Run from the repository root,
# `python -m ...` would otherwise import the `operator/` folder instead of the standard
# library's `operator` module.
SAFE_PATH = ["-P"]


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_installed(extras: str) -> Path:
    """Return the venv's python with `eros[extras]` installed in editable mode."""
    if sys.version_info < MIN_PYTHON:
        sys.exit(f"EROS needs Python {'.'.join(map(str, MIN_PYTHON))}+; this is {sys.version}")
    python = venv_python()
    if not python.exists():
        sys.stderr.write(f"Creating a virtual environment in {VENV} ...\n")
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = VENV / f".eros-installed-{extras}"
    if not stamp.exists() or stamp.read_text() != digest:
        sys.stderr.write(f"Installing eros[{extras}] into {VENV} ...\n")
        pip = [str(python), *SAFE_PATH, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, "--upgrade", "pip"], cwd=ROOT, check=True)
        subprocess.run([*pip, "-e", f".[{extras}]"], cwd=ROOT, check=True)
        stamp.write_text(digest)
    return python


def ensure_typescript() -> None:
    """Install the TypeScript compiler the client's tests use (clients/typescript), once,
    where npm exists; without it those tests skip and say why."""
    client = ROOT / "clients" / "typescript"
    npm = shutil.which("npm")
    if npm is None or (client / "node_modules" / ".bin" / "tsc").exists():
        return
    sys.stderr.write("Installing TypeScript for the client's tests (npm ci) ...\n")
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=client, capture_output=True
    )
    if result.returncode != 0:
        sys.stderr.write("npm ci failed; the TypeScript compile tests will skip.\n")


# The console's browser test drives the system's Chromium through Playwright (installed
# with the dev extra); it never downloads a browser of its own.
CHROMIUM_NAMES = ("chromium", "chromium-browser")


def report_browser() -> None:
    """Say once, up front, why the browser test will skip where no Chromium is installed."""
    if not any(shutil.which(name) for name in CHROMIUM_NAMES):
        sys.stderr.write(
            "No Chromium found: the console's browser test will skip "
            "(install it with `apt-get install chromium`).\n"
        )


def exec_in_venv(python: Path, args: list[str]) -> None:
    """Replace this process, so that signals (Ctrl-C, SIGTERM) reach the command directly."""
    os.chdir(ROOT)
    os.execv(str(python), [str(python), *SAFE_PATH, *args])
