"""The bot's bulk rate, shared by every worker: tokens taken from the database in small batches.

Each worker's TrafficLimiter (bot/traffic.py) paces that worker's bulk at the bot's rate; with
several workers their broadcasts together would send at that rate times their number. Before each bulk send a worker
takes a token from the bucket in the database (storage/send_budget.py), a batch of a tenth of a
second's worth at a time (one statement per batch), and waits when the bucket is empty for as long
as it takes to refill enough.
"""

from __future__ import annotations

import asyncio
import math

from storage.send_budget import SendBudgetRepository

BULK = "bulk"


class SharedBudget:
    """Hands this worker's bulk sends their tokens, refilled from the shared bucket."""

    def __init__(self, budgets: SendBudgetRepository, rate: float, *, name: str = BULK,
                 batch_seconds: float = 0.1, capacity_seconds: float = 0.5) -> None:
        self._budgets = budgets
        self._name = name
        self._rate = rate
        # Half a second's worth at most in the bucket: a burst that Telegram's one second's
        # bucket absorbs even when tokens taken together are spent at once.
        self._capacity = max(1.0, rate * capacity_seconds)
        self._batch = max(1, min(math.ceil(rate * batch_seconds), int(self._capacity)))
        self._tokens = 0
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        """Wait for one token."""
        async with self._lock:  # one refill at a time; the others wait for its tokens
            while self._tokens == 0:
                grant = await self._budgets.take(self._name, self._batch, self._rate,
                                                 self._capacity)
                if grant.granted:
                    self._tokens = grant.granted
                else:
                    await asyncio.sleep(max(0.001, (self._batch - grant.left) / self._rate))
            self._tokens -= 1
