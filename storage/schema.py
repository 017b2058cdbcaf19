"""Schema migrations: numbered SQL files, applied in order by the backend.

``migrations/`` holds SQLite's (``SQLiteBackend``), ``migrations/postgresql/`` PostgreSQL's
(``PostgresBackend``): the same numbers and names, so a schema version means the same on both; a
change to the schema is a new file in each.

A migration file is named ``NNNN_what_it_does.sql`` and holds plain statements without BEGIN or
COMMIT: each file runs in one transaction together with the version bump, so it applies whole or
not at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from storage.errors import StorageError

MIGRATIONS_DIR: Traversable = resources.files("storage") / "migrations"
_FILE_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    """One schema step: applying it brings the database to ``version``."""

    version: int
    name: str
    sql: str


def load_migrations(directory: Traversable = MIGRATIONS_DIR) -> tuple[Migration, ...]:
    """Read the directory's migrations in order, refusing odd names, gaps and duplicates."""
    migrations = []
    for entry in directory.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE_NAME.match(entry.name)
        if match is None:
            raise StorageError(f"migration file {entry.name!r} is not named NNNN_description.sql")
        migrations.append(Migration(int(match[1]), entry.name, entry.read_text(encoding="utf-8")))
    migrations.sort(key=lambda m: (m.version, m.name))
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise StorageError(f"migration {migration.name} should be numbered {expected:04d}")
    return tuple(migrations)
