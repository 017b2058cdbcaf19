"""What every backend promises the repositories: placeholders, rows, transactions, errors.

Written against the ``backend`` fixture only (a new database with the current schema), so the
same tests hold each backend to the same contract.
"""

from __future__ import annotations

import asyncio

import pytest

from storage.backend import Backend
from storage.errors import ConstraintViolated, DuplicateKey, MissingParent
from storage.schema import load_migrations

CREATED = "2025-01-01T00:00:00.000000+00:00"
# A statement that keeps the database busy for a while, in every dialect.
SLOW = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000)"
        " SELECT count(*) FROM n")


class Boom(Exception):
    """Raised inside a transaction to make it roll back."""


async def add(backend: Backend, user_id: int, chat_id: int | None = None) -> None:
    await backend.fetch("INSERT INTO respondents (user_id, chat_id, created_at) VALUES (?, ?, ?)",
                        (user_id, user_id if chat_id is None else chat_id, CREATED))


async def users(backend: Backend) -> list[int]:
    return [row[0] for row in await backend.fetch(
        "SELECT user_id FROM respondents ORDER BY user_id")]


async def test_question_marks_take_the_parameters_in_order(backend: Backend) -> None:
    await add(backend, 1, chat_id=10)
    await add(backend, 2, chat_id=20)

    rows = await backend.fetch(
        "SELECT user_id FROM respondents WHERE user_id = ? AND chat_id = ?", (2, 20))

    assert [row[0] for row in rows] == [2]


async def test_numbered_placeholders_may_repeat_and_come_in_any_order(backend: Backend) -> None:
    await backend.fetch(
        "INSERT INTO respondents (user_id, chat_id, created_at) VALUES (?2, ?2, ?1)", (CREATED, 5))
    await add(backend, 6, chat_id=5)

    rows = await backend.fetch(
        "SELECT user_id, chat_id FROM respondents WHERE chat_id = ?2 AND user_id >= ?1"
        " AND user_id <> ?2 + ?1 ORDER BY user_id", (5, 5))

    assert [(row[0], row[1]) for row in rows] == [(5, 5), (6, 5)]


async def test_a_row_gives_its_columns_by_name_and_by_position(backend: Backend) -> None:
    (row,) = await backend.fetch(
        "INSERT INTO respondents (user_id, chat_id, created_at) VALUES (?, ?, ?)"
        " RETURNING user_id, chat_id AS chat", (3, 30, CREATED))

    assert (row["user_id"], row["chat"]) == (3, 30)
    assert (row[0], row[1]) == (3, 30)


async def test_a_write_returns_no_rows_without_returning(backend: Backend) -> None:
    assert await backend.fetch(
        "INSERT INTO respondents (user_id, chat_id, created_at) VALUES (?, ?, ?)",
        (1, 1, CREATED)) == []


async def test_execute_many_runs_the_statement_for_every_row(backend: Backend) -> None:
    await backend.execute_many(
        "INSERT INTO respondents (user_id, chat_id, created_at) VALUES (?1, ?1, ?2)",
        [(user_id, CREATED) for user_id in (1, 2, 3)])

    assert await users(backend) == [1, 2, 3]


async def test_execute_many_writes_all_rows_or_none(backend: Backend) -> None:
    await add(backend, 2)

    with pytest.raises(DuplicateKey):
        await backend.execute_many(
            "INSERT INTO respondents (user_id, chat_id, created_at) VALUES (?1, ?1, ?2)",
            [(user_id, CREATED) for user_id in (1, 2, 3)])

    assert await users(backend) == [2]


async def test_a_transaction_commits_its_statements_together(backend: Backend) -> None:
    async with backend.transaction():
        await add(backend, 1)
        await add(backend, 2)

    assert await users(backend) == [1, 2]


async def test_a_transaction_rolls_back_on_an_exception(backend: Backend) -> None:
    with pytest.raises(Boom):
        async with backend.transaction():
            await add(backend, 1)
            assert await users(backend) == [1]  # its own writes are seen inside
            raise Boom

    assert await users(backend) == []


async def test_a_nested_transaction_joins_the_outer_one(backend: Backend) -> None:
    with pytest.raises(Boom):
        async with backend.transaction():
            await add(backend, 1)
            async with backend.transaction():
                await add(backend, 2)
            raise Boom  # after the inner one ended: it was no savepoint, nothing of it stays

    assert await users(backend) == []


async def test_a_task_spawned_inside_a_transaction_does_not_join_it(backend: Backend) -> None:
    child: asyncio.Task[None] | None = None
    with pytest.raises(Boom):
        async with backend.transaction():
            await add(backend, 1)
            child = asyncio.create_task(add(backend, 2))
            await asyncio.sleep(0.01)  # the child runs meanwhile, as far as it can
            raise Boom
    assert child is not None
    await asyncio.wait_for(child, timeout=5)

    assert await users(backend) == [2]  # the child's write committed on its own


async def test_statements_outside_a_transaction_commit_alone(backend: Backend) -> None:
    await add(backend, 1)
    with pytest.raises(DuplicateKey):
        await add(backend, 1)
    with pytest.raises(Boom):
        async with backend.transaction():  # a later rollback cannot take back a committed write
            await add(backend, 2)
            raise Boom

    assert await users(backend) == [1]


async def test_another_tasks_statement_never_lands_in_an_open_transaction(
        backend: Backend) -> None:
    inside = asyncio.Event()

    async def failing() -> None:
        async with backend.transaction():
            await add(backend, 1)
            inside.set()
            await asyncio.sleep(0.02)
            raise Boom

    async def bystander() -> None:
        await inside.wait()
        await add(backend, 2)

    results = await asyncio.gather(failing(), bystander(), return_exceptions=True)

    assert isinstance(results[0], Boom) and results[1] is None
    assert await users(backend) == [2]


async def test_a_transaction_cancelled_while_its_statement_runs_is_rolled_back(
        backend: Backend) -> None:
    async def interrupted() -> None:
        async with backend.transaction():
            await add(backend, 1)
            await backend.fetch(SLOW)

    task = asyncio.create_task(interrupted())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    await asyncio.wait_for(add(backend, 2), timeout=10)  # nothing was left locked
    assert await users(backend) == [2]


async def test_a_duplicate_key_is_reported_as_duplicate_key(backend: Backend) -> None:
    await add(backend, 1)

    with pytest.raises(DuplicateKey):
        await add(backend, 1)


async def test_a_missing_parent_row_is_reported_as_missing_parent(backend: Backend) -> None:
    with pytest.raises(MissingParent):
        await backend.fetch(
            "INSERT INTO sessions (user_id, consultation_id, role, started_at)"
            " VALUES (?, ?, 'citizen', ?)", (404, 404, CREATED))


async def test_another_broken_constraint_is_reported_as_a_constraint_violation(
        backend: Backend) -> None:
    with pytest.raises(ConstraintViolated):
        await backend.fetch(
            "INSERT INTO respondents (user_id, chat_id, created_at) VALUES (?, NULL, ?)",
            (1, CREATED))


async def test_the_schema_version_is_that_of_the_last_migration(backend: Backend) -> None:
    assert await backend.schema_version() == len(load_migrations())


async def test_closing_waits_for_an_open_transaction_to_end(backend: Backend) -> None:
    inside = asyncio.Event()
    written = asyncio.Event()

    async def slow() -> None:
        async with backend.transaction():
            inside.set()
            await asyncio.sleep(0.02)
            await add(backend, 1)
            written.set()

    task = asyncio.create_task(slow())
    await inside.wait()
    await backend.close()

    await task  # it finished before the database closed, so it raised nothing
    assert written.is_set()


# Only SQLite's one connection makes BEGIN wait behind another task's statement; PostgreSQL's
# counterpart, a transaction cancelled while it waits for a pooled connection, is in
# test_postgresql_backend.py.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_transaction_cancelled_before_it_began_leaves_none_open(backend: Backend) -> None:
    blocker = asyncio.create_task(backend.fetch(SLOW))
    await asyncio.sleep(0.05)
    blocker.cancel()  # its statement may still keep the database busy

    async def begins() -> None:
        async with backend.transaction():  # waits behind the busy database
            await add(backend, 1)

    beginning = asyncio.create_task(begins())
    await asyncio.sleep(0.02)
    beginning.cancel()
    await asyncio.gather(blocker, beginning, return_exceptions=True)

    async with asyncio.timeout(10):
        async with backend.transaction():  # would fail inside a transaction left open
            await add(backend, 2)
    assert await users(backend) == [2]


async def test_execute_many_inside_a_transaction_rolls_back_with_it(backend: Backend) -> None:
    with pytest.raises(Boom):
        async with backend.transaction():
            await backend.execute_many(
                "INSERT INTO respondents (user_id, chat_id, created_at) VALUES (?1, ?1, ?2)",
                [(user_id, CREATED) for user_id in (1, 2)])
            raise Boom

    assert await users(backend) == []
