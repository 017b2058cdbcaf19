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
