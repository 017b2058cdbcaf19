"""Summaries for officials: a consultation's summary from the running totals, and its key for exports.

The running totals are kept as sessions finish (``Turns``); sessions that finished before the totals
existed are added at start-up, or else the first time their consultation's summary is read.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field

from bot.turns import Turns
from conversations.question_results import QuestionResults, choices_of, question_results
from conversations.scoring import score_answers
from conversations.summaries import Summary, summarise
from storage import Consultation

PSEUDONYM_KEY = "export_pseudonyms"

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SummaryService:
    """Reads summaries of the consultations this bot's questionnaire runs."""

    turns: Turns
    min_group: int
    # From BARAZA_PSEUDONYM_KEY; None: a random key generated once and kept in the database.
    configured_key: bytes | None = field(default=None, repr=False)

    async def summary(self, consultation: Consultation) -> Summary:
        """The consultation's summary as of its last release (see ``release``)."""
        await self.release(consultation)
        db, questionnaire = self.turns.db, self.turns.flow.questionnaire
        tallies = await db.question_totals.released_tallies(consultation.id)
        return summarise(questionnaire, tallies, self.min_group)

    async def question_results(self, consultation: Consultation) -> QuestionResults:
        """The consultation's per-question results as of its last release."""
        await self.release(consultation)
        db, questionnaire = self.turns.db, self.turns.flow.questionnaire
        counts = await db.question_totals.released_counts(consultation.id)
        return question_results(questionnaire, counts, self.min_group)

    async def groups(self, consultation: Consultation) -> tuple[set[str], dict[str, int]]:
        """The roles whose finished respondents are more than the minimum group (their rows can
        be exported, their comments labelled), and how many finished in each of the others."""
        finished = await self.turns.db.exports.finished_by_role(consultation.id)
        shown = {role for role, count in finished.items() if count > self.min_group}
        return shown, {role: count for role, count in sorted(finished.items()) if role not in shown}

    async def release(self, consultation: Consultation) -> None:
        """Count every finished session, then release each group that is due: every view reads
        the last release, which moves only in steps of more than the minimum group."""
        await self._catch_up(consultation)
        await self.turns.db.question_totals.release(consultation.id, self.min_group)

    async def is_demo(self, consultation: Consultation) -> bool:
        """Whether the consultation holds synthetic respondents (``baraza sandbox --demo``)."""
        return await self.turns.db.question_totals.is_demo(consultation.id)

    async def answered(self) -> list[Consultation]:
        """Consultations of this questionnaire that someone has finished, newest first."""
        found = []
        for consultation_id in await self.turns.db.summaries.answered():
            consultation = await self.turns.db.consultations.get(consultation_id)
            if consultation is not None and self.turns.runs(consultation):
                found.append(consultation)
        return found

    async def pseudonym_key(self) -> bytes:
        """The key of the export's pseudonyms: the same for every export, so they stay stable."""
        if self.configured_key is not None:
            return self.configured_key
        return await self.turns.db.secrets.get_or_create(PSEUDONYM_KEY, secrets.token_bytes(32))

    async def catch_up(self) -> int:
        """At start-up: add every session that finished before running totals were kept."""
        added = 0
        for consultation in await self.answered():
            added += await self._catch_up(consultation)
        if added:
            _logger.info("Added %s finished sessions to the summaries' running totals", added)
        return added

    async def _catch_up(self, consultation: Consultation) -> int:
        """Add sessions that finished before running totals were kept (none in normal running)."""
        if not self.turns.runs(consultation):
            raise ValueError(f"consultation {consultation.id} asks another questionnaire")
        db, questionnaire = self.turns.db, self.turns.flow.questionnaire
        added = 0
        while due := await db.summaries.unsummarised(consultation.id):
            added += await db.summaries.add_many(
                {session.id: score_answers(questionnaire, session.answers) for session in due},
                {session.id: choices_of(questionnaire, session.answers) for session in due})
        return added
