"""The bot's bulk rate, shared by every worker: tokens taken from the database in small batches.

Each worker's TrafficLimiter (bot/traffic.py) paces that worker's bulk at the bot's rate; with
several workers their broadcasts together would send at that rate times their number. Before each
bulk send a worker takes a token from the bucket in the database (storage/send_budget.py), a batch
of a tenth of a second's worth at a time (one statement per batch, the next asked for while half
of this one is left), and waits when the bucket is empty for as long as it takes to refill enough.

A batch's tokens are spent spread out, not at once: a batch of sends let go together keeps the
event loop busy, and a person's reply waiting, for as long as sending them takes. Measured with
bench/traffic.py section 2 (replies during a broadcast at 300/s): p95 3.6-4.4x idle with whole
batches, 0.9-1.4x spread out. They are spread at twice the rate (HEADROOM), so that time lost
waiting for a refill is made up and the bucket's 0.8 s burst is used when a broadcast begins:
the shared bucket, not this, keeps the workers to the rate.
"""

from __future__ import annotations

import asyncio
import math

from storage.send_budget import SendBudgetRepository

BULK = "bulk"
# How much faster than the rate a worker spends the tokens it holds, one after the other.
HEADROOM = 2.0


class SharedBudget:
    """Hands this worker's bulk sends their tokens, refilled from the shared bucket."""

    def __init__(self, budgets: SendBudgetRepository, rate: float, *, name: str = BULK,
                 batch_seconds: float = 0.1, capacity_seconds: float = 0.8) -> None:
        self._budgets = budgets
        self._name = name
        self._rate = rate
        # Eight tenths of a second's worth at most, as the limiter's own bulk burst
        # (bot/traffic.py): within Telegram's one second's bucket, and enough to use most of it
        # when a broadcast begins.
        self._capacity = max(1.0, rate * capacity_seconds)
        self._batch = max(1, min(math.ceil(rate * batch_seconds), int(self._capacity)))
        self._tokens = 0
        self._next = 0.0  # the event loop's time before which this worker spends no token
        self._lock = asyncio.Lock()
        self._ahead: asyncio.Task[float | None] | None = None  # a refill asked for ahead

    async def take(self) -> None:
        """Wait for one token."""
        async with self._lock:  # one refill at a time; the others wait for its tokens
            while self._tokens == 0:
                if self._ahead is not None:
                    ahead, self._ahead = self._ahead, None
                    left = await ahead  # its error, if it failed, is this take's
                else:
                    left = await self._refill()
                if left is not None:  # none granted: wait until the bucket holds a batch
                    await asyncio.sleep(max(0.001, (self._batch - left) / self._rate))
            self._tokens -= 1
            if self._tokens <= self._batch // 2 and (self._ahead is None or self._ahead.done()):
                if self._ahead is not None:
                    self._ahead.result()  # raises what it failed with; what it got is counted
                # Asked for while this batch lasts: the statement waits behind people's updates
                # for the database (storage/locking.py), and sending should not wait for it.
                self._ahead = asyncio.create_task(self._refill(), name="budget-refill")
            # Spread out (see the module's docstring).
            now = asyncio.get_running_loop().time()
            wait = self._next - now
            self._next = max(now, self._next) + 1 / (self._rate * HEADROOM)
            if wait > 0:
                await asyncio.sleep(wait)

    async def close(self) -> None:
        """Drop a refill asked for ahead of need (the database is about to close)."""
        if self._ahead is not None:
            self._ahead.cancel()
            await asyncio.gather(self._ahead, return_exceptions=True)
            self._ahead = None

    async def _refill(self) -> float | None:
        """Add a batch from the shared bucket: None if it got one, else what the bucket holds."""
        grant = await self._budgets.take(self._name, self._batch, self._rate, self._capacity)
        self._tokens += grant.granted
        return None if grant.granted else grant.left
