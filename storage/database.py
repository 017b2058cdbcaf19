"""The Baraza database: open (and migrate) it, run transactions, and reach the repositories."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TypeVar

import aiosqlite

from storage.audit import AuditRepository
from storage.broadcasts import BroadcastRepository
from storage.clock import Clock, utc_now
from storage.connection import Connection
from storage.errors import StorageError
from storage.consultations import ConsultationRepository
from storage.privacy import PrivacyRepository
from storage.respondents import RespondentRepository
from storage.retention import RetentionRepository
from storage.roles import InvitationRepository, RoleRepository
from storage.question_totals import QuestionTotalRepository
from storage.schema import MIGRATIONS_DIR, load_migrations, migrate, schema_version
from storage.sessions import SessionRepository
from storage.tx import Tx
from storage.summaries import (
    DigestRepository,
    ExportRepository,
    SecretRepository,
    SummaryRepository,
)

# RETURNING and upsert with DO UPDATE ... RETURNING arrived in SQLite 3.35.
MIN_SQLITE = (3, 35, 0)
IN_MEMORY = ":memory:"
T = TypeVar("T")


class Database:
    """One process's SQLite database: a single shared connection and the repositories over it."""

    def __init__(self, connection: Connection, clock: Clock) -> None:
        self._connection = connection
        self._clock = clock
        self.respondents = RespondentRepository(connection, clock)
        self.sessions = SessionRepository(connection, clock)
        self.consultations = ConsultationRepository(connection, clock)
        self.roles = RoleRepository(connection, clock)
        self.invitations = InvitationRepository(connection, clock)
        self.broadcasts = BroadcastRepository(connection, clock)
        self.summaries = SummaryRepository(connection, clock)
        self.exports = ExportRepository(connection, clock)
        self.digests = DigestRepository(connection, clock)
        self.secrets = SecretRepository(connection, clock)
        self.audit = AuditRepository(connection, clock)
        self.privacy = PrivacyRepository(connection, clock)
        self.retention = RetentionRepository(connection, clock)
        self.question_totals = QuestionTotalRepository(connection, clock)

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        migrations_dir: Traversable = MIGRATIONS_DIR,
        clock: Clock = utc_now,
    ) -> Database:
        """Open the database at ``path`` (or ":memory:"), bringing its schema up to date."""
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise StorageError(
                f"SQLite {sqlite3.sqlite_version} is too old; Baraza needs 3.35 or newer"
            )
        migrations = load_migrations(migrations_dir)
        in_memory = str(path) == IN_MEMORY
        if not in_memory and not Path(path).parent.is_dir():
            # Checked here because a failed aiosqlite.connect leaves its worker thread to report
            # to an event loop that may be gone by then.
            raise StorageError(f"cannot open {path}: there is no directory {Path(path).parent}")
        if not in_memory:
            _owner_only(Path(path))
        try:
            # isolation_level=None: the driver never opens transactions; Connection issues BEGIN.
            raw = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as error:
            raise StorageError(f"cannot open {path}: {error}") from error
        try:
            raw.row_factory = sqlite3.Row
            await raw.executescript(_pragmas(in_memory=in_memory))
            connection = Connection(raw)
            await migrate(connection, migrations, str(path))
        except BaseException:
            await raw.close()
            raise
        return cls(connection, clock)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Make the repository writes inside commit together or not at all.

        Other tasks' writes wait until it ends, so keep it short: no network calls inside. A nested
        ``transaction()`` in the same task joins this one; it is no savepoint.
        """
        async with self._connection.transaction():
            yield

    async def atomically(self, work: Callable[[Tx], T]) -> T:
        """Run ``work`` as one transaction in a single hand-off to the database thread.

        The hot path's way to ``transaction()``: one thread wake-up instead of one per statement,
        and other tasks' writes wait for a shorter time. A nested call joins the open transaction.
        """
        return await self._connection.run_atomically(lambda c: work(Tx(c, self._clock)))

    async def schema_version(self) -> int:
        """The schema version the database is at now (read-only; health checks compare it)."""
        return await schema_version(self._connection)

    async def close(self) -> None:
        """Close the connection once any open transaction has ended."""
        await self._connection.close()


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
