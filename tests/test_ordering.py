"""Updates of one user are processed in order; different users' concurrently."""

import asyncio

from telegram import Chat, Message, Update, User

from bot.ordering import PerUserUpdateProcessor


def update(update_id: int, user_id: int) -> Update:
    user = User(user_id, "U", is_bot=False)
    message = Message(update_id, None, Chat(user_id, "private"), from_user=user, text="hi")  # type: ignore[arg-type]
    return Update(update_id, message=message)


async def test_one_users_updates_run_one_after_the_other() -> None:
    processor = PerUserUpdateProcessor(8)
    log: list[str] = []

    async def work(name: str, delay: float) -> None:
        log.append(f"{name} start")
        await asyncio.sleep(delay)
        log.append(f"{name} end")

    await asyncio.gather(processor.process_update(update(1, 7), work("first", 0.02)),
                         processor.process_update(update(2, 7), work("second", 0)))
    assert log == ["first start", "first end", "second start", "second end"]


async def test_different_users_run_concurrently_and_locks_are_released() -> None:
    processor = PerUserUpdateProcessor(8)
    started = asyncio.Event()
    log: list[str] = []

    async def slow() -> None:
        started.set()
        await asyncio.sleep(0.02)
        log.append("slow")

    async def fast() -> None:
        await started.wait()
        log.append("fast")

    await asyncio.gather(processor.process_update(update(1, 7), slow()),
                         processor.process_update(update(2, 8), fast()))
    assert log == ["fast", "slow"]
    assert processor._locks == {}


async def test_one_users_backlog_does_not_hold_up_another_user() -> None:
    processor = PerUserUpdateProcessor(2)
    log: list[str] = []

    async def slow(name: str) -> None:
        await asyncio.sleep(0.02)
        log.append(name)

    async def quick() -> None:
        log.append("other user")

    backlog = [processor.process_update(update(i, 7), slow(f"flood {i}")) for i in range(1, 6)]
    await asyncio.gather(*backlog, processor.process_update(update(9, 8), quick()))
    assert log[0] == "other user"


async def test_a_flooding_users_queue_is_bounded_and_they_are_told_once() -> None:
    processor = PerUserUpdateProcessor(8, max_pending=3)
    dropped: list[tuple[int, bool]] = []

    async def overflow(update: Update, first: bool) -> None:
        dropped.append((update.update_id, first))

    processor.overflow = overflow
    release = asyncio.Event()
    handled: list[int] = []

    async def work(update_id: int) -> None:
        await release.wait()
        handled.append(update_id)

    flood = [asyncio.ensure_future(processor.process_update(update(i, 7), work(i)))
             for i in range(1, 11)]
    other = asyncio.ensure_future(processor.process_update(update(99, 8), work(99)))
    await asyncio.sleep(0)
    assert dropped == [(4, True)] + [(i, False) for i in range(5, 11)]
    release.set()
    await asyncio.gather(*flood, other)
    assert sorted(handled) == [1, 2, 3, 99] and [h for h in handled if h != 99] == [1, 2, 3]
    assert processor._locks == {} and processor._told == set()

    # Once the queue has emptied, a new flood is told again.
    release.clear()
    again = [asyncio.ensure_future(processor.process_update(update(i, 7), work(i)))
             for i in range(20, 25)]
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(*again)
    assert dropped[-2:] == [(23, True), (24, False)]
