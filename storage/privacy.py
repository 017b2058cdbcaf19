"""What is stored about a person (/mydata), and erasing them (/forget): no table keeps their id."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from storage.clock import Clock, timestamp
from storage.connection import Connection
from storage.records import Session
from storage.sessions import _answers

T = TypeVar("T")


@dataclass(frozen=True)
class StoredAnswer:
    question_id: str
    option_id: str | None
    text: str | None
    answered_at: str  # ISO-8601 UTC


@dataclass(frozen=True)
class StoredSession:
    consultation_id: int
    role: str  # the role the person answered in
    started_at: str
    finished_at: str | None
    answers: tuple[StoredAnswer, ...]


@dataclass(frozen=True)
class StoredDelivery:
    """An announcement (broadcast) queued for the person, and what became of it."""

    consultation_id: int
    status: str
    sent_at: str | None


@dataclass(frozen=True)
class StoredDigest:
    consultation_id: int
    kind: str  # weekly or final
    status: str  # sent, retry or failed
    updated_at: str


@dataclass(frozen=True)
class PersonalData:
    """Everything stored about one Telegram user, as stored (the bot renders it)."""

    user_id: int
    locale: str | None
    consented_at: str | None
    subscribed: bool
    blocked_at: str | None
    created_at: str
    last_seen_at: str | None
    role: str | None
    agency: str | None
    role_granted_at: str | None
    digest_subscribed_at: str | None
    invitations_redeemed: tuple[tuple[str | None, str], ...]  # (agency, used at)
    sessions: tuple[StoredSession, ...]
    deliveries: tuple[StoredDelivery, ...]
    digests: tuple[StoredDigest, ...]


@dataclass(frozen=True)
class Erased:
    """What ``/forget`` erased, to tell the person."""

    sessions: int
    answers: int
    comments: int
    deliveries: int
    digests: int  # digest records, and the subscription
    role: bool
    invitations: int


class PrivacyStatements:
    """Erasure and its redelivery guard, run on the connection's thread (see ``Tx``)."""

    def __init__(self, connection: sqlite3.Connection, clock: Clock) -> None:
        self._connection = connection
        self._clock = clock

    def erased_by(self, update_id: int) -> bool:
        """Whether this update erased someone: its redelivery must not bring them back."""
        return self._connection.execute(
            "SELECT 1 FROM erasures WHERE update_id = ?", (update_id,)).fetchone() is not None

    def summarised_sessions(self, user_id: int) -> list[Session]:
        """The person's sessions counted in the running totals, with their answers."""
        rows = self._connection.execute(
            "SELECT s.id, s.user_id, s.consultation_id, s.role, s.cursor, s.prompt_message_id,"
            " s.finished_at, a.question_id, a.option_id, a.text"
            " FROM sessions AS s LEFT JOIN answers AS a ON a.session_id = s.id"
            " WHERE s.user_id = ? AND s.summarised = 1 ORDER BY s.id", (user_id,)).fetchall()
        grouped: dict[int, list[sqlite3.Row]] = {}
        for row in rows:
            grouped.setdefault(row["id"], []).append(row)
        return [Session(group[0]["id"], group[0]["user_id"], group[0]["consultation_id"],
                        group[0]["role"], group[0]["cursor"], group[0]["prompt_message_id"],
                        group[0]["finished_at"] is not None, _answers(group))
                for group in grouped.values()]

    def erase(self, user_id: int, update_id: int | None) -> Erased:
        """Delete the person and every row naming them; their id stays in no table.

        Take their sessions out of the running totals first (``withdraw_from_totals``), in the
        same transaction. Rows that record what others did keep the row, without the id: a
        consultation or broadcast they created, a role they granted, the audit trail.
        """
        c = self._connection

        def count(sql: str) -> int:
            return int(c.execute(sql, (user_id,)).fetchone()[0])

        erased = Erased(
            sessions=count("SELECT count(*) FROM sessions WHERE user_id = ?"),
            answers=count("SELECT count(*) FROM answers AS a JOIN sessions AS s"
                          " ON s.id = a.session_id WHERE s.user_id = ? AND a.text IS NULL"),
            comments=count("SELECT count(*) FROM answers AS a JOIN sessions AS s"
                           " ON s.id = a.session_id WHERE s.user_id = ? AND a.text IS NOT NULL"),
            deliveries=count("SELECT count(*) FROM deliveries WHERE user_id = ?"),
            digests=count("SELECT (SELECT count(*) FROM digest_recipients WHERE user_id = ?1)"
                          " + (SELECT count(*) FROM digest_subscriptions WHERE user_id = ?1)"),
            role=bool(count("SELECT count(*) FROM roles WHERE user_id = ?")),
            invitations=count("SELECT count(*) FROM invitations WHERE used_by = ?"),
        )
        for sql in (
            "DELETE FROM invitations WHERE used_by = ?1 OR created_by = ?1",
            "DELETE FROM roles WHERE user_id = ?1",
            "UPDATE roles SET granted_by = NULL WHERE granted_by = ?1",
            "UPDATE consultations SET created_by = NULL WHERE created_by = ?1",
            # A broadcast keeps its row for the counts; 0 is nobody's Telegram id.
            "UPDATE broadcasts SET created_by = 0, progress_chat_id = NULL,"
            " progress_message_id = NULL WHERE created_by = ?1 OR progress_chat_id = ?1",
            "UPDATE audit_log SET actor_id = NULL WHERE actor_id = ?1",
            "UPDATE audit_log SET target_id = NULL WHERE target_id = ?1",
            # Someone's last button tap may name the person (a Revoke button, say).
            "UPDATE respondents SET last_tap = NULL WHERE instr(last_tap, ?1) > 0",
            # Cascades to sessions (and their answers), deliveries and digest records.
            "DELETE FROM respondents WHERE user_id = ?1",
        ):
            c.execute(sql, (user_id,))
        if update_id is not None:
            c.execute("INSERT OR IGNORE INTO erasures (update_id, erased_at) VALUES (?, ?)",
                      (update_id, timestamp(self._clock)))
        return erased


class PrivacyRepository:
    """Reads everything stored about a person."""

    def __init__(self, connection: Connection, clock: Clock) -> None:
        self._connection = connection
        self._clock = clock

    async def _run(self, call: Callable[[sqlite3.Connection], T]) -> T:
        return await self._connection.run(call)

    async def personal_data(self, user_id: int) -> PersonalData | None:
        """Everything stored about the user; None when nothing is."""
        return await self._run(lambda c: _personal_data(c, user_id))


def _personal_data(c: sqlite3.Connection, user_id: int) -> PersonalData | None:
    person = c.execute(
        "SELECT r.locale, r.consented_at, r.subscribed, r.blocked_at, r.created_at,"
        " r.last_update_at, g.role, g.agency, g.granted_at, d.subscribed_at"
        " FROM respondents AS r LEFT JOIN roles AS g ON g.user_id = r.user_id"
        " LEFT JOIN digest_subscriptions AS d ON d.user_id = r.user_id"
        " WHERE r.user_id = ?", (user_id,)).fetchone()
    if person is None:
        return None
    sessions: dict[int, tuple[sqlite3.Row, list[StoredAnswer]]] = {}
    for row in c.execute(
            "SELECT s.id, s.consultation_id, s.role, s.started_at, s.finished_at,"
            " a.question_id, a.option_id, a.text, a.answered_at"
            " FROM sessions AS s LEFT JOIN answers AS a ON a.session_id = s.id"
            " WHERE s.user_id = ? ORDER BY s.id, a.answered_at, a.question_id", (user_id,)):
        _, answers = sessions.setdefault(row["id"], (row, []))
        if row["question_id"] is not None:
            answers.append(StoredAnswer(row["question_id"], row["option_id"], row["text"],
                                        row["answered_at"]))
    deliveries = tuple(
        StoredDelivery(row[0], row[1], row[2]) for row in c.execute(
            "SELECT b.consultation_id, d.status, d.sent_at FROM deliveries AS d"
            " JOIN broadcasts AS b ON b.id = d.broadcast_id WHERE d.user_id = ?"
            " ORDER BY b.id", (user_id,)))
    digests = tuple(
        StoredDigest(row[0], row[1], row[2], row[3]) for row in c.execute(
            "SELECT g.consultation_id, g.kind, r.status, r.updated_at"
            " FROM digest_recipients AS r JOIN digests AS g ON g.id = r.digest_id"
            " WHERE r.user_id = ? ORDER BY g.id", (user_id,)))
    invitations = tuple(
        (row[0], row[1]) for row in c.execute(
            "SELECT agency, used_at FROM invitations WHERE used_by = ? ORDER BY used_at",
            (user_id,)))
    return PersonalData(
        user_id=user_id, locale=person["locale"], consented_at=person["consented_at"],
        subscribed=bool(person["subscribed"]), blocked_at=person["blocked_at"],
        created_at=person["created_at"], last_seen_at=person["last_update_at"],
        role=person["role"], agency=person["agency"], role_granted_at=person["granted_at"],
        digest_subscribed_at=person["subscribed_at"], invitations_redeemed=invitations,
        sessions=tuple(StoredSession(row["consultation_id"], row["role"], row["started_at"],
                                     row["finished_at"], tuple(answers))
                       for row, answers in sessions.values()),
        deliveries=deliveries, digests=digests,
    )
