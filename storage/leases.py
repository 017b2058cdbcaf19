"""Leases: a job or a role one worker holds at a time, until it lets go or the lease expires.

One statement takes a lease, atomically on SQLite and PostgreSQL alike: the upsert inserts a free
name, or takes over a held one only when it is the holder's own (a renewal), has expired, or its
holder is no longer alive (its heartbeat is older than DEAD_AFTER: killed, or stopped), so that
what a dead worker was doing is taken over within seconds, not when its lease runs out.
"""

from __future__ import annotations

from datetime import timedelta

from storage.backend import Backend
from storage.clock import Clock
from storage.workers import DEAD_AFTER, millis


class LeaseRepository:
    """Named leases held by workers (see storage/migrations/0008_workers.sql)."""

    def __init__(self, backend: Backend, clock: Clock) -> None:
        self._backend = backend
        self._clock = clock

    async def acquire(self, name: str, holder: str, ttl: timedelta) -> bool:
        """Take (or renew) the lease for ``ttl``; False while another live worker holds it."""
        now = millis(self._clock)
        rows = await self._backend.fetch(
            "INSERT INTO leases (name, holder, expires_ms) VALUES (?1, ?2, ?3)"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
            " expires_ms = excluded.expires_ms"
            " WHERE leases.holder = excluded.holder OR leases.expires_ms <= ?4"
            " OR leases.holder NOT IN (SELECT id FROM workers WHERE beat_ms >= ?5)"
            " RETURNING holder",
            (name, holder, now + int(ttl.total_seconds() * 1000), now,
             now - int(DEAD_AFTER.total_seconds() * 1000)))
        return bool(rows)

    async def release(self, name: str, holder: str) -> bool:
        """Let go of a lease the holder has; False when it was not theirs (any more)."""
        return bool(await self._backend.fetch(
            "DELETE FROM leases WHERE name = ? AND holder = ? RETURNING name", (name, holder)))

    async def holder(self, name: str) -> str | None:
        """Who holds the lease now (None: nobody, or it expired)."""
        rows = await self._backend.fetch(
            "SELECT holder FROM leases WHERE name = ? AND expires_ms > ?",
            (name, millis(self._clock)))
        return rows[0][0] if rows else None
