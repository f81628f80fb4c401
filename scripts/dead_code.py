#!/usr/bin/env python3
"""Dead code: vulture over the source folders, the tests left out, with a whitelist.

    .venv/bin/python -P scripts/dead_code.py [--confidence 60]

Two choices differ from running `vulture` bare, both so that dead code cannot hide:

- the tests are not scanned: a function only a test calls is dead in the product;
- a name listed in a module's `__all__` does not count as used (every module here lists
  its public names, which would otherwise make every public function look alive).

Names that a framework uses without a call in the source (FastAPI routes, kopf
handlers, pydantic fields and validators, enum members read by value) are listed in
scripts/dead_code_whitelist.py, each with why.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
from pathlib import Path
from typing import Any

import vulture

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["core", "pipeline", "api", "worker", "operator", "cli", "simulate", "bench", "scripts"]
WHITELIST = ROOT / "scripts" / "dead_code_whitelist.py"
# vulture rates unused functions, classes, variables and attributes at 60 %: below that
# nothing is reported, and above it only imports, arguments and unreachable code are.
DEFAULT_CONFIDENCE = 60


# Classes whose class-level names are read by a framework: pydantic serializes every field
# (and reads `model_config`), an enum's members are looked up by value. Subclasses of
# these, in any scanned file, count too.
FIELD_BASES = frozenset({"BaseModel", "BaseSettings", "Enum", "StrEnum", "IntEnum", "Flag"})
# Decorators that register a function with a framework, which then calls it.
FRAMEWORK_DECORATORS = [
    "@*router.*",  # FastAPI routes
    "@kopf.*",  # kopf handlers, daemons and indexes
    "@field_validator",
    "@model_validator",
]


def _base_name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _class_level_names(node: ast.ClassDef) -> set[str]:
    names: set[str] = set()
    for statement in node.body:
        if isinstance(statement, ast.Assign):
            names |= {t.id for t in statement.targets if isinstance(t, ast.Name)}
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            names.add(statement.target.id)
    return names


class SourceVulture(vulture.Vulture):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__(ignore_decorators=FRAMEWORK_DECORATORS)
        self.classes: dict[str, tuple[set[str], set[str]]] = {}  # name -> (bases, names)

    def visit_Assign(self, _node: ast.Assign) -> Any:  # noqa: N802 - ast.NodeVisitor naming
        # `__all__` names what a module offers, not what anyone uses.
        return None

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:  # noqa: N802 - ast.NodeVisitor naming
        super().visit_ClassDef(node)
        bases, names = self.classes.setdefault(node.name, (set(), set()))
        bases |= {_base_name(base) for base in node.bases}
        names |= _class_level_names(node)

    def mark_framework_fields(self) -> None:
        """Count the class-level names of models and enums (at any depth) as used."""
        framework = set(FIELD_BASES)
        grew = True
        while grew:
            grew = False
            for name, (bases, _) in self.classes.items():
                if name not in framework and bases & framework:
                    framework.add(name)
                    grew = True
        for name in framework & self.classes.keys():
            self.used_names.update(self.classes[name][1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--confidence", type=int, default=DEFAULT_CONFIDENCE)
    args = parser.parse_args()
    os.chdir(ROOT)  # reports name files relative to the checkout
    finder = SourceVulture()
    finder.scavenge([*SOURCES, str(WHITELIST.relative_to(ROOT))])
    finder.mark_framework_fields()
    unused = [
        item
        for item in finder.get_unused_code(min_confidence=args.confidence)
        if Path(item.filename).resolve() != WHITELIST
    ]
    for item in unused:
        sys.stdout.write(item.get_report() + "\n")
    if unused:
        sys.stdout.write(
            f"{len(unused)} unused definitions: remove them, or list a framework's use in "
            f"{WHITELIST.relative_to(ROOT)}.\n"
        )
    return 1 if unused or finder.exit_code else 0


if __name__ == "__main__":
    sys.exit(main())
