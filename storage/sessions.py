"""Questionnaire sessions: where each respondent is in a questionnaire and what they answered."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence

from conversations.model import Answer
from storage.clock import Clock, timestamp
from storage.connection import Connection, missing_parent_raises
from storage.errors import RecordNotFound
from storage.records import Session

_COLUMNS = "id, user_id, consultation_id, role, cursor, prompt_message_id, finished_at"


class SessionRepository:
    """Sessions and their answers; each write commits alone or joins the caller's transaction."""

    def __init__(self, connection: Connection, clock: Clock) -> None:
        self._connection = connection
        self._clock = clock

    async def get(self, user_id: int, consultation_id: int) -> Session | None:
        """The respondent's session of this consultation with all its answers, or None."""
        # One statement: a single thread hop for the session and all its answers.
        rows = await self._connection.fetch(
            "SELECT s.id, s.user_id, s.consultation_id, s.role, s.cursor,"
            " s.prompt_message_id, s.finished_at, a.question_id, a.option_id, a.text"
            " FROM sessions AS s LEFT JOIN answers AS a ON a.session_id = s.id"
            " WHERE s.user_id = ? AND s.consultation_id = ?"
            " ORDER BY a.answered_at, a.question_id",
            (user_id, consultation_id),
        )
        return _session(rows[0], _answers(rows)) if rows else None

    async def start(
        self, user_id: int, consultation_id: int, role: str, cursor: str | None
    ) -> Session:
        """Start the respondent's session of this consultation, or return the existing one."""
        with missing_parent_raises(f"no respondent {user_id} or consultation {consultation_id}"):
            created = await self._connection.write(
                "INSERT INTO sessions (user_id, consultation_id, role, cursor, started_at)"
                " VALUES (?, ?, ?, ?, ?)"
                f" ON CONFLICT (user_id, consultation_id) DO NOTHING RETURNING {_COLUMNS}",
                (user_id, consultation_id, role, cursor, timestamp(self._clock)),
            )
        if created:
            return _session(created[0], answers={})
        existing = await self.get(user_id, consultation_id)
        assert existing is not None, "sessions are never deleted while their respondent lives"
        return existing

    async def save_answer(self, session_id: int, answer: Answer, version: int) -> None:
        """Store an answer given under questionnaire ``version``, replacing any earlier one."""
        if answer.option_id is not None and answer.text is not None:
            raise ValueError(f"answer to {answer.question_id!r} has both an option and a text")
        with missing_parent_raises(f"no session {session_id}"):
            await self._connection.write(
                "INSERT INTO answers"
                " (session_id, question_id, option_id, text, questionnaire_version, answered_at)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (session_id, question_id) DO UPDATE SET"
                " option_id = excluded.option_id, text = excluded.text,"
                " questionnaire_version = excluded.questionnaire_version,"
                " answered_at = excluded.answered_at",
                (
                    session_id,
                    answer.question_id,
                    answer.option_id,
                    answer.text,
                    version,
                    timestamp(self._clock),
                ),
            )

    async def set_cursor(self, session_id: int, cursor: str | None) -> None:
        """Move the session to another position of the questionnaire."""
        await self._update(session_id, "UPDATE sessions SET cursor = ? WHERE id = ?", cursor)

    async def finish(self, session_id: int) -> None:
        """Mark the session finished; the first finish's time is kept."""
        await self._update(
            session_id,
            "UPDATE sessions SET finished_at = coalesce(finished_at, ?) WHERE id = ?",
            timestamp(self._clock),
        )

    async def set_prompt(self, session_id: int, message_id: int | None) -> None:
        """Remember the Telegram message showing the current question, so it can be edited."""
        await self._update(
            session_id, "UPDATE sessions SET prompt_message_id = ? WHERE id = ?", message_id
        )

    async def _update(self, session_id: int, sql: str, value: object) -> None:
        if not await self._connection.write(f"{sql} RETURNING id", (value, session_id)):
            raise RecordNotFound(f"no session {session_id}")


def _session(row: sqlite3.Row, answers: Mapping[str, Answer]) -> Session:
    return Session(
        id=row["id"],
        user_id=row["user_id"],
        consultation_id=row["consultation_id"],
        role=row["role"],
        cursor=row["cursor"],
        prompt_message_id=row["prompt_message_id"],
        finished=row["finished_at"] is not None,
        answers=answers,
    )


def _answers(rows: Sequence[sqlite3.Row]) -> dict[str, Answer]:
    """The answers in a sessions-join-answers result; a session without any gives a NULL row."""
    return {
        row["question_id"]: Answer(row["question_id"], option_id=row["option_id"], text=row["text"])
        for row in rows
        if row["question_id"] is not None
    }
