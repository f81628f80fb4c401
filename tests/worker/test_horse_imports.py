"""What a work horse would import on its own: every job pays for it, since each horse is a
fresh fork of its worker. The worker imports `HORSE_IMPORTS` before its first fork."""

from __future__ import annotations

import json
import subprocess
import sys

from eros.worker.runner import HORSE_IMPORTS

# A fresh interpreter, as a worker starts: its phase work's modules, then optionally the
# preload, then the interaction log's calls that phase 3 makes for every job.
_PROBE = """
import importlib, json, sys
from eros.core.matching.interactions import InteractionKind, InteractionLog
import numpy as np
for module in sys.argv[1:]:
    importlib.import_module(module)
log = InteractionLog(
    np.array([0, 0, 1]), np.array([1, 2, 0]), np.array([1, 1, 1], np.int8), np.zeros(3)
)
before = set(sys.modules)
log.targets_of(0, frozenset(InteractionKind))
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def _imported_by_a_job(*preloaded: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-P", "-c", _PROBE, *preloaded],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    imported: list[str] = json.loads(out)
    return imported


def test_without_the_preload_a_job_would_import_numpy_ma_itself() -> None:
    assert "numpy.ma" in _imported_by_a_job()


def test_after_the_workers_preload_a_job_imports_nothing() -> None:
    assert _imported_by_a_job(*HORSE_IMPORTS) == []
