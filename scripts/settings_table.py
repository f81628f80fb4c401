#!/usr/bin/env python3
"""Regenerate the settings table in README.md from `eros.core.settings.Settings`.

.venv/bin/python scripts/settings_table.py          # rewrite README.md
.venv/bin/python scripts/settings_table.py --check  # exit 1 if README.md is stale
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path

from pydantic import SecretStr

from eros.core.settings import Settings

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def _default(field_default: object) -> str:
    if isinstance(field_default, SecretStr):
        return "development-only value"
    if isinstance(field_default, Enum):
        return str(field_default.value)
    if field_default is None:
        return "unset"
    if isinstance(field_default, list):
        return (
            "[" + ", ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in field_default) + "]"
        )
    return str(field_default)


def render() -> str:
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
        lines.append(f"| `EROS_{name.upper()}` | `{_default(default)}` | {field.description} |")
    return "\n".join(lines)


def updated(text: str) -> str:
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{render()}\n{END}{tail}"


def main() -> int:
    text = README.read_text()
    new = updated(text)
    if "--check" in sys.argv:
        if new != text:
            sys.stderr.write("README.md settings table is stale: run scripts/settings_table.py\n")
            return 1
        return 0
    README.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
