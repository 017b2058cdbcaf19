"""Broadcasts: a consultation announced to every subscriber, one persisted delivery per subscriber.

A broadcast is a draft while its moderator looks at the preview, then 'sending' once every
subscriber of that moment has a pending delivery (one INSERT ... SELECT), and 'done' (or
'cancelled', when a moderator stops it or its consultation closes) after the final report. Only one
broadcast of a consultation sends at a time. A delivery is 'sending' from just before its Bot API
call until the outcome is written right after it: 'sent', 'blocked', 'failed', or 'pending' again
for a later retry. Whether its subscriber still wants it is checked when it is taken: one who sent
/stop since Send is 'skipped', one known to have blocked the bot since is 'blocked'. Which worker
takes which pending delivery, and what becomes of a dead worker's: storage/delivery_claims.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from storage.backend import Backend, Row
from storage.clock import Clock, timestamp
from storage.errors import RecordNotFound, StorageError, not_found_if_missing_parent

# Who a broadcast reaches: subscribed and not known to have blocked the bot.
SUBSCRIBERS = "subscribed = 1 AND blocked_at IS NULL"
_COLUMNS = (
    "id, consultation_id, created_by, locale, status, progress_chat_id, progress_message_id,"
    " progress_text, stop_reason, audience"
)
# The subscriber (a respondents row named r) finished the consultation numbered ?1.
_FINISHED = ("EXISTS (SELECT 1 FROM sessions AS s WHERE s.user_id = r.user_id"
             " AND s.consultation_id = ?1 AND s.finished_at IS NOT NULL)")


class Audience(StrEnum):
    """Whom a broadcast reaches."""

    EVERYONE = "everyone"  # every subscriber
    UNFINISHED = "unfinished"  # subscribers who have not finished the consultation: a reminder


class AlreadySending(StorageError):
    """Another broadcast of the consultation is being sent: its subscribers would get it twice."""


class Taken(StrEnum):
    """What became of a pending delivery when the sender took it (see begin_attempt)."""

    SEND = "sending"  # marked 'sending': make the Bot API call now
    SKIPPED = "skipped"  # the subscriber sent /stop since Send: nothing is sent
    BLOCKED = "blocked"  # the subscriber is known to have blocked the bot since: nothing is sent


@dataclass(frozen=True)
class Broadcast:
    """A broadcast and the message that shows its moderator how it is going."""

    id: int
    consultation_id: int
    created_by: int
    locale: str  # the moderator's language
    status: str  # draft, sending, done or cancelled
    progress_chat_id: int | None
    progress_message_id: int | None
    progress_text: str | None  # what that message was last set to show
    stop_reason: str | None = None  # why it was cancelled while sending: 'moderator' or 'closed'
    audience: Audience = Audience.EVERYONE


@dataclass(frozen=True)
class Recipient:
    """A subscriber whose delivery is pending, and how to write to them."""

    user_id: int
    chat_id: int
    locale: str | None
    attempts: int  # failed attempts so far
    finished: bool = False  # has finished the consultation (is not told their views are wanted)


@dataclass(frozen=True)
class DeliveryCounts:
    """How many deliveries of a broadcast are in each state."""

    pending: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    skipped: int = 0  # unsubscribed after Send, before their turn

    @property
    def left(self) -> int:
        """Not yet delivered, nor given up on."""
        return self.pending + self.sending

    @property
    def total(self) -> int:
        return self.left + self.sent + self.failed + self.blocked + self.skipped


@dataclass(frozen=True)
class Announcement:
    """The latest broadcast of a consultation that was sent (or is being sent)."""

    broadcast_id: int
    started_at: datetime
    status: str  # sending, done or cancelled
    sent: int  # deliveries sent so far
    total: int  # deliveries queued


class BroadcastRepository:
    """The broadcast queue: drafts, the deliveries of each broadcast and their outcomes."""

    def __init__(self, backend: Backend, clock: Clock) -> None:
        self._backend = backend
        self._clock = clock

    async def audience(self, consultation_id: int,
                       audience: Audience = Audience.EVERYONE) -> dict[str | None, int]:
        """How many subscribers a broadcast of the consultation would reach now, by their
        stored language (None: never chose)."""
        rows = await self._backend.fetch(
            f"SELECT r.locale, count(*) FROM respondents AS r WHERE {SUBSCRIBERS}"
            f" AND (?2 = 'everyone' OR NOT {_FINISHED}) GROUP BY r.locale",
            (consultation_id, audience.value))
        return {row[0]: int(row[1]) for row in rows}

    async def create(self, consultation_id: int, created_by: int, locale: str,
                     audience: Audience = Audience.EVERYONE) -> Broadcast:
        """A draft announcing the consultation, for the moderator to preview."""
        with not_found_if_missing_parent(f"no consultation {consultation_id}"):
            (row,) = await self._backend.fetch(
                "INSERT INTO broadcasts (consultation_id, created_by, locale, created_at, audience)"
                f" VALUES (?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
                (consultation_id, created_by, locale, timestamp(self._clock), audience.value),
            )
        return _broadcast(row)

    async def set_audience(self, broadcast_id: int, audience: Audience) -> bool:
        """Choose whom a draft will reach; False when it is not a draft any more."""
        return bool(await self._backend.fetch(
            "UPDATE broadcasts SET audience = ? WHERE id = ? AND status = 'draft' RETURNING id",
            (audience.value, broadcast_id)))

    async def show_progress_in(self, broadcast_id: int, chat_id: int, message_id: int,
                               text: str) -> None:
        """The message that shows the preview, then the progress, and the text it shows now."""
        rows = await self._backend.fetch(
            "UPDATE broadcasts SET progress_chat_id = ?, progress_message_id = ?, progress_text = ?"
            " WHERE id = ? RETURNING id",
            (chat_id, message_id, text, broadcast_id),
        )
        if not rows:
            raise RecordNotFound(f"no broadcast {broadcast_id}")

    async def get(self, broadcast_id: int) -> Broadcast | None:
        rows = await self._backend.fetch(
            f"SELECT {_COLUMNS} FROM broadcasts WHERE id = ?", (broadcast_id,))
        return _broadcast(rows[0]) if rows else None

    async def last_announcement(self, consultation_id: int) -> Announcement | None:
        """The consultation's latest broadcast past its draft, whatever became of it, if any."""
        rows = await self._backend.fetch(
            "SELECT b.id, b.started_at, b.status,"
            " (SELECT count(*) FROM deliveries WHERE broadcast_id = b.id AND status = 'sent'),"
            " (SELECT count(*) FROM deliveries WHERE broadcast_id = b.id)"
            " FROM broadcasts AS b WHERE b.consultation_id = ? AND b.started_at IS NOT NULL"
            " ORDER BY b.started_at DESC, b.id DESC LIMIT 1",
            (consultation_id,),
        )
        if not rows:
            return None
        row = rows[0]
        return Announcement(row[0], datetime.fromisoformat(row[1]), row[2], int(row[3]),
                            int(row[4]))

    async def start(self, broadcast_id: int) -> int | None:
        """Send a draft: queue a delivery to each current subscriber; how many (None: no draft).

        Raises AlreadySending, leaving the draft as it was, while another broadcast of the same
        consultation is being sent.
        """
        async with self._backend.transaction():
            rows = await self._backend.fetch(
                "SELECT d.consultation_id, EXISTS (SELECT 1 FROM broadcasts AS o"
                " WHERE o.consultation_id = d.consultation_id AND o.status = 'sending'),"
                " d.audience FROM broadcasts AS d WHERE d.id = ? AND d.status = 'draft'",
                (broadcast_id,),
            )
            if not rows:
                return None
            if rows[0][1]:
                raise AlreadySending(f"consultation {rows[0][0]} is being announced already")
            # Checked in this transaction above; the unique index broadcasts_one_sending as well.
            await self._backend.fetch(
                "UPDATE broadcasts SET status = 'sending', started_at = ? WHERE id = ?",
                (timestamp(self._clock), broadcast_id),
            )
            await self._backend.fetch(
                "INSERT INTO deliveries (broadcast_id, user_id)"
                f" SELECT ?3, r.user_id FROM respondents AS r WHERE {SUBSCRIBERS}"
                f" AND (?2 = 'everyone' OR NOT {_FINISHED})",
                (rows[0][0], rows[0][2], broadcast_id),
            )
            (row,) = await self._backend.fetch(
                "SELECT count(*) FROM deliveries WHERE broadcast_id = ?", (broadcast_id,))
        return int(row[0])

    async def cancel(self, broadcast_id: int) -> bool:
        """Drop a draft (nothing was sent); False when it is not a draft."""
        return bool(await self._backend.fetch(
            "UPDATE broadcasts SET status = 'cancelled', finished_at = ?"
            " WHERE id = ? AND status = 'draft' RETURNING id",
            (timestamp(self._clock), broadcast_id),
        ))

    async def stop(self, broadcast_id: int) -> bool:
        """Stop a sending broadcast: no further delivery begins; False when it is not sending.

        It stays unfinished until the sender has reported what was sent.
        """
        return bool(await self._backend.fetch(
            "UPDATE broadcasts SET status = 'cancelled', stop_reason = 'moderator'"
            " WHERE id = ? AND status = 'sending' RETURNING id",
            (broadcast_id,),
        ))

    async def finish(self, broadcast_id: int) -> None:
        """The final report was made: a sending broadcast is done, a stopped one stays cancelled."""
        rows = await self._backend.fetch(
            "UPDATE broadcasts SET finished_at = coalesce(finished_at, ?),"
            " status = CASE status WHEN 'sending' THEN 'done' ELSE status END"
            " WHERE id = ? RETURNING id",
            (timestamp(self._clock), broadcast_id),
        )
        if not rows:
            raise RecordNotFound(f"no broadcast {broadcast_id}")

    async def unfinished(self) -> list[Broadcast]:
        """Broadcasts being sent, or stopped but not yet reported, oldest first."""
        rows = await self._backend.fetch(
            f"SELECT {_COLUMNS} FROM broadcasts WHERE finished_at IS NULL"
            " AND status IN ('sending', 'cancelled') ORDER BY id")
        return [_broadcast(row) for row in rows]

    async def begin_attempt(self, broadcast_id: int, user_id: int,
                            worker_id: str | None = None) -> Taken | None:
        """Take a pending delivery, just before its Bot API call: Taken.SEND marks it 'sending'.

        ``worker_id``: only if that worker still holds its claim (storage/delivery_claims.py); a
        worker stalled for so long that its claims were freed and taken by another sends nothing.

        The subscriber is checked at this moment, not when the queue was built (a broadcast to
        many takes most of an hour): one who sent /stop since is marked 'skipped', one known to
        have blocked the bot since 'blocked', and nothing is sent to them. None (send nothing)
        when the delivery is not pending any more or the broadcast is not sending; a broadcast
        whose consultation is no longer open is stopped here, its remaining deliveries unsent.
        """
        rows = await self._backend.fetch(
            "UPDATE deliveries SET status = (SELECT CASE"
            " WHEN r.blocked_at IS NOT NULL THEN 'blocked'"
            " WHEN r.subscribed = 0 THEN 'skipped' ELSE 'sending' END"
            " FROM respondents AS r WHERE r.user_id = deliveries.user_id)"
            " WHERE broadcast_id = ?1 AND user_id = ?2 AND status = 'pending'"
            + (" AND worker_id = ?3" if worker_id is not None else "")
            + " AND EXISTS (SELECT 1 FROM broadcasts AS b JOIN consultations AS c"
            " ON c.id = b.consultation_id WHERE b.id = ?1 AND b.status = 'sending'"
            " AND c.status = 'open')"
            " RETURNING status",
            (broadcast_id, user_id) + ((worker_id,) if worker_id is not None else ()),
        )
        if rows:
            return Taken(rows[0][0])
        await self._backend.fetch(
            "UPDATE broadcasts SET status = 'cancelled', stop_reason = 'closed'"
            " WHERE id = ? AND status = 'sending' AND NOT EXISTS (SELECT 1 FROM consultations"
            " WHERE id = broadcasts.consultation_id AND status = 'open')",
            (broadcast_id,),
        )
        return None

    async def mark_sent(self, broadcast_id: int, user_id: int, message_id: int) -> None:
        """Telegram accepted the message."""
        await self._outcome(broadcast_id, user_id, "status = 'sent', message_id = ?3, sent_at = ?4",
                            message_id, timestamp(self._clock))

    async def mark_blocked(self, broadcast_id: int, user_id: int, error: str) -> None:
        """The subscriber blocked the bot or left Telegram: never retried."""
        await self._outcome(broadcast_id, user_id, "status = 'blocked', last_error = ?3", error)

    async def mark_failed(self, broadcast_id: int, user_id: int, error: str) -> None:
        """Given up on after an error that retrying cannot fix, or too many attempts."""
        await self._outcome(broadcast_id, user_id,
                            "status = 'failed', attempts = attempts + 1, last_error = ?3", error)

    async def retry_later(self, broadcast_id: int, user_id: int, error: str, *,
                          counted: bool) -> None:
        """Back to pending after an error; ``counted`` adds it to the failed attempts."""
        await self._outcome(broadcast_id, user_id,
                            "status = 'pending', attempts = attempts + ?3, last_error = ?4",
                            int(counted), error)

    async def counts(self, broadcast_id: int) -> DeliveryCounts:
        """The broadcast's deliveries per state."""
        rows = await self._backend.fetch(
            "SELECT status, count(*) FROM deliveries WHERE broadcast_id = ? GROUP BY status",
            (broadcast_id,))
        return DeliveryCounts(**{row[0]: int(row[1]) for row in rows})

    async def set_progress_text(self, broadcast_id: int, text: str) -> None:
        """Remember what the progress message is being set to show."""
        await self._backend.fetch(
            "UPDATE broadcasts SET progress_text = ? WHERE id = ?", (text, broadcast_id))

    async def _outcome(self, broadcast_id: int, user_id: int, assignments: str,
                       *values: object) -> None:
        """Record what became of a delivery being sent."""
        rows = await self._backend.fetch(
            f"UPDATE deliveries SET {assignments} WHERE broadcast_id = ?1 AND user_id = ?2"
            " AND status = 'sending' RETURNING user_id",
            (broadcast_id, user_id, *values),
        )
        if not rows:
            raise RecordNotFound(f"broadcast {broadcast_id} is not sending to user {user_id}")


def _broadcast(row: Row) -> Broadcast:
    return Broadcast(row["id"], row["consultation_id"], row["created_by"], row["locale"],
                     row["status"], row["progress_chat_id"], row["progress_message_id"],
                     row["progress_text"], row["stop_reason"], Audience(row["audience"]))
