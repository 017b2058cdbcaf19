"""Turns: an update's claim, the engine's step and its writes commit together or not at all."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from telegram import CallbackQuery, Chat, Message, Update, User

from bot.i18n import Catalogs
from bot.turns import Turns
from conversations.flow import Flow, Progress, Step
from conversations.model import Answer, Questionnaire
from storage import ConsultationText, Database, Respondent, Session

USER = 7
FIRST = "first.law"


class Boom(Exception):
    """Raised by a step or a write, as a bug would."""


@pytest.fixture
async def db() -> AsyncIterator[Database]:
    database = await Database.open(":memory:")
    yield database
    await database.close()


@pytest.fixture
async def turns(db: Database, mini: Questionnaire) -> Turns:
    turns = Turns(db, Flow(mini), Catalogs.load())
    consultation = await db.consultations.create(
        mini.id, mini.version, {"en": ConsultationText("Mini", "A test")}, None, status="open")
    await db.respondents.ensure(USER, USER)
    await turns.begin(USER, consultation)
    return turns


def tap(update_id: int, data: str = "a:1:first.law:yes") -> Update:
    """A tap on a question's button, as Telegram delivers it."""
    user = User(USER, "Amina", is_bot=False)
    message = Message(40, datetime.now(UTC), Chat(USER, Chat.PRIVATE))
    return Update(update_id, callback_query=CallbackQuery("q1", user, "chat", message=message,
                                                          data=data))


def choose_yes(flow: Flow, progress: Progress) -> Step:
    return flow.choose(progress, FIRST, "yes")


async def stored(db: Database) -> tuple[Respondent, Session]:
    respondent = await db.respondents.get(USER)
    assert respondent is not None and respondent.consultation_id is not None
    session = await db.sessions.get(USER, respondent.consultation_id)
    assert session is not None
    return respondent, session


async def test_a_tap_claims_its_update_and_stores_the_answer_and_the_next_position(
    db: Database, turns: Turns
) -> None:
    entered = await turns.enter(tap(10), choose_yes)

    assert entered is not None and entered[1] is not None
    respondent, session = await stored(db)
    assert respondent.last_update_id == 10
    assert dict(session.answers) == {FIRST: Answer(FIRST, option_id="yes")}
    assert session.cursor == "first.law_used"


async def test_an_update_whose_step_fails_is_not_claimed_and_stores_nothing(
    db: Database, turns: Turns
) -> None:
    def failing(flow: Flow, progress: Progress) -> Step:
        raise Boom

    with pytest.raises(Boom):
        await turns.enter(tap(10), failing)

    respondent, session = await stored(db)
    assert respondent.last_update_id == 0 and session.answers == {}
    # Telegram redelivers it, and then it is handled.
    assert await turns.enter(tap(10), choose_yes) is not None
    assert FIRST in (await stored(db))[1].answers


async def test_a_write_that_fails_takes_the_claim_and_the_step_back_with_it(
    db: Database, turns: Turns
) -> None:
    async def write(db: Database, respondent: Respondent) -> None:
        await db.respondents.set_locale(respondent.user_id, "fr")
        raise Boom

    with pytest.raises(Boom):
        await turns.enter(tap(10), choose_yes, write=write)

    respondent, session = await stored(db)
    assert (respondent.last_update_id, respondent.locale, session.answers) == (0, None, {})


async def test_an_update_handled_before_is_not_applied_again(db: Database, turns: Turns) -> None:
    await turns.enter(tap(10), choose_yes)

    again = await turns.enter(tap(10, data="a:1:first.law:no"),
                              lambda flow, p: flow.choose(p, FIRST, "no"))

    assert again is None
    assert (await stored(db))[1].answers[FIRST].option_id == "yes"


async def test_an_erasure_redelivered_after_a_crash_does_not_bring_its_person_back(
    db: Database, turns: Turns, mini: Questionnaire
) -> None:
    from bot.privacy import erasure
    from storage import Erased

    erased: list[Erased] = []
    entered = await turns.enter(tap(20, "f|1"),
                                write=erasure(mini, turns.runs, 20, erased))

    assert entered is not None and entered[0].respondent.user_id == USER  # answered in its language
    assert len(erased) == 1 and await db.respondents.get(USER) is None
    assert await turns.enter(tap(20, "f|1")) is None  # Telegram delivers the same update again
    assert await db.respondents.get(USER) is None
    assert await turns.enter(tap(21, "f|1")) is not None  # a new update is someone writing anew
