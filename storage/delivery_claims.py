"""Which worker sends which delivery: batches handed out atomically, and a dead worker's freed.

A worker claims a batch of free pending deliveries (its id written on them, in one statement), and
only it begins them (BroadcastRepository.begin_attempt turns its pending into 'sending'). On
SQLite the claim is exclusive because SQLite runs one writer at a time; on PostgreSQL its inner
SELECT locks the rows it picks and skips those another worker's claim has locked (``FOR UPDATE
SKIP LOCKED``), so concurrent claims get different rows without waiting for each other.

When a worker stops beating (killed, or its machine gone), the deliveries it had claimed are freed
for the others, and those it was sending become pending again: each of those is either
undelivered, or delivered without the bot having learnt so, exactly like a lone bot's deliveries
after a crash (README, "Broadcasts").
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.backend import Backend, Dialect
from storage.broadcasts import Recipient

# Deliveries of broadcasts still being worked on (sending, or stopped and not yet reported).
_UNFINISHED = "broadcast_id IN (SELECT id FROM broadcasts WHERE finished_at IS NULL)"
# Held by a worker not among the living (whose heartbeat is at or after ?1) other than ?2, or
# by none at all while 'sending' (left so by a bot that crashed before workers were recorded).
_ORPHANED = ("(worker_id IS NULL OR (worker_id <> ?2 AND worker_id NOT IN"
             " (SELECT id FROM workers WHERE beat_ms >= ?1)))"
             f" AND {_UNFINISHED}")


@dataclass(frozen=True)
class Requeued:
    """What freeing a dead worker's deliveries did."""

    interrupted: int  # were being sent: pending again, sent again (maybe a second time)
    released: int  # were claimed, not yet begun: free for any worker


class DeliveryClaimRepository:
    """Claims on broadcast deliveries (see storage/migrations/0008_workers.sql)."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    async def claim(self, broadcast_id: int, worker_id: str, limit: int) -> list[Recipient]:
        """Up to ``limit`` free pending deliveries of a sending broadcast, now the worker's own.

        In user order; whether each subscriber still wants it is checked when it is begun.
        """
        picked = ("SELECT d.user_id FROM deliveries AS d"
                  " WHERE d.broadcast_id = ?1 AND d.status = 'pending' AND d.worker_id IS NULL"
                  " AND EXISTS (SELECT 1 FROM broadcasts AS b WHERE b.id = ?1"
                  " AND b.status = 'sending') ORDER BY d.user_id LIMIT ?3")
        if self._backend.dialect is Dialect.POSTGRESQL:
            # ARRAY(...) runs the locking SELECT once; as an IN (...) semi-join PostgreSQL may run
            # it again for each row, each time past the rows this statement already took.
            among = f"= ANY(ARRAY({picked} FOR UPDATE OF d SKIP LOCKED))"
        else:
            among = f"IN ({picked})"
        async with self._backend.transaction():
            claimed = await self._backend.fetch(
                "UPDATE deliveries SET worker_id = ?2"
                " WHERE broadcast_id = ?1 AND status = 'pending' AND worker_id IS NULL"
                f" AND user_id {among} RETURNING user_id",
                (broadcast_id, worker_id, limit))
            if not claimed:
                return []
            ids = [int(row[0]) for row in claimed]
            marks = ", ".join("?" for _ in ids)
            rows = await self._backend.fetch(
                "SELECT d.user_id, r.chat_id, r.locale, d.attempts, EXISTS (SELECT 1"
                " FROM sessions AS s WHERE s.user_id = d.user_id"
                " AND s.consultation_id = b.consultation_id AND s.finished_at IS NOT NULL)"
                " FROM deliveries AS d JOIN respondents AS r ON r.user_id = d.user_id"
                " JOIN broadcasts AS b ON b.id = d.broadcast_id"
                f" WHERE d.broadcast_id = ? AND d.user_id IN ({marks}) ORDER BY d.user_id",
                (broadcast_id, *ids))
        return [Recipient(row[0], row[1], row[2], row[3], bool(row[4])) for row in rows]

    async def release(self, worker_id: str, broadcast_id: int) -> int:
        """Free the deliveries of a broadcast the worker claimed and has not begun; how many."""
        rows = await self._backend.fetch(
            "UPDATE deliveries SET worker_id = NULL WHERE broadcast_id = ? AND worker_id = ?"
            " AND status = 'pending' RETURNING user_id",
            (broadcast_id, worker_id))
        return len(rows)

    async def remaining(self, broadcast_id: int) -> int:
        """Deliveries someone still has to send: being sent, claimed, or free while it sends."""
        (row,) = await self._backend.fetch(
            "SELECT count(*) FROM deliveries AS d JOIN broadcasts AS b ON b.id = d.broadcast_id"
            " WHERE d.broadcast_id = ? AND (d.status = 'sending' OR (d.status = 'pending'"
            " AND (d.worker_id IS NOT NULL OR b.status = 'sending')))",
            (broadcast_id,))
        return int(row[0])

    async def requeue_orphaned(self, alive_since_ms: int, *, keep: str) -> Requeued:
        """Free the deliveries of workers whose last heartbeat is before ``alive_since_ms``.

        ``keep``: the calling worker, alive whatever its heartbeat says.
        """
        async with self._backend.transaction():
            interrupted = await self._backend.fetch(
                "UPDATE deliveries SET status = 'pending', worker_id = NULL"
                f" WHERE status = 'sending' AND {_ORPHANED} RETURNING user_id",
                (alive_since_ms, keep))
            released = await self._backend.fetch(
                "UPDATE deliveries SET worker_id = NULL"
                f" WHERE status = 'pending' AND worker_id IS NOT NULL AND {_ORPHANED}"
                " RETURNING user_id",
                (alive_since_ms, keep))
        return Requeued(len(interrupted), len(released))

    async def worker_of(self, broadcast_id: int, user_id: int) -> str | None:
        """The worker a delivery is claimed by or being sent by (None: free, or done)."""
        rows = await self._backend.fetch(
            "SELECT worker_id FROM deliveries WHERE broadcast_id = ? AND user_id = ?",
            (broadcast_id, user_id))
        return rows[0][0] if rows else None
