"""The one SQLite connection a process shares: lock-free reads, serialised writes, transactions."""

from __future__ import annotations

import asyncio
import inspect
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from typing import TypeVar

import aiosqlite

from storage.errors import RecordNotFound
from storage.locking import TaskLock

Params = Sequence[object]
T = TypeVar("T")
# Synchronous work on the connection's own thread: several statements for one hand-off.
Work = Callable[[sqlite3.Connection], T]


class Connection:
    """Runs statements on one aiosqlite connection for many asyncio tasks.

    The connection has a single transaction state, so while one task's transaction is open no other
    task may use it: every statement holds the lock (reentrant for the task holding it). Reads take
    it too, or they would see another task's uncommitted writes; aiosqlite runs every statement on
    the connection's one thread anyway, so this costs no parallelism. A write outside a transaction
    is a single statement, which SQLite commits atomically on its own, so it needs no BEGIN (one
    thread hop instead of three).
    """

    def __init__(self, raw: aiosqlite.Connection) -> None:
        self._raw = raw
        self._write_lock = TaskLock()

    async def fetch(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Run one read statement and return all its rows."""
        async with self._write_lock.hold():
            return list(await self._raw.execute_fetchall(sql, params))

    async def write(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Run one write statement (rows from RETURNING); it joins this task's open transaction."""
        async with self._write_lock.hold():
            return list(await self._raw.execute_fetchall(sql, params))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """BEGIN IMMEDIATE … COMMIT, ROLLBACK on any exception; nested in the same task, join it."""
        async with self._write_lock.hold() as outermost:
            if not outermost:
                yield
                return
            try:
                # Inside the try: a task cancelled while BEGIN waits on the connection's thread
                # must still queue the ROLLBACK, or the transaction stays open for everyone.
                await self._raw.execute("BEGIN IMMEDIATE")
                yield
                await self._raw.execute("COMMIT")
            except BaseException:
                await self._rollback()
                raise

    async def run(self, work: Work[T]) -> T:
        """Run ``work`` on the connection's thread in one hand-off; it joins this task's transaction.

        Each aiosqlite call is a hand-off to its thread and back (a thread wake-up and a loop
        wake-up); several statements in one function pay for one. ``work`` runs statements only:
        it must not BEGIN, COMMIT or ROLLBACK, nor await (it is not on the event loop).
        """
        async with self._write_lock.hold():
            return await self._on_thread(_synchronous, work)

    async def run_atomically(self, work: Work[T]) -> T:
        """Run ``work`` as one transaction (BEGIN IMMEDIATE … COMMIT) in one hand-off.

        Inside this task's open transaction it joins that one instead, like ``transaction()``.
        A task cancelled while its work runs rolls it back, unless the COMMIT has already begun.
        """
        async with self._write_lock.hold() as outermost:
            if not outermost:
                return await self._on_thread(_synchronous, work)
            abandoned = threading.Event()
            try:
                return await self._on_thread(_atomically, work, abandoned)
            except asyncio.CancelledError:
                abandoned.set()
                raise

    async def _on_thread(self, function: Callable[..., T], *args: object) -> T:
        # aiosqlite has no public call for "run this function on the connection's thread", but
        # every one of its methods is exactly that: _execute queues a call for its one thread
        # (the same in 0.20, 0.21 and 0.22; pyproject.toml bounds the version).
        raw = self._raw
        return await raw._execute(function, *args, raw._conn)

    async def pragma(self, sql: str) -> None:
        """Run a PRAGMA that must not be inside a transaction (such as foreign_keys)."""
        async with self._write_lock.hold():
            await self._raw.execute(sql)

    async def run_script_atomically(self, script: str) -> None:
        """Run a multi-statement script (no BEGIN/COMMIT of its own) as one transaction."""
        if self._write_lock.held_by_current_task:
            # executescript would first COMMIT the open transaction behind its owner's back.
            raise RuntimeError("a script cannot run inside a transaction")
        async with self._write_lock.hold():
            try:
                await self._raw.executescript(f"BEGIN IMMEDIATE;\n{script}\n;\nCOMMIT;")
            except BaseException:
                await self._rollback()
                raise

    async def close(self) -> None:
        """Wait for any open transaction to end, then close the connection."""
        async with self._write_lock.hold():
            await self._raw.close()

    async def _rollback(self) -> None:
        # The transaction may already be over (a cancelled COMMIT still runs on the connection's
        # thread, or BEGIN itself failed); a failing ROLLBACK must not hide the original error.
        with suppress(sqlite3.OperationalError):
            await self._raw.execute("ROLLBACK")


class _Abandoned(Exception):
    """The task waiting for this work was cancelled before its COMMIT."""


def _synchronous(work: Work[T], connection: sqlite3.Connection) -> T:
    result = work(connection)
    if inspect.isawaitable(result):
        # An async repository method called by mistake: its statements would silently not run.
        if inspect.iscoroutine(result):
            result.close()
        raise TypeError(f"work run on the database thread returned an awaitable: {result!r}")
    return result


def _atomically(work: Work[T], abandoned: threading.Event, connection: sqlite3.Connection) -> T:
    connection.execute("BEGIN IMMEDIATE")
    try:
        result = _synchronous(work, connection)
        if abandoned.is_set():
            raise _Abandoned
        connection.execute("COMMIT")
    except BaseException:
        # As in _rollback: a failing ROLLBACK must not hide the error that caused it.
        with suppress(sqlite3.OperationalError):
            connection.execute("ROLLBACK")
        raise
    return result


@contextmanager
def missing_parent_raises(message: str) -> Iterator[None]:
    """Report a foreign-key violation (the parent row does not exist) as RecordNotFound(message)."""
    try:
        yield
    except sqlite3.IntegrityError as error:
        if error.sqlite_errorcode == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
            raise RecordNotFound(message) from error
        raise
