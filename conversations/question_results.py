"""Per-question results: citizens beside officials on every scored question, and the perception gaps.

The rule (also in the README): for each shown choice question, a group's results are the share of
each option among those of the group who answered it (a follow-up counts only those it was shown
to), the don't-know rate, and the **positive share**: the share of positive answers (an option
worth more than half the scale's points: yes; agree and strongly agree) among those who answered
something other than "don't know". The **gap** is officials' positive share minus citizens', in
points, of the shares as shown (whole percentages). A group's results on a question are shown only
when MORE than ``min_group`` of its respondents answered it, as for pillar scores.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from conversations.model import Answer, Question, QuestionKind, Questionnaire
from conversations.roles import Role
from conversations.summaries import shown

TOP = 5  # how many gaps and lowest questions a summary names


def choices_of(questionnaire: Questionnaire, answers: Mapping[str, Answer]) -> tuple[tuple[str, str], ...]:
    """One finished respondent's contribution to the per-question totals: (question, option) of
    each shown choice question they answered."""
    found = []
    for question in questionnaire.visible(answers):
        answer = answers.get(question.id)
        if (question.kind is QuestionKind.CHOICE and question.scale is not None
                and answer is not None and answer.option_id is not None
                and question.scale.option(answer.option_id) is not None):
            found.append((question.id, answer.option_id))
    return tuple(found)


@dataclass(frozen=True)
class OptionCount:
    """How many finished respondents of a role chose an option of a question."""

    role: str
    question_id: str
    option_id: str
    answers: int


def percent(share: float) -> int:
    """A share (0-1) as a whole percentage, rounded to the nearest (a half up)."""
    return math.floor(100 * share + 0.5 + 1e-9)


def is_positive(question: Question, option_id: str) -> bool | None:
    """Whether the option is a positive answer; None for "don't know" (or an unknown option)."""
    assert question.scale is not None
    option = question.scale.option(option_id)
    if option is None or option.points is None:
        return None
    return 2 * option.points > question.scale.max_points


@dataclass(frozen=True)
class GroupResult:
    """One group's answers to one question, or why they are not shown."""

    answered: int  # respondents of the group who answered it (it was shown to them)
    counts: tuple[tuple[str, int], ...]  # per option of the scale, in the scale's order
    withheld: bool  # answered by some, but not more than the minimum group

    @property
    def visible(self) -> bool:
        return self.answered > 0 and not self.withheld

    def share(self, option_id: str) -> float | None:
        if not self.visible:
            return None
        return dict(self.counts).get(option_id, 0) / self.answered


def _positive(question: Question, result: GroupResult) -> float | None:
    if not result.visible:
        return None
    positive = sum(n for o, n in result.counts if is_positive(question, o))
    rated = sum(n for o, n in result.counts if is_positive(question, o) is not None)
    return positive / rated if rated else None


def _dont_know(question: Question, result: GroupResult) -> float | None:
    if not result.visible:
        return None
    return sum(n for o, n in result.counts if is_positive(question, o) is None) / result.answered


@dataclass(frozen=True)
class QuestionLine:
    """One scored question: citizens beside officials."""

    question: Question
    citizens: GroupResult
    officials: GroupResult

    @property
    def citizens_positive(self) -> float | None:
        return _positive(self.question, self.citizens)

    @property
    def officials_positive(self) -> float | None:
        return _positive(self.question, self.officials)

    def dont_know(self, result: GroupResult) -> float | None:
        return _dont_know(self.question, result)

    def positive(self, result: GroupResult) -> float | None:
        return _positive(self.question, result)

    @property
    def gap(self) -> int | None:
        """Officials' positive share minus citizens', in points of the shown percentages."""
        ours, theirs = self.officials_positive, self.citizens_positive
        if ours is None or theirs is None:
            return None
        return percent(ours) - percent(theirs)


@dataclass(frozen=True)
class QuestionResults:
    min_group: int
    lines: tuple[QuestionLine, ...]  # every scored question, in questionnaire order

    def pillar(self, pillar_id: str) -> tuple[QuestionLine, ...]:
        return tuple(line for line in self.lines if line.question.pillar_id == pillar_id)

    def largest_gaps(self, count: int = TOP) -> tuple[QuestionLine, ...]:
        """The questions where officials and citizens differ most, either way (ties: in order)."""
        gapped = [line for line in self.lines if line.gap]
        return tuple(sorted(gapped, key=lambda line: -abs(line.gap or 0))[:count])

    def lowest_for_citizens(self, count: int = TOP) -> tuple[QuestionLine, ...]:
        """The questions with citizens' lowest positive shares (ties: in order)."""
        rated = [line for line in self.lines if line.citizens_positive is not None]
        return tuple(sorted(rated, key=lambda line: percent(line.citizens_positive or 0))[:count])


def question_results(questionnaire: Questionnaire, counts: Iterable[OptionCount],
                     min_group: int) -> QuestionResults:
    """Apply the per-question rule to a consultation's (released) option counts."""
    found: dict[tuple[str, str, str], int] = {}
    for c in counts:
        key = (c.role, c.question_id, c.option_id)
        found[key] = found.get(key, 0) + c.answers

    def result(role: Role, question: Question) -> GroupResult:
        assert question.scale is not None
        per_option = tuple((o.id, found.get((role.value, question.id, o.id), 0))
                           for o in question.scale.options)
        answered = sum(n for _, n in per_option)
        return GroupResult(answered, per_option, answered > 0 and not shown(answered, min_group))

    lines = tuple(QuestionLine(q, result(Role.CITIZEN, q), result(Role.OFFICIAL, q))
                  for q in questionnaire.questions
                  if q.kind is QuestionKind.CHOICE and q.scale is not None)
    return QuestionResults(min_group, lines)
