"""SessionRepository: a session per respondent and questionnaire, its position, prompt, answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from conversations.model import Answer
from storage import Database, RecordNotFound, Session
from tests.storage.conftest import METEP, PILOT, with_consultations
from tests.storage.on_disk import query_file

USER = 7


@pytest.fixture
async def session(db: Database) -> Session:
    await db.respondents.ensure(USER, chat_id=70)
    return await db.sessions.start(USER, METEP, "citizen", cursor="p1.q1")


async def current(db: Database) -> Session:
    found = await db.sessions.get(USER, METEP)
    assert found is not None
    return found


async def test_get_returns_none_before_the_questionnaire_is_started(db: Database) -> None:
    await db.respondents.ensure(USER, chat_id=70)

    assert await db.sessions.get(USER, METEP) is None


async def test_start_creates_an_unfinished_session_without_answers(
    db: Database, session: Session
) -> None:
    assert session == Session(
        id=session.id,
        user_id=USER,
        consultation_id=METEP,
        role="citizen",
        cursor="p1.q1",
        prompt_message_id=None,
        finished=False,
        answers={},
    )
    assert await current(db) == session


async def test_start_returns_an_existing_session_unchanged(db: Database, session: Session) -> None:
    await db.sessions.save_answer(session.id, Answer("q1", option_id="yes"), 1)
    await db.sessions.move(session.id, "p1.q2")

    again = await db.sessions.start(USER, METEP, "citizen", cursor=None)

    assert again == await current(db)
    assert (again.id, again.role, again.cursor) == (session.id, "citizen", "p1.q2")
    assert dict(again.answers) == {"q1": Answer("q1", option_id="yes")}


async def test_each_questionnaire_has_its_own_session(db: Database, session: Session) -> None:
    other = await db.sessions.start(USER, PILOT, "citizen", cursor=None)
    await db.sessions.save_answer(other.id, Answer("q1", option_id="no"), 1)

    assert other.id != session.id
    assert (await current(db)).answers == {}


async def test_start_for_an_unknown_respondent_raises_record_not_found(db: Database) -> None:
    with pytest.raises(RecordNotFound, match="no respondent 404"):
        await db.sessions.start(404, METEP, "citizen", cursor=None)


async def test_save_answer_stores_choices_comments_and_skips(
    db: Database, session: Session
) -> None:
    answers = [
        Answer("q1", option_id="yes"),
        Answer("c1", text="Too few public hearings."),
        Answer("c2"),  # a skipped comment
    ]
    for answer in answers:
        await db.sessions.save_answer(session.id, answer, 1)

    assert (await current(db)).answers == {a.question_id: a for a in answers}


async def test_answering_again_replaces_the_earlier_answer_and_its_time(
    file_db: Database, db_path: Path
) -> None:
    await file_db.respondents.ensure(USER, chat_id=70)
    started = await file_db.sessions.start(USER, METEP, "citizen", cursor=None)
    await file_db.sessions.save_answer(started.id, Answer("q1", option_id="yes"), 1)
    [(first_time,)] = query_file(db_path, "SELECT answered_at FROM answers")

    await file_db.sessions.save_answer(started.id, Answer("q1", option_id="dont_know"), 1)

    assert (await current(file_db)).answers == {"q1": Answer("q1", option_id="dont_know")}
    [(second_time,)] = query_file(db_path, "SELECT answered_at FROM answers")
    assert str(second_time) > str(first_time)


async def test_save_answer_refuses_an_answer_with_both_option_and_text(
    db: Database, session: Session
) -> None:
    with pytest.raises(ValueError, match="both an option and a text"):
        await db.sessions.save_answer(session.id, Answer("q1", option_id="yes", text="and more"), 1)


async def test_move_goes_to_another_question_and_can_clear_the_cursor(
    db: Database, session: Session
) -> None:
    await db.sessions.move(session.id, "p2.q1")
    assert (await current(db)).cursor == "p2.q1"
    assert not (await current(db)).finished

    await db.sessions.move(session.id, None)
    assert (await current(db)).cursor is None


async def test_move_forgets_the_message_that_showed_the_old_question(
    db: Database, session: Session
) -> None:
    await db.sessions.set_prompt(session.id, 555)

    await db.sessions.move(session.id, "p2.q1")

    assert (await current(db)).prompt_message_id is None


async def test_set_prompt_remembers_the_message_showing_the_question(
    db: Database, session: Session
) -> None:
    await db.sessions.set_prompt(session.id, 555)
    assert (await current(db)).prompt_message_id == 555

    await db.sessions.set_prompt(session.id, None)
    assert (await current(db)).prompt_message_id is None


async def test_finishing_is_idempotent_and_keeps_the_first_time(
    file_db: Database, db_path: Path
) -> None:
    await file_db.respondents.ensure(USER, chat_id=70)
    started = await file_db.sessions.start(USER, METEP, "citizen", cursor=None)

    await file_db.sessions.move(started.id, None, finished=True)
    first = query_file(db_path, "SELECT finished_at FROM sessions")
    await file_db.sessions.move(started.id, None, finished=True)

    assert query_file(db_path, "SELECT finished_at FROM sessions") == first
    assert (await current(file_db)).finished


async def test_moving_a_finished_session_leaves_it_finished(db: Database, session: Session) -> None:
    await db.sessions.move(session.id, None, finished=True)

    await db.sessions.move(session.id, "p1.q1")

    assert (await current(db)).finished


SessionWrite = Callable[[Database], Awaitable[None]]


@pytest.mark.parametrize(
    "write",
    [
        lambda db: db.sessions.save_answer(404, Answer("q1", option_id="yes"), 1),
        lambda db: db.sessions.move(404, "p1.q1"),
        lambda db: db.sessions.move(404, None, finished=True),
        lambda db: db.sessions.set_prompt(404, 1),
    ],
    ids=["save_answer", "move", "finish", "set_prompt"],
)
async def test_writes_to_an_unknown_session_raise_record_not_found(
    db: Database, write: SessionWrite
) -> None:
    with pytest.raises(RecordNotFound, match="no session 404"):
        await write(db)


async def test_the_answers_of_a_session_cannot_be_changed_in_memory(
    db: Database, session: Session
) -> None:
    await db.sessions.save_answer(session.id, Answer("q1", option_id="yes"), 1)
    loaded = await current(db)

    with pytest.raises(TypeError):
        loaded.answers["q2"] = Answer("q2", option_id="no")  # type: ignore[index]


async def test_a_session_copies_the_answers_it_is_given() -> None:
    given = {"q1": Answer("q1", option_id="yes")}
    made = Session(1, USER, METEP, "citizen", None, None, False, given)

    given["q2"] = Answer("q2")

    assert list(made.answers) == ["q1"]


async def test_answers_survive_closing_and_reopening_a_file_database(db_path: Path) -> None:
    first = await with_consultations(await Database.open(db_path))
    await first.respondents.ensure(USER, chat_id=70)
    started = await first.sessions.start(USER, METEP, "citizen", cursor="p1.q2")
    await first.sessions.save_answer(started.id, Answer("q1", option_id="yes"), 1)
    await first.sessions.set_prompt(started.id, 42)
    await first.close()

    second = await Database.open(db_path)
    try:
        reopened = await second.sessions.get(USER, METEP)
    finally:
        await second.close()

    answers = {"q1": Answer("q1", option_id="yes")}
    assert reopened == Session(started.id, USER, METEP, "citizen", "p1.q2", 42, False, answers)


async def test_an_answer_keeps_the_questionnaire_version_it_was_given_under(
    file_db: Database, db_path: Path
) -> None:
    await file_db.respondents.ensure(7, chat_id=70)
    session = await file_db.sessions.start(7, METEP, "citizen", "q1")
    await file_db.sessions.save_answer(session.id, Answer("q1", option_id="yes"), 1)
    await file_db.sessions.save_answer(session.id, Answer("q2", option_id="no"), 2)
    rows = query_file(db_path, "SELECT question_id, questionnaire_version FROM answers ORDER BY 1")
    assert [tuple(r) for r in rows] == [("q1", 1), ("q2", 2)]
