from __future__ import annotations

from typing import Any

import psycopg

from eros.core.migrate import apply_migrations, available_migrations


def test_migrations_are_numbered_uniquely_and_in_order() -> None:
    versions = [m.version for m in available_migrations()]
    assert versions == sorted(set(versions))
    assert versions[0] == 1


def test_applying_migrations_again_changes_nothing(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    assert apply_migrations(database_url) == []
    recorded = [row[0] for row in db.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    assert recorded == [m.version for m in available_migrations()]
