"""The questionnaire as immutable data: pillars, questions, answer scales and show conditions.

Every element has a stable id. Texts here are the English source; translations are looked up
by id (gettext message context) when the adapter renders them, so a questionnaire file never
holds more than one language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property


class QuestionKind(StrEnum):
    """How a question is answered."""

    CHOICE = "choice"  # one option from a scale, by button
    TEXT = "text"  # an optional typed comment, or Skip


@dataclass(frozen=True)
class Option:
    """One answer of a scale; ``points`` is None for "don't know" (counted as missing)."""

    id: str
    text: str
    points: int | None


@dataclass(frozen=True)
class Scale:
    """A named set of options shared by many questions (yes/no/don't know, agreement)."""

    id: str
    options: tuple[Option, ...]

    @property
    def max_points(self) -> int:
        return max(o.points for o in self.options if o.points is not None)

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)


@dataclass(frozen=True)
class Condition:
    """Show a question only when an earlier question was answered with one of ``any_of``."""

    question_id: str
    any_of: frozenset[str]


@dataclass(frozen=True)
class Question:
    id: str
    pillar_id: str
    text: str
    kind: QuestionKind
    scale: Scale | None = None
    show_if: Condition | None = None
    max_length: int = 1000


@dataclass(frozen=True)
class Pillar:
    id: str
    title: str
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Place:
    """Where a question stands, counted so that no total ever grows during a walk.

    ``number`` of ``total`` counts a part's questions that everyone is asked; a follow-up
    (shown only after an earlier answer) is not counted ahead of time, and when it is asked it
    carries the number of the question it follows, marked ``follow_up``.
    """

    part: int
    parts: int
    number: int
    total: int
    follow_up: bool


@dataclass(frozen=True)
class Questionnaire:
    """A versioned questionnaire; questions are asked in file order."""

    id: str
    version: int
    title: str
    pillars: tuple[Pillar, ...]
    scales: Mapping[str, Scale] = field(default_factory=dict)

    @cached_property
    def questions(self) -> tuple[Question, ...]:
        return tuple(q for p in self.pillars for q in p.questions)

    @cached_property
    def _index(self) -> Mapping[str, int]:
        return {q.id: i for i, q in enumerate(self.questions)}

    def position(self, question_id: str) -> int | None:
        """The question's place in file order, or None when there is no such question."""
        return self._index.get(question_id)

    def question(self, question_id: str) -> Question | None:
        index = self._index.get(question_id)
        return None if index is None else self.questions[index]

    def place(self, question_id: str) -> Place:
        """The question's part, and its number among the part's unconditional questions."""
        return self._places[question_id]

    @cached_property
    def _places(self) -> Mapping[str, Place]:
        # Fixed by the file alone (never by answers), so worked out once.
        places = {}
        for part, pillar in enumerate(self.pillars, start=1):
            counted = [q.id for q in pillar.questions if q.show_if is None]
            for question in pillar.questions:
                root = question
                while root.show_if is not None:  # a follow-up's follow-up counts as the first
                    parent = self.question(root.show_if.question_id)
                    if parent is None:
                        break
                    root = parent
                number = counted.index(root.id) + 1 if root.id in counted else len(counted)
                places[question.id] = Place(part, len(self.pillars), max(number, 1),
                                            max(len(counted), 1),
                                            follow_up=question.show_if is not None)
        return places

    def pillar(self, pillar_id: str) -> Pillar:
        return next(p for p in self.pillars if p.id == pillar_id)

    def visible(self, answers: Mapping[str, Answer]) -> tuple[Question, ...]:
        """The questions shown to someone with these answers, in order.

        A conditional question is shown once its earlier question is itself shown and was
        answered with one of the allowed options; until then it is not counted or scored.
        """
        shown: set[str] = set()
        for question in self.questions:
            condition = question.show_if
            if condition is not None:
                earlier = answers.get(condition.question_id)
                if (condition.question_id not in shown or earlier is None
                        or earlier.option_id not in condition.any_of):
                    continue
            shown.add(question.id)
        return tuple(q for q in self.questions if q.id in shown)


@dataclass(frozen=True)
class Answer:
    """A respondent's answer: an option of a choice question, or a comment (None when skipped)."""

    question_id: str
    option_id: str | None = None
    text: str | None = None
