"""The questionnaire engine: plain state and input in, the new state and events out.

Like goflow, the engine never talks to the user. Each call returns a :class:`Step`: the progress
to store, the answer to save (if any) and the events for the caller to deliver (ask a question,
report the scores, explain a problem). Nothing here touches Telegram or the database, so a step
can be replayed and tested alone.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from types import MappingProxyType

from conversations.model import Answer, Pillar, Place, Question, QuestionKind, Questionnaire
from conversations.scoring import ScoreCard, score_answers


# What typed text can answer, in the respondent's language: per scale id, each option's label
# (as ``normalised`` leaves it) mapped to the option's id. The adapter builds it from the
# translations; the engine only compares.
Labels = Mapping[str, Mapping[str, str]]

_END_PUNCTUATION = ".!?;:,。！？،؛"


def normalised(text: str) -> str:
    """Typed text as it is compared with a label: case, spacing and final punctuation ignored."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split()).strip(
        _END_PUNCTUATION + " ")


@dataclass(frozen=True)
class Progress:
    """Where a respondent is: their answers and the question on screen (None when finished)."""

    answers: Mapping[str, Answer]
    cursor: str | None
    finished: bool = False


@dataclass(frozen=True)
class AskQuestion:
    """Show a question; ``current`` is the earlier answer when the respondent went back.

    ``place`` is where it stands (part, and question within the part); ``first`` says that
    nothing comes before it, so there is no going back.
    """

    question: Question
    pillar: Pillar
    place: Place
    first: bool
    current: Answer | None


@dataclass(frozen=True)
class Completed:
    """The respondent has answered every question shown to them."""

    scores: ScoreCard


class Problem(StrEnum):
    """Why an input was not taken; the state is unchanged."""

    STALE = "stale"  # a button of a question that is no longer the current one
    ALREADY_ANSWERED = "already_answered"  # the same answer again (a double tap)
    INVALID = "invalid"  # no such question or option (forged data)
    EXPECTED_BUTTON = "expected_button"  # typed text that matches none of the options
    EMPTY_TEXT = "empty_text"
    TEXT_TOO_LONG = "text_too_long"
    NOTHING_BEFORE = "nothing_before"  # back from the first question
    FINISHED = "finished"  # input after the questionnaire was completed


@dataclass(frozen=True)
class Rejected:
    problem: Problem
    limit: int | None = None  # the maximum length, for TEXT_TOO_LONG


Event = AskQuestion | Completed | Rejected


@dataclass(frozen=True)
class Step:
    progress: Progress
    saved: Answer | None
    events: tuple[Event, ...]


class Flow:
    """Runs one questionnaire; holds no respondent state."""

    def __init__(self, questionnaire: Questionnaire) -> None:
        self.questionnaire = questionnaire

    def new_progress(self) -> Progress:
        first = self._first_unanswered({})
        return Progress(MappingProxyType({}), first.id if first else None)

    def resume(self, progress: Progress) -> Step:
        """Show where the respondent is: the current question, or their scores when done."""
        if progress.finished:
            return Step(progress, None, (self._completed(progress.answers),))
        current = self.current(progress)
        if current is None:
            return self._finish(progress, None)
        return Step(replace(progress, cursor=current.id), None, (self._ask(current, progress.answers),))

    def current(self, progress: Progress) -> Question | None:
        """The question on screen: the cursor when it is still shown, else the first unanswered."""
        if progress.finished:
            return None
        visible = self.questionnaire.visible(progress.answers)
        if progress.cursor is not None and any(q.id == progress.cursor for q in visible):
            return self.questionnaire.question(progress.cursor)
        return self._first_unanswered(progress.answers)

    def choose(self, progress: Progress, question_id: str, option_id: str) -> Step:
        """The respondent tapped an option of a choice question."""
        question = self.questionnaire.question(question_id)
        if (question is None or question.scale is None
                or question.scale.option(option_id) is None):
            return self._reject(progress, Problem.INVALID)
        if progress.finished:
            return self._reject(progress, Problem.FINISHED)
        current = self.current(progress)
        if current is None or current.id != question_id:
            earlier = progress.answers.get(question_id)
            same = earlier is not None and earlier.option_id == option_id
            return self._reject(progress, Problem.ALREADY_ANSWERED if same else Problem.STALE)
        return self._record(progress, Answer(question_id, option_id=option_id))

    def typed(self, progress: Progress, text: str, labels: Labels) -> Step:
        """The respondent typed a message: a comment, or an option by its label or number.

        For a choice question, "yes", "YES." or "1" (the first button) choose an option as a
        tap would; text that matches no option is rejected as EXPECTED_BUTTON.
        """
        if progress.finished:
            return self._reject(progress, Problem.FINISHED)
        current = self.current(progress)
        if current is None or current.scale is None:
            return self.comment(progress, text)
        wanted = normalised(text)
        options = current.scale.options
        option_id = labels.get(current.scale.id, {}).get(wanted)
        if (option_id is None and wanted.isdecimal() and len(wanted) <= 3
                and 1 <= int(wanted) <= len(options)):
            option_id = options[int(wanted) - 1].id
        if option_id is None:
            return self._reject(progress, Problem.EXPECTED_BUTTON)
        return self.choose(progress, current.id, option_id)

    def comment(self, progress: Progress, text: str) -> Step:
        """The respondent typed a message."""
        if progress.finished:
            return self._reject(progress, Problem.FINISHED)
        current = self.current(progress)
        if current is None or current.kind is not QuestionKind.TEXT:
            return self._reject(progress, Problem.EXPECTED_BUTTON)
        text = text.strip()
        if not text:
            return self._reject(progress, Problem.EMPTY_TEXT)
        if len(text) > current.max_length:
            return Step(progress, None, (Rejected(Problem.TEXT_TOO_LONG, current.max_length),))
        return self._record(progress, Answer(current.id, text=text))

    def skip(self, progress: Progress, question_id: str) -> Step:
        """The respondent tapped Skip on an optional comment."""
        question = self.questionnaire.question(question_id)
        if question is None or question.kind is not QuestionKind.TEXT:
            return self._reject(progress, Problem.INVALID)
        if progress.finished:
            return self._reject(progress, Problem.FINISHED)
        current = self.current(progress)
        if current is None or current.id != question_id:
            skipped = progress.answers.get(question_id) == Answer(question_id)
            return self._reject(progress, Problem.ALREADY_ANSWERED if skipped else Problem.STALE)
        return self._record(progress, Answer(question_id))

    def keep(self, progress: Progress, question_id: str) -> Step:
        """Move on from an answered comment without changing it (after going back to it)."""
        question = self.questionnaire.question(question_id)
        if question is None or question.kind is not QuestionKind.TEXT:
            return self._reject(progress, Problem.INVALID)
        if progress.finished:
            return self._reject(progress, Problem.FINISHED)
        current = self.current(progress)
        if current is None or current.id != question_id or question_id not in progress.answers:
            return self._reject(progress, Problem.STALE)
        following = self._first_unanswered(progress.answers)
        if following is None:
            return self._finish(progress, None)
        return Step(replace(progress, cursor=following.id), None,
                    (self._ask(following, progress.answers),))

    def back(self, progress: Progress, from_question: str | None = None) -> Step:
        """Return to the question before the current one, to change its answer.

        ``from_question`` is the question the Back button was shown with: a Back from a
        question that is no longer current (a second tap on the same button) is stale.
        """
        if progress.finished:
            return self._reject(progress, Problem.FINISHED)
        current = self.current(progress)
        if from_question is not None and (current is None or current.id != from_question):
            return self._reject(progress, Problem.STALE)
        visible = self.questionnaire.visible(progress.answers)
        index = next((i for i, q in enumerate(visible) if current and q.id == current.id), None)
        if not index:
            return self._reject(progress, Problem.NOTHING_BEFORE)
        previous = visible[index - 1]
        moved = replace(progress, cursor=previous.id)
        return Step(moved, None, (self._ask(previous, progress.answers),))

    def _record(self, progress: Progress, answer: Answer) -> Step:
        answers = MappingProxyType({**progress.answers, answer.question_id: answer})
        following = self._first_unanswered(answers)
        if following is None:
            return self._finish(Progress(answers, None), answer)
        return Step(Progress(answers, following.id), answer, (self._ask(following, answers),))

    def _finish(self, progress: Progress, saved: Answer | None) -> Step:
        done = Progress(progress.answers, None, finished=True)
        return Step(done, saved, (self._completed(done.answers),))

    def _completed(self, answers: Mapping[str, Answer]) -> Completed:
        return Completed(score_answers(self.questionnaire, answers))

    def _reject(self, progress: Progress, problem: Problem) -> Step:
        return Step(progress, None, (Rejected(problem),))

    def _first_unanswered(self, answers: Mapping[str, Answer]) -> Question | None:
        return next((q for q in self.questionnaire.visible(answers) if q.id not in answers), None)

    def _ask(self, question: Question, answers: Mapping[str, Answer]) -> AskQuestion:
        visible = self.questionnaire.visible(answers)
        return AskQuestion(question, self.questionnaire.pillar(question.pillar_id),
                           self.questionnaire.place(question.id),
                           bool(visible) and visible[0].id == question.id, answers.get(question.id))
