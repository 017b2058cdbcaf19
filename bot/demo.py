"""Demo data for the sandbox (``baraza sandbox --demo``): a consultation with synthetic respondents.

A ministry evaluating Baraza alone in the sandbox can never see what officials see. The demo adds
a closed consultation answered by a few hundred made-up citizens and officials in several
languages, marked as demo data (every summary and report of it says so), written the way a real
finish writes them: answers, the finish, and the running totals in one transaction.
"""

from __future__ import annotations

import random

from bot.i18n import Catalogs
from conversations.extract import message_context
from conversations.model import Answer, Question, QuestionKind, Questionnaire
from conversations.question_results import choices_of
from conversations.scoring import score_answers
from storage import Consultation, ConsultationText, Database

FIRST_USER_ID = 990_000_000  # far from real Telegram ids the sandbox uses (1, 2, ...)
LOCALES = ("en", "fr", "es", "ar", "ru", "zh", "sw")
# How likely each group is to give a pillar's best answers: officials see their own work kindly.
_CITIZEN_LEAN = {0: 0.55, 1: 0.5, 2: 0.35, 3: 0.25, 4: 0.4}
_OFFICIAL_LEAN = 0.65
_COMMENTS = ("Les délais de consultation sont trop courts.",
             "Online forms do not work well on a basic phone.",
             "لا نعرف أبدا ما حدث لمقترحاتنا.",
             "Muda wa kutoa maoni ni mfupi sana.",
             "希望政府公布预算的详细数据。")


async def fill(db: Database, questionnaire: Questionnaire, catalogs: Catalogs,
               respondents: int = 300, seed: int = 2024) -> Consultation:
    """A closed demo consultation answered by ``respondents`` synthetic people (one in five an
    official); the one already made is returned instead, if there is one."""
    for consultation in await db.consultations.list(("closed",)):
        if await db.question_totals.is_demo(consultation.id):
            return consultation
    texts = {t.locale: ConsultationText(
        t._("Demo: {title}").format(
            title=t.pgettext(message_context(questionnaire.id, "title"), questionnaire.title)), "")
        for t in catalogs.all()}
    consultation = await db.consultations.create(questionnaire.id, questionnaire.version, texts,
                                                 created_by=None, status="closed")
    await db.question_totals.mark_demo(consultation.id)
    rng = random.Random(seed)
    people = [_person(questionnaire, rng, index) for index in range(respondents)]

    async with db.transaction():
        for index, (role, locale, answers) in enumerate(people):
            user_id = FIRST_USER_ID + index
            await db.respondents.ensure(user_id, user_id)
            await db.respondents.set_locale(user_id, locale)
            session = await db.sessions.start(user_id, consultation.id, role, cursor=None)
            for answer in answers.values():
                await db.sessions.save_answer(session.id, answer, questionnaire.version)
            await db.sessions.move(session.id, None, finished=True)
            await db.summaries.add(session.id, score_answers(questionnaire, answers),
                                   choices_of(questionnaire, answers))
    return consultation


def _person(questionnaire: Questionnaire, rng: random.Random,
            index: int) -> tuple[str, str, dict[str, Answer]]:
    role = "official" if index % 5 == 0 else "citizen"
    locale = LOCALES[rng.randrange(len(LOCALES))]
    answers: dict[str, Answer] = {}
    for pillar_index, pillar in enumerate(questionnaire.pillars):
        lean = _OFFICIAL_LEAN if role == "official" else _CITIZEN_LEAN.get(pillar_index % 5, 0.4)
        for question in pillar.questions:
            if question.show_if is not None and _hidden(question, answers):
                continue  # a follow-up after "no": not shown, not answered
            if question.kind is QuestionKind.TEXT:
                if rng.random() < 0.05:
                    answers[question.id] = Answer(question.id, text=rng.choice(_COMMENTS))
                continue
            answers[question.id] = Answer(question.id, option_id=_choice(question, lean, rng))
    return role, locale, answers


def _hidden(question: Question, answers: dict[str, Answer]) -> bool:
    condition = question.show_if
    assert condition is not None
    earlier = answers.get(condition.question_id)
    return earlier is None or earlier.option_id not in condition.any_of


def _choice(question: Question, lean: float, rng: random.Random) -> str:
    assert question.scale is not None
    options = question.scale.options
    rated = [o for o in options if o.points is not None]
    unknown = [o for o in options if o.points is None]
    if unknown and rng.random() < 0.08:
        return unknown[0].id
    # Lean towards the better answers: a share of the way up the scale, with some spread.
    position = min(max(rng.gauss(lean, 0.25), 0.0), 0.999)
    ordered = sorted(rated, key=lambda o: o.points or 0)
    return ordered[int(position * len(ordered))].id
