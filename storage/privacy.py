"""What is stored about a person (/mydata), and erasing them (/forget): no table keeps their id."""

from __future__ import annotations

from dataclasses import dataclass

from storage.backend import Backend, Row
from storage.clock import Clock, timestamp
from storage.records import Session
from storage.sessions import _answers


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


class PrivacyRepository:
    """Everything stored about a person, and erasing them."""

    def __init__(self, backend: Backend, clock: Clock) -> None:
        self._backend = backend
        self._clock = clock

    async def summarised_sessions(self, user_id: int) -> list[Session]:
        """The person's sessions counted in the running totals, with their answers."""
        rows = await self._backend.fetch(
            "SELECT s.id, s.user_id, s.consultation_id, s.role, s.cursor, s.prompt_message_id,"
            " s.finished_at, a.question_id, a.option_id, a.text"
            " FROM sessions AS s LEFT JOIN answers AS a ON a.session_id = s.id"
            " WHERE s.user_id = ? AND s.summarised = 1 ORDER BY s.id", (user_id,))
        grouped: dict[int, list[Row]] = {}
        for row in rows:
            grouped.setdefault(row["id"], []).append(row)
        return [Session(group[0]["id"], group[0]["user_id"], group[0]["consultation_id"],
                        group[0]["role"], group[0]["cursor"], group[0]["prompt_message_id"],
                        group[0]["finished_at"] is not None, _answers(group))
                for group in grouped.values()]

    async def erase(self, user_id: int, update_id: int | None) -> Erased:
        """Delete the person and every row naming them; their id stays in no table.

        Take their sessions out of the running totals first (``withdraw_from_totals``), in the
        same transaction. Rows that record what others did keep the row, without the id: a
        consultation or broadcast they created, a role they granted, the audit trail.
        """
        async with self._backend.transaction():
            (counts,) = await self._backend.fetch(
                "SELECT (SELECT count(*) FROM sessions WHERE user_id = ?1),"
                " (SELECT count(*) FROM answers AS a JOIN sessions AS s ON s.id = a.session_id"
                "  WHERE s.user_id = ?1 AND a.text IS NULL),"
                " (SELECT count(*) FROM answers AS a JOIN sessions AS s ON s.id = a.session_id"
                "  WHERE s.user_id = ?1 AND a.text IS NOT NULL),"
                " (SELECT count(*) FROM deliveries WHERE user_id = ?1),"
                " (SELECT count(*) FROM digest_recipients WHERE user_id = ?1)"
                " + (SELECT count(*) FROM digest_subscriptions WHERE user_id = ?1),"
                " (SELECT count(*) FROM roles WHERE user_id = ?1),"
                " (SELECT count(*) FROM invitations WHERE used_by = ?1)",
                (user_id,))
            erased = Erased(sessions=int(counts[0]), answers=int(counts[1]),
                            comments=int(counts[2]), deliveries=int(counts[3]),
                            digests=int(counts[4]), role=bool(counts[5]),
                            invitations=int(counts[6]))
            for sql, params in (
                ("DELETE FROM invitations WHERE used_by = ?1 OR created_by = ?1", (user_id,)),
                ("DELETE FROM roles WHERE user_id = ?1", (user_id,)),
                ("UPDATE roles SET granted_by = NULL WHERE granted_by = ?1", (user_id,)),
                ("UPDATE consultations SET created_by = NULL WHERE created_by = ?1", (user_id,)),
                # A broadcast keeps its row for the counts; 0 is nobody's Telegram id.
                ("UPDATE broadcasts SET created_by = 0, progress_chat_id = NULL,"
                 " progress_message_id = NULL WHERE created_by = ?1 OR progress_chat_id = ?1",
                 (user_id,)),
                ("UPDATE audit_log SET actor_id = NULL WHERE actor_id = ?1", (user_id,)),
                ("UPDATE audit_log SET target_id = NULL WHERE target_id = ?1", (user_id,)),
                # Someone's last button tap may name the person (a Revoke button, say).
                ("UPDATE respondents SET last_tap = NULL WHERE last_tap LIKE ?",
                 (f"%{user_id}%",)),
                # Cascades to sessions (and their answers), deliveries and digest records.
                ("DELETE FROM respondents WHERE user_id = ?1", (user_id,)),
            ):
                await self._backend.fetch(sql, params)
            if update_id is not None:
                await self._backend.fetch(
                    "INSERT INTO erasures (update_id, erased_at) VALUES (?, ?)"
                    " ON CONFLICT (update_id) DO NOTHING",
                    (update_id, timestamp(self._clock)))
        return erased

    async def personal_data(self, user_id: int) -> PersonalData | None:
        """Everything stored about the user; None when nothing is."""
        async with self._backend.transaction():  # one consistent picture, not five
            return await self._personal_data(user_id)

    async def _personal_data(self, user_id: int) -> PersonalData | None:
        fetch = self._backend.fetch
        people = await fetch(
            "SELECT r.locale, r.consented_at, r.subscribed, r.blocked_at, r.created_at,"
            " r.last_update_at, g.role, g.agency, g.granted_at, d.subscribed_at"
            " FROM respondents AS r LEFT JOIN roles AS g ON g.user_id = r.user_id"
            " LEFT JOIN digest_subscriptions AS d ON d.user_id = r.user_id"
            " WHERE r.user_id = ?", (user_id,))
        if not people:
            return None
        person = people[0]
        sessions: dict[int, tuple[Row, list[StoredAnswer]]] = {}
        for row in await fetch(
                "SELECT s.id, s.consultation_id, s.role, s.started_at, s.finished_at,"
                " a.question_id, a.option_id, a.text, a.answered_at"
                " FROM sessions AS s LEFT JOIN answers AS a ON a.session_id = s.id"
                " WHERE s.user_id = ? ORDER BY s.id, a.answered_at, a.question_id", (user_id,)):
            _, answers = sessions.setdefault(row["id"], (row, []))
            if row["question_id"] is not None:
                answers.append(StoredAnswer(row["question_id"], row["option_id"], row["text"],
                                            row["answered_at"]))
        deliveries = tuple(
            StoredDelivery(row[0], row[1], row[2]) for row in await fetch(
                "SELECT b.consultation_id, d.status, d.sent_at FROM deliveries AS d"
                " JOIN broadcasts AS b ON b.id = d.broadcast_id WHERE d.user_id = ?"
                " ORDER BY b.id", (user_id,)))
        digests = tuple(
            StoredDigest(row[0], row[1], row[2], row[3]) for row in await fetch(
                "SELECT g.consultation_id, g.kind, r.status, r.updated_at"
                " FROM digest_recipients AS r JOIN digests AS g ON g.id = r.digest_id"
                " WHERE r.user_id = ? ORDER BY g.id", (user_id,)))
        invitations = tuple(
            (row[0], row[1]) for row in await fetch(
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
