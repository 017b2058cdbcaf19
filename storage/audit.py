"""The audit trail: who granted, revoked, invited, exported, broadcast or changed what, and when.

It holds no answers, and never the id of someone erased by /forget (see ``PrivacyRepository.erase``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from storage.backend import Backend, Row
from storage.clock import Clock, timestamp


class AuditAction(StrEnum):
    """What was done; stored as its value."""

    GRANT_MODERATOR = "grant_moderator"
    GRANT_OFFICIAL = "grant_official"  # an invitation was redeemed
    REVOKE = "revoke"
    INVITE = "invite"
    CANCEL_INVITATION = "cancel_invitation"
    EXPORT = "export"
    BROADCAST = "broadcast"
    STOP_BROADCAST = "stop_broadcast"
    CREATE_CONSULTATION = "create_consultation"
    TRANSLATE_CONSULTATION = "translate_consultation"
    SCHEDULE_CONSULTATION = "schedule_consultation"
    OPEN_CONSULTATION = "open_consultation"
    CLOSE_CONSULTATION = "close_consultation"
    REOPEN_CONSULTATION = "reopen_consultation"
    DELETE_CONSULTATION = "delete_consultation"
    ERASURE = "erasure"  # someone used /forget; whose is not recorded


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor_id: int | None  # None: the bot itself (a schedule, the environment), or erased
    action: AuditAction
    target_id: int | None = None
    consultation_id: int | None = None
    detail: str | None = None


_INSERT = ("INSERT INTO audit_log (at, actor_id, action, target_id, consultation_id, detail)"
           " VALUES (?, ?, ?, ?, ?, ?)")


class AuditRepository:
    """The audit trail; each record commits alone or joins the caller's transaction."""

    def __init__(self, backend: Backend, clock: Clock) -> None:
        self._backend = backend
        self._clock = clock

    async def record(self, actor_id: int | None, action: AuditAction, *,
                     target_id: int | None = None, consultation_id: int | None = None,
                     detail: str | None = None) -> None:
        """Add an entry to the trail."""
        await self._backend.fetch(_INSERT, (timestamp(self._clock), actor_id, action.value,
                                             target_id, consultation_id, detail))

    async def latest(self, limit: int = 50) -> list[AuditEntry]:
        """The newest entries, newest first."""
        rows = await self._backend.fetch(
            "SELECT at, actor_id, action, target_id, consultation_id, detail FROM audit_log"
            " ORDER BY id DESC LIMIT ?", (limit,))
        return [_entry(row) for row in rows]

    async def about(self, user_id: int) -> list[AuditEntry]:
        """Entries naming the user as actor or target, oldest first (for /mydata)."""
        rows = await self._backend.fetch(
            "SELECT at, actor_id, action, target_id, consultation_id, detail FROM audit_log"
            " WHERE actor_id = ?1 OR target_id = ?1 ORDER BY id", (user_id,))
        return [_entry(row) for row in rows]


def _entry(row: Row) -> AuditEntry:
    return AuditEntry(datetime.fromisoformat(row["at"]), row["actor_id"],
                      AuditAction(row["action"]), row["target_id"], row["consultation_id"],
                      row["detail"])
