"""Copy the CustomResourceDefinitions from `crds/` into the Helm chart.

The top-level `crds/` folder is the one source of the CRDs; Helm installs the
chart's `charts/eros/crds/` before any template, so that folder must hold exact
copies. Run after editing a CRD:

    python scripts/sync_crds.py           # copy, and delete chart CRDs with no source
    python scripts/sync_crds.py --check   # exit 1 and list the differences instead

`tests/charts/test_crds.py` fails when the two folders drift apart.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = REPO_ROOT / "crds"
CHART_CRDS_DIR = REPO_ROOT / "charts" / "eros" / "crds"
CRD_GLOB = "*.yaml"


@dataclass(frozen=True)
class Drift:
    """How the chart's CRDs differ from the source folder, by file name."""

    missing: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.changed or self.stale)

    def describe(self) -> str:
        lines = [f"missing from the chart: {name}" for name in self.missing]
        lines += [f"differs from crds/: {name}" for name in self.changed]
        lines += [f"in the chart but not in crds/: {name}" for name in self.stale]
        return "\n".join(lines)


def find_drift(source_dir: Path = SOURCE_DIR, chart_dir: Path = CHART_CRDS_DIR) -> Drift:
    """Compare the two folders byte for byte; a pure read, it changes nothing."""
    sources = {path.name: path for path in sorted(source_dir.glob(CRD_GLOB))}
    copies = {path.name: path for path in sorted(chart_dir.glob(CRD_GLOB))}
    return Drift(
        missing=[name for name in sources if name not in copies],
        changed=[
            name
            for name, path in sources.items()
            if name in copies and copies[name].read_bytes() != path.read_bytes()
        ],
        stale=[name for name in copies if name not in sources],
    )


def sync(source_dir: Path = SOURCE_DIR, chart_dir: Path = CHART_CRDS_DIR) -> Drift:
    """Make `chart_dir` an exact copy of the CRDs in `source_dir`; returns what was fixed."""
    drift = find_drift(source_dir, chart_dir)
    chart_dir.mkdir(parents=True, exist_ok=True)
    for name in drift.missing + drift.changed:
        (chart_dir / name).write_bytes((source_dir / name).read_bytes())
    for name in drift.stale:
        (chart_dir / name).unlink()
    return drift


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="report drift and exit 1 instead of copying"
    )
    args = parser.parse_args(argv)
    if args.check:
        drift = find_drift()
        if not drift.clean:
            sys.stderr.write(f"{drift.describe()}\nrun: python scripts/sync_crds.py\n")
            return 1
        sys.stdout.write("charts/eros/crds matches crds/\n")
        return 0
    drift = sync()
    fixed = [f"copied {name}" for name in drift.missing]
    fixed += [f"updated {name}" for name in drift.changed]
    fixed += [f"removed {name}" for name in drift.stale]
    sys.stdout.write("\n".join(fixed or ["charts/eros/crds already matches crds/"]) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
