"""Knowing when the bot is done: with an idle probe for in-process bots, by quiet periods otherwise."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from .activity import Activity, Pulse
from .updates import UpdateQueue

IdleProbe = Callable[[int], bool]
Describe = Callable[[], str]
PROBE_INTERVAL = 0.001


class Settler:
    """Waits for the bot to fetch updates, finish them, and stop touching a chat (or every chat)."""

    def __init__(self, updates: UpdateQueue, activity: Activity, pulse: Pulse, quiet: float) -> None:
        self.quiet = quiet
        self._updates = updates
        self._activity = activity
        self._pulse = pulse
        self._probe: IdleProbe | None = None
        self._unfinished: set[int] = set()

    @property
    def probe(self) -> IdleProbe | None:
        """`probe(update_id) -> bool`: True once the in-process bot finished that update."""
        return self._probe

    @probe.setter
    def probe(self, probe: IdleProbe | None) -> None:
        # Updates an earlier bot confirmed are that bot's business; unconfirmed ones will reach this bot.
        self._probe = probe
        self._unfinished = set(self._updates.pending_ids())

    def track(self, update_id: int) -> None:
        """Remember a queued update so that settle_all() waits for it to be finished."""
        self._unfinished.add(update_id)

    async def settle_all(self, timeout: float) -> None:
        """Every queued update confirmed and finished, and no request anywhere in flight (or recent)."""
        deadline = _deadline(timeout)
        await self.wait_until(
            lambda: not self._updates.pending_ids(),
            deadline,
            lambda: (
                f"updates {self._updates.pending_ids()} were never fetched and confirmed; is the bot polling?"
            ),
        )
        probe = self._probe
        if probe is None:
            await self._wait_quiet(None, deadline, lambda: "the bot kept making requests")
            return
        while True:
            self._unfinished = {u for u in self._unfinished if not (self._updates.was_dropped(u) or probe(u))}
            if not self._unfinished:
                break
            _check(deadline, lambda: f"the bot never finished updates {sorted(self._unfinished)}")
            await asyncio.sleep(PROBE_INTERVAL)
        await self.wait_until(lambda: self._activity.in_flight() == 0, deadline, lambda: "requests in flight")

    async def settle_chat(
        self, chat_id: int, update_id: int | None, timeout: float, describe: Describe
    ) -> None:
        """The update fetched and finished, then nothing in flight for the chat (quiet, without a probe)."""
        deadline = _deadline(timeout)
        if update_id is not None:
            await self.wait_until(
                lambda: self._updates.delivered(update_id),
                deadline,
                lambda: (
                    f"update {update_id} was never fetched by getUpdates; is the bot polling?\n{describe()}"
                ),
            )
            probe = self._probe
            if probe is not None and not self._updates.was_dropped(update_id):
                while not probe(update_id):
                    _check(deadline, lambda: f"the bot never finished update {update_id}\n{describe()}")
                    await asyncio.sleep(PROBE_INTERVAL)
                self._unfinished.discard(update_id)
                await self.wait_until(
                    lambda: self._activity.in_flight(chat_id) == 0,
                    deadline,
                    lambda: f"requests for chat {chat_id} stayed in flight\n{describe()}",
                )
                return
        await self._wait_quiet(
            chat_id, deadline, lambda: f"the bot kept busy in chat {chat_id}\n{describe()}"
        )

    async def wait_until(self, condition: Callable[[], bool], deadline: float, describe: Describe) -> None:
        """Re-check `condition` whenever anything happens, until it holds or the deadline passes."""
        while not condition():
            _check(deadline, describe)
            await self._pulse.wait(deadline - asyncio.get_running_loop().time())

    async def _wait_quiet(self, chat_id: int | None, deadline: float, describe: Describe) -> None:
        """Nothing for the chat in flight, and nothing touched it for `quiet` seconds."""
        loop = asyncio.get_running_loop()
        while True:
            wait = deadline - loop.time()
            if self._activity.in_flight(chat_id) == 0:
                idle = self._activity.idle_for(chat_id)
                if idle >= self.quiet:
                    return
                wait = min(wait, self.quiet - idle)
            _check(deadline, describe)
            await self._pulse.wait(wait)


def _deadline(timeout: float) -> float:
    return asyncio.get_running_loop().time() + timeout


def _check(deadline: float, describe: Describe) -> None:
    if asyncio.get_running_loop().time() >= deadline:
        raise TimeoutError(describe())
