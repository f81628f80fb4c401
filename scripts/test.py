#!/usr/bin/env python3
"""Run the whole test suite: `python3 scripts/test.py`.

Extra arguments go to pytest (e.g. `-k heartbeat`, or `-m slow` for the slow tests).
"""

from __future__ import annotations

import sys

from bootstrap import ensure_installed, ensure_typescript, exec_in_venv, report_browser

if __name__ == "__main__":
    python = ensure_installed("dev")
    ensure_typescript()
    report_browser()
    exec_in_venv(python, ["-m", "pytest", *sys.argv[1:]])
