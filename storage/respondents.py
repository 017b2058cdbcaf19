"""Respondents: who writes to the bot, where, in which language, and which updates were handled."""

from __future__ import annotations

from datetime import timedelta

from storage.backend import Backend, Row
from storage.clock import Clock, timestamp
from storage.errors import RecordNotFound
from storage.records import Respondent

_COLUMNS = (
    "user_id, chat_id, locale, consented_at IS NOT NULL AS consented, last_update_id, last_tap,"
    " subscribed, consultation_id"
)
# Telegram picks update ids afresh after a week without updates; an older claim cannot block them.
UPDATE_IDS_RESTART_AFTER = timedelta(days=7)


class RespondentRepository:
    """Reads and writes respondents; each write commits alone or joins the caller's transaction."""

    def __init__(self, backend: Backend, clock: Clock) -> None:
        self._backend = backend
        self._clock = clock

    async def get(self, user_id: int) -> Respondent | None:
        """The respondent, or None when this user never wrote to the bot."""
        rows = await self._backend.fetch(
            f"SELECT {_COLUMNS} FROM respondents WHERE user_id = ?", (user_id,))
        return _respondent(rows[0]) if rows else None

    async def ensure(self, user_id: int, chat_id: int) -> Respondent:
        """The respondent, created on first contact and following them to a new chat.

        Someone who writes to the bot has not blocked it (any more): the block is cleared.
        """
        (row,) = await self._upsert("VALUES (?1, ?2, ?3)", (user_id, chat_id,
                                                             timestamp(self._clock)))
        return _respondent(row)

    async def ensure_unless_erased_by(self, update_id: int, user_id: int,
                                      chat_id: int) -> Respondent | None:
        """``ensure`` for an incoming update; None, and nobody created, when this very update
        erased the person (``PrivacyRepository.erase``): its redelivery must not bring them back.

        One statement where ``erased_by`` and ``ensure`` are two: the hot path's first step.
        """
        rows = await self._upsert(
            "SELECT ?1, ?2, ?3 WHERE NOT EXISTS (SELECT 1 FROM erasures WHERE update_id = ?4)",
            (user_id, chat_id, timestamp(self._clock), update_id))
        return _respondent(rows[0]) if rows else None

    async def _upsert(self, source: str, params: tuple[object, ...]) -> list[Row]:
        return await self._backend.fetch(
            f"INSERT INTO respondents (user_id, chat_id, created_at) {source}"
            " ON CONFLICT (user_id) DO UPDATE SET chat_id = excluded.chat_id, blocked_at = NULL"
            f" RETURNING {_COLUMNS}", params)

    async def set_locale(self, user_id: int, locale: str) -> None:
        """Remember the language the respondent chose."""
        await self._update(user_id, "UPDATE respondents SET locale = ? WHERE user_id = ?", locale)

    async def record_consent(self, user_id: int) -> None:
        """Record that the respondent consented; the first consent's time is kept."""
        await self._update(
            user_id,
            "UPDATE respondents SET consented_at = coalesce(consented_at, ?) WHERE user_id = ?",
            timestamp(self._clock),
        )

    async def claim_update(self, user_id: int, update_id: int, tap: str | None = None) -> bool:
        """Claim a Telegram update for handling: False when it (or a newer one) was already claimed.

        Call it in the same transaction as the writes the update causes, so that a crash before the
        commit leaves the update unclaimed and its redelivery is handled. ``tap`` records the
        button the update tapped (None for a message), which the next claim's respondent shows.
        """
        now = self._clock()
        claimed = await self._backend.fetch(
            "UPDATE respondents SET last_update_id = ?, last_update_at = ?, last_tap = ?"
            " WHERE user_id = ? AND (last_update_id < ? OR last_update_at IS NULL"
            " OR last_update_at < ?) RETURNING user_id",
            (update_id, timestamp(lambda: now), tap, user_id, update_id,
             timestamp(lambda: now - UPDATE_IDS_RESTART_AFTER)),
        )
        if claimed:
            return True
        if await self.get(user_id) is None:
            raise RecordNotFound(f"no respondent {user_id}")
        return False

    async def set_subscribed(self, user_id: int, subscribed: bool) -> None:
        """Join (``/start``) or leave (``/stop``) the announcements; joining also clears a block."""
        await self._update(
            user_id,
            "UPDATE respondents SET subscribed = ?1,"
            " blocked_at = CASE WHEN ?1 = 1 THEN NULL ELSE blocked_at END WHERE user_id = ?2",
            int(subscribed),
        )

    async def set_consultation(self, user_id: int, consultation_id: int) -> None:
        """Remember which consultation the respondent is answering (typed replies go there)."""
        await self._update(
            user_id, "UPDATE respondents SET consultation_id = ? WHERE user_id = ?", consultation_id
        )

    async def latest_update_id(self) -> int:
        """The highest update id any respondent's update was claimed with (0 when none)."""
        rows = await self._backend.fetch("SELECT max(last_update_id) FROM respondents")
        return int(rows[0][0] or 0)

    async def mark_blocked(self, user_id: int) -> None:
        """The respondent blocked the bot (or deleted their account): stop writing to them."""
        await self._update(
            user_id, "UPDATE respondents SET blocked_at = coalesce(blocked_at, ?) WHERE user_id = ?",
            timestamp(self._clock),
        )

    async def _update(self, user_id: int, sql: str, value: object) -> None:
        if not await self._backend.fetch(f"{sql} RETURNING user_id", (value, user_id)):
            raise RecordNotFound(f"no respondent {user_id}")


def _respondent(row: Row) -> Respondent:
    return Respondent(
        user_id=row["user_id"],
        chat_id=row["chat_id"],
        locale=row["locale"],
        consented=bool(row["consented"]),
        last_update_id=row["last_update_id"],
        last_tap=row["last_tap"],
        subscribed=bool(row["subscribed"]),
        consultation_id=row["consultation_id"],
    )
