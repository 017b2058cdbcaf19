"""Scores from answers: per pillar, overall, and the band the overall falls in.

The rule (also in the README): a choice answer earns its option's points out of the scale's
maximum; "don't know" is missing, not zero. A pillar's score is 100 x the mean of those shares
over its answered, shown questions; the overall index is the mean of the pillars that have a
score. Bands follow the UN E-Government Survey.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from conversations.model import Answer, QuestionKind, Questionnaire


class Band(StrEnum):
    LOW = "low"  # below 25
    MIDDLE = "middle"  # 25 to below 50
    HIGH = "high"  # 50 to below 75
    VERY_HIGH = "very_high"  # 75 and above


def band_for(score: float) -> Band:
    """The UN E-Government Survey band of a 0-100 score."""
    score = round(score, 9)  # a mean of exactly 50 may arrive as 49.99999999999999
    if score >= 75:
        return Band.VERY_HIGH
    if score >= 50:
        return Band.HIGH
    if score >= 25:
        return Band.MIDDLE
    return Band.LOW


@dataclass(frozen=True)
class PillarScore:
    pillar_id: str
    score: float | None  # None: no scored answer in this pillar
    counted: int  # answers that entered the score ("don't know" excluded)


@dataclass(frozen=True)
class ScoreCard:
    pillars: tuple[PillarScore, ...]
    overall: float | None

    @property
    def band(self) -> Band | None:
        return None if self.overall is None else band_for(self.overall)


def score_answers(questionnaire: Questionnaire, answers: Mapping[str, Answer]) -> ScoreCard:
    """Score one respondent's answers; questions that were not shown are ignored."""
    shares: dict[str, list[float]] = {p.id: [] for p in questionnaire.pillars}
    for question in questionnaire.visible(answers):
        answer = answers.get(question.id)
        if question.kind is not QuestionKind.CHOICE or answer is None or question.scale is None:
            continue
        option = question.scale.option(answer.option_id or "")
        if option is not None and option.points is not None:
            shares[question.pillar_id].append(option.points / question.scale.max_points)
    pillars = tuple(
        PillarScore(pid, 100 * sum(s) / len(s) if s else None, len(s)) for pid, s in shares.items()
    )
    scored = [p.score for p in pillars if p.score is not None]
    return ScoreCard(pillars, sum(scored) / len(scored) if scored else None)
