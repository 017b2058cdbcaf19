"""The connection lock: re-entrant per task, and background work waits behind everyone else."""

from __future__ import annotations

import asyncio

from storage import background
from storage.locking import TaskLock


async def _hold_in_turn(lock: TaskLock, order: list[str], name: str) -> None:
    async with lock.hold():
        order.append(name)


async def _queue(lock: TaskLock, order: list[str], name: str, *,
                 in_background: bool) -> asyncio.Task[None]:
    """Start a task that waits for the lock, and let it reach the queue."""
    if in_background:
        async def waiting() -> None:
            with background():
                await _hold_in_turn(lock, order, name)
        task = asyncio.create_task(waiting())
    else:
        task = asyncio.create_task(_hold_in_turn(lock, order, name))
    await asyncio.sleep(0)
    return task


async def test_a_persons_statement_goes_before_background_work_queued_earlier() -> None:
    lock, order = TaskLock(), []
    async with lock.hold():
        tasks = [await _queue(lock, order, "announcement 1", in_background=True),
                 await _queue(lock, order, "announcement 2", in_background=True),
                 await _queue(lock, order, "reply", in_background=False)]
    await asyncio.gather(*tasks)
    assert order == ["reply", "announcement 1", "announcement 2"]


async def test_waiters_of_one_kind_take_the_lock_in_arrival_order() -> None:
    lock, order = TaskLock(), []
    async with lock.hold():
        tasks = [await _queue(lock, order, f"reply {i}", in_background=False) for i in range(3)]
    await asyncio.gather(*tasks)
    assert order == ["reply 0", "reply 1", "reply 2"]


async def test_background_work_takes_a_free_lock_at_once() -> None:
    lock = TaskLock()
    with background():
        async with lock.hold() as outermost:
            assert outermost and lock.held_by_current_task


async def test_a_task_cancelled_while_waiting_leaves_the_lock_to_the_next() -> None:
    lock, order = TaskLock(), []
    async with lock.hold():
        cancelled = await _queue(lock, order, "gone", in_background=False)
        waiting = await _queue(lock, order, "next", in_background=True)
        cancelled.cancel()
        await asyncio.sleep(0)
    await waiting
    assert order == ["next"] and cancelled.cancelled()


async def test_a_task_cancelled_as_the_lock_is_handed_to_it_passes_it_on() -> None:
    lock, order = TaskLock(), []
    async with lock.hold():
        unlucky = await _queue(lock, order, "unlucky", in_background=False)
        waiting = await _queue(lock, order, "next", in_background=False)
    unlucky.cancel()  # the lock was handed to it on release, before it could run
    await asyncio.gather(unlucky, return_exceptions=True)
    await waiting
    assert order == ["next"]
    async with lock.hold():  # and nobody holds it now
        pass
