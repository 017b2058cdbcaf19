"""Questionnaire sessions: where each respondent is in a questionnaire and what they answered."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from conversations.model import Answer
from storage.backend import Backend, Row
from storage.clock import Clock, timestamp
from storage.errors import RecordNotFound, not_found_if_missing_parent
from storage.records import Session

_COLUMNS = "id, user_id, consultation_id, role, cursor, prompt_message_id, finished_at"


class SessionRepository:
    """Sessions and their answers; each write commits alone or joins the caller's transaction."""

    def __init__(self, backend: Backend, clock: Clock) -> None:
        self._backend = backend
        self._clock = clock

    async def get(self, user_id: int, consultation_id: int) -> Session | None:
        """The respondent's session of this consultation with all its answers, or None."""
        rows = await self._backend.fetch(
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
        with not_found_if_missing_parent(
                f"no respondent {user_id} or consultation {consultation_id}"):
            created = await self._backend.fetch(
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

    async def unfinished_count(self, consultation_id: int) -> int:
        """How many respondents began the consultation and have not finished it."""
        rows = await self._backend.fetch(
            "SELECT count(*) FROM sessions WHERE consultation_id = ? AND finished_at IS NULL",
            (consultation_id,))
        return int(rows[0][0])

    async def save_answer(self, session_id: int, answer: Answer, version: int) -> None:
        """Store an answer given under questionnaire ``version``, replacing any earlier one."""
        if answer.option_id is not None and answer.text is not None:
            raise ValueError(f"answer to {answer.question_id!r} has both an option and a text")
        with not_found_if_missing_parent(f"no session {session_id}"):
            await self._backend.fetch(
                "INSERT INTO answers"
                " (session_id, question_id, option_id, text, questionnaire_version, answered_at)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (session_id, question_id) DO UPDATE SET"
                " option_id = excluded.option_id, text = excluded.text,"
                " questionnaire_version = excluded.questionnaire_version,"
                " answered_at = excluded.answered_at",
                (session_id, answer.question_id, answer.option_id, answer.text, version,
                 timestamp(self._clock)),
            )

    async def move(self, session_id: int, cursor: str | None, *, finished: bool = False) -> None:
        """Move the session to another position, or finish it; no message shows it yet.

        The first finish's time is kept. The prompt is forgotten because the message that
        showed the old position does not show the new one.
        """
        finished_at = timestamp(self._clock) if finished else None
        await self._update(
            session_id,
            "UPDATE sessions SET cursor = ?2, prompt_message_id = NULL,"
            " finished_at = coalesce(finished_at, ?3) WHERE id = ?1",
            cursor, finished_at,
        )

    async def set_prompt(self, session_id: int, message_id: int | None) -> None:
        """Remember the Telegram message showing the current question, so it can be edited."""
        await self._update(
            session_id, "UPDATE sessions SET prompt_message_id = ?2 WHERE id = ?1", message_id
        )

    async def _update(self, session_id: int, sql: str, *values: object) -> None:
        if not await self._backend.fetch(f"{sql} RETURNING id", (session_id, *values)):
            raise RecordNotFound(f"no session {session_id}")


def _session(row: Row, answers: Mapping[str, Answer]) -> Session:
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


def _answers(rows: Sequence[Row]) -> dict[str, Answer]:
    """The answers in a sessions-join-answers result; a session without any gives a NULL row."""
    return {
        row["question_id"]: Answer(row["question_id"], option_id=row["option_id"], text=row["text"])
        for row in rows
        if row["question_id"] is not None
    }
