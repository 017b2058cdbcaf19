"""Respondents: who writes to the bot, where, in which language, and which updates were handled."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from storage.clock import Clock, timestamp
from storage.connection import Connection
from storage.errors import RecordNotFound
from storage.records import Respondent

_COLUMNS = (
    "user_id, chat_id, locale, consented_at IS NOT NULL AS consented, last_update_id, last_tap,"
    " subscribed, consultation_id"
)
T = TypeVar("T")
# Telegram picks update ids afresh after a week without updates; an older claim cannot block them.
UPDATE_IDS_RESTART_AFTER = timedelta(days=7)


class RespondentStatements:
    """The respondent statements, run synchronously on the connection's thread (see ``Tx``)."""

    def __init__(self, connection: sqlite3.Connection, clock: Clock) -> None:
        self._connection = connection
        self._clock = clock

    def get(self, user_id: int) -> Respondent | None:
        """The respondent, or None when this user never wrote to the bot."""
        row = self._connection.execute(
            f"SELECT {_COLUMNS} FROM respondents WHERE user_id = ?", (user_id,)
        ).fetchone()
        return _respondent(row) if row is not None else None

    def ensure(self, user_id: int, chat_id: int) -> Respondent:
        """The respondent, created on first contact and following them to a new chat.

        Someone who writes to the bot has not blocked it (any more): the block is cleared.
        """
        (row,) = self._connection.execute(
            "INSERT INTO respondents (user_id, chat_id, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET chat_id = excluded.chat_id, blocked_at = NULL"
            f" RETURNING {_COLUMNS}",
            (user_id, chat_id, timestamp(self._clock)),
        ).fetchall()
        return _respondent(row)

    def set_locale(self, user_id: int, locale: str) -> None:
        """Remember the language the respondent chose."""
        self._update(user_id, "UPDATE respondents SET locale = ? WHERE user_id = ?", locale)

    def record_consent(self, user_id: int) -> None:
        """Record that the respondent consented; the first consent's time is kept."""
        self._update(
            user_id,
            "UPDATE respondents SET consented_at = coalesce(consented_at, ?) WHERE user_id = ?",
            timestamp(self._clock),
        )

    def claim_update(self, user_id: int, update_id: int, tap: str | None = None) -> bool:
        """Claim a Telegram update for handling: False when it (or a newer one) was already claimed.

        Call it in the same transaction as the writes the update causes, so that a crash before the
        commit leaves the update unclaimed and its redelivery is handled. ``tap`` records the
        button the update tapped (None for a message), which the next claim's respondent shows.
        """
        now = self._clock()
        claimed = self._connection.execute(
            "UPDATE respondents SET last_update_id = ?, last_update_at = ?, last_tap = ?"
            " WHERE user_id = ? AND (last_update_id < ? OR last_update_at IS NULL"
            " OR last_update_at < ?) RETURNING user_id",
            (update_id, timestamp(lambda: now), tap, user_id, update_id,
             timestamp(lambda: now - UPDATE_IDS_RESTART_AFTER)),
        ).fetchall()
        if claimed:
            return True
        if self.get(user_id) is None:
            raise RecordNotFound(f"no respondent {user_id}")
        return False

    def set_subscribed(self, user_id: int, subscribed: bool) -> None:
        """Join (``/start``) or leave (``/stop``) the announcements; joining also clears a block."""
        self._update(
            user_id,
            "UPDATE respondents SET subscribed = ?1,"
            " blocked_at = CASE WHEN ?1 THEN NULL ELSE blocked_at END WHERE user_id = ?2",
            int(subscribed),
        )

    def set_consultation(self, user_id: int, consultation_id: int) -> None:
        """Remember which consultation the respondent is answering (typed replies go there)."""
        self._update(
            user_id, "UPDATE respondents SET consultation_id = ? WHERE user_id = ?", consultation_id
        )

    def mark_blocked(self, user_id: int) -> None:
        """The respondent blocked the bot (or deleted their account): stop writing to them."""
        self._update(
            user_id, "UPDATE respondents SET blocked_at = coalesce(blocked_at, ?) WHERE user_id = ?",
            timestamp(self._clock),
        )

    def _update(self, user_id: int, sql: str, value: object) -> None:
        if not self._connection.execute(f"{sql} RETURNING user_id", (value, user_id)).fetchall():
            raise RecordNotFound(f"no respondent {user_id}")


class RespondentRepository:
    """Reads and writes respondents; each write commits alone or joins the caller's transaction.

    Every method is one ``RespondentStatements`` call in one hand-off to the connection's thread.
    """

    def __init__(self, connection: Connection, clock: Clock) -> None:
        self._connection = connection
        self._clock = clock

    async def _run(self, call: Callable[[RespondentStatements], T]) -> T:
        return await self._connection.run(lambda c: call(RespondentStatements(c, self._clock)))

    async def get(self, user_id: int) -> Respondent | None:
        """The respondent, or None when this user never wrote to the bot."""
        return await self._run(lambda s: s.get(user_id))

    async def ensure(self, user_id: int, chat_id: int) -> Respondent:
        """The respondent, created on first contact and following them to a new chat."""
        return await self._run(lambda s: s.ensure(user_id, chat_id))

    async def set_locale(self, user_id: int, locale: str) -> None:
        """Remember the language the respondent chose."""
        await self._run(lambda s: s.set_locale(user_id, locale))

    async def record_consent(self, user_id: int) -> None:
        """Record that the respondent consented; the first consent's time is kept."""
        await self._run(lambda s: s.record_consent(user_id))

    async def claim_update(self, user_id: int, update_id: int, tap: str | None = None) -> bool:
        """Claim a Telegram update for handling (see ``RespondentStatements.claim_update``)."""
        return await self._run(lambda s: s.claim_update(user_id, update_id, tap))

    async def set_subscribed(self, user_id: int, subscribed: bool) -> None:
        """Join (``/start``) or leave (``/stop``) the announcements; joining also clears a block."""
        await self._run(lambda s: s.set_subscribed(user_id, subscribed))

    async def set_consultation(self, user_id: int, consultation_id: int) -> None:
        """Remember which consultation the respondent is answering (typed replies go there)."""
        await self._run(lambda s: s.set_consultation(user_id, consultation_id))

    async def latest_update_id(self) -> int:
        """The highest update id any respondent's update was claimed with (0 when none)."""
        rows = await self._connection.fetch("SELECT max(last_update_id) FROM respondents")
        return int(rows[0][0] or 0)

    async def mark_blocked(self, user_id: int) -> None:
        """The respondent blocked the bot (or deleted their account): stop writing to them."""
        await self._run(lambda s: s.mark_blocked(user_id))


def _respondent(row: sqlite3.Row) -> Respondent:
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
