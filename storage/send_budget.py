"""The bulk sending budget all workers share: a token bucket in one row, taken from in batches.

Each take is one statement (an atomic read-modify-write on SQLite and PostgreSQL alike): the
bucket refills at ``rate`` tokens a second up to ``capacity`` since it was last touched, and the
take gets all it asked for or nothing. Every value is cast, so that PostgreSQL's drivers know
each parameter's type.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.backend import Backend
from storage.clock import Clock
from storage.workers import millis

_NOW, _RATE = "CAST(?2 AS BIGINT)", "CAST(?3 AS DOUBLE PRECISION)"  # rate: tokens a millisecond
_CAPACITY, _COUNT = "CAST(?4 AS DOUBLE PRECISION)", "CAST(?5 AS INTEGER)"
# The bucket's content now: what it held, plus what flowed in since (never beyond its capacity).
_REFILLED = f"tokens + (CASE WHEN {_NOW} > updated_ms THEN {_NOW} - updated_ms ELSE 0 END) * {_RATE}"
_AVAILABLE = f"(CASE WHEN {_REFILLED} > {_CAPACITY} THEN {_CAPACITY} ELSE {_REFILLED} END)"
_TAKE = (
    "UPDATE send_budgets SET"
    f" granted = CASE WHEN {_AVAILABLE} >= {_COUNT} THEN {_COUNT} ELSE 0 END,"
    f" tokens = CASE WHEN {_AVAILABLE} >= {_COUNT} THEN {_AVAILABLE} - {_COUNT}"
    f" ELSE {_AVAILABLE} END,"
    f" updated_ms = CASE WHEN {_NOW} > updated_ms THEN {_NOW} ELSE updated_ms END"
    " WHERE name = ?1 RETURNING granted, tokens"
)


@dataclass(frozen=True)
class Grant:
    """What a take got, and what the bucket holds after it."""

    granted: int
    left: float


class SendBudgetRepository:
    """Token buckets by name (see storage/migrations/0008_workers.sql)."""

    def __init__(self, backend: Backend, clock: Clock) -> None:
        self._backend = backend
        self._clock = clock

    async def take(self, name: str, count: int, rate: float, capacity: float) -> Grant:
        """Take ``count`` tokens if the bucket has them (refilled at ``rate`` a second)."""
        now = millis(self._clock)
        params = (name, now, rate / 1000, capacity, count)
        rows = await self._backend.fetch(_TAKE, params)
        if not rows:
            await self._backend.fetch(
                "INSERT INTO send_budgets (name, tokens, updated_ms) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO NOTHING",
                (name, float(capacity), now))
            rows = await self._backend.fetch(_TAKE, params)
        return Grant(int(rows[0][0]), float(rows[0][1]))
