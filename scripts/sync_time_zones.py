"""Write the IANA time zone names into the ErosProcessing CRD's `offPeak.timeZone` rule.

CEL has no time zone database, so the CRD lists the names the operator can load, as a
`self in [...]` rule with a message an operator of the cluster understands (a rule that
calls `getHours(zone)` would fail at run time with "unknown time zone ... evaluating
rule" instead). The names come from the `tzdata` package, a dependency of EROS that
`zoneinfo` falls back to, and not from the machine's /usr/share/zoneinfo, so that the
output does not depend on the machine it is run on. Run after upgrading tzdata:

    python scripts/sync_time_zones.py           # rewrite the rule in crds/erosprocessing.yaml
    python scripts/sync_time_zones.py --check   # exit 1 if the rule is not what it would write

then `python scripts/sync_crds.py`. `tests/operator/test_crd.py` fails when they drift.
"""

from __future__ import annotations

import argparse
import re
import sys
from importlib import resources
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CRD_PATH = REPO_ROOT / "crds" / "erosprocessing.yaml"
BEGIN = "# BEGIN time zones, written by scripts/sync_time_zones.py"
END = "# END time zones"
NAMES_PER_LINE = 4
MESSAGE = "offPeak.timeZone must be an IANA time zone name such as UTC or Europe/Berlin."
BLOCK = re.compile(rf"^(?P<indent> *){re.escape(BEGIN)}\n.*?^ *{re.escape(END)}\n", re.M | re.S)


def time_zones() -> list[str]:
    """The zone names of the installed tzdata package, sorted."""
    text = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    return sorted(set(text.split()))


def rule_block(zones: list[str], indent: str) -> str:
    """The generated lines: the `x-kubernetes-validations` of `offPeak.timeZone`."""
    quoted = [f'"{zone}"' for zone in zones]
    rows = [
        ", ".join(quoted[i : i + NAMES_PER_LINE]) for i in range(0, len(quoted), NAMES_PER_LINE)
    ]
    inner = indent + " " * 6
    lines = [
        f"{indent}{BEGIN}",
        f"{indent}x-kubernetes-validations:",
        f"{indent}  - rule: >-",
        f"{inner}self in [",
        *(
            f"{inner}{row}," if n < len(rows) - 1 else f"{inner}{row}]"
            for n, row in enumerate(rows)
        ),
        f"{indent}    message: {MESSAGE}",
        f"{indent}    messageExpression: >-",
        f'{inner}"offPeak.timeZone must be an IANA time zone name such as UTC or'
        f' Europe/Berlin, not \'" + self + "\'."',
        f"{indent}{END}",
    ]
    return "\n".join(lines) + "\n"


def rewrite(text: str, zones: list[str]) -> str:
    """The CRD text with its generated block replaced."""
    match = BLOCK.search(text)
    if match is None:
        raise SystemExit(f"{CRD_PATH}: no block between {BEGIN!r} and {END!r}")
    block = rule_block(zones, match.group("indent"))
    return text[: match.start()] + block + text[match.end() :]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 instead of rewriting")
    args = parser.parse_args(argv)
    text = CRD_PATH.read_text(encoding="utf-8")
    wanted = rewrite(text, time_zones())
    if wanted == text:
        sys.stdout.write("the time zones of crds/erosprocessing.yaml are up to date\n")
        return 0
    if args.check:
        sys.stderr.write("crds/erosprocessing.yaml: run python scripts/sync_time_zones.py\n")
        return 1
    CRD_PATH.write_text(wanted, encoding="utf-8")
    sys.stdout.write("rewrote the time zones of crds/erosprocessing.yaml\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
