"""Summaries: running score totals, comments, the answers export, digests and stored keys.

A finished session's scores are added to ``summary_totals`` once, so reading a summary costs the
same at a thousand respondents as at a hundred thousand.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from conversations.model import Answer
from conversations.scoring import ScoreCard
from conversations.summaries import Tally, tallies_of
from storage.backend import Backend, Dialect, Row
from storage.clock import Clock, timestamp
from storage.question_totals import QuestionTotalRepository
from storage.records import Session

# A finished session's choices: the (question, option) of each shown choice question it answered.
Choices = Sequence[tuple[str, str]]

_FINISHED = "finished_at IS NOT NULL"


@dataclass(frozen=True)
class Comment:
    """A comment a finished respondent typed, without who typed it."""

    question_id: str
    role: str
    text: str


@dataclass(frozen=True)
class ExportedAnswer:
    """One stored answer of a finished session, for the export (which pseudonymises user_id)."""

    session_id: int
    user_id: int | None  # None: unlinked from the Telegram account by retention
    role: str
    question_id: str
    option_id: str | None
    text: str | None
    questionnaire_version: int
    answered_at: str  # ISO-8601 UTC


@dataclass(frozen=True)
class Subscriber:
    """Someone who receives digests, and where and in which language to write to them."""

    user_id: int
    chat_id: int
    locale: str | None


@dataclass(frozen=True)
class DueDigest:
    """A digest not yet sent to everyone: a consultation's final summary, or a weekly one."""

    id: int
    consultation_id: int
    kind: str  # "final" or "weekly"


@dataclass(frozen=True)
class OwedDigest:
    """A subscriber a due digest is still to be sent to, and how often it failed for them."""

    subscriber: Subscriber
    attempts: int


def _by_group(rows: Sequence[Row],
              choices: Mapping[int, Choices]) -> dict[tuple[int, str], list[tuple[str, str]]]:
    grouped: dict[tuple[int, str], list[tuple[str, str]]] = {}
    for row in rows:
        grouped.setdefault((row["consultation_id"], row["role"]), []).extend(
            choices.get(row["id"], ()))
    return grouped


class SummaryRepository:
    """Running totals per consultation, role and pillar, and the comments behind them."""

    def __init__(self, backend: Backend, clock: Clock) -> None:
        self._backend = backend
        self._clock = clock
        self._question_totals = QuestionTotalRepository(backend, clock)

    def _hint(self, index: str) -> str:
        # Without it SQLite's planner takes sessions_by_consultation and reads every finished
        # session of the consultation (EXPLAIN QUERY PLAN); other engines plan by statistics.
        return f" INDEXED BY {index}" if self._backend.dialect is Dialect.SQLITE else ""

    async def add(self, session_id: int, card: ScoreCard, choices: Choices = ()) -> bool:
        """Add a finished session's scores and choices to the totals, once; False when already
        added."""
        return bool(await self.add_many({session_id: card}, {session_id: choices}))

    async def add_many(self, cards: Mapping[int, ScoreCard],
                       choices: Mapping[int, Choices] | None = None) -> int:
        """Add finished sessions' scores and choices (by session id) to the running totals, each
        session once; how many were.

        The one place where running totals grow: ``summary_totals`` and ``question_totals`` (see
        ``QuestionTotalRepository.add``), in one transaction (or the caller's).
        """
        if not cards:
            return 0
        marks = ",".join("?" * len(cards))
        async with self._backend.transaction():
            rows = await self._backend.fetch(
                f"UPDATE sessions SET summarised = 1 WHERE id IN ({marks})"
                f" AND summarised = 0 AND {_FINISHED} RETURNING id, consultation_id, role",
                tuple(cards),
            )
            totals: dict[tuple[int, str, str], list[float]] = {}
            for row in rows:
                for t in tallies_of(row["role"], cards[row["id"]]):
                    total = totals.setdefault((row["consultation_id"], t.role, t.pillar_id),
                                              [0, 0, 0.0])
                    total[0] += t.respondents
                    total[1] += t.scored
                    total[2] += t.score_sum
            if totals:
                values = ", ".join("(?, ?, ?, ?, ?, ?)" for _ in totals)
                await self._backend.fetch(
                    "INSERT INTO summary_totals"
                    " (consultation_id, role, pillar_id, respondents, scored, score_sum)"
                    f" VALUES {values} ON CONFLICT (consultation_id, role, pillar_id) DO UPDATE"
                    " SET respondents = summary_totals.respondents + excluded.respondents,"
                    " scored = summary_totals.scored + excluded.scored,"
                    " score_sum = summary_totals.score_sum + excluded.score_sum",
                    [v for key, total in totals.items() for v in (*key, *total)],
                )
            if choices:
                await self._question_totals.add(_by_group(rows, choices))
        return len(rows)

    async def withdraw_from_totals(self, cards: Mapping[int, ScoreCard]) -> int:
        """Take erased sessions' scores (by session id) out of the totals; how many were in them.

        The one place a contribution leaves the running totals (``/forget``): only sessions that
        were added (summarised) are taken out, and each is marked so it cannot be taken out
        twice. Call it inside the transaction that deletes the sessions.
        """
        if not cards:
            return 0
        marks = ",".join("?" * len(cards))
        async with self._backend.transaction():
            rows = await self._backend.fetch(
                f"UPDATE sessions SET summarised = 0 WHERE id IN ({marks}) AND summarised = 1"
                " RETURNING id, consultation_id, role",
                tuple(cards),
            )
            await self._backend.execute_many(
                "UPDATE summary_totals SET respondents = respondents - ?1, scored = scored - ?2,"
                " score_sum = CASE WHEN score_sum > ?3 THEN score_sum - ?3 ELSE 0.0 END"
                " WHERE consultation_id = ?4 AND role = ?5 AND pillar_id = ?6",
                [(t.respondents, t.scored, t.score_sum, row["consultation_id"], t.role,
                  t.pillar_id)
                 for row in rows for t in tallies_of(row["role"], cards[row["id"]])],
            )
            await self._backend.fetch("DELETE FROM summary_totals WHERE respondents <= 0")
        return len(rows)

    async def tallies(self, consultation_id: int) -> list[Tally]:
        """The consultation's totals, a row per role and pillar (the overall index included)."""
        rows = await self._backend.fetch(
            "SELECT role, pillar_id, respondents, scored, score_sum FROM summary_totals"
            " WHERE consultation_id = ?",
            (consultation_id,),
        )
        return [Tally(r["role"], r["pillar_id"], r["respondents"], r["scored"], r["score_sum"])
                for r in rows]

    async def answered(self) -> list[int]:
        """Ids of the consultations someone has finished, newest first."""
        rows = await self._backend.fetch(
            "SELECT consultation_id FROM summary_totals"
            " UNION SELECT consultation_id FROM sessions"
            f" WHERE {_FINISHED} AND summarised = 0 ORDER BY consultation_id DESC"
        )
        return [row["consultation_id"] for row in rows]

    async def unsummarised(self, consultation_id: int, limit: int = 500) -> list[Session]:
        """Finished sessions not yet in the totals (finished before totals were kept)."""
        rows = await self._backend.fetch(
            f"WITH due AS (SELECT id FROM sessions{self._hint('sessions_unsummarised')}"
            f"  WHERE consultation_id = ? AND {_FINISHED} AND summarised = 0 LIMIT ?)"
            " SELECT s.id, s.user_id, s.consultation_id, s.role, a.question_id, a.option_id, a.text"
            " FROM due JOIN sessions AS s ON s.id = due.id"
            " LEFT JOIN answers AS a ON a.session_id = s.id ORDER BY s.id",
            (consultation_id, limit),
        )
        found: dict[int, tuple[Row, dict[str, Answer]]] = {}
        for row in rows:
            _, answers = found.setdefault(row["id"], (row, {}))
            if row["question_id"] is not None:
                answers[row["question_id"]] = Answer(
                    row["question_id"], option_id=row["option_id"], text=row["text"])
        return [Session(row["id"], row["user_id"], row["consultation_id"], row["role"], None, None,
                        True, answers) for row, answers in found.values()]

    async def comments(self, consultation_id: int, limit: int) -> list[Comment]:
        """The newest comments of the consultation's finished respondents."""
        rows = await self._backend.fetch(
            # Newest first along the comments' own index, until enough are found.
            "SELECT a.question_id, s.role, a.text FROM answers AS a"
            f"{self._hint('answers_comments')}"
            " JOIN sessions AS s ON s.id = a.session_id"
            f" WHERE a.text IS NOT NULL AND s.consultation_id = ? AND s.{_FINISHED}"
            " ORDER BY a.answered_at DESC LIMIT ?",
            (consultation_id, limit),
        )
        return [Comment(r["question_id"], r["role"], r["text"]) for r in rows]


class ExportRepository:
    """Every answer of a consultation's finished sessions, read a page at a time."""

    def __init__(self, backend: Backend, clock: Clock) -> None:
        self._backend = backend
        self._clock = clock

    async def answers(self, consultation_id: int,
                      sessions_per_page: int = 200) -> AsyncIterator[ExportedAnswer]:
        """The answers session by session; memory holds one page, never the whole consultation."""
        after = 0
        while True:
            rows = await self._backend.fetch(
                "WITH page AS (SELECT id, user_id, role FROM sessions"
                f"  WHERE consultation_id = ? AND {_FINISHED} AND id > ? ORDER BY id LIMIT ?)"
                " SELECT page.id, page.user_id, page.role, a.question_id, a.option_id, a.text,"
                " a.questionnaire_version, a.answered_at"
                " FROM page LEFT JOIN answers AS a ON a.session_id = page.id"
                " ORDER BY page.id, a.answered_at, a.question_id",
                (consultation_id, after, sessions_per_page),
            )
            if not rows:
                return
            for row in rows:
                if row["question_id"] is not None:
                    yield ExportedAnswer(row["id"], row["user_id"], row["role"],
                                         row["question_id"], row["option_id"], row["text"],
                                         row["questionnaire_version"], row["answered_at"])
            after = rows[-1]["id"]

    async def finished_by_role(self, consultation_id: int) -> dict[str, int]:
        """How many respondents finished the consultation, per role they answered in."""
        rows = await self._backend.fetch(
            "SELECT role, count(*) FROM sessions"
            f" WHERE consultation_id = ? AND {_FINISHED} GROUP BY role", (consultation_id,))
        return {row[0]: int(row[1]) for row in rows}


class DigestRepository:
    """Who receives digests, and when each open consultation's weekly digest was last sent."""

    def __init__(self, backend: Backend, clock: Clock) -> None:
        self._backend = backend
        self._clock = clock

    async def next_weekly(self, every: timedelta) -> datetime | None:
        """About when the next weekly digest is due (None: no consultation is open).

        A consultation's week begins when it is first seen open (``claim_weekly``), so one whose
        week has not begun yet is due a week from now.
        """
        rows = await self._backend.fetch(
            "SELECT min(coalesce(r.sent_at, ?)) FROM consultations AS c"
            " LEFT JOIN digest_runs AS r ON r.consultation_id = c.id WHERE c.status = 'open'",
            (timestamp(self._clock),))
        started = rows[0][0]
        return None if started is None else datetime.fromisoformat(started) + every

    async def toggle(self, user_id: int) -> bool:
        """Subscribe the user, or unsubscribe them if they were; True when now subscribed."""
        async with self._backend.transaction():
            if await self._backend.fetch(
                    "DELETE FROM digest_subscriptions WHERE user_id = ? RETURNING user_id",
                    (user_id,)):
                return False
            await self._backend.fetch(
                "INSERT INTO digest_subscriptions (user_id, subscribed_at) VALUES (?, ?)",
                (user_id, timestamp(self._clock)),
            )
        return True

    async def subscribers(self) -> list[Subscriber]:
        """Subscribers who have not blocked the bot."""
        rows = await self._backend.fetch(
            "SELECT r.user_id, r.chat_id, r.locale FROM digest_subscriptions AS d"
            " JOIN respondents AS r ON r.user_id = d.user_id WHERE r.blocked_at IS NULL"
            " ORDER BY r.user_id"
        )
        return [Subscriber(r["user_id"], r["chat_id"], r["locale"]) for r in rows]

    async def claim_weekly(self, consultation_id: int, every: timedelta) -> bool:
        """Whether a weekly digest of the consultation is due now; claiming it starts a new week.

        The first call starts the consultation's first week and claims nothing. A claimed week's
        digest is recorded as due in the same transaction (see ``due``), so a restart neither
        sends the same week's digest twice nor loses it.
        """
        now = self._clock()
        async with self._backend.transaction():
            await self._backend.fetch(
                "INSERT INTO digest_runs (consultation_id, sent_at) VALUES (?, ?)"
                " ON CONFLICT (consultation_id) DO NOTHING",
                (consultation_id, timestamp(lambda: now)),
            )
            claimed = await self._backend.fetch(
                "UPDATE digest_runs SET sent_at = ? WHERE consultation_id = ? AND sent_at <= ?"
                " RETURNING consultation_id",
                (timestamp(lambda: now), consultation_id, timestamp(lambda: now - every)),
            )
            if claimed:
                await self._backend.fetch(
                    "INSERT INTO digests (consultation_id, kind) VALUES (?, 'weekly')",
                    (consultation_id,),
                )
        return bool(claimed)

    async def due(self) -> list[DueDigest]:
        """Digests not yet sent to everyone, oldest first.

        A final digest becomes due in the transaction that closes its consultation (a trigger of
        migration 0003), a weekly one when its week is claimed.
        """
        rows = await self._backend.fetch(
            "SELECT id, consultation_id, kind FROM digests"
            " WHERE done_at IS NULL ORDER BY id"
        )
        return [DueDigest(r["id"], r["consultation_id"], r["kind"]) for r in rows]

    async def owed(self, digest_id: int) -> list[OwedDigest]:
        """Subscribers (who have not blocked the bot) who neither had the digest nor were given
        up on, with how often sending it to them failed."""
        rows = await self._backend.fetch(
            "SELECT r.user_id, r.chat_id, r.locale, coalesce(g.attempts, 0) AS attempts"
            " FROM digest_subscriptions AS d JOIN respondents AS r ON r.user_id = d.user_id"
            " LEFT JOIN digest_recipients AS g ON g.digest_id = ? AND g.user_id = d.user_id"
            " WHERE r.blocked_at IS NULL AND (g.status IS NULL OR g.status = 'retry')"
            " ORDER BY r.user_id",
            (digest_id,),
        )
        return [OwedDigest(Subscriber(r["user_id"], r["chat_id"], r["locale"]), r["attempts"])
                for r in rows]

    async def record_sent(self, digest_id: int, user_id: int) -> None:
        """The subscriber has the digest: it is not sent to them again."""
        await self._record(digest_id, user_id, "sent", None, 0)

    async def record_failure(self, digest_id: int, user_id: int, error: str, *,
                             give_up: bool) -> None:
        """Sending failed: tried again by a later sweep, unless ``give_up``."""
        await self._record(digest_id, user_id, "failed" if give_up else "retry", error, 1)

    async def _record(self, digest_id: int, user_id: int, status: str, error: str | None,
                      failed: int) -> None:
        # Nothing is recorded for someone erased (/forget) while their digest was being sent.
        await self._backend.fetch(
            "INSERT INTO digest_recipients"
            " (digest_id, user_id, status, attempts, last_error, updated_at)"
            " SELECT ?1, ?2, ?3, ?4, ?5, ?6"
            " WHERE EXISTS (SELECT 1 FROM respondents WHERE user_id = ?2)"
            " ON CONFLICT (digest_id, user_id) DO UPDATE"
            " SET status = excluded.status, attempts = digest_recipients.attempts + excluded.attempts,"
            " last_error = coalesce(excluded.last_error, digest_recipients.last_error),"
            " updated_at = excluded.updated_at",
            (digest_id, user_id, status, failed, error, timestamp(self._clock)),
        )

    async def finish(self, digest_id: int) -> None:
        """Every subscriber had the digest or was given up on (or there was nothing to send)."""
        await self._backend.fetch(
            "UPDATE digests SET done_at = ? WHERE id = ? AND done_at IS NULL",
            (timestamp(self._clock), digest_id),
        )

    async def sent_to(self, digest_id: int) -> list[int]:
        """Users who had the digest (for reports and tests)."""
        rows = await self._backend.fetch(
            "SELECT user_id FROM digest_recipients WHERE digest_id = ? AND status = 'sent'"
            " ORDER BY user_id",
            (digest_id,),
        )
        return [row["user_id"] for row in rows]


class SecretRepository:
    """Keys generated once and kept in the database."""

    def __init__(self, backend: Backend, clock: Clock) -> None:
        self._backend = backend
        self._clock = clock

    async def get_or_create(self, name: str, candidate: bytes) -> bytes:
        """The stored key called ``name``; ``candidate`` becomes it if there is none yet."""
        (row,) = await self._backend.fetch(
            "INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING value",
            (name, candidate, timestamp(self._clock)),
        )
        return bytes(row["value"])
