"""Holding requests: a stalled network or server, so a test can act while requests hang."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable


class RequestHold:
    """Parks requests to the held methods until released; a parked request has done nothing yet.

    A held request whose client goes away (a killed bot) is dropped undone, as Telegram drops a
    request it never got to process.
    """

    def __init__(self) -> None:
        self._methods: frozenset[str] = frozenset()
        self._released = asyncio.Event()
        self._released.set()
        self.waiting = 0

    def hold(self, methods: Iterable[str]) -> None:
        """Park every later request to these methods (names as in the Bot API, any case)."""
        self._methods = frozenset(method.lower() for method in methods)
        self._released.clear()

    def release(self) -> None:
        """Let every parked request go on, and hold no more."""
        self._methods = frozenset()
        self._released.set()

    def holds(self, method: str) -> bool:
        return method.lower() in self._methods

    async def wait(self) -> None:
        """Wait until released (or until the request is cancelled because its client left)."""
        self.waiting += 1
        try:
            await self._released.wait()
        finally:
            self.waiting -= 1
