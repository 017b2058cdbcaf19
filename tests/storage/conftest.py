"""Fixtures for the storage tests: databases in memory and on disk, and a clock that ticks.

``backend`` (and ``db`` over it) is SQLite's (in memory) and PostgreSQL's (a fresh database on the
test cluster) in turn; a test about one engine only parametrizes it itself
(``@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import Database
from storage.backend import Backend
from tests.postgres import DIALECTS, database_location

START = datetime(2025, 1, 1, tzinfo=UTC)


class TickingClock:
    """A clock that moves on by one second each time it is read."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def advance(self, **delta: float) -> None:
        """Let time pass, as between two visits."""
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> TickingClock:
    return TickingClock()


# Two consultations every test database starts with (sessions belong to one).
METEP, PILOT = 1, 2


async def with_consultations(database: Database) -> Database:
    for questionnaire_id in ("metep", "pilot"):
        await database.consultations.create(questionnaire_id, 1, {}, created_by=None)
    return database


@pytest.fixture(params=DIALECTS)
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    """A backend on a new database with the current schema: the one fixture that picks the
    database engine (SQLite in memory, then a fresh PostgreSQL database) for the backend contract
    and every repository test written over ``db``."""
    async with database_location(request.param) as location:
        database = await Database.open(location)
        yield database.backend
        await database.close()


@pytest.fixture
async def db(backend: Backend, clock: TickingClock) -> Database:
    return await with_consultations(Database(backend, clock))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "baraza.db"


@pytest.fixture
async def file_db(db_path: Path, clock: TickingClock) -> AsyncIterator[Database]:
    database = await with_consultations(await Database.open(db_path, clock=clock))
    yield database
    await database.close()
