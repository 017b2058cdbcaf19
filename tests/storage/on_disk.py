"""Look at a database file from outside the code under test."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path


def query_file(path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Run one statement on a database file over a connection of its own, as a witness."""
    with closing(sqlite3.connect(path, isolation_level=None)) as witness:
        return witness.execute(sql, params).fetchall()
