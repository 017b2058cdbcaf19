"""Releases: what summaries show moves only in steps of more than the minimum group, so reading a
summary before and after one more respondent finishes reveals nothing about that respondent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.i18n import Catalogs
from bot.summaries import SummaryService
from bot.summary_screens import comparison
from bot.turns import Turns
from conversations.flow import Flow
from conversations.model import Answer, Questionnaire
from conversations.question_results import choices_of
from conversations.scoring import score_answers
from storage import Consultation, Database
from storage.schema import load_migrations
from tests.storage.conftest import TickingClock

MIN_GROUP = 5


@pytest.fixture
async def setup(mini: Questionnaire) -> AsyncIterator[tuple[Database, SummaryService, Consultation]]:
    db = await Database.open(":memory:", clock=TickingClock())
    consultation = await db.consultations.create(mini.id, mini.version, {}, created_by=None,
                                                 status="open")
    service = SummaryService(Turns(db, Flow(mini), Catalogs.load()), MIN_GROUP)
    yield db, service, consultation
    await db.close()


def answers(law: str = "yes", used: str = "agree", portal: str = "yes",
            useful: str = "agree") -> dict[str, Answer]:
    chosen = {"first.law": law, "first.law_used": used, "second.portal": portal,
              "second.useful": useful}
    return {q: Answer(q, option_id=o) for q, o in chosen.items()}


async def finish(db: Database, mini: Questionnaire, consultation: Consultation, user_id: int,
                 given: dict[str, Answer], role: str = "citizen") -> None:
    """A respondent finishes the way the bot finishes them: answers, finish and totals at once."""
    await db.respondents.ensure(user_id, chat_id=user_id)
    session = await db.sessions.start(user_id, consultation.id, role, cursor=None)
    for answer in given.values():
        await db.sessions.save_answer(session.id, answer, mini.version)
    await db.sessions.move(session.id, None, finished=True)
    await db.summaries.add(session.id, score_answers(mini, given), choices_of(mini, given))


async def test_reading_at_six_and_at_seven_citizens_does_not_reveal_the_seventh(
        mini: Questionnaire, setup: tuple[Database, SummaryService, Consultation]) -> None:
    db, service, consultation = setup
    for user_id in range(1, 7):  # six citizens with middling answers
        await finish(db, mini, consultation, user_id, answers(used="neutral", useful="neutral"))
    at_six = await service.summary(consultation)
    questions_at_six = await service.question_results(consultation)
    assert at_six.citizens.finished == 6 and at_six.overall.citizens.mean is not None

    # The seventh answers everything with the best answer: 7·m₂ − 6·m₁ would be their score.
    await finish(db, mini, consultation, 7, answers())
    at_seven = await service.summary(consultation)

    assert at_seven == at_six
    assert await service.question_results(consultation) == questions_at_six
    m1, m2 = at_six.overall.citizens.mean, at_seven.overall.citizens.mean
    assert m1 is not None and m2 is not None
    assert 7 * m2 - 6 * m1 == pytest.approx(m1)  # the "attack" finds only the old mean


async def test_the_next_release_comes_after_more_than_the_minimum_group_of_new_respondents(
        mini: Questionnaire, setup: tuple[Database, SummaryService, Consultation]) -> None:
    db, service, consultation = setup
    for user_id in range(1, 7):
        await finish(db, mini, consultation, user_id, answers(law="no", portal="no",
                                                              useful="disagree"))
    first = await service.summary(consultation)
    for user_id in range(7, 12):  # five more: not yet
        await finish(db, mini, consultation, user_id, answers())
        assert await service.summary(consultation) == first
    await finish(db, mini, consultation, 12, answers())  # the sixth since the release

    second = await service.summary(consultation)

    assert second.citizens.finished == 12
    assert second.overall.citizens.mean != first.overall.citizens.mean


async def test_a_figure_that_grew_by_too_few_keeps_its_last_release_while_its_group_moves_on(
        mini: Questionnaire, setup: tuple[Database, SummaryService, Consultation]) -> None:
    db, service, consultation = setup
    for user_id in range(1, 7):
        await finish(db, mini, consultation, user_id, answers())
    await service.summary(consultation)
    # Six more finish, but only one of them is shown the follow-up (after "yes"), and only one
    # has a score in the second pillar: those figures would reveal that one person.
    await finish(db, mini, consultation, 7, answers(used="disagree", useful="disagree"))
    for user_id in range(8, 13):
        await finish(db, mini, consultation, user_id,
                     answers(law="no", portal="dont_know", useful="dont_know"))

    results = await service.question_results(consultation)
    summary = await service.summary(consultation)

    by_id = {line.question.id: line for line in results.lines}
    assert by_id["first.law"].citizens.answered == 12  # grew by six: released
    assert by_id["first.law_used"].citizens.answered == 6  # grew by one: the last release
    assert by_id["first.law_used"].citizens_positive == 1.0
    assert summary.citizens.finished == 12
    second = summary.pillars[1]
    assert (second.citizens.respondents, second.citizens.mean) == (6, 100.0)


async def test_a_group_below_the_minimum_is_released_at_once_since_it_shows_nothing(
        mini: Questionnaire, setup: tuple[Database, SummaryService, Consultation]) -> None:
    db, service, consultation = setup
    await finish(db, mini, consultation, 1, answers(), role="official")
    assert (await service.summary(consultation)).officials.finished == 1
    await finish(db, mini, consultation, 2, answers(), role="official")

    summary = await service.summary(consultation)

    assert (summary.officials.finished, summary.officials.withheld) == (2, True)
    assert summary.overall.officials.mean is None


async def test_the_comparison_a_respondent_sees_is_the_last_release(
        mini: Questionnaire, setup: tuple[Database, SummaryService, Consultation]) -> None:
    db, service, consultation = setup
    t = Catalogs.load().translator("en")
    for user_id in range(1, 8):
        await finish(db, mini, consultation, user_id, answers(law="no"))
    before = await service.summary(consultation)

    await finish(db, mini, consultation, 8, answers())
    card = score_answers(mini, answers())
    lines = comparison(t, mini, card, await service.summary(consultation))

    assert lines == comparison(t, mini, card, before)
    assert "First pillar: you 100 · citizens 0" in lines  # the seven before, not the eighth


async def test_an_older_database_gets_its_per_question_totals_from_the_answers_once(
        mini: Questionnaire, tmp_path: Path) -> None:
    released = tmp_path / "released"
    released.mkdir()
    migrations = load_migrations()
    ours = next(m.version for m in migrations if m.name.endswith("_question_totals_and_releases.sql"))
    for migration in migrations:
        if migration.version < ours:  # a database from before the per-question totals
            (released / migration.name).write_text(migration.sql)
    path = tmp_path / "baraza.db"
    old = await Database.open(path, migrations_dir=released)
    consultation = await old.consultations.create(mini.id, mini.version, {}, created_by=None,
                                                  status="open")
    for user_id in range(1, 8):
        await old.respondents.ensure(user_id, chat_id=user_id)
        session = await old.sessions.start(user_id, consultation.id, "citizen", cursor=None)
        given = answers(law="no")
        for answer in given.values():
            await old.sessions.save_answer(session.id, answer, mini.version)
        await old.sessions.move(session.id, None, finished=True)
        await old.summaries.add(session.id, score_answers(mini, given))  # scores only, then
    await old.close()

    db = await Database.open(path)
    try:
        service = SummaryService(Turns(db, Flow(mini), Catalogs.load()), MIN_GROUP)
        assert await service.catch_up() == 7
        assert await service.catch_up() == 0
        results = await service.question_results(consultation)
        summary = await service.summary(consultation)
    finally:
        await db.close()

    by_id = {line.question.id: line for line in results.lines}
    assert by_id["first.law"].citizens.answered == 7
    assert by_id["first.law_used"].citizens.answered == 0  # not shown after "no"
    assert summary.citizens.finished == 7  # counted once, not twice
