"""Transactions through the repositories: all or nothing, never mixed with other tasks."""

from __future__ import annotations

import asyncio

import pytest

from conversations.model import Answer
from tests.storage.conftest import METEP
from storage import Database, RecordNotFound, Respondent, Session

USER = 7


class Boom(Exception):
    """Raised inside a transaction to make it roll back."""


@pytest.fixture
async def session(db: Database) -> Session:
    await db.respondents.ensure(USER, chat_id=70)
    return await db.sessions.start(USER, METEP, "citizen", cursor="q1")


async def respondent(db: Database, user_id: int = USER) -> Respondent:
    found = await db.respondents.get(user_id)
    assert found is not None
    return found


async def current(db: Database) -> Session:
    found = await db.sessions.get(USER, METEP)
    assert found is not None
    return found


async def test_a_transaction_commits_the_claim_the_answer_and_the_cursor_together(
    db: Database, session: Session
) -> None:
    async with db.transaction():
        assert await db.respondents.claim_update(USER, 100)
        await db.sessions.save_answer(session.id, Answer("q1", option_id="yes"), 1)
        await db.sessions.move(session.id, "q2")

    assert (await respondent(db)).last_update_id == 100
    saved = await current(db)
    assert (saved.cursor, dict(saved.answers)) == ("q2", {"q1": Answer("q1", option_id="yes")})


async def test_a_transaction_that_raises_rolls_back_the_claim_and_the_answer_together(
    db: Database, session: Session
) -> None:
    with pytest.raises(Boom):
        async with db.transaction():
            await db.respondents.claim_update(USER, 100)
            await db.sessions.save_answer(session.id, Answer("q1", option_id="yes"), 1)
            raise Boom

    assert (await respondent(db)).last_update_id == 0
    assert (await current(db)).answers == {}
    # The redelivered update is therefore still new and gets handled.
    assert await db.respondents.claim_update(USER, 100)


async def test_a_nested_transaction_joins_the_outer_one(db: Database, session: Session) -> None:
    async def nested() -> None:
        async with db.transaction():
            await db.sessions.move(session.id, "q2")
            async with db.transaction():
                await db.sessions.save_answer(session.id, Answer("q1", option_id="yes"), 1)
            raise Boom

    with pytest.raises(Boom):
        await asyncio.wait_for(nested(), timeout=1)  # a non-reentrant lock would hang here

    assert (await current(db)).answers == {}
    assert (await current(db)).cursor == "q1"


async def test_a_cancelled_transaction_rolls_back_and_frees_the_database(
    db: Database, session: Session
) -> None:
    inside = asyncio.Event()

    async def interrupted() -> None:
        async with db.transaction():
            await db.sessions.save_answer(session.id, Answer("q1", option_id="yes"), 1)
            inside.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(interrupted())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert (await current(db)).answers == {}
    await asyncio.wait_for(db.sessions.move(session.id, "q2"), timeout=1)
    assert (await current(db)).cursor == "q2"


# SQLite's one connection runs one transaction at a time. PostgreSQL runs them side by side, each
# on a connection of its own; what keeps one respondent's updates apart there is the row lock the
# update's claim takes (UPDATE respondents ... WHERE user_id = ?), held until the commit.
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@SQLITE_ONLY
async def test_concurrent_transactions_never_interleave(db: Database, session: Session) -> None:
    events: list[str] = []

    async def handle(name: str, update_id: int) -> None:
        async with db.transaction():
            events.append(f"{name} begins")
            await db.respondents.claim_update(USER, update_id)
            await asyncio.sleep(0.02)  # let the other task run, if it could
            await db.sessions.save_answer(session.id, Answer(name, option_id="yes"), 1)
            events.append(f"{name} ends")

    await asyncio.gather(handle("a", 1), handle("b", 2))

    assert events == ["a begins", "a ends", "b begins", "b ends"]
    assert set((await current(db)).answers) == {"a", "b"}


async def test_transactions_of_one_respondent_queue_behind_its_claimed_row(
    db: Database, session: Session
) -> None:
    events: list[str] = []

    async def handle(name: str, update_id: int, pause: float) -> None:
        await asyncio.sleep(pause)
        async with db.transaction():
            await db.respondents.claim_update(USER, update_id)
            events.append(f"{name} claimed")
            await asyncio.sleep(0.05)  # let the other task run, if it could
            await db.sessions.save_answer(session.id, Answer(name, option_id="yes"), 1)
            events.append(f"{name} ends")

    await asyncio.gather(handle("a", 1, 0), handle("b", 2, 0.01))

    assert events == ["a claimed", "a ends", "b claimed", "b ends"]
    assert (await respondent(db)).last_update_id == 2
    assert set((await current(db)).answers) == {"a", "b"}


@SQLITE_ONLY
async def test_concurrent_read_modify_write_transactions_lose_no_update(db: Database) -> None:
    await db.respondents.ensure(USER, chat_id=70)

    async def claim_the_next_update() -> bool:
        async with db.transaction():
            seen = (await respondent(db)).last_update_id
            await asyncio.sleep(0.01)
            return await db.respondents.claim_update(USER, seen + 1)

    results = await asyncio.gather(*(claim_the_next_update() for _ in range(5)))

    assert results == [True] * 5
    assert (await respondent(db)).last_update_id == 5


async def test_a_write_outside_a_transaction_never_lands_in_another_tasks_transaction(
    db: Database,
) -> None:
    await db.respondents.ensure(USER, chat_id=70)
    await db.respondents.ensure(8, chat_id=80)
    inside = asyncio.Event()

    async def failing() -> None:
        async with db.transaction():
            await db.respondents.set_locale(USER, "fr")
            inside.set()
            await asyncio.sleep(0.02)
            raise Boom

    async def bystander() -> None:
        await inside.wait()
        await db.respondents.set_locale(8, "sw")  # must wait, not join the failing transaction

    results = await asyncio.gather(failing(), bystander(), return_exceptions=True)

    assert isinstance(results[0], Boom) and results[1] is None
    assert (await respondent(db, USER)).locale is None
    assert (await respondent(db, 8)).locale == "sw"


async def test_closing_waits_for_an_open_transaction_to_commit(
    db: Database, session: Session
) -> None:
    inside = asyncio.Event()

    async def slow() -> None:
        async with db.transaction():
            inside.set()
            await asyncio.sleep(0.02)
            await db.sessions.move(session.id, None, finished=True)

    task = asyncio.create_task(slow())
    await inside.wait()
    await db.close()
    await task  # finished before the connection closed, so it raised nothing


async def test_a_missing_record_inside_a_transaction_rolls_back_what_it_wrote_before(
    db: Database, session: Session
) -> None:
    with pytest.raises(RecordNotFound, match="no session 404"):
        async with db.transaction():
            await db.respondents.claim_update(USER, 100)
            await db.sessions.save_answer(404, Answer("q1", option_id="yes"), 1)

    assert (await respondent(db)).last_update_id == 0
