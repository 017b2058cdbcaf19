"""Which chats the bot is busy with: requests in flight and when it last touched each chat."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


class Pulse:
    """Wakes every waiter whenever something changes; waiters then re-check their own condition."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        """Wake everyone waiting now."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        """Return at the next fire() or after `timeout` seconds, whichever comes first."""
        event = self._event
        try:
            async with asyncio.timeout(max(timeout, 0)):
                await event.wait()
        except TimeoutError:
            pass


@dataclass
class _Busy:
    in_flight: int = 0
    last_seen: float = float("-inf")


class Activity:
    """Counts requests in flight per chat (and overall) and stamps the last time each was touched."""

    def __init__(self, pulse: Pulse) -> None:
        self._pulse = pulse
        self._chats: dict[int | None, _Busy] = {}

    def touch(self, chat_id: int | None) -> None:
        """Note that something happened in the chat now (a request, a fetched update)."""
        now = asyncio.get_running_loop().time()
        for key in {chat_id, None}:
            self._chats.setdefault(key, _Busy()).last_seen = now
        self._pulse.fire()

    @contextmanager
    def request(self, chat_id: int | None) -> Iterator[None]:
        """Mark a request as in flight for its chat until the response is ready."""
        keys = {chat_id, None}
        for key in keys:
            self._chats.setdefault(key, _Busy()).in_flight += 1
        self.touch(chat_id)
        try:
            yield
        finally:
            for key in keys:
                self._chats[key].in_flight -= 1
            self.touch(chat_id)

    def in_flight(self, chat_id: int | None = None) -> int:
        """Requests being handled for the chat, or for any chat when chat_id is None."""
        busy = self._chats.get(chat_id)
        return busy.in_flight if busy else 0

    def idle_for(self, chat_id: int | None = None) -> float:
        """Seconds since the chat (or anything, for None) was last touched."""
        busy = self._chats.get(chat_id)
        if busy is None:
            return float("inf")
        return asyncio.get_running_loop().time() - busy.last_seen
