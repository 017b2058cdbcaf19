"""Workers: each `baraza run` process sharing the database, alive while its heartbeat is recent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from storage.backend import Backend
from storage.clock import Clock

# A worker is alive while its last heartbeat is this recent: five missed beats of three seconds,
# far longer than any pause of a live worker's event loop.
DEAD_AFTER = timedelta(seconds=15)


def millis(clock: Clock) -> int:
    """The clock's time in milliseconds since the Unix epoch (the unit of worker and lease times)."""
    return int(clock().timestamp() * 1000)


@dataclass(frozen=True)
class Worker:
    """A worker as its heartbeats record it."""

    id: str
    name: str
    beat_ms: int


class WorkerRepository:
    """Heartbeats, and who is alive: a worker whose last beat is older than the cutoff is dead."""

    def __init__(self, backend: Backend, clock: Clock) -> None:
        self._backend = backend
        self._clock = clock

    async def beat(self, worker_id: str, name: str) -> None:
        """Record that the worker is alive now (the first beat registers it)."""
        now = millis(self._clock)
        await self._backend.fetch(
            "INSERT INTO workers (id, name, started_ms, beat_ms) VALUES (?1, ?2, ?3, ?3)"
            " ON CONFLICT (id) DO UPDATE SET beat_ms = excluded.beat_ms",
            (worker_id, name, now))

    async def retire(self, worker_id: str) -> None:
        """The worker stops: the others treat whatever it left as a dead worker's, at once."""
        await self._backend.fetch("DELETE FROM workers WHERE id = ?", (worker_id,))

    async def alive(self, dead_after: timedelta = DEAD_AFTER) -> list[Worker]:
        """Workers that beat within ``dead_after``, by id."""
        rows = await self._backend.fetch(
            "SELECT id, name, beat_ms FROM workers WHERE beat_ms >= ? ORDER BY id",
            (self.cutoff(dead_after),))
        return [Worker(row[0], row[1], int(row[2])) for row in rows]

    async def forget_dead(self, dead_after: timedelta = DEAD_AFTER) -> list[str]:
        """Remove the workers that stopped beating; their ids."""
        rows = await self._backend.fetch(
            "DELETE FROM workers WHERE beat_ms < ? RETURNING id", (self.cutoff(dead_after),))
        return sorted(row[0] for row in rows)

    def cutoff(self, dead_after: timedelta = DEAD_AFTER) -> int:
        """The oldest heartbeat (in milliseconds) of a worker still alive."""
        return millis(self._clock) - int(dead_after.total_seconds() * 1000)
