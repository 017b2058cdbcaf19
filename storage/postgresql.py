"""The PostgreSQL backend: an asyncpg pool behind the ``Backend`` interface.

A task's ``transaction()`` holds one pooled connection until it ends; the statements that task
runs meanwhile go to that connection, and any other statement takes a pooled connection for
itself and commits on its own. The holder is keyed by the task, not a context variable, so a task
spawned inside a transaction (which inherits the context) does not join it.

asyncpg was chosen over psycopg 3 by measurement (bench/postgres_driver.py): 0.59x the CPU per
transaction with 20 concurrent tasks. It prepares and caches every statement per connection, so
it needs a direct connection or a pooler in session mode.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from storage.backend import Dialect, Params, Row
from storage.errors import ConstraintViolated, DuplicateKey, MissingParent, StorageError
from storage.schema import Migration, load_migrations

MIGRATIONS_DIR: Traversable = resources.files("storage") / "migrations" / "postgresql"

# Held for the whole migration run (a session lock), so that workers starting together apply the
# migrations once, one after another, and each then finds the schema current. Any constant does;
# this one is "baraza" in ASCII.
_MIGRATION_LOCK = 0x62_61_72_61_7A_61

# The statements a process runs are a fixed set of a few hundred; each connection keeps them all
# prepared.
_STATEMENT_CACHE = 1024


def is_postgres_url(value: str) -> bool:
    """Whether ``value`` names a PostgreSQL database rather than an SQLite file."""
    return value.startswith(("postgresql://", "postgres://"))


def describe(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


class PostgresBackend:
    """One process's pool of connections to a PostgreSQL database."""

    def __init__(self, pool: asyncpg.Pool, name: str) -> None:
        self._pool = pool
        self._name = name
        self._held: dict[asyncio.Task[Any], asyncpg.Connection] = {}

    @classmethod
    async def open(
        cls,
        url: str,
        migrations: Sequence[Migration] | None = None,
        *,
        min_size: int = 1,
        max_size: int = 10,
    ) -> PostgresBackend:
        """Connect to the database at ``url`` and bring its schema up to date.

        ``migrations`` defaults to the shipped PostgreSQL ones.
        """
        if migrations is None:
            migrations = load_migrations(MIGRATIONS_DIR)
        name = describe(url)
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=min_size,
                max_size=max_size,
                statement_cache_size=_STATEMENT_CACHE,
                reset=_end_transaction,
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            raise StorageError(f"cannot connect to {name}: {error}") from error
        backend = cls(pool, name)
        try:
            await backend._migrate(migrations)
        except BaseException:
            await pool.close()
            raise
        return backend

    @property
    def dialect(self) -> Dialect:
        """The engine behind this backend."""
        return Dialect.POSTGRESQL

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        """Run one statement and return its rows (a write's rows come from ``RETURNING``)."""
        query = to_postgres(sql)
        held = self._held.get(asyncio.current_task())  # type: ignore[arg-type]
        try:
            if held is not None:
                return await held.fetch(query, *params)
            async with self._pool.acquire() as connection:
                return await connection.fetch(query, *params)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
            raise self._storage_error(error) from error

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        """Run one write statement once for each parameter row (all or none of them)."""
        query = to_postgres(sql)
        rows = list(rows)
        if not rows:
            return
        held = self._held.get(asyncio.current_task())  # type: ignore[arg-type]
        try:
            if held is not None:
                await held.executemany(query, rows)
                return
            async with self._pool.acquire() as connection:
                await connection.executemany(query, rows)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
            raise self._storage_error(error) from error

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Commit the statements run inside together, or roll them all back on any exception."""
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("PostgresBackend.transaction() needs a running asyncio task")
        if task in self._held:  # nested in the same task: join the outer transaction
            yield
            return
        try:
            connection = await self._pool.acquire()
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
            raise self._storage_error(error) from error
        transaction = connection.transaction()
        try:
            try:
                await transaction.start()
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
                raise self._storage_error(error) from error
            self._held[task] = connection
            try:
                yield
            except BaseException:
                del self._held[task]
                await _roll_back(connection, transaction)
                raise
            del self._held[task]
            try:
                await transaction.commit()
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
                raise self._storage_error(error) from error
        finally:
            await self._pool.release(connection)

    async def schema_version(self) -> int:
        """The migration the database's schema is at (0 for a new database)."""
        try:
            async with self._pool.acquire() as connection:
                return await _schema_version(connection)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
            raise self._storage_error(error) from error

    async def close(self) -> None:
        """Wait for open transactions to end, then release the connections."""
        await self._pool.close()

    async def _migrate(self, migrations: Sequence[Migration]) -> int:
        """Apply the migrations the database lacks, each in one transaction; return the version."""
        latest = len(migrations)
        async with self._pool.acquire() as connection:
            try:
                await connection.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
                raise self._storage_error(error) from error
            try:
                await connection.execute(_VERSION_TABLE)
                current = await _schema_version(connection)
                if current > latest:
                    raise StorageError(
                        f"{self._name} was written by a newer Baraza "
                        f"(schema {current}, this one knows {latest})"
                    )
                for migration in migrations[current:]:
                    try:
                        async with connection.transaction():
                            await connection.execute(migration.sql)
                            await connection.execute(
                                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                                migration.version,
                                migration.name,
                            )
                    except (asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                        raise StorageError(
                            f"{self._name}: migration {migration.name} failed: {error}"
                        ) from error
            finally:
                await connection.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
        return latest

    def _storage_error(self, error: BaseException) -> StorageError:
        """The storage error for a driver's exception."""
        if isinstance(error, asyncpg.ForeignKeyViolationError):
            return MissingParent(str(error))
        if isinstance(error, asyncpg.UniqueViolationError):
            return DuplicateKey(str(error))
        if isinstance(error, asyncpg.IntegrityConstraintViolationError):
            return ConstraintViolated(str(error))
        return StorageError(f"{self._name}: {error}")


# Which migrations were applied, and when; the highest version is the schema's.
_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


async def _schema_version(connection: asyncpg.Connection) -> int:
    exists = await connection.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return 0
    return int(await connection.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations"))


async def _roll_back(connection: asyncpg.Connection, transaction: Any) -> None:
    """Roll back; a connection that cannot is closed, so the pool never hands it out again."""
    try:
        await transaction.rollback()
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        connection.terminate()


async def _end_transaction(connection: asyncpg.Connection) -> None:
    """Make a connection given back to the pool fit for the next statement.

    The backend never changes a session's settings, listens or keeps cursors, so asyncpg's full
    reset (a round trip per release) is not needed; only a transaction left open is ended.
    """
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


_INDEXED_BY = re.compile(r"INDEXED\s+BY\s+\w+\s*", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def to_postgres(sql: str) -> str:
    """A statement written for SQLite as PostgreSQL takes it.

    SQLite's placeholders (``?`` in order, ``?N`` by number) become ``$N``; a bare ``?`` takes the
    number after the largest one so far, as in SQLite. SQLite's planner hints (``INDEXED BY
    name``, which repositories give where SQLite would pick a worse index) are dropped:
    PostgreSQL's planner chooses from statistics. Literals, quoted identifiers and comments are
    left as they are.
    """
    out: list[str] = []
    largest = 0
    i, n = 0, len(sql)
    while i < n:
        char = sql[i]
        if char in "'\"":
            end = i + 1
            while end < n:
                if sql[end] == char:
                    if end + 1 < n and sql[end + 1] == char:  # a doubled quote inside
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i : end + 1])
            i = end + 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end])
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(sql[i:end])
            i = end
        elif char in "Ii" and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_")) and (
            hint := _INDEXED_BY.match(sql, i)
        ):
            i = hint.end()
        elif char == "?":
            end = i + 1
            while end < n and sql[end].isdigit():
                end += 1
            number = int(sql[i + 1 : end]) if end > i + 1 else largest + 1
            largest = max(largest, number)
            out.append(f"${number}")
            i = end
        else:
            out.append(char)
            i += 1
    return "".join(out)
