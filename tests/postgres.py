"""PostgreSQL for the tests: the cluster named by BARAZA_TEST_POSTGRES, a fresh database per test,
and witnesses that look into either engine's database from outside the code under test.

``scripts/throwaway-postgres python -m pytest`` starts a cluster and sets the variable (``.ci/run``
does). Without it a test that needs PostgreSQL skips, saying so, except under CI=true, where it
fails: CI must never pass by skipping the second database.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from storage.postgresql import is_postgres_url, to_postgres

URL_VARIABLE = "BARAZA_TEST_POSTGRES"
# The engines a storage or end-to-end test runs on, one after the other (fixture params).
DIALECTS = ("sqlite", "postgresql")


def server_url() -> str:
    """The test cluster's URL; skips the test (fails it under CI) when there is none."""
    url = os.environ.get(URL_VARIABLE)
    if url:
        return url
    message = (f"no PostgreSQL to test against: {URL_VARIABLE} is not set "
               "(run the tests under scripts/throwaway-postgres)")
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def with_database(url: str, name: str) -> str:
    """``url`` naming the database ``name`` instead of its own."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """A new empty database on the test cluster, dropped afterwards."""
    server = server_url()
    name = f"baraza_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    try:
        yield with_database(server, name)
    finally:
        admin = await asyncpg.connect(server)
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await admin.close()


async def query(url: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Run one statement (SQLite's placeholders) over a connection of its own, as a witness."""
    connection = await asyncpg.connect(url)
    try:
        return [tuple(row) for row in await connection.fetch(to_postgres(sql), *params)]
    finally:
        await connection.close()


@asynccontextmanager
async def database_location(dialect: str,
                            directory: Path | None = None) -> AsyncIterator[str | Path]:
    """Where a new database of ``dialect`` lives: an SQLite file in ``directory`` (in memory
    without one), or a fresh PostgreSQL database's URL."""
    if dialect == "postgresql":
        async with fresh_database() as url:
            yield url
    else:
        yield ":memory:" if directory is None else directory / "baraza.db"


async def query_database(location: Path | str, sql: str,
                         params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """One statement on either engine's database, over a connection of its own, as a witness."""
    if isinstance(location, str) and is_postgres_url(location):
        return await query(location, sql, params)
    with closing(sqlite3.connect(location, isolation_level=None)) as witness:
        return witness.execute(sql, params).fetchall()


async def table_columns(location: Path | str) -> list[tuple[str, str]]:
    """Every (table, column) of either engine's database, read from its catalogue."""
    if isinstance(location, str) and is_postgres_url(location):
        rows = await query(location, "SELECT table_name, column_name FROM information_schema.columns"
                                     " WHERE table_schema = 'public'"
                                     " ORDER BY table_name, ordinal_position")
        return [(str(table), str(column)) for table, column in rows]
    with closing(sqlite3.connect(location)) as witness:
        tables = [name for (name,) in witness.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        return [(table, row[1]) for table in tables
                for row in witness.execute(f"PRAGMA table_info('{table}')")]


async def stored_anywhere(location: Path | str, text: str) -> bool:
    """Whether ``text`` is in the database at all: its files' bytes, or any row of any table."""
    if isinstance(location, str) and is_postgres_url(location):
        tables = await query(location, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        for (table,) in tables:
            if await query(location, f"SELECT 1 FROM {table} AS r WHERE strpos(r::text, ?) > 0",
                           (text,)):
                return True
        return False
    path = Path(location)
    return any(text.encode() in file.read_bytes()
               for file in (path, path.with_name(path.name + "-wal")) if file.exists())
