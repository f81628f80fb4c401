"""The export's coverage: every table of the schema is exported or listed as withheld."""

from __future__ import annotations

from typing import Any

import psycopg

from eros.core.privacy import EXPORTED, WITHHELD


def test_every_table_is_exported_or_withheld_with_a_reason(
    db: psycopg.Connection[Any],
) -> None:
    tables = {
        row[0] for row in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    }
    assert tables - EXPORTED.keys() - WITHHELD.keys() == set()
    assert all(reason.strip() for reason in WITHHELD.values())
