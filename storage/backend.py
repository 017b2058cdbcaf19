"""The small interface a database backend implements; every repository is written against it once.

SQL given to a backend uses SQLite's placeholders, ``?`` (in order) or ``?N`` (the N-th
parameter, which may repeat), and the SQL both SQLite and PostgreSQL understand: ``ON CONFLICT``
upserts, ``RETURNING``, ``coalesce``, ``CASE``. A backend rewrites the placeholders for its driver.
The few statements that differ (row locks, ``SKIP LOCKED``) branch on ``Backend.dialect``.

A statement run by a task that has a transaction open joins that transaction; any other statement
commits on its own. ``transaction()`` nested in the same task joins the outer one (no savepoint).
A task spawned by the one holding a transaction is another task: it does not join it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

Params = Sequence[object]


class Dialect(enum.StrEnum):
    """Which database engine a backend speaks to."""

    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


class Row(Protocol):
    """A result row: its columns by position or by name."""

    def __getitem__(self, key: int | str, /) -> Any: ...


class Backend(Protocol):
    """One process's access to its database: statements, transactions, schema and shutdown."""

    @property
    def dialect(self) -> Dialect:
        """The engine behind this backend."""
        ...

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        """Run one statement and return its rows (a write's rows come from ``RETURNING``)."""
        ...

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        """Run one write statement once for each parameter row."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[None]:
        """Commit the statements run inside together, or roll them all back on any exception."""
        ...

    async def schema_version(self) -> int:
        """The migration the database's schema is at (0 for a new database)."""
        ...

    async def close(self) -> None:
        """Wait for open transactions to end, then release the connections."""
        ...
