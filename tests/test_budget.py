"""The shared bulk budget as one worker spends it: batches from the database, sends spread out."""

from __future__ import annotations

import asyncio

from bot.budget import HEADROOM, SharedBudget
from storage.send_budget import Grant


class Bucket:
    """A stand-in for SendBudgetRepository that grants every batch asked for, and counts them."""

    def __init__(self) -> None:
        self.asked = 0
        self.answer = asyncio.Event()
        self.answer.set()

    async def take(self, name: str, count: int, rate: float, capacity: float) -> Grant:
        self.asked += 1
        await self.answer.wait()
        return Grant(count, capacity - count)


async def test_a_batchs_sends_are_spread_at_the_rate_not_let_go_at_once() -> None:
    budget = SharedBudget(Bucket(), rate=100)  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(10):  # one batch: a tenth of a second's worth
        await budget.take()
    # Nine gaps of at least 1 / (rate x HEADROOM); a lower bound, however slow the machine.
    assert loop.time() - started >= 9 / (100 * HEADROOM) * 0.99


async def test_the_next_batch_is_asked_for_while_this_one_lasts() -> None:
    bucket = Bucket()
    budget = SharedBudget(bucket, rate=1000)  # type: ignore[arg-type]
    await budget.take()  # the first batch: 100 tokens
    assert bucket.asked == 1
    bucket.answer.clear()  # the database is slow from now on
    for _ in range(60):  # past half the batch: the next one is asked for, not waited for
        await budget.take()
    await asyncio.sleep(0)
    assert bucket.asked == 2
    bucket.answer.set()
    for _ in range(40):  # the first batch's last 39 and the second's first, with no new ask
        await budget.take()
    assert bucket.asked == 2
