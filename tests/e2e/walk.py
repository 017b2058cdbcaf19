"""A person working through the questionnaire: reads the question, taps an answer by its label."""

from __future__ import annotations

from collections.abc import Callable

from bot.i18n import Translator
from bot.screens import Texts
from conversations.model import Question, QuestionKind, Questionnaire


def shown_question(questionnaire: Questionnaire, t: Translator, text: str) -> Question | None:
    """The question whose (translated) text the message shows, if any."""
    texts = Texts(questionnaire, t)
    return next((q for q in questionnaire.questions if texts.question(q) in text), None)


def label(questionnaire: Questionnaire, t: Translator, question: Question, option_id: str) -> str:
    assert question.scale is not None
    return Texts(questionnaire, t).option(question, question.scale.option(option_id))


def lowest(question: Question) -> str | None:
    """The option worth nothing ("no", "strongly disagree"); Skip for comments."""
    if question.scale is None:
        return None
    return next(o.id for o in question.scale.options if o.points == 0)


async def answer_all(user, questionnaire: Questionnaire, t: Translator,  # noqa: ANN001
                     choose: Callable[[Question], str | None] = lambda q: "yes",
                     stop_after: int | None = None) -> list[str]:
    """Answer until the scores arrive (or ``stop_after`` answers); returns the question ids seen.

    ``choose`` gives an option id for choice questions; for comments, None taps Skip and any
    other string is typed as the comment.
    """
    seen: list[str] = []
    while stop_after is None or len(seen) < stop_after:
        question = shown_question(questionnaire, t, user.last_message.text)
        if question is None:
            break
        seen.append(question.id)
        if question.kind is QuestionKind.TEXT:
            comment = choose(question)
            if comment is None:
                await user.click(t._("Skip"))
            else:
                await user.send(comment)
        else:
            option = choose(question) or "yes"
            if question.scale and question.scale.option(option) is None:
                option = question.scale.options[-2].id  # "agree"-like, before "don't know"
            await user.click(label(questionnaire, t, question, option))
    return seen
