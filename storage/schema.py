"""Schema migrations: numbered SQL files applied in order, the version kept in PRAGMA user_version.

A migration file is named ``NNNN_what_it_does.sql`` and holds plain statements without BEGIN or
COMMIT: each file runs in one transaction together with the version bump, so it applies whole or
not at all. Migrations run with foreign keys off, as SQLite's procedure for rebuilding a table
requires (dropping a parent table would otherwise cascade into its children), and every foreign
key is checked before the transaction commits.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from storage.connection import Connection
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


async def schema_version(connection: Connection) -> int:
    """The version the database's schema is at (0 for a new database)."""
    (row,) = await connection.fetch("PRAGMA user_version")
    return int(row[0])


async def migrate(connection: Connection, migrations: tuple[Migration, ...], database: str) -> int:
    """Apply the migrations the database lacks, each in one transaction; return the new version."""
    current = await schema_version(connection)
    latest = len(migrations)
    if current > latest:
        raise StorageError(
            f"{database} was written by a newer Baraza (schema {current}, this one knows {latest})"
        )
    if current == latest:
        return current
    await connection.pragma("PRAGMA foreign_keys = OFF")
    try:
        for migration in migrations[current:]:
            try:
                await connection.run_script_atomically(
                    f"{migration.sql}\n;\n{_FOREIGN_KEYS_HOLD}\n"
                    f"PRAGMA user_version = {migration.version};"
                )
            except sqlite3.Error as error:
                raise StorageError(
                    f"{database}: migration {migration.name} failed: {error}") from error
    finally:
        await connection.pragma("PRAGMA foreign_keys = ON")
    return latest


# Fails the migration's transaction (a CHECK constraint) when any foreign key is left dangling.
_FOREIGN_KEYS_HOLD = """
CREATE TEMP TABLE _foreign_keys_hold (dangling INTEGER CHECK (dangling = 0));
INSERT INTO _foreign_keys_hold SELECT count(*) FROM pragma_foreign_key_check;
DROP TABLE _foreign_keys_hold;
"""
