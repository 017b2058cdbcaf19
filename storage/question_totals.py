"""Per-question running totals, and the releases every summary is read from.

``question_totals`` counts, per consultation, role, question and option, the finished respondents
who chose it; rows are added by ``SummaryRepository.add_many`` together with ``summary_totals``, in
the transaction that finishes a session. Summaries never read either table directly: they read the
last *release* (``release`` below, then ``released_tallies`` and ``released_counts``).

The release rule (also in the README): a group (a role in a consultation) is released again only
when its number of finished respondents differs from its last release by more than ``min_group``;
within a release, a pillar's figure is copied only when the number of scores it rests on did not
change or changed by more than ``min_group``, and a question's only when the number who answered
it did. So two published figures never differ by the answers of ``min_group`` people or fewer.
A release (or a figure) resting on ``min_group`` or fewer showed nothing (such figures are
withheld), so it is replaced as soon as anything changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from conversations.question_results import OptionCount
from conversations.summaries import OVERALL, Tally
from storage.backend import Backend, Dialect, Row
from storage.clock import Clock, timestamp


class QuestionTotalRepository:
    """The per-question totals, releases, and the released figures summaries are made of."""

    def __init__(self, backend: Backend, clock: Clock) -> None:
        self._backend = backend
        self._clock = clock

    async def add(self, choices: Mapping[tuple[int, str], Iterable[tuple[str, str]]]) -> None:
        """Add finished respondents' choices: per (consultation, role), their (question, option)
        pairs. Call inside the transaction that adds their scores (``SummaryRepository``)."""
        totals: dict[tuple[int, str, str, str], int] = {}
        for (consultation_id, role), pairs in choices.items():
            for question_id, option_id in pairs:
                key = (consultation_id, role, question_id, option_id)
                totals[key] = totals.get(key, 0) + 1
        rows = list(totals.items())
        for start in range(0, len(rows), 150):  # 5 values a row, under SQLite's 999 variables
            chunk = rows[start:start + 150]
            await self._backend.fetch(
                "INSERT INTO question_totals"
                " (consultation_id, role, question_id, option_id, answers) VALUES "
                + ", ".join("(?, ?, ?, ?, ?)" for _ in chunk)
                + " ON CONFLICT (consultation_id, role, question_id, option_id) DO UPDATE"
                " SET answers = question_totals.answers + excluded.answers",
                [v for key, n in chunk for v in (*key, n)],
            )

    async def release(self, consultation_id: int, min_group: int) -> list[str]:
        """Release each group of the consultation that is due (see the module's rule); the roles
        released."""
        if not await self._due(consultation_id, min_group):
            return []  # the usual case: a read, no write transaction
        now = timestamp(self._clock)
        async with self._backend.transaction():
            if self._backend.dialect is Dialect.POSTGRESQL:
                # One release of a consultation at a time, or one computed from older totals
                # could commit after a newer one and move the figures back (SQLite's write
                # transactions already run one at a time). NO KEY: finishing sessions, whose
                # rows reference the consultation, are not held up.
                await self._backend.fetch(
                    "SELECT id FROM consultations WHERE id = ? FOR NO KEY UPDATE",
                    (consultation_id,))
            due = await self._due(consultation_id, min_group)
            for row in due:
                await self._release(consultation_id, row["role"], row["respondents"], min_group,
                                    now)
        return [row["role"] for row in due]

    async def _due(self, consultation_id: int, min_group: int) -> list[Row]:
        """The groups of the consultation due for a release, with their respondents now."""
        return await self._backend.fetch(
            "SELECT t.role, t.respondents FROM summary_totals AS t"
            " LEFT JOIN summary_releases AS r"
            "  ON r.consultation_id = t.consultation_id AND r.role = t.role"
            " WHERE t.consultation_id = ?1 AND t.pillar_id = ?2"
            "  AND t.respondents <> coalesce(r.respondents, 0)"
            "  AND (coalesce(r.respondents, 0) <= ?3 OR abs(t.respondents - r.respondents) > ?3)",
            (consultation_id, OVERALL, min_group),
        )

    async def _release(self, consultation_id: int, role: str, respondents: int, min_group: int,
                       now: str) -> None:
        await self._backend.fetch(
            "INSERT INTO released_summary_totals"
            " (consultation_id, role, pillar_id, respondents, scored, score_sum)"
            " SELECT t.consultation_id, t.role, t.pillar_id, t.respondents, t.scored, t.score_sum"
            " FROM summary_totals AS t LEFT JOIN released_summary_totals AS r"
            "  ON r.consultation_id = t.consultation_id AND r.role = t.role"
            "  AND r.pillar_id = t.pillar_id"
            " WHERE t.consultation_id = ?1 AND t.role = ?2"
            "  AND (coalesce(r.scored, 0) <= ?3 OR t.scored = r.scored"
            "   OR abs(t.scored - r.scored) > ?3)"
            " ON CONFLICT (consultation_id, role, pillar_id) DO UPDATE"
            " SET respondents = excluded.respondents, scored = excluded.scored,"
            " score_sum = excluded.score_sum",
            (consultation_id, role, min_group),
        )
        await self._backend.fetch(
            "WITH live AS (SELECT question_id, sum(answers) AS n FROM question_totals"
            "   WHERE consultation_id = ?1 AND role = ?2 GROUP BY question_id),"
            " published AS (SELECT question_id, sum(answers) AS n FROM released_question_totals"
            "   WHERE consultation_id = ?1 AND role = ?2 GROUP BY question_id),"
            " due AS (SELECT live.question_id FROM live"
            "   LEFT JOIN published ON published.question_id = live.question_id"
            "   WHERE coalesce(published.n, 0) <= ?3 OR abs(live.n - published.n) > ?3)"
            " INSERT INTO released_question_totals"
            " (consultation_id, role, question_id, option_id, answers)"
            " SELECT consultation_id, role, question_id, option_id, answers FROM question_totals"
            " WHERE consultation_id = ?1 AND role = ?2 AND question_id IN (SELECT question_id FROM due)"
            " ON CONFLICT (consultation_id, role, question_id, option_id) DO UPDATE"
            " SET answers = excluded.answers",
            (consultation_id, role, min_group),
        )
        await self._backend.fetch(
            "INSERT INTO summary_releases (consultation_id, role, respondents, released_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (consultation_id, role) DO UPDATE"
            " SET respondents = excluded.respondents, released_at = excluded.released_at",
            (consultation_id, role, respondents, now),
        )

    async def released_tallies(self, consultation_id: int) -> list[Tally]:
        """The last release's score totals; a group's respondents are those of its release."""
        rows = await self._backend.fetch(
            "SELECT t.role, t.pillar_id, r.respondents, t.scored, t.score_sum"
            " FROM released_summary_totals AS t JOIN summary_releases AS r"
            "  ON r.consultation_id = t.consultation_id AND r.role = t.role"
            " WHERE t.consultation_id = ?",
            (consultation_id,),
        )
        return [Tally(r["role"], r["pillar_id"], r["respondents"], r["scored"], r["score_sum"])
                for r in rows]

    async def released_counts(self, consultation_id: int) -> list[OptionCount]:
        """The last release's option counts."""
        rows = await self._backend.fetch(
            "SELECT role, question_id, option_id, answers FROM released_question_totals"
            " WHERE consultation_id = ?",
            (consultation_id,),
        )
        return [OptionCount(r["role"], r["question_id"], r["option_id"], r["answers"])
                for r in rows]

    async def live_counts(self, consultation_id: int) -> list[OptionCount]:
        """The running option counts, every finished respondent included (tests, benchmarks)."""
        rows = await self._backend.fetch(
            "SELECT role, question_id, option_id, answers FROM question_totals"
            " WHERE consultation_id = ?",
            (consultation_id,),
        )
        return [OptionCount(r["role"], r["question_id"], r["option_id"], r["answers"])
                for r in rows]

    async def mark_demo(self, consultation_id: int) -> None:
        """The consultation holds synthetic respondents: its summaries and reports say so."""
        await self._backend.fetch(
            "INSERT INTO demo_consultations (consultation_id) VALUES (?) ON CONFLICT DO NOTHING",
            (consultation_id,))

    async def is_demo(self, consultation_id: int) -> bool:
        rows = await self._backend.fetch(
            "SELECT 1 FROM demo_consultations WHERE consultation_id = ?", (consultation_id,))
        return bool(rows)
