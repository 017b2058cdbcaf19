"""The SQLite backend: one aiosqlite connection a process shares, its transactions and migrations.

Only aiosqlite's public API is used. Every statement is one hand-off to the connection's thread.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from pathlib import Path

import aiosqlite

from storage.backend import Dialect, Params, Row
from storage.errors import ConstraintViolated, DuplicateKey, MissingParent, StorageError
from storage.locking import TaskLock
from storage.schema import Migration

# RETURNING and upsert with DO UPDATE ... RETURNING arrived in SQLite 3.35.
MIN_SQLITE = (3, 35, 0)
IN_MEMORY = ":memory:"


class SQLiteBackend:
    """Runs statements on one aiosqlite connection for many asyncio tasks.

    The connection has a single transaction state, so while one task's transaction is open no other
    task may use it: every statement holds the lock (reentrant for the task holding it). Reads take
    it too, or they would see another task's uncommitted writes; aiosqlite runs every statement on
    the connection's one thread anyway, so this costs no parallelism. A statement outside a
    transaction needs no BEGIN: SQLite commits a single statement atomically on its own.
    """

    def __init__(self, raw: aiosqlite.Connection) -> None:
        self._raw = raw
        self._lock = TaskLock()

    @classmethod
    async def open(cls, path: str | Path, migrations: Sequence[Migration]) -> SQLiteBackend:
        """Open the database at ``path`` (or ":memory:"), bringing its schema up to date."""
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise StorageError(
                f"SQLite {sqlite3.sqlite_version} is too old; Baraza needs 3.35 or newer"
            )
        in_memory = str(path) == IN_MEMORY
        if not in_memory and not Path(path).parent.is_dir():
            # Checked here because a failed aiosqlite.connect leaves its worker thread to report
            # to an event loop that may be gone by then.
            raise StorageError(f"cannot open {path}: there is no directory {Path(path).parent}")
        if not in_memory:
            _owner_only(Path(path))
        try:
            # isolation_level=None: the driver never opens transactions; transaction() does.
            raw = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as error:
            raise StorageError(f"cannot open {path}: {error}") from error
        backend = cls(raw)
        try:
            raw.row_factory = sqlite3.Row
            await raw.executescript(_pragmas(in_memory=in_memory))
            await backend.migrate(migrations, str(path))
        except BaseException:
            await raw.close()
            raise
        return backend

    @property
    def dialect(self) -> Dialect:
        return Dialect.SQLITE

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        """Run one statement and return its rows; it joins this task's open transaction."""
        async with self._lock.hold():
            with _constraint_errors():
                return list(await self._raw.execute_fetchall(sql, params))

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        """Run one write statement for each parameter row, all in one transaction."""
        async with self.transaction():
            with _constraint_errors():
                await self._raw.executemany(sql, rows)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """BEGIN IMMEDIATE … COMMIT, ROLLBACK on any exception; nested in the same task, join it."""
        async with self._lock.hold() as outermost:
            if not outermost:
                yield
                return
            try:
                # Inside the try: a task cancelled while BEGIN waits on the connection's thread
                # must still queue the ROLLBACK, or the transaction stays open for everyone.
                await self._raw.execute_fetchall("BEGIN IMMEDIATE")
                yield
                await self._raw.execute_fetchall("COMMIT")
            except BaseException:
                await self._rollback()
                raise

    async def schema_version(self) -> int:
        """The migration the schema is at, kept in PRAGMA user_version (0 for a new database)."""
        (row,) = await self.fetch("PRAGMA user_version")
        return int(row[0])

    async def migrate(self, migrations: Sequence[Migration], database: str) -> int:
        """Apply the migrations the database lacks, each in one transaction; the new version.

        Migrations run with foreign keys off, as SQLite's procedure for rebuilding a table
        requires (dropping a parent table would otherwise cascade into its children), and every
        foreign key is checked before each migration's transaction commits.
        """
        current = await self.schema_version()
        latest = len(migrations)
        if current > latest:
            raise StorageError(
                f"{database} was written by a newer Baraza (schema {current}, this one knows {latest})"
            )
        if current == latest:
            return current
        async with self._lock.hold():
            # Not inside a transaction: SQLite ignores this pragma there.
            await self._raw.execute_fetchall("PRAGMA foreign_keys = OFF")
            try:
                for migration in migrations[current:]:
                    try:
                        await self._run_script_atomically(
                            f"{migration.sql}\n;\n{_FOREIGN_KEYS_HOLD}\n"
                            f"PRAGMA user_version = {migration.version};"
                        )
                    except sqlite3.Error as error:
                        raise StorageError(
                            f"{database}: migration {migration.name} failed: {error}") from error
            finally:
                await self._raw.execute_fetchall("PRAGMA foreign_keys = ON")
        return latest

    async def close(self) -> None:
        """Wait for any open transaction to end, then close the connection."""
        async with self._lock.hold():
            await self._raw.close()

    async def _run_script_atomically(self, script: str) -> None:
        # The caller holds the lock, outside any transaction (executescript would COMMIT one).
        try:
            await self._raw.executescript(f"BEGIN IMMEDIATE;\n{script}\n;\nCOMMIT;")
        except BaseException:
            await self._rollback()
            raise

    async def _rollback(self) -> None:
        # The transaction may already be over (a cancelled COMMIT still runs on the connection's
        # thread, or BEGIN itself failed); a failing ROLLBACK must not hide the original error.
        with suppress(sqlite3.OperationalError):
            await self._raw.execute_fetchall("ROLLBACK")


@contextmanager
def _constraint_errors() -> Iterator[None]:
    """Raise the storage errors for SQLite's constraint violations."""
    try:
        yield
    except sqlite3.IntegrityError as error:
        code = error.sqlite_errorcode
        if code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
            raise MissingParent(str(error)) from error
        if code in (sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY):
            raise DuplicateKey(str(error)) from error
        raise ConstraintViolated(str(error)) from error


# Fails the migration's transaction (a CHECK constraint) when any foreign key is left dangling.
_FOREIGN_KEYS_HOLD = """
CREATE TEMP TABLE _foreign_keys_hold (dangling INTEGER CHECK (dangling = 0));
INSERT INTO _foreign_keys_hold SELECT count(*) FROM pragma_foreign_key_check;
DROP TABLE _foreign_keys_hold;
"""


def _pragmas(*, in_memory: bool) -> str:
    # busy_timeout first, so switching to WAL waits for another process instead of failing.
    wal = "" if in_memory else "PRAGMA journal_mode = WAL;"
    return f"""
        PRAGMA busy_timeout = 5000;
        {wal}
        PRAGMA synchronous = NORMAL;
        PRAGMA foreign_keys = ON;
    """


def _owner_only(path: Path) -> None:
    """Create the database file readable by its owner only, and tighten an existing one.

    SQLite gives the -wal and -shm files the database file's permissions when it creates them.
    """
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if file.exists():
                os.chmod(file, 0o600)
    except OSError as error:
        raise StorageError(f"cannot open {path}: {error.strerror}") from error
